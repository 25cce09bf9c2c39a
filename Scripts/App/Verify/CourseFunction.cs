using Functional.FSharp;
using Comparison = Functional.FSharp.Comparison;
namespace Functional.App.Course;

/// <summary>The student's function did not answer this case with values (a None, a missing function, a bad shape of answer).</summary>
internal sealed class NotAnsweredException(string status, string message) : Exception(message)
{
    /// <summary>"not-implemented" or "error".</summary>
    public string Status { get; } = status;
}

/// <summary>How a case's results are judged: from the returned values (one per step) to the compared outputs.</summary>
internal sealed record CaseRun(Func<IReadOnlyList<object?>, IReadOnlyList<Comparison>> Judge);

/// <summary>
/// One course function: where it lives, the library's spec of its cases (generator, shrinker, description in the
/// course's names, known wrong formulas), and how one case is run in Python and judged against the library.
/// </summary>
/// <param name="Name">The course's name (affine_forward, adam, FullyConnectedNet, …).</param>
/// <param name="File">Its file in the assignment: cs231n/layers.py, …</param>
/// <param name="Spec">The library's verification spec, named after the course function.</param>
/// <param name="Build">Writes the case's steps into a <see cref="PyCase"/> and returns how to judge them.</param>
internal sealed record CourseFunction(string Name, string File, VerifySpec<VerificationCase> Spec, Func<VerificationCase, PyCase, CaseRun> Build)
{
    /// <summary>The Python module: cs231n.layers, cs231n.classifiers.fc_net, …</summary>
    public string Module => File[..^3].Replace('/', '.');
}
