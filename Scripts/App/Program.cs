using System.CommandLine;
using Functional.App;

var root = new RootCommand("Functional: neural-network layers with verified gradients.");
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(CaptionCommand.Create());
root.Subcommands.Add(CheckCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
return root.Parse(args).Invoke();
