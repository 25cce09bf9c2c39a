using System.CommandLine;
using Functional.App;

var root = new RootCommand("Functional: neural-network layers with verified gradients.");
root.Subcommands.Add(CheckCommand.Create());
return root.Parse(args).Invoke();
