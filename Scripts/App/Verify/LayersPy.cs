using static Functional.App.Verify.Spec;

namespace Functional.App.Verify;

/// <summary>
/// The functions of the course's <c>cs231n/layers.py</c>, with its signatures and parameter dicts, each against the
/// library's layer of the same name (through the C# facade). A backward case runs the student's forward first and
/// passes the cache it returned to the student's backward.
/// </summary>
internal static class LayersPy
{
    private const string File = "cs231n/layers.py";

    private static string F(string name) => "cs231n.layers." + name;

    private static CourseFunction Function(string name, (Func<Random, int, CaseParams>, Func<CaseParams, IEnumerable<CaseParams>>) g,
        Func<CaseParams, PyCase, CaseRun> build) => new(name, File, g.Item1, g.Item2, build);

    public static IEnumerable<CourseFunction> All()
    {
        // ---- affine ----
        var affine = Ranges(_ => true, new IntParam("N", 1, 5, 1, 2), new IntParam("A", 1, 4, 3), new IntParam("B", 0, 3, 0, 2), new IntParam("M", 1, 5, 1));
        (Tensor X, Tensor W, Tensor B, Tensor Dout) AffineInputs(CaseParams c)
        {
            int n = c.I("N"), a = c.I("A"), b = c.I("B"), m = c.I("M");
            var x = b == 0 ? Normal(c, 0, n, a) : Normal(c, 0, n, a, b);
            return (x, Normal(c, 1, a * Math.Max(b, 1), m), Normal(c, 2, m), Normal(c, 3, n, m));
        }

        yield return Function("affine_forward", affine, (c, py) =>
        {
            var (x, w, b, _) = AffineInputs(c);
            py.Call(F("affine_forward"), [x, w, b], pick: 0);
            return new CaseRun(Shapes(("x", x), ("w", w), ("b", b)),
                v => [Compare("out", Layers.AffineForward(x, w, b).Out, Array(v[0], "affine_forward out"))]);
        });
        yield return Function("affine_backward", affine, (c, py) =>
        {
            var (x, w, b, dout) = AffineInputs(c);
            var fwd = py.Call(F("affine_forward"), [x, w, b], returned: false);
            py.Call(F("affine_backward"), [dout, fwd[1]], needs: fwd, needsName: "affine_forward");
            return new CaseRun(Shapes(("x", x), ("w", w), ("b", b), ("dout", dout)), v =>
            {
                var g = Layers.AffineBackward(dout, Layers.AffineForward(x, w, b).Cache);
                return [Compare("dx", g.Dx, Item(v[1], 0, "affine_backward")), Compare("dw", g.Dw, Item(v[1], 1, "affine_backward")),
                        Compare("db", g.Db, Item(v[1], 2, "affine_backward"))];
            });
        });

        // ---- relu ----
        var relu = Ranges(_ => true, new IntParam("N", 1, 6, 1), new IntParam("D", 1, 8, 1));
        yield return Function("relu_forward", relu, (c, py) =>
        {
            var x = Normal(c, 0, c.I("N"), c.I("D"));
            py.Call(F("relu_forward"), [x], pick: 0);
            return new CaseRun(Shapes(("x", x)), v => [Compare("out", Layers.ReluForward(x).Out, Array(v[0], "relu_forward out"))]);
        });
        yield return Function("relu_backward", relu, (c, py) =>
        {
            var x = Normal(c, 0, c.I("N"), c.I("D"));
            var dout = Normal(c, 1, c.I("N"), c.I("D"));
            var fwd = py.Call(F("relu_forward"), [x], returned: false);
            py.Call(F("relu_backward"), [dout, fwd[1]], needs: fwd, needsName: "relu_forward");
            return new CaseRun(Shapes(("x", x), ("dout", dout)),
                v => [Compare("dx", Layers.ReluBackward(dout, Layers.ReluForward(x).Cache), v[1])]);
        });

        // ---- losses (averaged over N) ----
        var loss = Ranges(_ => true, new IntParam("N", 1, 8, 1, 5), new IntParam("C", 2, 6, 2, 4));
        foreach (var (name, reference) in new (string, Func<Tensor, int[], LossResult>)[] { ("softmax_loss", (s, y) => Losses.Softmax(s, y)), ("svm_loss", (s, y) => Losses.Svm(s, y)) })
        {
            yield return Function(name, loss, (c, py) =>
            {
                int n = c.I("N"), k = c.I("C");
                var x = Normal(c, 0, n, k) * 2.0;
                var y = Labels(c, 1, k, n);
                py.Call(F(name), [x, new PyInts(IntTensor(y, n))]);
                return new CaseRun(Shapes(("x", x), ("y", IntTensor(y, n))), v =>
                {
                    var r = reference(x, y);
                    return [Compare("loss", Tensor.Scalar(r.Loss), Number(Item(v[0], 0, name), name + " loss")), Compare("dx", r.Dscores, Item(v[0], 1, name))];
                });
            });
        }

        // ---- batch normalization (bn_param: mode, eps, momentum, running_mean, running_var) ----
        var bn = Ranges(c => c.I("test") == 1 || c.I("N") >= 2, new IntParam("N", 1, 8, 2, 4), new IntParam("D", 1, 5, 1, 3),
            new IntParam("test", 0, 1, 0, 0, 1), new IntParam("momentum%", 0, 99, 90, 50));
        (Tensor X, Tensor Gamma, Tensor Beta, BatchNormState State, Tensor Dout) BnInputs(CaseParams c)
        {
            int n = c.I("N"), d = c.I("D");
            var x = Normal(c, 0, n, d) * 3.0 + 2.0;
            return (x, Normal(c, 1, d), Normal(c, 2, d), new BatchNormState(Normal(c, 3, d), Uniform(c, 4, 0.5, 2.0, d)), Normal(c, 5, n, d));
        }

        Dictionary<string, object?> BnParam(CaseParams c, BatchNormState s) => Dict(
            ("mode", c.I("test") == 1 ? "test" : "train"), ("eps", 1e-5), ("momentum", c.I("momentum%") / 100.0),
            ("running_mean", s.RunningMean), ("running_var", s.RunningVar));

        yield return Function("batchnorm_forward", bn, (c, py) =>
        {
            var (x, gamma, beta, state, _) = BnInputs(c);
            var p = py.Let(BnParam(c, state));
            py.Call(F("batchnorm_forward"), [x, gamma, beta, p], pick: 0);
            py.Get(p);
            return new CaseRun(Shapes(("x", x), ("gamma", gamma), ("beta", beta)), v =>
            {
                var test = c.I("test") == 1;
                var (o, s, _) = Layers.BatchNormForward(x, gamma, beta, state, test ? Mode.Test : Mode.Train, 1e-5, c.I("momentum%") / 100.0);
                var checks = new List<Check> { Compare("out", o, Array(v[1], "batchnorm_forward out")) };
                if (!test)
                {
                    var dict = v[2] as IReadOnlyDictionary<string, object?> ?? throw new NotAnsweredException("error", "bn_param is no longer a dict.");
                    checks.Add(Compare("running_mean", s.RunningMean, dict.GetValueOrDefault("running_mean")));
                    checks.Add(Compare("running_var", s.RunningVar, dict.GetValueOrDefault("running_var")));
                }

                return checks;
            });
        });
        var bnTrain = Ranges(c => c.I("N") >= 2, new IntParam("N", 2, 8, 2, 4), new IntParam("D", 1, 5, 1, 3), new IntParam("test", 0, 0), new IntParam("momentum%", 90, 90));
        foreach (var backward in new[] { "batchnorm_backward", "batchnorm_backward_alt" })
        {
            yield return Function(backward, bnTrain, (c, py) =>
            {
                var (x, gamma, beta, state, dout) = BnInputs(c);
                var fwd = py.Call(F("batchnorm_forward"), [x, gamma, beta, BnParam(c, state)], returned: false);
                py.Call(F(backward), [dout, fwd[1]], needs: fwd, needsName: "batchnorm_forward");
                return new CaseRun(Shapes(("x", x), ("gamma", gamma), ("beta", beta), ("dout", dout)), v =>
                {
                    var g = Layers.BatchNormBackward(dout, Layers.BatchNormForward(x, gamma, beta, state, Mode.Train).Cache);
                    return NormChecks(g, v[1], backward);
                });
            });
        }

        // ---- layer normalization (ln_param: eps) ----
        var ln = Ranges(_ => true, new IntParam("N", 1, 6, 1, 3), new IntParam("D", 2, 6, 2, 5));
        (Tensor X, Tensor Gamma, Tensor Beta, Tensor Dout) LnInputs(CaseParams c)
        {
            int n = c.I("N"), d = c.I("D");
            return (Normal(c, 0, n, d) * 3.0 + 1.0, Normal(c, 1, d), Normal(c, 2, d), Normal(c, 3, n, d));
        }

        yield return Function("layernorm_forward", ln, (c, py) =>
        {
            var (x, gamma, beta, _) = LnInputs(c);
            py.Call(F("layernorm_forward"), [x, gamma, beta, Dict(("eps", 1e-5))], pick: 0);
            return new CaseRun(Shapes(("x", x), ("gamma", gamma), ("beta", beta)),
                v => [Compare("out", Layers.LayerNormForward(x, gamma, beta).Out, Array(v[0], "layernorm_forward out"))]);
        });
        yield return Function("layernorm_backward", ln, (c, py) =>
        {
            var (x, gamma, beta, dout) = LnInputs(c);
            var fwd = py.Call(F("layernorm_forward"), [x, gamma, beta, Dict(("eps", 1e-5))], returned: false);
            py.Call(F("layernorm_backward"), [dout, fwd[1]], needs: fwd, needsName: "layernorm_forward");
            return new CaseRun(Shapes(("x", x), ("gamma", gamma), ("beta", beta), ("dout", dout)),
                v => NormChecks(Layers.LayerNormBackward(dout, Layers.LayerNormForward(x, gamma, beta).Cache), v[1], "layernorm_backward"));
        });

        // ---- dropout (dropout_param: p = keep probability, mode, seed) ----
        // The student's random mask is their own (np.random.seed), so the output is judged against the mask it shows:
        // every element is 0 or x / p, and the kept fraction is p within 5 standard deviations.
        var dropout = Ranges(_ => true, new IntParam("N", 50, 200, 200, 100), new IntParam("D", 5, 20, 10, 20),
            new IntParam("p%", 10, 95, 30, 50, 70, 90), new IntParam("test", 0, 1, 0, 0, 0, 1));
        yield return Function("dropout_forward", dropout, (c, py) =>
        {
            var x = Uniform(c, 0, 0.5, 2.0, c.I("N"), c.I("D")) * Signs(c);
            py.Call(F("dropout_forward"), [x, DropoutParam(c)], pick: 0);
            return new CaseRun(Shapes(("x", x)), v => DropoutChecks(c, x, Array(v[0], "dropout_forward out"), x, "out"));
        });
        yield return Function("dropout_backward", dropout, (c, py) =>
        {
            var x = Uniform(c, 0, 0.5, 2.0, c.I("N"), c.I("D")) * Signs(c);
            var dout = Normal(c, 1, c.I("N"), c.I("D"));
            var fwd = py.Call(F("dropout_forward"), [x, DropoutParam(c)]);
            py.Call(F("dropout_backward"), [dout, fwd[1]], needs: fwd, needsName: "dropout_forward");
            return new CaseRun(Shapes(("x", x), ("dout", dout)), v =>
            {
                var out0 = Array(Item(v[0], 0, "dropout_forward"), "dropout_forward out");
                var dx = Array(v[1], "dropout_backward dx");
                return DropoutChecks(c, x, out0, dout, "dx", dx);
            });
        });

        // ---- convolution (conv_param: stride, pad) ----
        var conv = Ranges(c => c.I("H") + 2 * c.I("pad") >= c.I("HH") && c.I("W") + 2 * c.I("pad") >= c.I("WW"),
            new IntParam("N", 1, 3, 1, 2), new IntParam("C", 1, 3, 1, 3), new IntParam("H", 1, 7, 4, 5, 7), new IntParam("W", 1, 7, 4, 6, 7),
            new IntParam("F", 1, 3, 1, 2), new IntParam("HH", 1, 4, 3, 2, 3), new IntParam("WW", 1, 4, 3, 3, 2),
            new IntParam("stride", 1, 3, 1, 2, 3), new IntParam("pad", 0, 2, 0, 1, 0));
        (Tensor X, Tensor W, Tensor B) ConvInputs(CaseParams c) =>
            (Normal(c, 0, c.I("N"), c.I("C"), c.I("H"), c.I("W")), Normal(c, 1, c.I("F"), c.I("C"), c.I("HH"), c.I("WW")), Normal(c, 2, c.I("F")));
        Dictionary<string, object?> ConvParam(CaseParams c) => Dict(("stride", c.I("stride")), ("pad", c.I("pad")));
        yield return Function("conv_forward_naive", conv, (c, py) =>
        {
            var (x, w, b) = ConvInputs(c);
            py.Call(F("conv_forward_naive"), [x, w, b, ConvParam(c)], pick: 0);
            return new CaseRun(Shapes(("x", x), ("w", w), ("b", b)),
                v => [Compare("out", Layers.Conv2dForward(x, w, b, c.I("stride"), c.I("pad")).Out, Array(v[0], "conv_forward_naive out"))]);
        });
        yield return Function("conv_backward_naive", conv, (c, py) =>
        {
            var (x, w, b) = ConvInputs(c);
            var (o, cache) = Layers.Conv2dForward(x, w, b, c.I("stride"), c.I("pad"));
            var dout = Normal(c, 3, [.. o.Shape]);
            var fwd = py.Call(F("conv_forward_naive"), [x, w, b, ConvParam(c)], returned: false);
            py.Call(F("conv_backward_naive"), [dout, fwd[1]], needs: fwd, needsName: "conv_forward_naive");
            return new CaseRun(Shapes(("x", x), ("w", w), ("b", b), ("dout", dout)), v =>
            {
                var g = Layers.Conv2dBackward(dout, cache);
                return [Compare("dx", g.Dx, Item(v[1], 0, "conv_backward_naive")), Compare("dw", g.Dw, Item(v[1], 1, "conv_backward_naive")),
                        Compare("db", g.Db, Item(v[1], 2, "conv_backward_naive"))];
            });
        });

        // ---- max pooling (pool_param: pool_height, pool_width, stride) ----
        var pool = Ranges(c => c.I("H") >= c.I("pool_height") && c.I("W") >= c.I("pool_width"),
            new IntParam("N", 1, 3, 1, 2), new IntParam("C", 1, 3, 1, 2), new IntParam("H", 1, 8, 4, 6, 7), new IntParam("W", 1, 8, 4, 7, 6),
            new IntParam("pool_height", 1, 3, 2, 2, 3), new IntParam("pool_width", 1, 3, 2, 3, 2), new IntParam("stride", 1, 3, 2, 1, 2));
        Dictionary<string, object?> PoolParam(CaseParams c) => Dict(("pool_height", c.I("pool_height")), ("pool_width", c.I("pool_width")), ("stride", c.I("stride")));
        yield return Function("max_pool_forward_naive", pool, (c, py) =>
        {
            var x = Distinct(c, 0, c.I("N"), c.I("C"), c.I("H"), c.I("W"));
            py.Call(F("max_pool_forward_naive"), [x, PoolParam(c)], pick: 0);
            return new CaseRun(Shapes(("x", x)),
                v => [Compare("out", Layers.MaxPoolForward(x, c.I("pool_height"), c.I("pool_width"), c.I("stride")).Out, Array(v[0], "max_pool_forward_naive out"))]);
        });
        yield return Function("max_pool_backward_naive", pool, (c, py) =>
        {
            var x = Distinct(c, 0, c.I("N"), c.I("C"), c.I("H"), c.I("W"));
            var (o, cache) = Layers.MaxPoolForward(x, c.I("pool_height"), c.I("pool_width"), c.I("stride"));
            var dout = Normal(c, 1, [.. o.Shape]);
            var fwd = py.Call(F("max_pool_forward_naive"), [x, PoolParam(c)], returned: false);
            py.Call(F("max_pool_backward_naive"), [dout, fwd[1]], needs: fwd, needsName: "max_pool_forward_naive");
            return new CaseRun(Shapes(("x", x), ("dout", dout)), v => [Compare("dx", Layers.MaxPoolBackward(dout, cache), v[1])]);
        });

        // ---- spatial batch normalization (bn_param as batchnorm's) ----
        var sbn = Ranges(c => c.I("test") == 1 || c.I("N") * c.I("H") * c.I("W") >= 2,
            new IntParam("N", 1, 4, 2, 1), new IntParam("C", 1, 4, 3, 2), new IntParam("H", 1, 4, 2, 3), new IntParam("W", 1, 4, 3, 2),
            new IntParam("test", 0, 1, 0, 0, 1), new IntParam("momentum%", 0, 99, 90, 50));
        (Tensor X, Tensor Gamma, Tensor Beta, BatchNormState State, Tensor Dout) SbnInputs(CaseParams c)
        {
            int n = c.I("N"), ch = c.I("C"), h = c.I("H"), w = c.I("W");
            return (Normal(c, 0, n, ch, h, w) * 2.0 + 1.0, Normal(c, 1, ch), Normal(c, 2, ch),
                new BatchNormState(Normal(c, 3, ch), Uniform(c, 4, 0.5, 2.0, ch)), Normal(c, 5, n, ch, h, w));
        }

        yield return Function("spatial_batchnorm_forward", sbn, (c, py) =>
        {
            var (x, gamma, beta, state, _) = SbnInputs(c);
            var p = py.Let(BnParam(c, state));
            py.Call(F("spatial_batchnorm_forward"), [x, gamma, beta, p], pick: 0);
            py.Get(p);
            return new CaseRun(Shapes(("x", x), ("gamma", gamma), ("beta", beta)), v =>
            {
                var test = c.I("test") == 1;
                var (o, s, _) = Layers.SpatialBatchNormForward(x, gamma, beta, state, test ? Mode.Test : Mode.Train, 1e-5, c.I("momentum%") / 100.0);
                var checks = new List<Check> { Compare("out", o, Array(v[1], "spatial_batchnorm_forward out")) };
                if (!test && v[2] is IReadOnlyDictionary<string, object?> dict)
                {
                    checks.Add(Compare("running_mean", s.RunningMean, dict.GetValueOrDefault("running_mean")));
                    checks.Add(Compare("running_var", s.RunningVar, dict.GetValueOrDefault("running_var")));
                }

                return checks;
            });
        });
        var sbnTrain = Ranges(c => c.I("N") * c.I("H") * c.I("W") >= 2,
            new IntParam("N", 1, 4, 2, 1), new IntParam("C", 1, 4, 3, 2), new IntParam("H", 1, 4, 2, 3), new IntParam("W", 1, 4, 3, 2),
            new IntParam("test", 0, 0), new IntParam("momentum%", 90, 90));
        yield return Function("spatial_batchnorm_backward", sbnTrain, (c, py) =>
        {
            var (x, gamma, beta, state, dout) = SbnInputs(c);
            var fwd = py.Call(F("spatial_batchnorm_forward"), [x, gamma, beta, BnParam(c, state)], returned: false);
            py.Call(F("spatial_batchnorm_backward"), [dout, fwd[1]], needs: fwd, needsName: "spatial_batchnorm_forward");
            return new CaseRun(Shapes(("x", x), ("gamma", gamma), ("beta", beta), ("dout", dout)), v =>
                NormChecks(Layers.SpatialBatchNormBackward(dout, Layers.SpatialBatchNormForward(x, gamma, beta, state, Mode.Train).Cache), v[1], "spatial_batchnorm_backward"));
        });

        // ---- spatial group normalization (G; gamma and beta of shape (1, C, 1, 1); gn_param: eps) ----
        var gn = Ranges(_ => true, new IntParam("N", 1, 3, 1, 2), new IntParam("G", 1, 3, 1, 2, 3), new IntParam("C/G", 1, 3, 2, 1, 2),
            new IntParam("H", 1, 4, 2, 3), new IntParam("W", 1, 4, 3, 2));
        (Tensor X, Tensor Gamma, Tensor Beta, Tensor Dout) GnInputs(CaseParams c)
        {
            int n = c.I("N"), ch = c.I("G") * c.I("C/G"), h = c.I("H"), w = c.I("W");
            return (Normal(c, 0, n, ch, h, w) * 2.0 + 1.0, Normal(c, 1, ch), Normal(c, 2, ch), Normal(c, 3, n, ch, h, w));
        }

        Tensor Course(Tensor t) => t.Reshape(1, t.Shape[0], 1, 1);
        yield return Function("spatial_groupnorm_forward", gn, (c, py) =>
        {
            var (x, gamma, beta, _) = GnInputs(c);
            py.Call(F("spatial_groupnorm_forward"), [x, Course(gamma), Course(beta), c.I("G"), Dict(("eps", 1e-5))], pick: 0);
            return new CaseRun(Shapes(("x", x), ("gamma", Course(gamma)), ("beta", Course(beta))),
                v => [Compare("out", Layers.GroupNormForward(x, gamma, beta, c.I("G")).Out, Array(v[0], "spatial_groupnorm_forward out"))]);
        });
        yield return Function("spatial_groupnorm_backward", gn, (c, py) =>
        {
            var (x, gamma, beta, dout) = GnInputs(c);
            var fwd = py.Call(F("spatial_groupnorm_forward"), [x, Course(gamma), Course(beta), c.I("G"), Dict(("eps", 1e-5))], returned: false);
            py.Call(F("spatial_groupnorm_backward"), [dout, fwd[1]], needs: fwd, needsName: "spatial_groupnorm_forward");
            return new CaseRun(Shapes(("x", x), ("gamma", Course(gamma)), ("beta", Course(beta)), ("dout", dout)), v =>
            {
                var g = Layers.GroupNormBackward(dout, Layers.GroupNormForward(x, gamma, beta, c.I("G")).Cache);
                return NormChecks(new NormGrads(g.Dx, Course(g.Dgamma), Course(g.Dbeta)), v[1], "spatial_groupnorm_backward");
            });
        });
    }

    private static List<Check> NormChecks(NormGrads g, object? returned, string what) =>
        [Compare("dx", g.Dx, Item(returned, 0, what)), Compare("dgamma", g.Dgamma, Item(returned, 1, what)), Compare("dbeta", g.Dbeta, Item(returned, 2, what))];

    /// <summary>±1, so that dropout inputs are never 0 (a kept 0 would look dropped).</summary>
    private static Tensor Signs(CaseParams c) =>
        Uniform(c, 9, -1, 1, c.I("N"), c.I("D")).Map(u => u < 0 ? -1.0 : 1.0);

    private static Dictionary<string, object?> DropoutParam(CaseParams c) =>
        Dict(("p", c.I("p%") / 100.0), ("mode", c.I("test") == 1 ? "test" : "train"), ("seed", c.I("seed") % 100000));

    /// <summary>
    /// Dropout judged against the student's own mask (the nonzero elements of <paramref name="out0"/>): the output
    /// (or dx) must be <paramref name="through"/> · mask / p, and the kept fraction p within 5 standard deviations.
    /// In test mode the output is x (dx is dout).
    /// </summary>
    private static List<Check> DropoutChecks(CaseParams c, Tensor x, Tensor out0, Tensor through, string output, Tensor? actual = null)
    {
        if (!out0.Shape.SequenceEqual(x.Shape))
            return [Compare(output, x, out0)];
        if (c.I("test") == 1)
            return [Compare(output, through, actual ?? out0)];
        var p = c.I("p%") / 100.0;
        var mask = out0.Map(o => o != 0 ? 1.0 : 0.0);
        var kept = mask.SumAll() / mask.Count;
        var sigma = Math.Sqrt(p * (1 - p) / mask.Count);
        // The rule's relative error of the kept fraction is |kept − p| / (kept + p): 5σ of it is the bound.
        var bound = 5 * sigma / (2 * p - 5 * sigma);
        return
        [
            Compare(output, through * mask / p, actual ?? out0),
            Compare("kept fraction", Tensor.Scalar(p), Tensor.Scalar(kept), tolerance: bound),
        ];
    }
}
