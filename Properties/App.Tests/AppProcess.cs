using System.Diagnostics;

namespace Functional.App.Tests;

/// <summary>What a run of the app printed and how it ended.</summary>
public sealed record AppOutput(int ExitCode, string Out, string Err)
{
    /// <inheritdoc/>
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>Runs the built app in its own process, its output redirected (so it writes plain text).</summary>
public static class AppProcess
{
    private static readonly string Dll = Locate();

    private static string Locate()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Functional.sln")))
            dir = dir.Parent;
        if (dir is null)
            throw new InvalidOperationException($"Functional.sln not found above {AppContext.BaseDirectory}.");
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        var dll = Path.Combine(dir.FullName, "Scripts", "App", "bin", configuration, "net10.0", "functional.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"the app is not built: {dll} is missing.");
    }

    /// <summary>Starts <c>functional ARGS</c> with the given environment additions (a null value removes a variable).</summary>
    public static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? env = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Dll);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        info.Environment.Remove("NO_COLOR");
        info.Environment["FUNCTIONAL_THREADS"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            if (v is null)
                info.Environment.Remove(k);
            else
                info.Environment[k] = v;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
    }

    /// <summary>Runs the app to its end (at most 10 minutes) and returns its exit code and output.</summary>
    public static AppOutput Run(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? env = null)
    {
        using var p = Start(args, env);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"functional {string.Join(' ', args)} did not end in 10 minutes.");
        }

        return new AppOutput(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Sends a POSIX signal (INT, TERM) to a process.</summary>
    public static void Signal(Process p, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>A fresh temporary folder, deleted with the returned handle.</summary>
    public static TempFolder TempFolder() => new();
}

/// <summary>A temporary folder for one test.</summary>
public sealed class TempFolder : IDisposable
{
    /// <summary>Its full path.</summary>
    public string Path { get; } = Directory.CreateTempSubdirectory("functional-app-test-").FullName;

    /// <summary>A path inside it.</summary>
    public string this[string name] => System.IO.Path.Combine(Path, name);

    /// <inheritdoc/>
    public void Dispose() => Directory.Delete(Path, recursive: true);
}
