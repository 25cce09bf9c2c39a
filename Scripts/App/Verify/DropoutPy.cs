using Functional.FSharp;
using Comparison = Functional.FSharp.Comparison;
using System.Collections.Concurrent;
using static Functional.App.Course.Spec;

namespace Functional.App.Course;

/// <summary>
/// The course's dropout_forward/backward (dropout_param: p = the probability of KEEPING a unit, mode, seed). The
/// student's random mask is their own (np.random.seed), so a case is judged against the mask their output shows:
/// in training every element must be x / p or 0 (dx: dout / p or 0 on the same units), and the kept fraction must be
/// p within 5 standard deviations; in test mode out = x and dx = dout. The cases are the library's generator over
/// larger inputs than its dropout spec (at least 200 units, so that the kept fraction says something).
/// </summary>
internal static class DropoutPy
{
    private static readonly CourseModule Module = new("cs231n/layers.py");

    public static IEnumerable<CourseFunction> All()
    {
        // The student's forward output per case, for the known wrong formulas (their mask is only known from it).
        var outputs = new ConcurrentDictionary<VerificationCase, Tensor>();
        var variants = new[]
        {
            Variant("dropout-not-inverted", c => outputs.TryGetValue(c, out var o) && c.Item("mode") == 0
                ? [("out", Inputs(c).X * Kept(o))]
                : []),
            Variant("dropout-drop-probability", c => outputs.TryGetValue(c, out var o) && c.Item("mode") == 0
                ? [("kept fraction", Tensor.Scalar(Fraction(Kept(o), 1 - P(c))))]
                : []),
        };
        var spec = Over("dropout", [("N", 20, 60), ("D", 10, 20), ("keep", 1, 9), ("mode", 0, 1)], null,
            c => Describe([("N", c.Item("N")), ("D", c.Item("D")), ("p", P(c)), ("test_mode", c.Item("mode"))], [("x", [c.Item("N"), c.Item("D")])]), variants);

        yield return Module.Function("dropout_forward", Named("dropout_forward", spec), (c, py) =>
        {
            var (x, _) = Inputs(c);
            py.Call(Module.F("dropout_forward"), [x, Param(c)], pick: 0);
            return new CaseRun(v =>
            {
                var o = Array(v[0], "dropout_forward out");
                outputs[c] = o;
                return Checks(c, x, o, x, o, "out");
            });
        });
        yield return Module.Function("dropout_backward", Named("dropout_backward", spec), (c, py) =>
        {
            var (x, dout) = Inputs(c);
            var fwd = py.Call(Module.F("dropout_forward"), [x, Param(c)], pick: 0);
            py.Call(Module.F("dropout_backward"), [dout, fwd[-1]], needs: fwd, needsName: "dropout_forward");
            return new CaseRun(v =>
            {
                var o = Array(v[0], "dropout_forward out");
                outputs[c] = o;
                return Checks(c, x, o, dout, v[1], "dx");
            });
        });
    }

    private static double P(VerificationCase c) => c.Item("keep") / 10.0;

    private static (Tensor X, Tensor Dout) Inputs(VerificationCase c) =>
        (Functional.FSharp.Cases.awayFromZero(0.1, Key(c, 0), [c.Item("N"), c.Item("D")]), Normal(c, 1, c.Item("N"), c.Item("D")));

    private static Dictionary<string, object?> Param(VerificationCase c) =>
        Dict(("p", P(c)), ("mode", c.Item("mode") == 1 ? "test" : "train"), ("seed", c.Seed % 100000));

    private static Tensor Kept(Tensor o) => o.Map(v => v != 0 ? 1.0 : 0.0);

    /// <summary>
    /// The kept fraction as judged: the observed fraction when it is within 5 standard deviations of
    /// <paramref name="p"/> (a binomial's spread), else <paramref name="p"/> itself — so the exact comparison of the
    /// rule passes exactly when the fraction is statistically consistent with p.
    /// </summary>
    private static double Fraction(Tensor kept, double p)
    {
        var observed = kept.SumAll() / kept.Count;
        return Math.Abs(observed - p) <= 5 * Math.Sqrt(p * (1 - p) / kept.Count) ? observed : p;
    }

    private static List<Comparison> Checks(VerificationCase c, Tensor x, Tensor out0, Tensor through, object? actual, string output)
    {
        if (c.Item("mode") == 1)
            return [Compare(output, through, actual)];
        if (!out0.Shape.SequenceEqual(x.Shape))
            return [Compare("out", x, out0)];
        var kept = Kept(out0);
        var observed = kept.SumAll() / kept.Count;
        return
        [
            Compare(output, through * kept / P(c), actual),
            Compare("kept fraction", Tensor.Scalar(Fraction(kept, P(c))), observed),
        ];
    }
}
