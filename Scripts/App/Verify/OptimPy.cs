using Functional.FSharp;
using Comparison = Functional.FSharp.Comparison;
using LibVerify = Functional.FSharp.VerifyModule;
using static Functional.App.Course.Spec;

namespace Functional.App.Course;

/// <summary>
/// The update rules of the course's <c>cs231n/optim.py</c>: (w, dw, config) → (next_w, config), with the course's
/// keys and defaults. Each case takes several consecutive steps (the library's update cases: 1–5 steps, learning
/// rate 1e-3 … 2e-2), the returned config carried into the next call as the Solver does; next_w of every step (as
/// one (steps, R, K) output, the library's convention) and the final config's state are compared with the library's rule.
/// </summary>
internal static class OptimPy
{
    private const string File = "cs231n/optim.py";

    public static IEnumerable<CourseFunction> All()
    {
        yield return Rule("sgd", LibVerify.sgdSpec, lr => UpdateRule.Sgd(lr), []);
        yield return Rule("sgd_momentum", LibVerify.momentumSpec, lr => UpdateRule.Momentum(lr), [("velocity", s => s.Velocity())]);
        yield return Rule("rmsprop", LibVerify.rmspropSpec, lr => UpdateRule.RmsProp(lr), [("cache", s => s.Cache())]);
        yield return Rule("adam", LibVerify.adamSpec, lr => UpdateRule.Adam(lr),
            [("m", s => s.FirstMoment()), ("v", s => s.SecondMoment()), ("t", s => Tensor.Scalar(s.Step))]);
    }

    private static CourseFunction Rule(string name, VerifySpec<VerificationCase> spec, Func<double, UpdateRule> rule,
        (string Key, Func<OptimState, Tensor> Read)[] slots) =>
        new(name, File, Named(name, spec), (c, py) =>
        {
            var lr = c.Item("lr") * 1e-3;
            var (w, dws) = LibVerify.updateInputs(c);
            PyRef? previous = null;
            foreach (var dw in dws)
            {
                previous = previous is null
                    ? py.Call("cs231n.optim." + name, [w, dw, Dict(("learning_rate", lr))])
                    : py.Call("cs231n.optim." + name, [previous[0], dw, previous[1]], needs: previous, needsName: name);
            }

            return new CaseRun(v =>
            {
                var u = rule(lr);
                var state = u.Init(w);
                var current = w;
                var expected = new List<Tensor>();
                var actual = new List<Tensor>();
                object? config = null;
                for (var i = 0; i < dws.Length; i++)
                {
                    (current, state) = u.Step(state, current, dws[i]);
                    expected.Add(current);
                    var next = Array(Item(v[i], 0, name), $"{name} next_w (step {i + 1})");
                    if (!next.Shape.SequenceEqual(w.Shape))
                        throw new NotAnsweredException("error", $"{name} next_w (step {i + 1}) has shape ({string.Join(", ", next.Shape)}), expected ({string.Join(", ", w.Shape)}).");
                    actual.Add(next);
                    config = Item(v[i], 1, name);
                }

                var checks = new List<Comparison> { Compare("next_w", Stack(expected), Stack(actual)) };
                var dict = config as IReadOnlyDictionary<string, object?> ?? throw new NotAnsweredException("error", $"{name} returned no config dict.");
                foreach (var (key, read) in slots)
                    checks.Add(Compare($"config[\"{key}\"]", read(state), dict.GetValueOrDefault(key)));
                return checks;
            });
        });

    /// <summary>Tensors of one shape stacked along a new first axis.</summary>
    private static Tensor Stack(IReadOnlyList<Tensor> ts) =>
        Tensor.FromArray(ts.SelectMany(t => t.ToArray()).ToArray(), [ts.Count, .. ts[0].Shape]);
}
