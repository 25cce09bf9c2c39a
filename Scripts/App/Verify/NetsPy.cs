using Functional.FSharp;
using Comparison = Functional.FSharp.Comparison;
using static Functional.App.Course.Spec;

namespace Functional.App.Course;

/// <summary>
/// The course's model classes, <c>FullyConnectedNet</c> (classifiers/fc_net.py) and <c>ThreeLayerConvNet</c>
/// (classifiers/cnn.py), against the library's nets of the same names: after construction, the parameter names and
/// shapes; then, with the parameters set to the case's values (float64), the test-mode scores (<c>loss(X)</c>) and
/// the training loss and every gradient (<c>loss(X, y)</c>), with reg = 0 and reg &gt; 0. With dropout
/// (keep ratio &lt; 1) only the construction and the scores are compared (the student's mask is their own).
/// </summary>
internal static class NetsPy
{
    private static readonly string[] NormalizationNames = ["none", "batchnorm", "layernorm"];

    /// <summary>The regularization strength of a case: reg code 0, 1, 2 → 0, 0.3, 0.7.</summary>
    private static double Reg(VerificationCase c) => c.Item("reg") switch { 0 => 0.0, 1 => 0.3, _ => 0.7 };

    /// <summary>Known wrong formula: the regularization gradient with the wrong sign (dW − reg·W instead of dW + reg·W).</summary>
    private static Variant<VerificationCase> RegularizationSign(Func<VerificationCase, (Model Net, Tensor X, int[] Y, Dictionary<string, Tensor> Params)> setup) =>
        Variant("regularization-sign", c =>
        {
            var reg = Reg(c);
            if (reg == 0)
                return [];
            var (net, x, y, ps) = setup(c);
            var g = net.Loss(x, y, ps).Gradients;
            return g.Where(kv => kv.Key.StartsWith('W')).Select(kv => ($"grads[{kv.Key}]", kv.Value - ps[kv.Key] * (2 * reg))).ToList();
        });

    public static IEnumerable<CourseFunction> All()
    {
        // ---- FullyConnectedNet ----
        (FullyConnectedNet Net, Tensor X, int[] Y, Dictionary<string, Tensor> Params) Fc(VerificationCase c)
        {
            var hidden = Enumerable.Range(0, c.Item("layers")).Select(i => c.Item(i == 0 ? "H1" : "H2")).ToArray();
            var norm = (Normalization)c.Item("normalization");
            var net = new FullyConnectedNet(hidden, inputDim: c.Item("D"), numClasses: c.Item("C"), weightScale: 0.5, reg: Reg(c),
                normalization: norm, dropoutKeepProbability: c.Item("dropout") == 1 ? 0.5 : null);
            var ps = net.Parameters.Select((kv, i) => (kv.Key, Value: kv.Key.StartsWith("gamma", StringComparison.Ordinal)
                    ? Normal(c, 10 + i, [.. kv.Value.Shape]) * 0.3 + 1.0
                    : Normal(c, 10 + i, [.. kv.Value.Shape]) * 0.5))
                .ToDictionary(p => p.Key, p => p.Value);
            return (net, Normal(c, 0, c.Item("N"), c.Item("D")), Cases.labels(Key(c, 1), c.Item("N"), c.Item("C")), ps);
        }

        var fcSpec = Over("FullyConnectedNet",
            [("N", 1, 4), ("D", 1, 5), ("layers", 1, 2), ("H1", 1, 5), ("H2", 1, 5), ("C", 2, 5), ("reg", 0, 2), ("normalization", 0, 2), ("dropout", 0, 1)],
            c => c.Item("normalization") != 1 || c.Item("N") >= 2,
            c => Describe(
                [("N", c.Item("N")), ("input_dim", c.Item("D")), ("num_classes", c.Item("C")), ("hidden layers", c.Item("layers")), ("reg", Reg(c)),
                 ("normalization", c.Item("normalization")), ("dropout_keep_ratio", c.Item("dropout") == 1 ? 0.5 : 1.0)],
                [("X", [c.Item("N"), c.Item("D")])]),
            [RegularizationSign(c => { var s = Fc(c); return (s.Net, s.X, s.Y, s.Params); })]);
        yield return new CourseFunction("FullyConnectedNet", "cs231n/classifiers/fc_net.py", fcSpec, (c, py) =>
        {
            var (net, x, y, ps) = Fc(c);
            var norm = c.Item("normalization");
            var model = py.Call("cs231n.classifiers.fc_net.FullyConnectedNet", [net.HiddenDims.ToArray()], returned: false, kwargs: Dict(
                ("input_dim", c.Item("D")), ("num_classes", c.Item("C")), ("dropout_keep_ratio", c.Item("dropout") == 1 ? 0.5 : 1.0),
                ("normalization", norm == 0 ? null : NormalizationNames[norm]), ("reg", Reg(c)), ("weight_scale", 0.5),
                ("dtype", "float64"), ("seed", 0)));
            return ModelSteps(py, model, net, x, y, ps, lossToo: c.Item("dropout") == 0, "FullyConnectedNet");
        });

        // ---- ThreeLayerConvNet: conv (stride 1, same padding) - relu - 2x2 max pool - affine - relu - affine ----
        (ThreeLayerConvNet Net, Tensor X, int[] Y, Dictionary<string, Tensor> Params) Cnn(VerificationCase c)
        {
            int ch = c.Item("C"), h = 2 * c.Item("H/2"), w = 2 * c.Item("W/2");
            var net = new ThreeLayerConvNet((ch, h, w), numFilters: c.Item("F"), filterSize: 2 * c.Item("fs") + 1, hiddenDim: c.Item("hidden"),
                numClasses: c.Item("classes"), weightScale: 0.5, reg: Reg(c));
            var ps = net.Parameters.Select((kv, i) => (kv.Key, Value: Normal(c, 10 + i, [.. kv.Value.Shape]) * 0.5)).ToDictionary(p => p.Key, p => p.Value);
            return (net, Normal(c, 0, c.Item("N"), ch, h, w), Cases.labels(Key(c, 1), c.Item("N"), c.Item("classes")), ps);
        }

        var cnnSpec = Over("ThreeLayerConvNet",
            [("N", 1, 3), ("C", 1, 3), ("H/2", 1, 3), ("W/2", 1, 3), ("F", 1, 3), ("fs", 0, 1), ("hidden", 1, 4), ("classes", 2, 4), ("reg", 0, 2)],
            null,
            c => Describe(
                [("N", c.Item("N")), ("num_filters", c.Item("F")), ("filter_size", 2 * c.Item("fs") + 1), ("hidden_dim", c.Item("hidden")),
                 ("num_classes", c.Item("classes")), ("reg", Reg(c))],
                [("X", [c.Item("N"), c.Item("C"), 2 * c.Item("H/2"), 2 * c.Item("W/2")])]),
            [RegularizationSign(c => { var s = Cnn(c); return (s.Net, s.X, s.Y, s.Params); })]);
        yield return new CourseFunction("ThreeLayerConvNet", "cs231n/classifiers/cnn.py", cnnSpec, (c, py) =>
        {
            var (net, x, y, ps) = Cnn(c);
            var model = py.Call("cs231n.classifiers.cnn.ThreeLayerConvNet", [], returned: false, kwargs: Dict(
                ("input_dim", new PyTuple(c.Item("C"), 2 * c.Item("H/2"), 2 * c.Item("W/2"))), ("num_filters", c.Item("F")),
                ("filter_size", 2 * c.Item("fs") + 1), ("hidden_dim", c.Item("hidden")), ("num_classes", c.Item("classes")),
                ("weight_scale", 0.5), ("reg", Reg(c)), ("dtype", "float64")));
            return ModelSteps(py, model, net, x, y, ps, lossToo: true, "ThreeLayerConvNet");
        });
    }

    /// <summary>
    /// The comparisons "shape of W1", … of a model's <c>params</c> dict read after construction against the library's
    /// parameters; an empty dict is "not implemented", a missing name an error.
    /// </summary>
    internal static List<Comparison> ParameterShapes(object? built, IReadOnlyDictionary<string, Tensor> parameters, string what)
    {
        var have = built as IReadOnlyDictionary<string, object?>
            ?? throw new NotAnsweredException("error", $"{what}.params is not a dict after construction.");
        var checks = new List<Comparison>();
        foreach (var (name, p) in parameters)
        {
            var shape = have.GetValueOrDefault(name) as Tensor
                ?? throw new NotAnsweredException(have.Count == 0 ? "not-implemented" : "error",
                    $"{what}.params has no {name} after construction (it has: {string.Join(", ", have.Keys)}).");
            checks.Add(Compare($"shape of {name}", Tensor.FromArray(p.Shape.Select(d => (double)d).ToArray(), p.Rank),
                Tensor.FromArray(shape.Shape.Select(d => (double)d).ToArray(), shape.Rank)));
        }

        return checks;
    }

    /// <summary>
    /// The steps on a constructed model: read its parameters' shapes, set the case's parameters, then loss(X) and
    /// (when <paramref name="lossToo"/>) loss(X, y). The comparisons: each parameter's shape, the scores, the loss and
    /// every gradient, in the course's names (grads[W1], …).
    /// </summary>
    private static CaseRun ModelSteps(PyCase py, PyRef model, Model net, Tensor x, int[] y, Dictionary<string, Tensor> ps, bool lossToo, string what)
    {
        var built = py.Get(model[".params"]);
        foreach (var (name, value) in ps)
            py.SetItem(model[".params"], name, value);
        var scores = py.CallMethod(model, "loss", [x]);
        var loss = lossToo ? py.CallMethod(model, "loss", [x, new PyInts(LayersPy.Ints(y, y.Length))]) : null;
        return new CaseRun(v =>
        {
            var checks = ParameterShapes(v[built.Step], net.Parameters, what);
            checks.Add(Compare("scores", net.Scores(x, ps), v[scores.Step]));
            if (loss is not null)
            {
                var r = net.Loss(x, y, ps);
                checks.Add(Compare("loss", Tensor.Scalar(r.Loss), Item(v[loss.Step], 0, what + ".loss")));
                var grads = Item(v[loss.Step], 1, what + ".loss") as IReadOnlyDictionary<string, object?>
                    ?? throw new NotAnsweredException("error", $"{what}.loss(X, y) returned no grads dict.");
                foreach (var (name, g) in r.Gradients)
                    checks.Add(Compare($"grads[{name}]", g, grads.GetValueOrDefault(name)));
            }

            return checks;
        });
    }
}
