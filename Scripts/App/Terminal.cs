using Spectre.Console;

namespace Functional.App;

/// <summary>
/// Where the app writes. In a terminal: colours and a live progress bar. When the output is redirected, when
/// <c>NO_COLOR</c> is set (https://no-color.org) or <c>TERM=dumb</c>: plain text, no ANSI codes, no live display,
/// and no hard wrapping (lines are as long as they are).
/// </summary>
internal static class Terminal
{
    /// <summary>True when the output is plain text.</summary>
    public static bool Plain { get; } =
        Console.IsOutputRedirected
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
        || Environment.GetEnvironmentVariable("TERM") == "dumb";

    /// <summary>The console every command writes to.</summary>
    public static IAnsiConsole Out { get; } = Create();

    private static IAnsiConsole Create()
    {
        if (!Plain)
            return AnsiConsole.Console;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(Console.Out),
        });
        // Spectre wraps at the profile width (80 columns when redirected); plain output is not wrapped.
        console.Profile.Width = 4096;
        return console;
    }

    /// <summary>A user error: one line on standard error, no stack trace.</summary>
    public static int Fail(string message, int exitCode = 1)
    {
        Console.Error.WriteLine(message);
        return exitCode;
    }
}
