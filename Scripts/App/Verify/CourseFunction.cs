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

/// <summary>
/// One file of the assignment (<c>cs231n/layers.py</c>, <c>cs231n/rnn_layers.py</c>): the driver's names of its
/// functions, its <see cref="CourseFunction"/>s, and the forward-then-backward call its backward cases share.
/// </summary>
/// <param name="File">The file in the assignment: cs231n/layers.py, …</param>
internal sealed record CourseModule(string File)
{
    /// <summary>The function's name as the driver calls it: cs231n.layers.affine_forward.</summary>
    public string F(string name) => File[..^3].Replace('/', '.') + "." + name;

    /// <summary>The course function <paramref name="name"/> of this file.</summary>
    public CourseFunction Function(string name, VerifySpec<VerificationCase> spec, Func<VerificationCase, PyCase, CaseRun> build) =>
        new(name, File, spec, build);

    /// <summary>
    /// The student's <paramref name="forward"/> on <paramref name="args"/>, then their <paramref name="backward"/> on
    /// the <paramref name="upstream"/> gradients and the forward's cache (the last item it returns, as every forward
    /// of the course does; None from the forward: "not implemented"). In a numeric case with one upstream gradient,
    /// also the directional check of the gradients <paramref name="wrt"/> (name, position of the input in
    /// <paramref name="args"/>) against the student's own forward; null otherwise (the LSTM step's two outputs are
    /// checked against the reference alone).
    /// </summary>
    public Directional? ForwardBackward(PyCase py, string forward, object?[] args, string backward, object[] upstream,
        params (string Grad, int Position)[] wrt)
    {
        var fwd = py.Call(F(forward), args, returned: false);
        py.Call(F(backward), [.. upstream, fwd[-1]], needs: fwd, needsName: forward);
        return upstream.Length == 1 ? Directional.Add(py, F(forward), args, (Tensor)upstream[0], wrt) : null;
    }
}
