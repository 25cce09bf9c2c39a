using System.CommandLine;
using Functional.App;
using Functional.App.Course;

if (AppEnvironment.Problem() is { } problem)
    return Terminal.Fail($"functional: {problem}", ExitCodes.Usage);

var root = new RootCommand("Functional: neural-network layers with verified gradients.");
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(CaptionCommand.Create());
root.Subcommands.Add(CheckCommand.Create());
root.Subcommands.Add(VerifyCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Every option is checked here, before any data is loaded (types, choices, ranges: see the validators).
    foreach (var error in parsed.Errors)
        Console.Error.WriteLine($"functional: {error.Message}");
    return Terminal.Fail($"Try 'functional {string.Join(' ', args.TakeWhile(a => !a.StartsWith('-')))} --help'.", ExitCodes.Usage);
}

// The train verb handles Ctrl+C and SIGTERM itself (it stops after the current step and saves).
return parsed.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
