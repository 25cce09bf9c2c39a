namespace Functional.Api.Tests;

public class ModelTests
{
    private static Tensor Normal(int seed, params int[] shape) => Tensor.RandomNormal(Rng.Create(seed), 1.0, shape);

    /// <summary>The worst relative error of the analytic gradients against numeric ones, over every parameter.</summary>
    private static double WorstGradientError(
        IReadOnlyDictionary<string, Tensor> parameters,
        Func<IReadOnlyDictionary<string, Tensor>, LossAndGradients> loss)
    {
        var analytic = loss(parameters).Gradients;
        Assert.Equal(parameters.Keys.OrderBy(k => k, StringComparer.Ordinal), analytic.Keys.OrderBy(k => k, StringComparer.Ordinal));
        var worst = 0.0;
        foreach (var (name, value) in parameters)
        {
            var numeric = GradientCheck.Numeric(
                t => loss(new Dictionary<string, Tensor>(parameters) { [name] = t }).Loss, value);
            worst = Math.Max(worst, GradientCheck.Compare(name, analytic[name], numeric, floor: 1e-2).MaxRelativeError);
        }

        return worst;
    }

    [Fact]
    public void TwoLayerNetHasTheCourseShapesAndStartsAtLogC()
    {
        var net = new TwoLayerNet();
        Assert.Equal(["W1", "W2", "b1", "b2"], net.Parameters.Keys.OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal([3072, 100], net.Parameters["W1"].Shape);
        Assert.Equal([100], net.Parameters["b1"].Shape);
        Assert.Equal([100, 10], net.Parameters["W2"].Shape);
        Assert.Equal(0.0, net.Parameters["b2"].ToArray().Sum());
        Assert.Empty(net.State);
        Assert.Equal((3072, 100, 10, 0.0, 0L), (net.InputDim, net.HiddenDim, net.NumClasses, net.Reg, net.Seed));
        Assert.Equal("two-layer net (3072 -> 100 -> 10)", net.ToString());

        var x = Normal(1, 4, 3, 32, 32);
        Assert.Equal([4, 10], net.Scores(x).Shape);
        var r = net.Loss(x, [0, 1, 2, 3]);
        Assert.Equal(Math.Log(10), r.Loss, 2);
        Assert.Equal([3072, 100], r.Gradients["W1"].Shape);
        Assert.Empty(r.State);
    }

    [Fact]
    public void TwoLayerNetGradientsMatchNumericGradients()
    {
        var net = new TwoLayerNet(inputDim: 5, hiddenDim: 4, numClasses: 3, weightScale: 0.5, reg: 0.3, seed: 7);
        var x = Normal(2, 6, 5);
        int[] y = [0, 1, 2, 2, 1, 0];
        var worst = WorstGradientError(net.Parameters, p => net.WithParameters(p).Loss(x, y));
        Assert.True(worst < 1e-7, $"worst relative error {worst}");
    }

    [Fact]
    public void TwoLayerNetValidatesItsArguments()
    {
        var net = new TwoLayerNet(inputDim: 5, hiddenDim: 4, numClasses: 3);
        var ex = Assert.Throws<ArgumentException>(() => net.Scores(Tensor.Zeros(2, 6)));
        Assert.Contains("d1*...*dk = 5", ex.Message);
        Assert.Contains("(2, 6)", ex.Message);
        Assert.Equal("x", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => net.Loss(Tensor.Zeros(2, 5), [0, 3]));
        Assert.Contains("y[1] = 3", ex.Message);
        Assert.Throws<ArgumentNullException>(() => net.Scores(null!));
        Assert.Throws<ArgumentNullException>(() => net.Loss(Tensor.Zeros(2, 5), null!));
        ex = Assert.Throws<ArgumentException>(() => new TwoLayerNet(hiddenDim: 0));
        Assert.Contains("hiddenDim must be > 0", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new TwoLayerNet(reg: -1));
        Assert.Equal("reg", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => new TwoLayerNet(weightScale: double.NaN));
        Assert.Equal("weightScale", ex.ParamName);
    }

    [Fact]
    public void WithParametersGivesANewNetAndChecksNamesAndShapes()
    {
        var net = new TwoLayerNet(inputDim: 5, hiddenDim: 4, numClasses: 3);
        var zeros = net.Parameters.ToDictionary(kv => kv.Key, kv => Tensor.Zeros([.. kv.Value.Shape]));
        var zeroNet = net.WithParameters(zeros);
        Assert.Equal(0.0, zeroNet.Scores(Normal(3, 2, 5)).ToArray().Sum());
        Assert.NotEqual(0.0, net.Parameters["W1"].ToArray().Sum());

        var wrongShape = new Dictionary<string, Tensor>(zeros) { ["W1"] = Tensor.Zeros(4, 4) };
        var ex = Assert.Throws<ArgumentException>(() => net.WithParameters(wrongShape));
        Assert.Contains("'W1' must have shape (5, 4), got (4, 4)", ex.Message);
        var missing = new Dictionary<string, Tensor>(zeros);
        missing.Remove("b2");
        ex = Assert.Throws<ArgumentException>(() => net.WithParameters(missing));
        Assert.Contains("missing parameter 'b2'", ex.Message);
        var extra = new Dictionary<string, Tensor>(zeros) { ["W3"] = Tensor.Zeros(1) };
        ex = Assert.Throws<ArgumentException>(() => net.WithParameters(extra));
        Assert.Contains("unexpected parameter 'W3'", ex.Message);
        Assert.Throws<ArgumentNullException>(() => net.WithParameters(null!));
        var nullValue = new Dictionary<string, Tensor>(zeros) { ["W1"] = null! };
        Assert.Throws<ArgumentNullException>(() => net.WithParameters(nullValue));
    }

    [Fact]
    public void FullyConnectedNetGradientsMatchNumericGradientsWithAndWithoutReg()
    {
        var x = Normal(4, 5, 2, 3);
        int[] y = [0, 1, 2, 3, 1];
        foreach (var reg in new[] { 0.0, 0.5 })
        {
            var net = new FullyConnectedNet([4, 3], inputDim: 6, numClasses: 4, weightScale: 0.7, reg: reg, seed: 3);
            var worst = WorstGradientError(net.Parameters, p => net.WithParameters(p).Loss(x, y));
            Assert.True(worst < 1e-7, $"reg {reg}: worst relative error {worst}");
        }
    }

    [Fact]
    public void FullyConnectedNetShapesOptionsAndInitialLoss()
    {
        var net = new FullyConnectedNet([20, 30, 10], inputDim: 15, numClasses: 7, weightScale: 1e-3, seed: 1);
        Assert.Equal([20, 30, 10], net.HiddenDims);
        Assert.Equal((15, 7, 0.0, Normalization.None, (double?)null, 1L),
            (net.InputDim, net.NumClasses, net.Reg, net.Normalization, net.DropoutKeepProbability, net.Seed));
        Assert.Equal(8, net.Parameters.Count);
        Assert.Equal([15, 20], net.Parameters["W1"].Shape);
        Assert.Equal([10, 7], net.Parameters["W4"].Shape);
        Assert.Equal([7], net.Parameters["b4"].Shape);
        Assert.Equal("fully connected net [20; 30; 10]", net.ToString());
        var x = Normal(5, 8, 15);
        var r = net.Loss(x, [0, 1, 2, 3, 4, 5, 6, 0]);
        Assert.Equal(Math.Log(7), r.Loss, 3);
        Assert.Equal([8, 7], net.Scores(x).Shape);

        // The same seed gives the same net; another seed, other weights.
        var again = new FullyConnectedNet([20, 30, 10], inputDim: 15, numClasses: 7, weightScale: 1e-3, seed: 1);
        Assert.Equal(net.Parameters["W2"].ToArray(), again.Parameters["W2"].ToArray());
        var other = new FullyConnectedNet([20, 30, 10], inputDim: 15, numClasses: 7, weightScale: 1e-3, seed: 2);
        Assert.NotEqual(net.Parameters["W2"].ToArray(), other.Parameters["W2"].ToArray());

        // No hidden layer: a softmax classifier.
        var linear = new FullyConnectedNet([], inputDim: 15, numClasses: 7);
        Assert.Equal(["W1", "b1"], linear.Parameters.Keys.OrderBy(k => k, StringComparer.Ordinal));
    }

    [Fact]
    public void FullyConnectedNetValidatesItsArguments()
    {
        var ex = Assert.Throws<ArgumentException>(() => new FullyConnectedNet([3, 0], inputDim: 4));
        Assert.Contains("hiddenDims[1] = 0", ex.Message);
        Assert.Equal("hiddenDims", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => new FullyConnectedNet([3], dropoutKeepProbability: 1.5));
        Assert.Contains("(0, 1]", ex.Message);
        Assert.Equal("dropoutKeepProbability", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => new FullyConnectedNet([3], normalization: (Normalization)7));
        Assert.Equal("normalization", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => new FullyConnectedNet([3], numClasses: 0));
        Assert.Contains("numClasses must be > 0", ex.Message);
        Assert.Throws<ArgumentNullException>(() => new FullyConnectedNet(null!));

        var net = new FullyConnectedNet([3], inputDim: 4, numClasses: 2);
        ex = Assert.Throws<ArgumentException>(() => net.Scores(Tensor.Zeros(3, 2, 3)));
        Assert.Contains("(3, 2, 3)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => net.Loss(Tensor.Zeros(3, 4), [0, 1]));
        Assert.Contains("expected 3 labels", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => net.WithParameters(net.Parameters, new Dictionary<string, Tensor> { ["running_mean1"] = Tensor.Zeros(3) }));
        Assert.Contains("unexpected state entry 'running_mean1'", ex.Message);
    }

    [Fact]
    public void LossAndGradientsIsAValueRecord()
    {
        var g = new Dictionary<string, Tensor> { ["W1"] = Tensor.Zeros(1) };
        var s = new Dictionary<string, Tensor>();
        var a = new LossAndGradients(1.5, g, s);
        Assert.Equal(a, new LossAndGradients(1.5, g, s));
        Assert.Equal(2.5, (a with { Loss = 2.5 }).Loss);
        var (loss, gradients, state) = a;
        Assert.Equal((1.5, g, s), (loss, gradients, state));
    }
}
