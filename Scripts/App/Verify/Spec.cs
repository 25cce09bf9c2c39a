namespace Functional.App.Verify;

/// <summary>An integer parameter of a configuration: its range, and fixed values the first cases take.</summary>
internal sealed record IntParam(string Name, int Min, int Max, params int[] Edge);

/// <summary>Building blocks of the course functions' specifications: configurations, inputs, and judging.</summary>
internal static class Spec
{
    /// <summary>The library's tolerance on a relative error (the property suite's and the <c>check</c> verb's).</summary>
    public static double Tolerance => CheckCommand.Tolerance;

    /// <summary>
    /// Configurations over integer ranges: case i &lt; (number of edge values) sets every parameter to its i-th edge
    /// value (if it has one), so the edge cases (N = 1, pad 0, …) always run; the rest are uniform. Invalid draws
    /// (<paramref name="valid"/> false) are redrawn. Shrinking moves one parameter at a time towards its minimum.
    /// </summary>
    public static (Func<Random, int, CaseParams> Generate, Func<CaseParams, IEnumerable<CaseParams>> Shrink) Ranges(
        Func<CaseParams, bool> valid, params IntParam[] ps)
    {
        CaseParams Draw(Random r, int i)
        {
            for (var attempt = 0; ; attempt++)
            {
                var c = new CaseParams();
                foreach (var p in ps)
                {
                    var edge = attempt < 20 && i < p.Edge.Length ? p.Edge[i] : (int?)null;
                    c.Set(p.Name, edge ?? r.Next(p.Min, p.Max + 1));
                }

                c.Set("seed", r.Next());
                if (valid(c))
                    return c;
            }
        }

        IEnumerable<CaseParams> Shrink(CaseParams c)
        {
            foreach (var p in ps)
            {
                var v = c.I(p.Name);
                foreach (var smaller in new[] { p.Min, v / 2, v - 1 }.Where(s => s >= p.Min && s < v).Distinct())
                {
                    var candidate = c.With(p.Name, smaller);
                    if (valid(candidate))
                        yield return candidate;
                }
            }
        }

        return (Draw, Shrink);
    }

    /// <summary>The case's random number generator (from its "seed" parameter), split per input by <paramref name="stream"/>.</summary>
    public static Rng Rng(CaseParams c, int stream) => Functional.Rng.Create(c.I("seed") * 64L + stream);

    public static Tensor Normal(CaseParams c, int stream, params int[] shape) => Tensor.RandomNormal(Rng(c, stream), 1.0, shape);

    public static Tensor Uniform(CaseParams c, int stream, double low, double high, params int[] shape) =>
        Tensor.RandomUniform(Rng(c, stream), low, high, shape);

    /// <summary>Distinct, well-separated values in a random order (no ties in a max-pool window).</summary>
    public static Tensor Distinct(CaseParams c, int stream, params int[] shape)
    {
        var n = shape.Aggregate(1, (a, b) => a * b);
        var perm = Rng(c, stream).Permutation(n);
        return Tensor.FromArray(perm.Select(i => (i - n / 2.0) * 0.1).ToArray(), shape);
    }

    /// <summary>Integers in [0, count) (labels, word indices), as doubles in a tensor of the given shape.</summary>
    public static int[] Labels(CaseParams c, int stream, int count, int n) =>
        Rng(c, stream).Uniforms(n).Select(u => Math.Min(count - 1, (int)(u * count))).ToArray();

    public static Tensor IntTensor(int[] values, params int[] shape) => Tensor.FromArray(values.Select(v => (double)v).ToArray(), shape);

    public static int[] Shape(Tensor t) => [.. t.Shape];

    // ---- reading the student's values ----

    /// <summary>Value <paramref name="index"/> of a returned tuple (or the value itself when <paramref name="index"/> is null).</summary>
    public static object? Item(object? value, int? index, string what)
    {
        if (index is not { } i)
            return value;
        if (value is IReadOnlyList<object?> list)
            return i < list.Count ? list[i] : throw new NotAnsweredException("error", $"{what}: returned {list.Count} values, expected at least {i + 1}.");
        if (value is null)
            throw new NotAnsweredException("not-implemented", $"{what} returned None.");
        throw new NotAnsweredException("error", $"{what}: returned {Describe(value)}, expected a tuple.");
    }

    private static string Describe(object? v) => v switch
    {
        null => "None",
        Tensor t => $"an array of shape ({string.Join(", ", t.Shape)})",
        double d => $"the number {d}",
        PyObject o => $"a {o.TypeName}",
        IReadOnlyList<object?> l => $"a tuple of {l.Count}",
        _ => v.GetType().Name,
    };

    /// <summary>A returned array (a Python float becomes a 0-d array); None means not implemented yet.</summary>
    public static Tensor Array(object? value, string what) => value switch
    {
        Tensor t => t,
        double d => Tensor.Scalar(d),
        null => throw new NotAnsweredException("not-implemented", $"{what} is None."),
        _ => throw new NotAnsweredException("error", $"{what}: returned {Describe(value)}, expected an array."),
    };

    /// <summary>A returned number (a 0-d or 1-element array is accepted).</summary>
    public static double Number(object? value, string what) => value switch
    {
        double d => d,
        Tensor { Count: 1 } t => t.ToArray()[0],
        null => throw new NotAnsweredException("not-implemented", $"{what} is None."),
        _ => throw new NotAnsweredException("error", $"{what}: returned {Describe(value)}, expected a number."),
    };

    /// <summary>Compares with the library's tolerance; another shape is a failure that names both shapes.</summary>
    public static Check Compare(string output, Tensor expected, object? actual, double? tolerance = null)
    {
        var a = actual switch
        {
            Tensor t => t,
            double d => Tensor.Scalar(d),
            _ => null,
        };
        if (actual is null)
            throw new NotAnsweredException("not-implemented", $"{output} is None.");
        if (a is null)
            return new Check(output, expected, null, tolerance ?? Tolerance, $"not an array ({Describe(actual)})");
        if (a.Count == expected.Count && !a.Shape.SequenceEqual(expected.Shape))
        {
            // A (D,) answer for a (1, D) output, or a 0-d loss for a scalar: same values, a harmless shape.
            if (a.Shape.Where(s => s != 1).SequenceEqual(expected.Shape.Where(s => s != 1)))
                a = a.Reshape([.. expected.Shape]);
        }

        return a.Shape.SequenceEqual(expected.Shape)
            ? new Check(output, expected, a, tolerance ?? Tolerance)
            : new Check(output, expected, null, tolerance ?? Tolerance, $"shape ({string.Join(", ", a.Shape)}), expected ({string.Join(", ", expected.Shape)})");
    }

    public static Dictionary<string, object?> Dict(params (string Key, object? Value)[] items) =>
        items.ToDictionary(kv => kv.Key, kv => kv.Value);

    public static Dictionary<string, int[]> Shapes(params (string Name, Tensor T)[] items) =>
        items.ToDictionary(kv => kv.Name, kv => Shape(kv.T));
}
