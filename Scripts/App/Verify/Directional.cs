using Functional.FSharp;
using Comparison = Functional.FSharp.Comparison;
using static Functional.App.Course.Spec;

namespace Functional.App.Course;

/// <summary>
/// The numeric oracle of the Python path: the derivative of the student's OWN forward pass along a random direction,
/// compared with their backward pass, so that "forward right, backward wrong" (the reference and this both fail) is
/// told from "both wrong, consistently" (the reference fails, this passes), as the F#/C# entry points tell them.
/// <para>
/// For an input a of the forward (x, w, gamma, …) with returned gradient da, the case's upstream gradient dout,
/// L(a) = Σ forward(a)·dout, a direction v ~ N(0, 1) of a's shape (key 40 + the argument's position) and the centered
/// differences D(h) = (L(a + h·v) − L(a − h·v)) / 2h, the numeric directional derivative is Richardson's
/// (4·D(h/2) − D(h)) / 3 (the h² term cancels) with h = 1e-4, compared with ⟨da, v⟩ under the gradient bound
/// (<see cref="Tolerance.Gradient"/>) as output da, <see cref="Functional.Oracle.Numeric"/>. h is 10 times the
/// element-wise oracle's because L sums the whole output, whose round-off is larger than one element's; the
/// extrapolation keeps the truncation error at O(h⁴). The inputs keep kinks 0.1 away (ReLU inputs, max-pool's
/// distinct values), far beyond h·|v|.
/// </para>
/// <para>
/// A full numeric gradient needs two forward calls per element, each a round trip to Python; this needs four per
/// input. It is the random-projection gradient check of PyTorch's <c>torch.autograd.gradcheck(fast_mode=True)</c>
/// (which compares uᵀ·J·v with its finite-difference estimate; here u is dout), run on the first
/// <see cref="PythonCheck.NumericCases"/> cases and on every shrinking step of a failure.
/// </para>
/// </summary>
internal sealed class Directional
{
    private const double H = 1e-4;
    private readonly Tensor _dout;
    private readonly List<(string Grad, Tensor Direction, PyRef[] Calls)> _inputs = [];

    private Directional(Tensor dout) => _dout = dout;

    /// <summary>
    /// In a numeric case (<see cref="PyCase.NumericCase"/>), adds the perturbed forward calls: for each (gradient name,
    /// argument position) of <paramref name="wrt"/>, four calls of <paramref name="forward"/> (its first result
    /// sent back) with that argument moved by ±h·v and ±h/2·v. Null otherwise.
    /// </summary>
    public static Directional? Add(PyCase py, string forward, object?[] args, Tensor dout, (string Grad, int Position)[] wrt)
    {
        if (py.NumericCase is not { } c || wrt.Length == 0)
            return null;
        var d = new Directional(dout);
        foreach (var (grad, position) in wrt)
        {
            var a = args[position] as Tensor ?? throw new ArgumentException($"Directional.Add: argument {position} of {forward} is not an array.", nameof(wrt));
            var v = Normal(c, 40 + position, [.. a.Shape]);
            var calls = new[] { H, -H, H / 2, -H / 2 }.Select(h =>
            {
                var moved = (object?[])args.Clone();
                moved[position] = a + v * h;
                return py.Call(forward, moved, pick: 0);
            }).ToArray();
            d._inputs.Add((grad, v, calls));
        }

        return d;
    }

    /// <summary>
    /// The comparisons ⟨da, v⟩ vs the directional derivative for the gradients the student returned
    /// (<paramref name="grads"/>, by name), from the case's returned values <paramref name="values"/>. A gradient or
    /// a forward output whose size does not fit is skipped: its reference comparison already fails.
    /// </summary>
    public IEnumerable<Comparison> Compare(IReadOnlyList<object?> values, IEnumerable<(string Name, object? Value)> grads)
    {
        var byName = grads.ToDictionary(g => g.Name, g => g.Value);
        foreach (var (grad, v, calls) in _inputs)
        {
            if (byName.GetValueOrDefault(grad) is not Tensor da || da.Count != v.Count)
                continue;
            var l = calls.Select(r => values[r.Step] is Tensor o && o.Count == _dout.Count ? Dot(o, _dout) : double.NaN).ToArray();
            if (l.Any(double.IsNaN))
                continue;
            double coarse = (l[0] - l[1]) / (2 * H), fine = (l[2] - l[3]) / H;
            yield return new Comparison(grad, Tensor.Scalar((4 * fine - coarse) / 3), Tensor.Scalar(Dot(da, v)), Functional.Oracle.Numeric);
        }
    }

    /// <summary><see cref="Compare"/> of a numeric case; nothing when <paramref name="numeric"/> is null.</summary>
    public static IEnumerable<Comparison> Checks(Directional? numeric, IReadOnlyList<object?> values, IEnumerable<(string Name, object? Value)> grads) =>
        numeric is null ? [] : numeric.Compare(values, grads);

    private static double Dot(Tensor a, Tensor b)
    {
        double[] x = a.ToArray(), y = b.ToArray();
        var s = 0.0;
        for (var i = 0; i < x.Length; i++)
            s += x[i] * y[i];
        return s;
    }
}
