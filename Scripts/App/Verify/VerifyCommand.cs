using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Functional.FSharp;
using Microsoft.FSharp.Collections;
using Spectre.Console;

namespace Functional.App.Course;

/// <summary>
/// The <c>verify</c> verb: runs a student's course functions (numpy, the course's <c>cs231n</c> package) over random
/// cases against the library's reference layers, in one Python driver process, and reports per function.
/// Exit code 0 when every function found passes, 1 when any fails, errs or times out, 2 on a setup error.
/// </summary>
internal static class VerifyCommand
{
    private static readonly Argument<string> PathArg = new("PATH")
    {
        Description = "The assignment folder holding the cs231n package (or the cs231n folder itself).",
    };

    private static readonly Option<string[]> FunctionOpt = new("--function")
    {
        Description = "Verify only this function (repeatable), e.g. conv_backward_naive.",
        AllowMultipleArgumentsPerToken = false,
    };

    private static readonly Option<int> CasesOpt = new Option<int>("--cases")
    {
        Description = "Random cases per function.",
        DefaultValueFactory = _ => 100,
    }.AtLeast(1);

    private static readonly Option<long> SeedOpt = new("--seed")
    {
        Description = "Seed of the random cases.",
        DefaultValueFactory = _ => 0,
    };

    private static readonly Option<string?> JsonOpt = new("--json") { Description = "Also write the report as JSON to this file." };

    private static readonly Option<string?> PythonOpt = new("--python")
    {
        Description = "The Python interpreter (default: the first of python3, /usr/bin/python3, … that imports numpy).",
    };

    private static readonly Option<double> TimeoutOpt = new Option<double>("--timeout")
    {
        Description = "Time limit of each call of a student's function, in seconds.",
        DefaultValueFactory = _ => 10.0,
    }.Within(0, 3600, minInclusive: false);

    public static Command Create()
    {
        var command = new Command("verify", "Verify your course answers (cs231n numpy functions) against the library over random cases; exit code 1 if any fails.");
        command.Arguments.Add(PathArg);
        foreach (var o in new Option[] { FunctionOpt, CasesOpt, SeedOpt, JsonOpt, PythonOpt, TimeoutOpt })
            command.Options.Add(o);
        command.Validators.Add(r =>
        {
            var path = r.GetValue(PathArg);
            if (path is not null && !Directory.Exists(path))
                r.AddError($"PATH: no folder at {path}.");
            var known = CourseCatalogue.All().Select(f => f.Name).ToHashSet();
            foreach (var name in r.GetValue(FunctionOpt) ?? [])
            {
                if (!known.Contains(name))
                    r.AddError($"--function: unknown function '{name}'; known: {string.Join(", ", known)}.");
            }

            if (r.GetValue(JsonOpt) is { } json && Path.GetDirectoryName(Path.GetFullPath(json)) is { } dir && !Directory.Exists(dir))
                r.AddError($"--json: the folder {dir} does not exist.");
        });
        command.SetAction(r => Run(
            r.GetValue(PathArg)!, r.GetValue(FunctionOpt) ?? [], r.GetValue(CasesOpt), r.GetValue(SeedOpt),
            r.GetValue(JsonOpt), r.GetValue(PythonOpt), r.GetValue(TimeoutOpt)));
        return command;
    }

    /// <summary>The folder to put on sys.path: PATH when it holds cs231n/, its parent when PATH is cs231n/.</summary>
    private static string? PackageRoot(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        if (File.Exists(Path.Combine(full, "cs231n", "__init__.py")))
            return full;
        if (Path.GetFileName(full) == "cs231n" && File.Exists(Path.Combine(full, "__init__.py")))
            return Path.GetDirectoryName(full);
        return null;
    }

    private static int Run(string path, string[] only, int cases, long seed, string? json, string? python, double timeout)
    {
        var clock = Stopwatch.StartNew();
        var root = PackageRoot(path);
        if (root is null)
            return Terminal.Fail($"functional verify: no cs231n package in {Path.GetFullPath(path)} (expected {Path.Combine(Path.GetFullPath(path), "cs231n", "__init__.py")}).", ExitCodes.Usage);

        var found = PythonLocator.Find(python is null ? PythonLocator.Candidates : [python], out var tried);
        if (found is null)
        {
            return Terminal.Fail(
                "functional verify: no Python with numpy found. Tried:\n" + string.Join('\n', tried.Select(t => "  " + t)) +
                "\nInstall numpy for one of them (Debian/Ubuntu: 'sudo apt-get install python3-numpy'; otherwise 'python3 -m pip install numpy'), or name an interpreter with --python.",
                ExitCodes.Usage);
        }

        var functions = CourseCatalogue.All().Where(f => only.Length == 0 || only.Contains(f.Name)).ToList();
        var modules = functions.Select(f => f.Module).Distinct().ToList();
        var work = Directory.CreateTempSubdirectory("functional-verify-");
        PythonDriver? driver = null;
        try
        {
            IReadOnlyDictionary<string, (string Status, string? Message, string? Traceback)> imported = new Dictionary<string, (string, string?, string?)>();

            PythonDriver Start()
            {
                driver?.Dispose();
                driver = PythonDriver.Start(found.Command, work.FullName, TimeSpan.FromSeconds(60));
                imported = driver.Import(root, ["cs231n", .. modules], TimeSpan.FromSeconds(Math.Max(60, timeout)));
                return driver;
            }

            try
            {
                Start();
            }
            catch (DriverLostException e)
            {
                return Terminal.Fail($"functional verify: the Python driver did not start with {found.Executable}: {e.Message}", ExitCodes.Usage);
            }

            // A package that does not import is a setup error: the traceback says why.
            var broken = imported.Where(m => m.Value.Status == "error" || (m.Key == "cs231n" && m.Value.Status != "ok")).ToList();
            if (broken.Count > 0)
            {
                var (name, (_, message, traceback)) = broken[0];
                return Terminal.Fail($"functional verify: {name} does not import ({message}):\n{traceback?.TrimEnd()}", ExitCodes.Usage);
            }

            Terminal.Out.MarkupLine(Markup.Escape(
                $"Python {found.Executable} (numpy {found.NumpyVersion}); cs231n in {root}; {cases} cases per function, seed {seed}, {timeout:G} s per call."));

            var runner = new PythonCheck(() => driver!, () => Start(), timeout);
            var results = new List<FunctionResult>();
            foreach (var f in functions)
            {
                if (imported.TryGetValue(f.Module, out var m) && m.Status != "ok")
                {
                    results.Add(new FunctionResult(f, NotFound(f), $"{f.File} not found"));
                    continue;
                }

                results.Add(runner.Run(f, cases, unchecked((int)seed)));
            }

            var seconds = clock.Elapsed.TotalSeconds;
            Print(results, seconds);
            if (json is not null)
                WriteJson(json, results, seconds, found);
            return results.Any(r => r.Bad) ? ExitCodes.Failed : ExitCodes.Ok;
        }
        finally
        {
            driver?.Dispose();
            work.Delete(recursive: true);
        }
    }

    private static string Number(double v) =>
        double.IsNaN(v) ? "-" : double.IsPositiveInfinity(v) ? "inf" : v.ToString("0.00E+00", CultureInfo.InvariantCulture);

    private static string Values(double v) => v.ToString("G10", CultureInfo.InvariantCulture);

    private static string ShapeText(int[] s) => "(" + string.Join(", ", s) + (s.Length == 1 ? ",)" : ")");

    private static VerifyReport NotFound(CourseFunction f) =>
        new(f.Name, VerifyStatus.NotFound, 0, double.NaN, FSharpList<OutputVerdict>.Empty, null, null, null, 0.0);

    private static string Hint(FunctionResult r) => r.Report.Hint is { } h ? h.Value : "";

    private static void Print(IReadOnlyList<FunctionResult> results, double seconds)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("function").AddColumn("status").AddColumn(new TableColumn("cases").RightAligned())
            .AddColumn(new TableColumn("worst rel error").RightAligned()).AddColumn("hint");
        foreach (var r in results)
        {
            var status = r.Status switch
            {
                "pass" => "[green]pass[/]",
                "fail" or "error" or "timeout" => $"[red]{r.Status}[/]",
                _ => $"[yellow]{r.Status}[/]",
            };
            var note = r.Report.Hint is not null ? ShortHint(Hint(r)) : r.Status is "not-implemented" or "not-found" ? FirstLine(r.Detail) : "";
            table.AddRow(Markup.Escape(r.Function.Name), status, r.Report.Cases.ToString(CultureInfo.InvariantCulture),
                Number(r.Report.WorstRelError), Markup.Escape(note));
        }

        Terminal.Out.Write(table);
        foreach (var r in results.Where(r => r.Bad))
        {
            Terminal.Out.WriteLine();
            Terminal.Out.MarkupLine($"[bold]{Markup.Escape(r.Function.Name)}[/] ({Markup.Escape(r.Function.File)}): {r.Status}");
            if (r.Report.Failure is { } fo)
            {
                var f = fo.Value;
                Terminal.Out.WriteLine($"  smallest failing case ({f.ShrinkSteps} shrinking steps): {Parameters(f.Description)}");
                Terminal.Out.WriteLine("  inputs: " + string.Join(", ", f.Description.Shapes.Select(s => $"{s.Item1} {ShapeText(s.Item2)}")));
                Terminal.Out.WriteLine(r.ShapeProblem is { } shapes
                    ? $"  {shapes}"
                    : $"  {f.Output} at {ShapeText(f.Index)}: expected {Values(f.Expected)}, actual {Values(f.Actual)}, relative error {Number(f.RelError)}");
            }

            var detail = r.Report.Message is { } m ? m.Value : r.Detail;
            if (detail is not null && r.Report.Failure is null)
                Terminal.Out.WriteLine("  " + detail.TrimEnd().Replace("\n", "\n  ", StringComparison.Ordinal));
            if (r.Report.Hint is not null)
                Terminal.Out.WriteLine($"  hint: {Hint(r)}");
        }

        var counts = results.GroupBy(r => r.Status).Select(g => $"{g.Count()} {g.Key}");
        Terminal.Out.WriteLine();
        Terminal.Out.MarkupLine(Markup.Escape($"{results.Count} functions: {string.Join(", ", counts)}; {seconds:F1} s."));
    }

    /// <summary>A hint without its evidence (the table's column; the full hint follows the counterexample).</summary>
    private static string ShortHint(string hint)
    {
        var i = hint.LastIndexOf("): ", StringComparison.Ordinal);
        if (i >= 0)
            return hint[(i + 3)..];
        i = hint.IndexOf(": ", StringComparison.Ordinal);
        return i >= 0 ? hint[(i + 2)..] : hint;
    }

    private static string FirstLine(string? s) => s?.Split('\n')[0] ?? "";

    private static string Parameters(CaseDescription d) =>
        string.Join(", ", d.Parameters.Select(p => $"{p.Item1}={p.Item2.ToString("G6", CultureInfo.InvariantCulture)}"));

    private static void WriteJson(string path, IReadOnlyList<FunctionResult> results, double seconds, PythonFound python)
    {
        var full = Path.GetFullPath(path);
        var tmp = full + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = File.Create(tmp))
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                w.WriteStartObject();
                w.WriteStartArray("functions");
                foreach (var r in results)
                    WriteFunction(w, r);
                w.WriteEndArray();
                w.WriteNumber("seconds", Math.Round(seconds, 3));
                w.WriteString("python", python.Executable);
                w.WriteString("numpy", python.NumpyVersion);
                w.WriteEndObject();
            }

            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v))
            w.WriteNumber(name, v);
        else
            w.WriteNull(name);
    }

    private static void WriteFunction(Utf8JsonWriter w, FunctionResult r)
    {
        w.WriteStartObject();
        w.WriteString("name", r.Function.Name);
        w.WriteString("module", r.Function.File);
        w.WriteString("status", r.Status);
        w.WriteNumber("cases", r.Report.Cases);
        WriteNumberOrNull(w, "worstRelError", r.Report.WorstRelError);
        w.WriteStartArray("outputs");
        foreach (var o in r.Report.Outputs)
        {
            w.WriteStartObject();
            w.WriteString("output", o.Output);
            w.WriteString("oracle", o.Oracle == Oracle.Reference ? "reference" : "numeric");
            w.WriteBoolean("passed", o.Passed);
            w.WriteNumber("failedCases", o.FailedCases);
            WriteNumberOrNull(w, "worstRelError", o.WorstRelError);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (r.Report.Failure is { } fo)
        {
            var f = fo.Value;
            w.WriteStartObject("failure");
            w.WriteString("output", f.Output);
            w.WriteString("oracle", f.Oracle == Oracle.Reference ? "reference" : "numeric");
            w.WriteStartObject("params");
            foreach (var p in f.Description.Parameters)
                w.WriteNumber(p.Item1, p.Item2);
            w.WriteEndObject();
            w.WriteStartObject("shapes");
            foreach (var s in f.Description.Shapes)
            {
                w.WriteStartArray(s.Item1);
                foreach (var d in s.Item2)
                    w.WriteNumberValue(d);
                w.WriteEndArray();
            }

            w.WriteEndObject();
            w.WriteStartArray("index");
            foreach (var i in f.Index)
                w.WriteNumberValue(i);
            w.WriteEndArray();
            WriteNumberOrNull(w, "expected", f.Expected);
            WriteNumberOrNull(w, "actual", f.Actual);
            WriteNumberOrNull(w, "relError", f.RelError);
            w.WriteNumber("shrinkSteps", f.ShrinkSteps);
            if (r.ShapeProblem is not null)
                w.WriteString("message", r.ShapeProblem);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("failure");
        }

        if (r.Report.Hint is not null)
            w.WriteString("hint", Hint(r));
        else
            w.WriteNull("hint");
        var detail = r.Report.Message is { } m ? m.Value : r.Detail;
        if (detail is not null)
            w.WriteString("message", detail);
        w.WriteEndObject();
    }
}
