namespace Functional.App;

/// <summary>
/// One analytic-vs-numeric check per gradient of every layer, on small fixed random inputs; the rows of the
/// <c>check</c> table. Everything goes through the C# facade.
/// </summary>
internal static class GradientSuite
{
    private static Tensor Normal(int seed, params int[] shape) => Tensor.RandomNormal(Rng.Create(seed), 1.0, shape);

    private static string Shapes(params Tensor[] tensors) =>
        string.Join(" ", tensors.Select(t => "(" + string.Join(",", t.Shape) + ")"));

    /// <summary>
    /// Judges with the property suite's criterion: |a − n| ≤ tolerance · max(|a| + |n|, 1e-2). The course's rel_error
    /// (floor 1e-8) is reported beside it; it is meaningless for coordinates whose true gradient is near 0 (e.g. a
    /// bias before batchnorm, exactly 0), where the numeric value is round-off.
    /// </summary>
    public const double Floor = 1e-2;

    private static GradCheckReport Judge(string name, Tensor analytic, Tensor numeric) =>
        GradCheck.Compare(name, analytic, numeric, CheckCommand.Tolerance, Floor);

    private static GradCheckReport Check(string name, Func<Tensor, Tensor> f, Tensor x, Tensor dout, Tensor analytic) =>
        Judge(name, analytic, GradCheck.NumericOf(f, x, dout));

    private static GradCheckReport CheckScalar(string name, Func<Tensor, double> f, Tensor x, Tensor analytic) =>
        Judge(name, analytic, GradCheck.Numeric(f, x));

    public static IEnumerable<(string Layer, string Shapes, GradCheckReport Report)> All()
    {
        {
            var (x, w, b, dout) = (Normal(1, 4, 3, 2), Normal(2, 6, 5), Normal(3, 5), Normal(4, 4, 5));
            var g = Layers.AffineBackward(dout, Layers.AffineForward(x, w, b).Cache);
            var shapes = Shapes(x, w, b);
            yield return ("affine", shapes, Check("dx", t => Layers.AffineForward(t, w, b).Out, x, dout, g.Dx));
            yield return ("affine", shapes, Check("dw", t => Layers.AffineForward(x, t, b).Out, w, dout, g.Dw));
            yield return ("affine", shapes, Check("db", t => Layers.AffineForward(x, w, t).Out, b, dout, g.Db));
            var gr = Layers.AffineReluBackward(dout, Layers.AffineReluForward(x, w, b).Cache);
            yield return ("affine-relu", shapes, Check("dx", t => Layers.AffineReluForward(t, w, b).Out, x, dout, gr.Dx));
            yield return ("affine-relu", shapes, Check("dw", t => Layers.AffineReluForward(x, t, b).Out, w, dout, gr.Dw));
            yield return ("affine-relu", shapes, Check("db", t => Layers.AffineReluForward(x, w, t).Out, b, dout, gr.Db));
        }
        {
            var x = Normal(5, 5, 6);
            var dout = Normal(6, 5, 6);
            var shapes = Shapes(x);
            yield return ("relu", shapes, Check("dx", t => Layers.ReluForward(t).Out, x, dout,
                Layers.ReluBackward(dout, Layers.ReluForward(x).Cache)));
            yield return ("leaky relu", shapes, Check("dx", t => Layers.LeakyReluForward(t, 0.01).Out, x, dout,
                Layers.LeakyReluBackward(dout, Layers.LeakyReluForward(x, 0.01).Cache)));
            yield return ("sigmoid", shapes, Check("dx", t => Layers.SigmoidForward(t).Out, x, dout,
                Layers.SigmoidBackward(dout, Layers.SigmoidForward(x).Cache)));
            yield return ("tanh", shapes, Check("dx", t => Layers.TanhForward(t).Out, x, dout,
                Layers.TanhBackward(dout, Layers.TanhForward(x).Cache)));
        }
        {
            var scores = Normal(7, 8, 5);
            int[] labels = [0, 1, 2, 3, 4, 0, 1, 2];
            var shapes = Shapes(scores);
            yield return ("softmax loss", shapes, CheckScalar("dscores", s => Losses.Softmax(s, labels).Loss,
                scores, Losses.Softmax(scores, labels).Dscores));
            yield return ("svm loss", shapes, CheckScalar("dscores", s => Losses.Svm(s, labels).Loss,
                scores, Losses.Svm(scores, labels).Dscores));
            yield return ("l2 regularization", shapes, CheckScalar("dW", s => Losses.L2(s, 0.1).Loss,
                scores, Losses.L2(scores, 0.1).Gradient));
        }
        {
            // Convolution: the course's small case with stride 2 and pad 1, a non-square kernel with dilation,
            // and a grouped convolution; the fast path, whose cache the backward pass uses.
            var x = Normal(11, 2, 2, 7, 7);
            var w = Normal(12, 3, 2, 3, 3);
            var b = Normal(13, 3);
            foreach (var (label, stride, pad, dilation) in new[] { ("conv s2 p1", 2, 1, 1), ("conv s1 p2 d2", 1, 2, 2) })
            {
                var (o, c) = Layers.ConvForward(x, w, b, stride: stride, pad: pad, dilation: dilation);
                var dout = Normal(14, o.Shape.ToArray());
                var g = Layers.ConvBackward(dout, c);
                var shapes = Shapes(x, w, b);
                yield return (label, shapes, Check("dx", t => Layers.ConvForward(t, w, b, stride, pad, dilation).Out, x, dout, g.Dx));
                yield return (label, shapes, Check("dw", t => Layers.ConvForward(x, t, b, stride, pad, dilation).Out, w, dout, g.Dw));
                yield return (label, shapes, Check("db", t => Layers.ConvForward(x, w, t, stride, pad, dilation).Out, b, dout, g.Db));
            }

            var xg = Normal(15, 2, 4, 5, 5);
            var wg = Normal(16, 6, 2, 3, 3);
            var bg = Normal(17, 6);
            var (og, cg) = Layers.ConvForward(xg, wg, bg, pad: 1, groups: 2);
            var doutg = Normal(18, og.Shape.ToArray());
            var gg = Layers.ConvBackward(doutg, cg);
            yield return ("conv groups=2", Shapes(xg, wg, bg), Check("dx", t => Layers.ConvForward(t, wg, bg, pad: 1, groups: 2).Out, xg, doutg, gg.Dx));
            yield return ("conv groups=2", Shapes(xg, wg, bg), Check("dw", t => Layers.ConvForward(xg, t, bg, pad: 1, groups: 2).Out, wg, doutg, gg.Dw));
        }
        {
            // Pooling: distinct, well-separated values so no window has a near-tie.
            var perm = Rng.Create(21).Permutation(2 * 3 * 6 * 6);
            var x = Tensor.FromArray(perm.Select(i => i * 0.01).ToArray(), 2, 3, 6, 6);
            var (mo, mc) = Layers.MaxPoolForward(x, poolHeight: 2, poolWidth: 3, stride: 2);
            var dm = Normal(22, mo.Shape.ToArray());
            yield return ("max pool 2x3 s2", Shapes(x), Check("dx", t => Layers.MaxPoolForward(t, 2, 3, 2).Out, x, dm, Layers.MaxPoolBackward(dm, mc)));
            var (ao, ac) = Layers.AvgPoolForward(x, poolHeight: 3, poolWidth: 3, stride: 1);
            var da = Normal(23, ao.Shape.ToArray());
            yield return ("avg pool 3x3 s1", Shapes(x), Check("dx", t => Layers.AvgPoolForward(t, 3, 3, 1).Out, x, da, Layers.AvgPoolBackward(da, ac)));
        }
        {
            var x = Normal(31, 6, 5) * 2.0 + 1.0;
            var gamma = Normal(32, 5);
            var beta = Normal(33, 5);
            var dout = Normal(34, 6, 5);
            var state = BatchNormState.Initial(5);
            var shapes = Shapes(x, gamma, beta);
            var bn = Layers.BatchNormBackward(dout, Layers.BatchNormForward(x, gamma, beta, state, Mode.Train).Cache);
            yield return ("batchnorm (train)", shapes, Check("dx", t => Layers.BatchNormForward(t, gamma, beta, state, Mode.Train).Out, x, dout, bn.Dx));
            yield return ("batchnorm (train)", shapes, Check("dgamma", t => Layers.BatchNormForward(x, t, beta, state, Mode.Train).Out, gamma, dout, bn.Dgamma));
            yield return ("batchnorm (train)", shapes, Check("dbeta", t => Layers.BatchNormForward(x, gamma, t, state, Mode.Train).Out, beta, dout, bn.Dbeta));
            var alt = Layers.BatchNormBackwardAlt(dout, Layers.BatchNormForward(x, gamma, beta, state, Mode.Train).Cache);
            yield return ("batchnorm closed form", shapes, Check("dx", t => Layers.BatchNormForward(t, gamma, beta, state, Mode.Train).Out, x, dout, alt.Dx));
            var ln = Layers.LayerNormBackward(dout, Layers.LayerNormForward(x, gamma, beta).Cache);
            yield return ("layernorm", shapes, Check("dx", t => Layers.LayerNormForward(t, gamma, beta).Out, x, dout, ln.Dx));
            yield return ("layernorm", shapes, Check("dgamma", t => Layers.LayerNormForward(x, t, beta).Out, gamma, dout, ln.Dgamma));
            var keepRng = Rng.Create(35);
            var dr = Layers.DropoutBackward(dout, Layers.DropoutForward(x, 0.7, Mode.Train, keepRng).Cache);
            yield return ("dropout p=0.7", Shapes(x), Check("dx", t => Layers.DropoutForward(t, 0.7, Mode.Train, keepRng).Out, x, dout, dr));
        }
        {
            var x = Normal(41, 2, 4, 3, 3) * 2.0 + 1.0;
            var gamma = Normal(42, 4);
            var beta = Normal(43, 4);
            var dout = Normal(44, 2, 4, 3, 3);
            var state = BatchNormState.Initial(4);
            var shapes = Shapes(x, gamma, beta);
            var sbn = Layers.SpatialBatchNormBackward(dout, Layers.SpatialBatchNormForward(x, gamma, beta, state, Mode.Train).Cache);
            yield return ("spatial batchnorm", shapes, Check("dx", t => Layers.SpatialBatchNormForward(t, gamma, beta, state, Mode.Train).Out, x, dout, sbn.Dx));
            yield return ("spatial batchnorm", shapes, Check("dgamma", t => Layers.SpatialBatchNormForward(x, t, beta, state, Mode.Train).Out, gamma, dout, sbn.Dgamma));
            var gn = Layers.GroupNormBackward(dout, Layers.GroupNormForward(x, gamma, beta, groups: 2).Cache);
            yield return ("group norm G=2", shapes, Check("dx", t => Layers.GroupNormForward(t, gamma, beta, 2).Out, x, dout, gn.Dx));
            yield return ("group norm G=2", shapes, Check("dgamma", t => Layers.GroupNormForward(x, t, beta, 2).Out, gamma, dout, gn.Dgamma));
            yield return ("group norm G=2", shapes, Check("dbeta", t => Layers.GroupNormForward(x, gamma, t, 2).Out, beta, dout, gn.Dbeta));
            var inn = Layers.InstanceNormBackward(dout, Layers.InstanceNormForward(x, gamma, beta).Cache);
            yield return ("instance norm", shapes, Check("dx", t => Layers.InstanceNormForward(t, gamma, beta).Out, x, dout, inn.Dx));
        }
        foreach (var row in Models())
            yield return row;
    }

    /// <summary>Every model's loss gradient for every parameter (sparse: 20 coordinates per parameter).</summary>
    private static IEnumerable<(string Layer, string Shapes, GradCheckReport Report)> Models()
    {
        var nets = new (string Name, Model Net, Tensor X)[]
        {
            ("two-layer net", new TwoLayerNet(inputDim: 12, hiddenDim: 7, numClasses: 4, weightScale: 0.5, reg: 0.1, seed: 1),
                Normal(51, 5, 12)),
            ("fc net [6, 5] batchnorm", new FullyConnectedNet([6, 5], inputDim: 12, numClasses: 4, weightScale: 0.5, reg: 0.1,
                normalization: Normalization.Batch, seed: 2), Normal(52, 5, 12)),
            ("fc net [6] layernorm dropout 0.8", new FullyConnectedNet([6], inputDim: 12, numClasses: 4, weightScale: 0.5, reg: 0.1,
                normalization: Normalization.Layer, dropoutKeepProbability: 0.8, seed: 3), Normal(53, 5, 12)),
            ("three-layer convnet", new ThreeLayerConvNet(inputDims: (2, 6, 6), numFilters: 3, filterSize: 3, hiddenDim: 5,
                numClasses: 4, weightScale: 0.5, reg: 0.1, seed: 4), Normal(54, 3, 2, 6, 6)),
        };
        foreach (var (name, net, x) in nets)
        {
            var y = Enumerable.Range(0, x.Shape[0]).Select(i => i % 4).ToArray();
            var key = Rng.Create(9);
            var loss = net.Loss(x, y, rng: key);
            foreach (var (pname, p) in net.Parameters.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                double F(Tensor t) => net.Loss(x, y, new Dictionary<string, Tensor>(net.Parameters) { [pname] = t }, rng: key).Loss;
                yield return (name, Shapes(x), CheckScalar(pname, F, p, loss.Gradients[pname]));
            }
        }
    }
}
