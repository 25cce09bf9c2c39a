using System.Globalization;

namespace Functional.App.Verify;

/// <summary>
/// A case's configuration: named integer or real parameters (sizes, stride, pad, mode flags, the data seed), in a
/// fixed order. Shown in the report and shrunk one parameter at a time.
/// </summary>
internal sealed class CaseParams
{
    private readonly List<(string Name, double Value)> items = [];

    public CaseParams Set(string name, double value)
    {
        var i = items.FindIndex(p => p.Name == name);
        if (i >= 0)
            items[i] = (name, value);
        else
            items.Add((name, value));
        return this;
    }

    public double this[string name] => items.First(p => p.Name == name).Value;

    public int I(string name) => (int)this[name];

    public bool Has(string name) => items.Exists(p => p.Name == name);

    public IReadOnlyList<(string Name, double Value)> Items => items;

    public CaseParams With(string name, double value)
    {
        var copy = new CaseParams();
        foreach (var (n, v) in items)
            copy.Set(n, v);
        return copy.Set(name, value);
    }

    public override string ToString() =>
        string.Join(", ", items.Where(p => p.Name != "seed").Select(p => $"{p.Name}={p.Value.ToString("G6", CultureInfo.InvariantCulture)}"));
}

/// <summary>One output of one case compared: the reference (expected) against the student's (actual).</summary>
/// <param name="Output">The output's name in the course's terms (out, dx, dw, loss, running_mean, …).</param>
/// <param name="Expected">The library's value (or one derived from the student's own random mask).</param>
/// <param name="Actual">The student's value; null when it has another shape (<paramref name="Problem"/> says which).</param>
/// <param name="Tolerance">The bound on the relative error (the library's rule unless a statistical check says otherwise).</param>
internal sealed record Check(string Output, Tensor Expected, Tensor? Actual, double Tolerance, string? Problem = null);

/// <summary>The student's function did not answer this case with values (a None, a missing function).</summary>
internal sealed class NotAnsweredException(string status, string message) : Exception(message)
{
    public string Status { get; } = status;
}

/// <summary>What a case needs: the student's steps (written into a <see cref="PyCase"/>) and how to judge their results.</summary>
/// <param name="Shapes">The inputs' shapes by course name, for the report.</param>
/// <param name="Judge">From the returned values (one per step) to the compared outputs.</param>
internal sealed record CaseRun(IReadOnlyDictionary<string, int[]> Shapes, Func<IReadOnlyList<object?>, IReadOnlyList<Check>> Judge);

/// <summary>One course function: where it lives, its random configurations, and how one case is run and judged.</summary>
/// <param name="Name">The course's name (affine_forward, adam, FullyConnectedNet, …).</param>
/// <param name="File">Its file in the assignment: cs231n/layers.py, …</param>
/// <param name="Generate">The i-th random configuration (the first ones are the fixed edge cases).</param>
/// <param name="Shrink">Smaller configurations to try when a case fails, simplest first.</param>
/// <param name="Build">Writes the case's steps and returns how to judge them.</param>
internal sealed record CourseFunction(
    string Name,
    string File,
    Func<Random, int, CaseParams> Generate,
    Func<CaseParams, IEnumerable<CaseParams>> Shrink,
    Func<CaseParams, PyCase, CaseRun> Build)
{
    /// <summary>The Python module: cs231n.layers, cs231n.classifiers.fc_net, …</summary>
    public string Module => File[..^3].Replace('/', '.');

    /// <summary>The function's dotted path for the driver.</summary>
    public string Target => Module + "." + Name;
}
