using static Functional.App.Verify.Spec;

namespace Functional.App.Verify;

/// <summary>
/// The update rules of the course's <c>cs231n/optim.py</c>: (w, dw, config) → (next_w, config), with the course's
/// keys and defaults. Each case takes several consecutive steps, the returned config carried into the next call (as
/// the Solver does), and compares every step's next_w and the final state with the library's rule.
/// </summary>
internal static class OptimPy
{
    private const string File = "cs231n/optim.py";

    public static IEnumerable<CourseFunction> All()
    {
        var update = Ranges(_ => true, new IntParam("R", 1, 4, 1, 3), new IntParam("K", 1, 4, 1, 4), new IntParam("steps", 1, 5, 1, 3, 5),
            new IntParam("lr", 1, 20, 10, 5));
        yield return Rule("sgd", update, lr => UpdateRule.Sgd(lr), []);
        yield return Rule("sgd_momentum", update, lr => UpdateRule.Momentum(lr), [("velocity", s => s.Velocity())]);
        yield return Rule("rmsprop", update, lr => UpdateRule.RmsProp(lr), [("cache", s => s.Cache())]);
        yield return Rule("adam", update, lr => UpdateRule.Adam(lr), [("m", s => s.FirstMoment()), ("v", s => s.SecondMoment()), ("t", s => Tensor.Scalar(s.Step))]);
    }

    private static CourseFunction Rule(string name, (Func<Random, int, CaseParams> Generate, Func<CaseParams, IEnumerable<CaseParams>> Shrink) g,
        Func<double, UpdateRule> rule, (string Key, Func<OptimState, Tensor> Read)[] slots) =>
        new(name, File, g.Generate, g.Shrink, (c, py) =>
        {
            int r = c.I("R"), k = c.I("K"), steps = c.I("steps");
            // The course's learning rates: 1e-3 … 2e-2 (lr in thousandths).
            var lr = c.I("lr") * 1e-3;
            var w = Normal(c, 0, r, k);
            var dws = Enumerable.Range(1, steps).Select(i => Normal(c, i, r, k)).ToList();
            PyRef? previous = null;
            foreach (var dw in dws)
            {
                previous = previous is null
                    ? py.Call("cs231n.optim." + name, [w, dw, Dict(("learning_rate", lr))])
                    : py.Call("cs231n.optim." + name, [previous[0], dw, previous[1]], needs: previous, needsName: name);
            }

            return new CaseRun(Shapes(("w", w), ("dw", dws[0])), v =>
            {
                var u = rule(lr);
                var state = u.Init(w);
                var current = w;
                var checks = new List<Check>();
                object? config = null;
                for (var i = 0; i < steps; i++)
                {
                    (current, state) = u.Step(state, current, dws[i]);
                    var returned = v[i];
                    checks.Add(Compare(steps == 1 ? "next_w" : $"next_w step {i + 1}", current, Item(returned, 0, name)));
                    config = Item(returned, 1, name);
                }

                if (config is IReadOnlyDictionary<string, object?> dict)
                {
                    foreach (var (key, read) in slots)
                        checks.Add(Compare($"config[\"{key}\"]", read(state), dict.GetValueOrDefault(key)));
                }
                else
                {
                    throw new NotAnsweredException("error", $"{name} returned {(config is null ? "None" : "something else")} as config, expected a dict.");
                }

                return checks;
            });
        });
}
