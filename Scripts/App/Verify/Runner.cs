namespace Functional.App.Verify;

/// <summary>The shrunk counterexample of a failing function.</summary>
/// <param name="Output">The output that differs (dx, running_var, …), or the step that raised.</param>
/// <param name="Params">The case's configuration.</param>
/// <param name="Shapes">Its inputs' shapes.</param>
/// <param name="Index">The worst element's multi-index.</param>
internal sealed record Failure(string Output, CaseParams Params, IReadOnlyDictionary<string, int[]> Shapes, int[] Index,
    double Expected, double Actual, double RelError, string? Message);

/// <summary>One function's verdict.</summary>
internal sealed record FunctionResult(CourseFunction Function, string Status, int Cases, double WorstRelError, Failure? Failure,
    string? Hint, string? Message)
{
    public bool Passed => Status is "pass";

    public bool Bad => Status is "fail" or "error" or "timeout";
}

/// <summary>A case's verdict: passed, failed (its worst failing check), or not answered (a status).</summary>
internal sealed record CaseVerdict(CaseParams Params, IReadOnlyDictionary<string, int[]> Shapes, IReadOnlyList<(Check Check, GradCheckReport? Report)> Checks,
    string? Status, string? Message)
{
    public bool Passed => Status is null && Checks.All(c => c.Report is { Passed: true });

    /// <summary>The failing outputs of this case.</summary>
    public IEnumerable<string> FailedOutputs => Checks.Where(c => c.Report is not { Passed: true }).Select(c => c.Check.Output);
}

/// <summary>
/// Runs one course function's cases in the Python driver (all cases in one batch), judges them, shrinks the first
/// failure (re-running the student's code for each smaller configuration) and asks the hint catalogue.
/// </summary>
internal sealed class Runner(Func<PythonDriver> driver, Action restart, double callTimeout, int shrinkBudget = 60)
{

    private IReadOnlyList<CaseVerdict> RunBatch(CourseFunction f, IReadOnlyList<CaseParams> configs)
    {
        var request = new PyRequest();
        var runs = configs.Select(c => f.Build(c, request.NewCase())).ToList();
        // A case of k calls gets k time limits and 5 s more before the driver is stopped (a call that ignores its
        // own limit, e.g. by catching the timeout exception).
        var budget = TimeSpan.FromSeconds(callTimeout * request.Cases.Max(c => c.Count) + 5);
        var replies = driver().Run(request, callTimeout, budget);
        var verdicts = new List<CaseVerdict>();
        for (var i = 0; i < replies.Count; i++)
            verdicts.Add(Judge(configs[i], runs[i], replies[i]));
        return verdicts;
    }

    private static CaseVerdict Judge(CaseParams c, CaseRun run, CaseReply reply)
    {
        if (!reply.Ok)
        {
            var message = reply.Traceback is { Length: > 0 } tb ? tb.TrimEnd() : reply.Message;
            return new CaseVerdict(c, run.Shapes, [], reply.Status, message);
        }

        try
        {
            var checks = run.Judge(reply.Values);
            return new CaseVerdict(c, run.Shapes, checks.Select(ch => (ch, ch.Actual is null ? null
                : (GradCheckReport?)GradientCheck.Compare(ch.Output, ch.Actual, ch.Expected, ch.Tolerance, GradientSuite.Floor))).ToList(), null, null);
        }
        catch (NotAnsweredException e)
        {
            return new CaseVerdict(c, run.Shapes, [], e.Status, e.Message);
        }
    }

    /// <summary>Runs <paramref name="cases"/> cases from <paramref name="seed"/>.</summary>
    public FunctionResult Run(CourseFunction f, int cases, int seed)
    {
        var random = new Random(HashCode.Combine(seed, StableHash(f.Name)));
        var configs = Enumerable.Range(0, cases).Select(i => f.Generate(random, i)).ToList();
        IReadOnlyList<CaseVerdict> verdicts;
        try
        {
            verdicts = RunBatch(f, configs);
        }
        catch (DriverLostException e)
        {
            restart();
            return new FunctionResult(f, e.Status, 0, double.NaN, null, null, e.Message);
        }

        // A function that is missing or still a stub is reported as such, not as a failure.
        var first = verdicts.FirstOrDefault(v => v.Status is "not-found" or "not-implemented");
        if (first is not null)
            return new FunctionResult(f, first.Status!, verdicts.Count, double.NaN, null, null, first.Message);
        var worst = verdicts.SelectMany(v => v.Checks).Select(c => c.Report?.MaxRelativeError ?? double.PositiveInfinity)
            .DefaultIfEmpty(double.NaN).Max();
        var failing = verdicts.FirstOrDefault(v => !v.Passed);
        if (failing is null)
            return new FunctionResult(f, "pass", verdicts.Count, worst, null, null, null);

        var status = failing.Status switch
        {
            "timeout" => "timeout",
            "error" => "error",
            _ => "fail",
        };
        var shrunk = status == "fail" ? ShrinkFailure(f, failing) : failing;
        var hint = status == "fail" ? Hints.Find(f, verdicts, shrunk) : null;
        return new FunctionResult(f, status, verdicts.Count, worst, Describe(shrunk), hint, failing.Message ?? shrunk.Message);
    }

    /// <summary>Greedy shrinking: take the first smaller configuration that still fails the same way, until none does.</summary>
    private CaseVerdict ShrinkFailure(CourseFunction f, CaseVerdict failing)
    {
        var current = failing;
        var budget = shrinkBudget;
        var progress = true;
        while (progress && budget > 0)
        {
            progress = false;
            var candidates = f.Shrink(current.Params).Take(budget).ToList();
            if (candidates.Count == 0)
                break;
            IReadOnlyList<CaseVerdict> tried;
            try
            {
                tried = RunBatch(f, candidates);
            }
            catch (DriverLostException)
            {
                restart();
                break;
            }

            budget -= candidates.Count;
            var smaller = tried.FirstOrDefault(v => v.Status is null && !v.Passed);
            if (smaller is not null)
            {
                current = smaller;
                progress = true;
            }
        }

        return current;
    }

    private static Failure Describe(CaseVerdict v)
    {
        if (v.Status is not null)
            return new Failure(v.Status, v.Params, v.Shapes, [], double.NaN, double.NaN, double.NaN, v.Message);
        var (check, report) = v.Checks.First(c => c.Report is not { Passed: true });
        if (report is null)
            return new Failure(check.Output, v.Params, v.Shapes, [], double.NaN, double.NaN, double.PositiveInfinity, check.Problem);
        return new Failure(check.Output, v.Params, v.Shapes, report.WorstIndex, report.Numeric, report.Analytic, report.MaxRelativeError, null);
    }

    private static int StableHash(string s) => s.Aggregate(17, (h, ch) => unchecked(h * 31 + ch));
}
