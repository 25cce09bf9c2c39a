using System.CommandLine;
using Spectre.Console;

namespace Functional.App;

/// <summary>The <c>check</c> verb: every layer's analytic gradients against numeric ones, as a table.</summary>
internal static class CheckCommand
{
    public const double Tolerance = 1e-7;

    public static Command Create()
    {
        var command = new Command("check", "Check every layer's analytic gradients against numeric gradients; exit code 1 if any fails.");
        command.SetAction(_ => Run());
        return command;
    }

    private static int Run()
    {
        var rows = GradientSuite.All().ToList();
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("layer").AddColumn("input shapes").AddColumn("gradient")
            .AddColumn(new TableColumn("max rel error").RightAligned()).AddColumn("result");
        foreach (var (layer, shapes, report) in rows)
        {
            table.AddRow(
                Markup.Escape(layer),
                Markup.Escape(shapes),
                Markup.Escape(report.Name),
                report.MaxRelativeError.ToString("E2"),
                report.Passed ? "[green]pass[/]" : "[red]FAIL[/]");
        }

        AnsiConsole.Write(table);
        var failed = rows.Count(r => !r.Report.Passed);
        AnsiConsole.MarkupLine(failed == 0
            ? $"[green]All {rows.Count} gradients within {Tolerance:E0} relative error.[/]"
            : $"[red]{failed} of {rows.Count} gradients exceed {Tolerance:E0} relative error.[/]");
        return failed == 0 ? 0 : 1;
    }
}
