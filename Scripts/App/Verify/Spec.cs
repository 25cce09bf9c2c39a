using Functional.FSharp;
using Comparison = Functional.FSharp.Comparison;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Functional.App.Course;

/// <summary>
/// Building blocks of the course functions: the library's cases (<see cref="Cases"/>) and specs as C# sees them,
/// the case's tensors, and reading and comparing the student's values.
/// </summary>
internal static class Spec
{
    /// <summary>A spec named after the course function, from the library's spec (same cases, description, variants).</summary>
    public static VerifySpec<VerificationCase> Named(string name, VerifySpec<VerificationCase> spec, IEnumerable<Variant<VerificationCase>>? extraVariants = null) =>
        new(name, spec.Arbitrary, spec.Describe, extraVariants is null ? spec.Variants : ListModule.OfSeq(spec.Variants.Concat(extraVariants)));

    /// <summary>A spec over the library's case generator with the given ranges (and validity), described by <paramref name="describe"/>.</summary>
    public static VerifySpec<VerificationCase> Over(string name, (string Name, int Lo, int Hi)[] ranges, Func<VerificationCase, bool>? valid,
        Func<VerificationCase, CaseDescription> describe, IEnumerable<Variant<VerificationCase>>? variants = null)
    {
        var list = ListModule.OfSeq(ranges.Select(r => Tuple.Create(r.Name, r.Lo, r.Hi)));
        var arb = valid is null ? Cases.over(list) : Cases.shrinkingPairs(list, FuncConvert.FromFunc(valid));
        return new(name, arb, FuncConvert.FromFunc(describe), ListModule.OfSeq(variants ?? []));
    }

    /// <summary>A case's description: parameters and shapes in the course's names.</summary>
    public static CaseDescription Describe(IEnumerable<(string Name, double Value)> parameters, IEnumerable<(string Name, int[] Shape)> shapes) =>
        new(ListModule.OfSeq(parameters.Select(p => Tuple.Create(p.Name, p.Value))), ListModule.OfSeq(shapes.Select(s => Tuple.Create(s.Name, s.Shape))));

    /// <summary>The parameters of a case under their own names.</summary>
    public static IEnumerable<(string, double)> Sizes(VerificationCase c, params string[] names) => names.Select(n => (n, (double)c.Item(n)));

    /// <summary>A known wrong formula: its outputs on a case, evidence for the catalogue's hint <paramref name="hint"/>.</summary>
    public static Variant<VerificationCase> Variant(string hint, Func<VerificationCase, IEnumerable<(string Output, Tensor Value)>> outputs) =>
        new(hint, FuncConvert.FromFunc<VerificationCase, FSharpList<Tuple<string, Tensor>>>(c => ListModule.OfSeq(outputs(c).Select(o => Tuple.Create(o.Output, o.Value)))));

    // ---- the case's tensors (the library's keys and distributions) ----

    public static Rng Key(VerificationCase c, int i) => Cases.key(c, i);

    public static Tensor Normal(VerificationCase c, int key, params int[] shape) => Cases.normal(Key(c, key), shape);

    public static int[] Shape(Tensor t) => [.. t.Shape];

    // ---- reading the student's values ----

    /// <summary>Value <paramref name="index"/> of a returned tuple.</summary>
    public static object? Item(object? value, int index, string what)
    {
        if (value is IReadOnlyList<object?> list)
            return index < list.Count ? list[index] : throw new NotAnsweredException("error", $"{what} returned {list.Count} values, expected at least {index + 1}.");
        if (value is null)
            throw new NotAnsweredException("not-implemented", $"{what} returns None.");
        throw new NotAnsweredException("error", $"{what} returned {Describe(value)}, expected a tuple.");
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
        _ => throw new NotAnsweredException("error", $"{what} is {Describe(value)}, expected an array."),
    };

    /// <summary>
    /// The student's value of <paramref name="output"/> against the library's, under the library's rule (reference
    /// bound). A None is "not implemented"; a value of another shape is compared as it is (the engine fails it and
    /// names both shapes); a (D,) answer for a (1, D) output, or a 0-d array for a number, is reshaped.
    /// </summary>
    public static Comparison Compare(string output, Tensor expected, object? actual)
    {
        if (actual is null)
            throw new NotAnsweredException("not-implemented", $"{output} is None.");
        var a = actual switch
        {
            Tensor t => t,
            double d => Tensor.Scalar(d),
            _ => throw new NotAnsweredException("error", $"{output} is {Describe(actual)}, expected an array."),
        };
        if (a.Count == expected.Count && !a.Shape.SequenceEqual(expected.Shape)
            && a.Shape.Where(s => s != 1).SequenceEqual(expected.Shape.Where(s => s != 1)))
            a = a.Reshape([.. expected.Shape]);
        return new Comparison(output, expected, a, Oracle.Reference);
    }

    /// <summary>The gradients a backward pass returned (a tuple, step 1 of the case) against the reference, and
    /// against the directional derivative of the student's forward when the case has one.</summary>
    public static List<Comparison> Grads(IReadOnlyList<object?> v, string what, Directional? numeric, params (string Name, Tensor Expected)[] grads)
    {
        var returned = grads.Select((g, i) => (g.Name, Value: Item(v[1], i, what))).ToList();
        return [.. returned.Select((g, i) => Compare(g.Name, grads[i].Expected, g.Value)), .. Directional.Checks(numeric, v, returned)];
    }

    public static Dictionary<string, object?> Dict(params (string Key, object? Value)[] items) =>
        items.ToDictionary(kv => kv.Key, kv => kv.Value);
}
