using Functional.FSharp;
using Comparison = Functional.FSharp.Comparison;
using LibVerify = Functional.FSharp.VerifyModule;
using static Functional.App.Course.Spec;

namespace Functional.App.Course;

/// <summary>
/// The functions of the course's <c>cs231n/layers.py</c>, with its signatures and parameter dicts, each against the
/// library's layer (through the C# facade) on the library's cases. A backward case runs the student's forward first
/// and passes the cache it returned to the student's backward.
/// </summary>
internal static class LayersPy
{
    private static readonly CourseModule Module = new("cs231n/layers.py");

    private static string F(string name) => Module.F(name);

    private static readonly (string, int)[] Xwb = [("dx", 0), ("dw", 1), ("db", 2)];
    private static readonly (string, int)[] XGammaBeta = [("dx", 0), ("dgamma", 1), ("dbeta", 2)];

    public static IEnumerable<CourseFunction> All()
    {
        // ---- affine: x of rank 2 to 4 (the course flattens x to (N, D)) ----
        var affine = Over("affine", [("N", 1, 4), ("d1", 1, 4), ("d2", 1, 3), ("d3", 1, 2), ("rank", 2, 4), ("M", 1, 5)], null,
            c => Describe(Sizes(c, "N", "M"), [("x", AffineX(c)), ("w", [AffineX(c).Skip(1).Aggregate(1, (a, b) => a * b), c.Item("M")]), ("b", [c.Item("M")])]));
        (Tensor X, Tensor W, Tensor B, Tensor Dout) AffineInputs(VerificationCase c)
        {
            var shape = AffineX(c);
            var d = shape.Skip(1).Aggregate(1, (a, b) => a * b);
            return (Normal(c, 0, shape), Normal(c, 1, d, c.Item("M")), Normal(c, 2, c.Item("M")), Normal(c, 3, c.Item("N"), c.Item("M")));
        }

        yield return Module.Function("affine_forward", Named("affine_forward", affine), (c, py) =>
        {
            var (x, w, b, _) = AffineInputs(c);
            py.Call(F("affine_forward"), [x, w, b], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.AffineForward(x, w, b).Out, v[0])]);
        });
        yield return Module.Function("affine_backward", Named("affine_backward", affine), (c, py) =>
        {
            var (x, w, b, dout) = AffineInputs(c);
            var numeric = Module.ForwardBackward(py, "affine_forward", [x, w, b], "affine_backward", [dout], Xwb);
            return new CaseRun(v =>
            {
                var g = Layers.AffineBackward(dout, Layers.AffineForward(x, w, b).Cache);
                return Grads(v, "affine_backward", numeric, ("dx", g.Dx), ("dw", g.Dw), ("db", g.Db));
            });
        });

        // ---- relu (x at least 0.1 from the kink) ----
        (Tensor X, Tensor Dout) ReluInputs(VerificationCase c) =>
            (Cases.awayFromZero(0.1, Key(c, 0), [c.Item("N"), c.Item("D")]), Normal(c, 1, c.Item("N"), c.Item("D")));
        yield return Module.Function("relu_forward", Named("relu_forward", LibVerify.reluSpec), (c, py) =>
        {
            var (x, _) = ReluInputs(c);
            py.Call(F("relu_forward"), [x], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.ReluForward(x).Out, v[0])]);
        });
        yield return Module.Function("relu_backward", Named("relu_backward", LibVerify.reluSpec), (c, py) =>
        {
            var (x, dout) = ReluInputs(c);
            var numeric = Module.ForwardBackward(py, "relu_forward", [x], "relu_backward", [dout], ("dx", 0));
            return new CaseRun(v =>
                [Compare("dx", Layers.ReluBackward(dout, Layers.ReluForward(x).Cache), v[1]), .. Directional.Checks(numeric, v, [("dx", v[1])])]);
        });

        // ---- losses (averaged over N) ----
        foreach (var (name, spec, reference) in new (string, VerifySpec<VerificationCase>, Func<Tensor, int[], LossResult>)[]
                 {
                     ("softmax_loss", LibVerify.softmaxLossSpec, (s, y) => Losses.Softmax(s, y)),
                     ("svm_loss", LibVerify.svmLossSpec, (s, y) => Losses.Svm(s, y)),
                 })
        {
            yield return Module.Function(name, spec, (c, py) =>
            {
                int n = c.Item("N"), k = c.Item("C");
                var x = Normal(c, 0, n, k);
                var y = Cases.labels(Key(c, 1), n, k);
                py.Call(F(name), [x, new PyInts(Ints(y, n))]);
                return new CaseRun(v =>
                {
                    var r = reference(x, y);
                    return [Compare("loss", Tensor.Scalar(r.Loss), Item(v[0], 0, name)), Compare("dx", r.Dscores, Item(v[0], 1, name))];
                });
            });
        }

        // ---- batch normalization (bn_param: mode, eps, momentum, running_mean, running_var, updated in the dict) ----
        yield return Module.Function("batchnorm_forward", Named("batchnorm_forward", LibVerify.batchnormSpec), (c, py) =>
        {
            var (x, gamma, beta, _, state, mode) = LibVerify.batchnormInputs(c);
            var test = mode == Mode.Test;
            var p = py.Let(BnParam(state, test));
            py.Call(F("batchnorm_forward"), [x, gamma, beta, p], pick: 0);
            py.Get(p);
            return new CaseRun(v =>
            {
                var (o, s, _) = Layers.BatchNormForward(x, gamma, beta, state, mode);
                return RunningChecks(Compare("out", o, v[1]), s, test ? null : v[2], "bn_param");
            });
        });
        var bnTrain = Over("batchnorm_backward", [("N", 2, 6), ("D", 1, 4)], null,
            c => Describe(Sizes(c, "N", "D"), [("x", [c.Item("N"), c.Item("D")]), ("gamma", [c.Item("D")]), ("beta", [c.Item("D")])]));
        foreach (var backward in new[] { "batchnorm_backward", "batchnorm_backward_alt" })
        {
            yield return Module.Function(backward, Named(backward, bnTrain), (c, py) =>
            {
                var (x, gamma, beta, dout, state, _) = LibVerify.batchnormInputs(c);
                var numeric = Module.ForwardBackward(py, "batchnorm_forward", [x, gamma, beta, BnParam(state, test: false)], backward, [dout], XGammaBeta);
                return new CaseRun(v =>
                {
                    var g = Layers.BatchNormBackward(dout, Layers.BatchNormForward(x, gamma, beta, state, Mode.Train).Cache);
                    return Grads(v, backward, numeric, ("dx", g.Dx), ("dgamma", g.Dgamma), ("dbeta", g.Dbeta));
                });
            });
        }

        // ---- layer normalization (ln_param: eps) ----
        yield return Module.Function("layernorm_forward", Named("layernorm_forward", LibVerify.layernormSpec), (c, py) =>
        {
            var (x, gamma, beta, _) = LibVerify.layernormInputs(c);
            py.Call(F("layernorm_forward"), [x, gamma, beta, Dict(("eps", 1e-5))], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.LayerNormForward(x, gamma, beta).Out, v[0])]);
        });
        yield return Module.Function("layernorm_backward", Named("layernorm_backward", LibVerify.layernormSpec), (c, py) =>
        {
            var (x, gamma, beta, dout) = LibVerify.layernormInputs(c);
            var numeric = Module.ForwardBackward(py, "layernorm_forward", [x, gamma, beta, Dict(("eps", 1e-5))], "layernorm_backward", [dout], XGammaBeta);
            return new CaseRun(v =>
            {
                var g = Layers.LayerNormBackward(dout, Layers.LayerNormForward(x, gamma, beta).Cache);
                return Grads(v, "layernorm_backward", numeric, ("dx", g.Dx), ("dgamma", g.Dgamma), ("dbeta", g.Dbeta));
            });
        });

        // ---- dropout (dropout_param: p = keep probability, mode, seed) ----
        foreach (var f in DropoutPy.All())
            yield return f;

        // ---- convolution (conv_param: stride, pad; one of each, as the course has them) ----
        var conv = Over("conv", [.. Cases.courseConvRanges.Select(r => (r.Item1, r.Item2, r.Item3))],
            c => Cases.validConv(c) && c.Item("SH") == c.Item("SW") && c.Item("PH") == c.Item("PW"),
            c => Describe(
                [("N", c.Item("N")), ("C", c.Item("C")), ("F", c.Item("F")), ("HH", c.Item("KH")), ("WW", c.Item("KW")), ("stride", c.Item("SH")), ("pad", c.Item("PH"))],
                [("x", Cases.convXShape(c)), ("w", Cases.convWShape(c)), ("b", [c.Item("F")])]));
        Dictionary<string, object?> ConvParam(VerificationCase c) => Dict(("stride", c.Item("SH")), ("pad", c.Item("PH")));
        yield return Module.Function("conv_forward_naive", Named("conv_forward_naive", conv), (c, py) =>
        {
            var (x, w, b, _) = Cases.convInputs(c);
            py.Call(F("conv_forward_naive"), [x, w, b, ConvParam(c)], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.ConvForward(x, w, b, c.Item("SH"), c.Item("PH")).Out, v[0])]);
        });
        yield return Module.Function("conv_backward_naive", Named("conv_backward_naive", conv), (c, py) =>
        {
            var (x, w, b, dout) = Cases.convInputs(c);
            var numeric = Module.ForwardBackward(py, "conv_forward_naive", [x, w, b, ConvParam(c)], "conv_backward_naive", [dout], Xwb);
            return new CaseRun(v =>
            {
                var g = Layers.ConvBackward(dout, Layers.ConvForward(x, w, b, c.Item("SH"), c.Item("PH")).Cache);
                return Grads(v, "conv_backward_naive", numeric, ("dx", g.Dx), ("dw", g.Dw), ("db", g.Db));
            });
        });

        // ---- max pooling (pool_param: pool_height, pool_width, stride) ----
        var pool = Over("max_pool", [.. Cases.poolRanges.Select(r => (r.Item1, r.Item2, r.Item3))],
            c => c.Item("PH") <= c.Item("H") && c.Item("PW") <= c.Item("W") && c.Item("SH") == c.Item("SW"),
            c => Describe([("N", c.Item("N")), ("C", c.Item("C")), ("pool_height", c.Item("PH")), ("pool_width", c.Item("PW")), ("stride", c.Item("SH"))],
                [("x", Cases.poolSetup(c).Item2)]),
            LibVerify.maxPoolSpec.Variants);
        Dictionary<string, object?> PoolParam(VerificationCase c) => Dict(("pool_height", c.Item("PH")), ("pool_width", c.Item("PW")), ("stride", c.Item("SH")));
        yield return Module.Function("max_pool_forward_naive", Named("max_pool_forward_naive", pool), (c, py) =>
        {
            var (x, _) = Cases.poolInputs(c);
            py.Call(F("max_pool_forward_naive"), [x, PoolParam(c)], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.MaxPoolForward(x, c.Item("PH"), c.Item("PW"), c.Item("SH")).Out, v[0])]);
        });
        yield return Module.Function("max_pool_backward_naive", Named("max_pool_backward_naive", pool), (c, py) =>
        {
            var (x, dout) = Cases.poolInputs(c);
            var numeric = Module.ForwardBackward(py, "max_pool_forward_naive", [x, PoolParam(c)], "max_pool_backward_naive", [dout], ("dx", 0));
            return new CaseRun(v =>
                [Compare("dx", Layers.MaxPoolBackward(dout, Layers.MaxPoolForward(x, c.Item("PH"), c.Item("PW"), c.Item("SH")).Cache), v[1]),
                 .. Directional.Checks(numeric, v, [("dx", v[1])])]);
        });

        // ---- spatial batch normalization (bn_param as batchnorm's; training mode) ----
        yield return Module.Function("spatial_batchnorm_forward", Named("spatial_batchnorm_forward", LibVerify.spatialBatchnormSpec), (c, py) =>
        {
            var (x, gamma, beta, _, state, _) = LibVerify.spatialBatchnormInputs(c);
            var p = py.Let(BnParam(state, test: false));
            py.Call(F("spatial_batchnorm_forward"), [x, gamma, beta, p], pick: 0);
            py.Get(p);
            return new CaseRun(v =>
            {
                var (o, s, _) = Layers.SpatialBatchNormForward(x, gamma, beta, state, Mode.Train);
                return RunningChecks(Compare("out", o, v[1]), s, v[2], "bn_param");
            });
        });
        yield return Module.Function("spatial_batchnorm_backward", Named("spatial_batchnorm_backward", LibVerify.spatialBatchnormSpec), (c, py) =>
        {
            var (x, gamma, beta, dout, state, _) = LibVerify.spatialBatchnormInputs(c);
            var numeric = Module.ForwardBackward(py, "spatial_batchnorm_forward", [x, gamma, beta, BnParam(state, test: false)], "spatial_batchnorm_backward", [dout],
                XGammaBeta);
            return new CaseRun(v =>
            {
                var g = Layers.SpatialBatchNormBackward(dout, Layers.SpatialBatchNormForward(x, gamma, beta, state, Mode.Train).Cache);
                return Grads(v, "spatial_batchnorm_backward", numeric, ("dx", g.Dx), ("dgamma", g.Dgamma), ("dbeta", g.Dbeta));
            });
        });

        // ---- spatial group normalization (G; gamma and beta of shape (1, C, 1, 1); gn_param: eps) ----
        static Tensor Course(Tensor t) => t.Reshape(1, t.Shape[0], 1, 1);
        yield return Module.Function("spatial_groupnorm_forward", Named("spatial_groupnorm_forward", LibVerify.groupnormSpec), (c, py) =>
        {
            var (x, gamma, beta, _) = LibVerify.groupnormInputs(c);
            py.Call(F("spatial_groupnorm_forward"), [x, Course(gamma), Course(beta), c.Item("G"), Dict(("eps", 1e-5))], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.GroupNormForward(x, gamma, beta, c.Item("G")).Out, v[0])]);
        });
        yield return Module.Function("spatial_groupnorm_backward", Named("spatial_groupnorm_backward", LibVerify.groupnormSpec), (c, py) =>
        {
            var (x, gamma, beta, dout) = LibVerify.groupnormInputs(c);
            var numeric = Module.ForwardBackward(py, "spatial_groupnorm_forward", [x, Course(gamma), Course(beta), c.Item("G"), Dict(("eps", 1e-5))],
                "spatial_groupnorm_backward", [dout], XGammaBeta);
            return new CaseRun(v =>
            {
                var g = Layers.GroupNormBackward(dout, Layers.GroupNormForward(x, gamma, beta, c.Item("G")).Cache);
                return Grads(v, "spatial_groupnorm_backward", numeric, ("dx", g.Dx), ("dgamma", Course(g.Dgamma)), ("dbeta", Course(g.Dbeta)));
            });
        });
    }

    private static int[] AffineX(VerificationCase c) => c.Item("rank") switch
    {
        2 => [c.Item("N"), c.Item("d1")],
        3 => [c.Item("N"), c.Item("d1"), c.Item("d2")],
        _ => [c.Item("N"), c.Item("d1"), c.Item("d2"), c.Item("d3")],
    };

    /// <summary>Integers as a tensor of the given shape (labels, word indices), sent to Python as int64.</summary>
    public static Tensor Ints(int[] values, params int[] shape) => Tensor.FromArray(values.Select(v => (double)v).ToArray(), shape);

    /// <summary>The course's bn_param: mode, eps 1e-5, momentum 0.9, the running statistics.</summary>
    public static Dictionary<string, object?> BnParam(BatchNormState s, bool test) => Dict(
        ("mode", test ? "test" : "train"), ("eps", 1e-5), ("momentum", 0.9), ("running_mean", s.RunningMean), ("running_var", s.RunningVar));

    /// <summary>The output, then (in training) the running statistics the student's function left in the dict.</summary>
    private static List<Comparison> RunningChecks(Comparison output, BatchNormState expected, object? dict, string what)
    {
        var checks = new List<Comparison> { output };
        if (dict is null)
            return checks;
        var d = dict as IReadOnlyDictionary<string, object?> ?? throw new NotAnsweredException("error", $"{what} is no longer a dict.");
        checks.Add(Compare("running_mean", expected.RunningMean, d.GetValueOrDefault("running_mean")));
        checks.Add(Compare("running_var", expected.RunningVar, d.GetValueOrDefault("running_var")));
        return checks;
    }
}
