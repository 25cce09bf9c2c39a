namespace Functional.Api.Tests;

/// <summary>The C# face of autodiff: Variable, Ops, Autodiff, and a net built from them trained by the Solver.</summary>
public class AutodiffTests
{
    private static Dictionary<string, Tensor> Scalars(params (string Name, double Value)[] entries) =>
        entries.ToDictionary(e => e.Name, e => Tensor.Scalar(e.Value));

    [Fact]
    public void TheLecturesScalarGraphGivesItsGradients()
    {
        var r = Autodiff.Gradients(Scalars(("x", -2), ("y", 5), ("z", -4)), p => (p["x"] + p["y"]) * p["z"]);
        Assert.Equal(-12.0, r.Loss);
        Assert.Equal(-4.0, r.Gradients["x"].Item0);
        Assert.Equal(-4.0, r.Gradients["y"].Item0);
        Assert.Equal(3.0, r.Gradients["z"].Item0);
    }

    [Fact]
    public void TheSigmoidNeuronIsTheSameAsOneGateOrAsFour()
    {
        var inputs = Scalars(("w0", 2), ("x0", -1), ("w1", -3), ("x1", -2), ("w2", -3));
        static Variable Pre(IReadOnlyDictionary<string, Variable> p) => p["w0"] * p["x0"] + p["w1"] * p["x1"] + p["w2"];
        var one = Autodiff.Gradients(inputs, p => Ops.Sigmoid(Pre(p)));
        var four = Autodiff.Gradients(inputs, p => 1.0 / (Ops.Exp(-Pre(p)) + 1.0));
        Assert.Equal(0.73, one.Loss, 2);
        Assert.Equal(-0.20, one.Gradients["w0"].Item0, 2);
        Assert.Equal(-0.59, one.Gradients["x1"].Item0, 2);
        foreach (var name in inputs.Keys)
            Assert.Equal(one.Gradients[name].Item0, four.Gradients[name].Item0, 14);
    }

    [Fact]
    public void OpsGradientsEqualTheHandWrittenLayers()
    {
        var key = Rng.Create(3);
        var p = new Dictionary<string, Tensor>
        {
            ["x"] = Tensor.RandomNormal(key.Derive(0), 1.0, 2, 3, 5, 5),
            ["w"] = Tensor.RandomNormal(key.Derive(1), 0.3, 4, 3, 3, 3),
            ["b"] = Tensor.RandomNormal(key.Derive(2), 0.3, 4),
        };
        var dout = Tensor.RandomNormal(key.Derive(3), 1.0, 2, 4, 3, 3);
        var r = Autodiff.Gradients(p, v =>
            Ops.Sum(Ops.Conv(v["x"], v["w"], v["b"], stride: 2, pad: 1) * Variable.Constant(dout)));
        var (_, cache) = Layers.ConvForward(p["x"], p["w"], p["b"], stride: 2, pad: 1);
        var g = Layers.ConvBackward(dout, cache);
        Assert.Equal(g.Dx.ToArray(), r.Gradients["x"].ToArray());
        Assert.Equal(g.Dw.ToArray(), r.Gradients["w"].ToArray());
        Assert.Equal(g.Db.ToArray(), r.Gradients["b"].ToArray());
    }

    [Fact]
    public void BroadcastingGradientsSumBackToEachShape()
    {
        var x = Tensor.FromArray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
        var bias = Tensor.FromArray([0.5, -0.5, 1.0], 3);
        var r = Autodiff.Gradients(
            new Dictionary<string, Tensor> { ["x"] = x, ["bias"] = bias },
            p => Ops.Sum((p["x"] + p["bias"]) * 2.0));
        Assert.Equal([2.0, 2.0, 2.0, 2.0, 2.0, 2.0], r.Gradients["x"].ToArray());
        Assert.Equal([4.0, 4.0, 4.0], r.Gradients["bias"].ToArray());
        var j = Autodiff.Jacobian(v => Ops.Tanh(v), Tensor.FromArray([0.0, 1.0], 2));
        Assert.Equal([2, 2], j.Shape);
        Assert.Equal(0.0, j[0, 1]);
        Assert.Equal(1.0, Autodiff.Gradient(v => Ops.Sum(v), x)[1, 2]);
    }

    [Fact]
    public void BadArgumentsGetClearExceptions()
    {
        var p = new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(2, 3) };
        var notScalar = Assert.Throws<ArgumentException>(() => Autodiff.Gradients(p, v => v["a"]));
        Assert.Contains("single element", notScalar.Message);
        var shapes = Assert.Throws<ArgumentException>(() =>
            Autodiff.Gradients(p, v => Ops.Sum(v["a"] + Variable.Constant(Tensor.Ones(4)))));
        Assert.Contains("cannot be broadcast", shapes.Message);
        Assert.Throws<ArgumentNullException>(() => Autodiff.Gradients(p, v => Ops.Sum(null!)));
        Assert.Throws<ArgumentNullException>(() => Variable.Constant(null!));
    }

    [Fact]
    public void ASmallNetBuiltWithVariablesTrainsWithTheSolver()
    {
        // Three Gaussian blobs in 4-D; a two-layer net written with Ops.
        var (x, y) = Blobs(90, 4, 3, 1);
        var (xv, yv) = Blobs(30, 4, 3, 2);
        var key = Rng.Create(7);
        var parameters = new Dictionary<string, Tensor>
        {
            ["W1"] = Tensor.RandomNormal(key.Derive(1), 0.3, 4, 16),
            ["b1"] = Tensor.Zeros(16),
            ["W2"] = Tensor.RandomNormal(key.Derive(2), 0.3, 16, 3),
            ["b2"] = Tensor.Zeros(3),
        };
        var net = Model.Create(
            "two-layer, written with Ops",
            parameters,
            (p, input) => Ops.Affine(Ops.Relu(Ops.Affine(input, p["W1"], p["b1"])), p["W2"], p["b2"]),
            reg: 1e-3,
            regularized: ["W1", "W2"]);

        var before = net.Loss(x, y);
        var expected = Autodiff.Gradients(parameters, p =>
            Ops.SoftmaxLoss(Ops.Affine(Ops.Relu(Ops.Affine(Variable.Constant(x), p["W1"], p["b1"])), p["W2"], p["b2"]), y)
            + Ops.L2(p["W1"], 1e-3) + Ops.L2(p["W2"], 1e-3));
        Assert.Equal(expected.Loss, before.Loss, 12);
        Assert.Equal(expected.Gradients["W1"].ToArray(), before.Gradients["W1"].ToArray());

        var solver = new Solver(net, UpdateRule.Adam(learningRate: 5e-2),
            new SolverConfig { NumEpochs = 10, BatchSize = 15, NumTrainSamples = null });
        var result = solver.Train(x, y, xv, yv);
        Assert.True(result.LossHistory[^1] < result.LossHistory[0],
            $"loss {result.LossHistory[0]} -> {result.LossHistory[^1]}");
        Assert.True(result.BestValAccuracy >= 0.9, $"validation accuracy {result.BestValAccuracy}");
    }

    [Fact]
    public void TheGraphDrawsAsDotWithGatesValuesAndGradients()
    {
        var p = Scalars(("x", -2), ("y", 5), ("z", -4)).ToDictionary(kv => kv.Key, kv => Variable.Constant(kv.Value));
        var dot = Autodiff.ToDot((p["x"] + p["y"]) * p["z"], withGradients: false);
        Assert.StartsWith("digraph", dot);
        Assert.Contains("label=\"+\"", dot);
        Assert.Contains("label=\"*\"", dot);
        Assert.Contains(">-12<", dot);
    }

    private static (Tensor X, int[] Y) Blobs(int n, int d, int c, int seed)
    {
        var centers = Tensor.RandomNormal(Rng.Create(1000), 3.0, c, d).ToArray();
        var noise = Tensor.RandomNormal(Rng.Create(seed), 1.0, n, d).ToArray();
        var y = new int[n];
        var x = new double[n * d];
        for (var i = 0; i < n; i++)
        {
            y[i] = i % c;
            for (var j = 0; j < d; j++)
                x[i * d + j] = centers[y[i] * d + j] + noise[i * d + j];
        }

        return (Tensor.FromArray(x, n, d), y);
    }
}
