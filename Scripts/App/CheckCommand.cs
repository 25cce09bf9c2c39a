using System.CommandLine;
using Spectre.Console;

namespace Functional.App;

/// <summary>The <c>check</c> verb: every layer's analytic gradients against numeric ones, as a table.</summary>
internal static class CheckCommand
{
    /// <summary>The library's bound on an analytic-vs-numeric relative error (<see cref="Verify.GradientTolerance"/>).</summary>
    public const double Tolerance = Verify.GradientTolerance;

    /// <summary>Random cases per layer in the verification table.</summary>
    private const int RandomCases = 10;

    private static readonly Option<string> OutputOpt = new("--output") { Description = "Folder for check.html.", DefaultValueFactory = _ => "out" };
    private static readonly Option<bool> PngOpt = new("--png") { Description = "Also write check.png (needs Debian's chromium)." };

    public static Command Create()
    {
        var command = new Command("check", "Check every layer's analytic gradients against numeric gradients; exit code 1 if any fails.");
        command.Options.Add(OutputOpt);
        command.Options.Add(PngOpt);
        command.SetAction(r => Run(r.GetValue(OutputOpt)!, r.GetValue(PngOpt)));
        return command;
    }

    private static int Run(string output, bool png)
    {
        var rows = GradientSuite.All().ToList();
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("layer").AddColumn("input shapes").AddColumn("gradient")
            .AddColumn(new TableColumn("max rel error").RightAligned())
            .AddColumn(new TableColumn("course rel_error").RightAligned()).AddColumn("result");
        foreach (var (layer, shapes, report) in rows)
        {
            table.AddRow(
                Markup.Escape(layer),
                Markup.Escape(shapes),
                Markup.Escape(report.Name),
                report.MaxRelativeError.ToString("E2"),
                (report.MaxAbsoluteError == 0 ? 0.0 : CourseError(report)).ToString("E2"),
                report.Passed ? "[green]pass[/]" : "[red]FAIL[/]");
        }

        Terminal.Out.Write(table);
        Terminal.Out.MarkupLine(
            $"max rel error = max |a − n| / max(|a| + |n|, {GradientSuite.Floor:G}) (the library's one rule, Verify.GradientTolerance: must be ≤ {Tolerance:E0}); " +
            "course rel_error uses the floor 1e-8 and is shown for comparison. GEMM: " + Markup.Escape(Blas.Description) + ".");
        var verified = GradientSuite.RandomCases(RandomCases).ToList();
        var cases = new Table().Border(TableBorder.Rounded)
            .AddColumn("layer").AddColumn(new TableColumn("cases").RightAligned())
            .AddColumn(new TableColumn("worst rel error").RightAligned()).AddColumn("result");
        foreach (var v in verified)
            cases.AddRow(Markup.Escape(v.Name), v.Cases.ToString(), v.WorstRelError.ToString("E2"),
                v.Passed ? "[green]pass[/]" : "[red]" + Markup.Escape(v.ToString()) + "[/]");
        Terminal.Out.Write(cases);
        Terminal.Out.MarkupLine(
            $"Random cases (the library's verification, Verify.*): forward vs reference ≤ {Verify.ReferenceTolerance:E0}, " +
            $"gradients vs reference ≤ {Verify.ReferenceTolerance:E0} and vs numeric ≤ {Tolerance:E0}.");
        var failed = rows.Count(r => !r.Report.Passed) + verified.Count(v => !v.Passed);
        var reportPath = Report.WriteCheck(Directory.CreateDirectory(output).FullName, rows, $"max rel error <= {Tolerance:E0} (floor {GradientSuite.Floor:G})", png);
        Terminal.Out.MarkupLine($"Report: [bold]{Markup.Escape(reportPath)}[/]");
        Terminal.Out.MarkupLine(failed == 0
            ? $"[green]All {rows.Count} gradients within {Tolerance:E0} relative error; all {verified.Count} layers pass {RandomCases} random cases.[/]"
            : $"[red]{failed} of {rows.Count + verified.Count} checks fail.[/]");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The course's rel_error of the worst coordinate: |a − n| / max(1e-8, |a| + |n|).</summary>
    private static double CourseError(GradCheckReport r) =>
        Math.Abs(r.Analytic - r.Numeric) / Math.Max(1e-8, Math.Abs(r.Analytic) + Math.Abs(r.Numeric));
}
