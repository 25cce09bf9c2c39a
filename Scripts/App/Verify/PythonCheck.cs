using Functional.FSharp;
using Comparison = Functional.FSharp.Comparison;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Functional.App.Course;

/// <summary>One function's verdict: the library engine's report, and what the driver said when it was not a comparison.</summary>
/// <param name="Function">The course function.</param>
/// <param name="Report">The engine's report (status, cases, worst relative error, shrunk counterexample, hint).</param>
/// <param name="Detail">Why a function is not-found, not-implemented, errs or timed out (the driver's message or the traceback).</param>
/// <param name="ShapeProblem">When the counterexample's output has another shape than expected: both shapes.</param>
internal sealed record FunctionResult(CourseFunction Function, VerifyReport Report, string? Detail, string? ShapeProblem = null)
{
    /// <summary>pass, fail, not-implemented, not-found, error or timeout.</summary>
    public string Status => Report.Status switch
    {
        VerifyStatus.Pass => "pass",
        VerifyStatus.Fail => "fail",
        VerifyStatus.NotImplemented => "not-implemented",
        VerifyStatus.NotFound => "not-found",
        VerifyStatus.Error => "error",
        _ => "timeout",
    };

    /// <summary>True for fail, error and timeout (exit code 1).</summary>
    public bool Bad => Report.Status is VerifyStatus.Fail or VerifyStatus.Error or VerifyStatus.Timeout;
}

/// <summary>
/// Runs a course function through the library's engine (<see cref="Verification.run"/>: cases, judging with the one
/// tolerance rule, shrinking by re-running the student's code, hints), each case one request to the Python driver.
/// A driver that dies (a crash) or stops answering (a call that ignores its time limit) is restarted, and the case
/// is an Error or a Timeout of this function only.
/// </summary>
internal sealed class PythonCheck(Func<PythonDriver> driver, Action restart, double callTimeout)
{
    /// <summary>The number of random cases (the first ones) whose backward passes are also checked against the
    /// student's own forward (<see cref="Directional"/>); the shrinking steps of a failure are all checked.</summary>
    public const int NumericCases = 10;

    /// <summary>Verifies <paramref name="f"/> over <paramref name="cases"/> cases from <paramref name="seed"/>.</summary>
    public FunctionResult Run(CourseFunction f, int cases, int seed)
    {
        string? detail = null;
        var compared = new Dictionary<string, IReadOnlyList<Comparison>>();
        var calls = 0;
        var report = Verification.run(f.Spec, cases, seed, FuncConvert.FromFunc<VerificationCase, Outcome>(c =>
        {
            calls++;
            var (outcome, message) = Check(f, c, numeric: calls <= NumericCases || calls > cases);
            if (message is not null)
                detail ??= message;
            if (outcome is Outcome.Compared cs)
                compared[c.ToString()] = [.. cs.Item];
            return outcome;
        }));
        return new FunctionResult(f, report, report.Status is VerifyStatus.Pass or VerifyStatus.Fail ? null : detail, ShapeProblem(report, compared));
    }

    /// <summary>"dx has shape (…), expected (…)" when the counterexample's output has another shape (the engine reports no element then).</summary>
    private static string? ShapeProblem(VerifyReport report, Dictionary<string, IReadOnlyList<Comparison>> compared)
    {
        if (report.Failure is not { } fo || fo.Value.Index.Length > 0 || !compared.TryGetValue(fo.Value.Case, out var cs))
            return null;
        static string Text(Tensor t) => "(" + string.Join(", ", t.Shape) + (t.Rank == 1 ? ",)" : ")");
        var c = cs.FirstOrDefault(x => x.Output == fo.Value.Output && !x.Actual.Shape.SequenceEqual(x.Expected.Shape));
        return c is null ? null : $"{c.Output} has shape {Text(c.Actual)}, expected {Text(c.Expected)}";
    }

    private (Outcome Outcome, string? Message) Check(CourseFunction f, VerificationCase c, bool numeric)
    {
        var request = new PyRequest();
        var run = f.Build(c, request.NewCase(numeric ? c : null));
        CaseReply reply;
        try
        {
            // A case of k calls gets k time limits and 5 s more before the driver is stopped.
            var budget = TimeSpan.FromSeconds(callTimeout * request.Cases[0].Count + 5);
            reply = driver().Run(request, callTimeout, budget)[0];
        }
        catch (DriverLostException e)
        {
            restart();
            return e.Status == "timeout" ? (Outcome.Timeout, e.Message) : (Outcome.NewError(e.Message), e.Message);
        }

        var message = reply.Traceback is { Length: > 0 } tb ? $"{reply.Message}\n{tb.TrimEnd()}" : reply.Message;
        switch (reply.Status)
        {
            case "ok":
                try
                {
                    return (Outcome.NewCompared(ListModule.OfSeq(run.Judge(reply.Values))), null);
                }
                catch (NotAnsweredException e)
                {
                    return (e.Status == "not-implemented" ? Outcome.NotImplemented : Outcome.NewError(e.Message), e.Message);
                }
            case "not-found":
                return (Outcome.NotFound, message);
            case "not-implemented":
                return (Outcome.NotImplemented, message);
            case "timeout":
                return (Outcome.Timeout, message);
            default:
                return (Outcome.NewError(message), message);
        }
    }
}
