namespace Functional.Api.Tests;

public class ModelTests
{
    private static Tensor Normal(int seed, params int[] shape) => Tensor.RandomNormal(Rng.Create(seed), 1.0, shape);

    private static IEnumerable<string> Sorted(IEnumerable<string> keys) => keys.OrderBy(k => k, StringComparer.Ordinal);

    /// <summary>The worst relative error of the analytic gradients against numeric ones, over every parameter.</summary>
    private static double WorstGradientError(
        IReadOnlyDictionary<string, Tensor> parameters,
        Func<IReadOnlyDictionary<string, Tensor>, ModelLoss> loss)
    {
        var analytic = loss(parameters).Gradients;
        Assert.Equal(Sorted(parameters.Keys), Sorted(analytic.Keys));
        var worst = 0.0;
        foreach (var (name, value) in parameters)
        {
            var numeric = GradCheck.Numeric(
                t => loss(new Dictionary<string, Tensor>(parameters) { [name] = t }).Loss, value);
            worst = Math.Max(worst, GradCheck.Compare(name, analytic[name], numeric, floor: 1e-2).MaxRelativeError);
        }

        return worst;
    }

    [Fact]
    public void TwoLayerNetHasTheCourseShapesAndStartsAtLogC()
    {
        var net = new TwoLayerNet();
        Assert.Equal(["W1", "W2", "b1", "b2"], Sorted(net.Parameters.Keys));
        Assert.Equal([3072, 100], net.Parameters["W1"].Shape);
        Assert.Equal([100], net.Parameters["b1"].Shape);
        Assert.Equal([100, 10], net.Parameters["W2"].Shape);
        Assert.Equal(0.0, net.Parameters["b2"].ToArray().Sum());
        Assert.Empty(net.State);
        Assert.Equal((3072, 100, 10, 0.0, 0L), (net.InputDim, net.HiddenDim, net.NumClasses, net.Reg, net.Seed));
        Assert.Equal("two-layer net (3072 -> 100 -> 10)", net.Name);

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
        var worst = WorstGradientError(net.Parameters, p => net.Loss(x, y, parameters: p));
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
        var missing = net.Parameters.Where(kv => kv.Key != "b2").ToDictionary();
        ex = Assert.Throws<ArgumentException>(() => net.Scores(Tensor.Zeros(2, 5), parameters: missing));
        Assert.Contains("missing parameter 'b2'", ex.Message);
        Assert.Throws<ArgumentNullException>(() => net.Scores(null!));
        ex = Assert.Throws<ArgumentException>(() => new TwoLayerNet(hiddenDim: 0));
        Assert.Contains("hiddenDim must be > 0", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new TwoLayerNet(reg: -1));
        Assert.Equal("reg", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => new TwoLayerNet(weightScale: double.NaN));
        Assert.Equal("weightScale", ex.ParamName);
    }

    [Fact]
    public void FullyConnectedNetGradientsMatchNumericGradientsWithAndWithoutReg()
    {
        var x = Normal(4, 5, 2, 3);
        int[] y = [0, 1, 2, 3, 1];
        foreach (var reg in new[] { 0.0, 0.5 })
        {
            var net = new FullyConnectedNet([4, 3], inputDim: 6, numClasses: 4, weightScale: 0.7, reg: reg, seed: 3);
            var worst = WorstGradientError(net.Parameters, p => net.Loss(x, y, parameters: p));
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
        Assert.Equal("fully connected net [20; 30; 10]", net.Name);
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
        Assert.Equal(["W1", "b1"], Sorted(linear.Parameters.Keys));
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
        ex = Assert.Throws<ArgumentException>(() => new FullyConnectedNet([3], dropoutKeepProbability: 0.0));
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
    }

    [Theory]
    [InlineData(Normalization.Batch, null)]
    [InlineData(Normalization.Layer, null)]
    [InlineData(Normalization.None, 0.6)]
    [InlineData(Normalization.Batch, 0.75)]
    public void NormalizedAndDropoutNetsHaveGradientsThatMatchNumericGradients(Normalization norm, double? keep)
    {
        // Hidden widths 8 and 6: no example gets all its units dropped, which would put a ReLU input exactly at 0
        // (b = 0), a kink where the numeric gradient is one-sided.
        var net = new FullyConnectedNet([8, 6], inputDim: 5, numClasses: 3, weightScale: 0.8, reg: 0.2,
            normalization: norm, dropoutKeepProbability: keep, seed: 11);
        var x = Normal(5, 6, 5);
        int[] y = [0, 1, 2, 2, 1, 0];
        var key = Rng.Create(3);
        var worst = WorstGradientError(net.Parameters, p => net.Loss(x, y, parameters: p, rng: key));
        Assert.True(worst < 1e-6, $"{norm} keep {keep}: worst relative error {worst}");
        Assert.Equal(keep, net.DropoutKeepProbability);
        Assert.Equal(norm, net.Normalization);
    }

    [Fact]
    public void BatchNormNetsCarryRunningStatisticsAsState()
    {
        var net = new FullyConnectedNet([4, 3], inputDim: 5, numClasses: 3, normalization: Normalization.Batch);
        Assert.Equal(["beta1", "beta2", "gamma1", "gamma2"],
            Sorted(net.Parameters.Keys.Where(k => k.StartsWith("gamma") || k.StartsWith("beta"))));
        Assert.Equal(["running_mean1", "running_mean2", "running_var1", "running_var2"], Sorted(net.State.Keys));
        Assert.Equal(0.0, net.State["running_var1"].ToArray().Sum());
        Assert.Equal([1.0, 1.0, 1.0, 1.0], net.Parameters["gamma1"].ToArray());
        Assert.Equal("fully connected net [4; 3], batchnorm", net.Name);

        var x = Normal(6, 8, 5);
        var r = net.Loss(x, [0, 1, 2, 0, 1, 2, 0, 1]);
        Assert.NotEqual(0.0, r.State["running_var1"].ToArray().Sum());
        Assert.Equal(0.0, net.State["running_var1"].ToArray().Sum());

        // Test-mode scores use the running statistics they are given.
        Assert.NotEqual(net.Scores(x).ToArray(), net.Scores(x, state: r.State).ToArray());

        var ex = Assert.Throws<ArgumentException>(() => net.Loss(Normal(7, 1, 5), [0]));
        Assert.Contains("N >= 2", ex.Message);
        var noStats = r.State.Where(kv => kv.Key != "running_var2").ToDictionary();
        ex = Assert.Throws<ArgumentException>(() => net.Scores(x, state: noStats));
        Assert.Contains("missing state entry 'running_var2'", ex.Message);
    }

    [Fact]
    public void LayerNormNetsHaveGammasAndBetasButNoState()
    {
        var net = new FullyConnectedNet([4], inputDim: 5, numClasses: 3, normalization: Normalization.Layer);
        Assert.Equal(["W1", "W2", "b1", "b2", "beta1", "gamma1"], Sorted(net.Parameters.Keys));
        Assert.Empty(net.State);
        Assert.Equal("fully connected net [4], layernorm", net.Name);
        Assert.Equal([1, 3], net.Scores(Normal(8, 1, 5)).Shape);
    }

    [Fact]
    public void DropoutIsOnInLossAndOffInScores()
    {
        var plain = new FullyConnectedNet([50], inputDim: 5, numClasses: 3, weightScale: 0.5, seed: 2);
        var dropped = new FullyConnectedNet([50], inputDim: 5, numClasses: 3, weightScale: 0.5,
            dropoutKeepProbability: 0.5, seed: 2);
        var x = Normal(8, 4, 5);
        int[] y = [0, 1, 2, 0];
        Assert.Equal(plain.Scores(x).ToArray(), dropped.Scores(x).ToArray());
        Assert.NotEqual(plain.Loss(x, y).Loss, dropped.Loss(x, y, rng: Rng.Create(5)).Loss);
        Assert.Equal(dropped.Loss(x, y, rng: Rng.Create(5)).Loss, dropped.Loss(x, y, rng: Rng.Create(5)).Loss);
        Assert.NotEqual(dropped.Loss(x, y, rng: Rng.Create(5)).Loss, dropped.Loss(x, y, rng: Rng.Create(6)).Loss);
        Assert.Equal("fully connected net [50], dropout keep 0.5", dropped.Name);
    }

    [Fact]
    public void TheSolverTrainsAFullyConnectedNet()
    {
        // 40 random examples of 10 features, 4 classes: a batchnorm net memorizes them.
        var x = Normal(9, 40, 10);
        var y = Enumerable.Range(0, 40).Select(i => i % 4).ToArray();
        var net = new FullyConnectedNet([50], inputDim: 10, numClasses: 4, weightScale: 0.1,
            normalization: Normalization.Batch, seed: 1);
        var solver = new Solver(net, UpdateRule.Adam(learningRate: 1e-2),
            new SolverConfig { NumEpochs = 50, BatchSize = 20, PrintEvery = 1000, Seed = 3 });
        var result = solver.Train(x, y, x, y);
        Assert.Equal(1.0, net.Accuracy(x, y, result.BestParameters, result.BestState));
    }

    [Fact]
    public void ADropoutNetNeedsAKeyForItsLossAndANetWithoutRandomnessDoesNot()
    {
        var dropped = new FullyConnectedNet([6], inputDim: 5, numClasses: 3, dropoutKeepProbability: 0.5, seed: 2);
        var x = Normal(8, 4, 5);
        int[] y = [0, 1, 2, 0];
        var ex = Assert.Throws<ArgumentNullException>(() => dropped.Loss(x, y));
        Assert.Equal("rng", ex.ParamName);
        Assert.Contains("uses dropout", ex.Message);
        var plain = new FullyConnectedNet([6], inputDim: 5, numClasses: 3, normalization: Normalization.Batch, seed: 2);
        Assert.Equal(plain.Loss(x, y, rng: Rng.Create(9)).Loss, plain.Loss(x, y).Loss);

        // Dropout in test mode is the identity and needs no key.
        Assert.Equal(x.ToArray(), Layers.DropoutForward(x, 0.5, Mode.Test).Out.ToArray());
    }

    [Fact]
    public void WithParametersGivesTheSameKindOfNetOverOtherParameters()
    {
        var net = new TwoLayerNet(inputDim: 5, hiddenDim: 7, numClasses: 3, weightScale: 0.3, reg: 0.1, seed: 4);
        var other = new TwoLayerNet(inputDim: 5, hiddenDim: 7, numClasses: 3, weightScale: 0.3, reg: 0.1, seed: 5);
        var x = Normal(1, 6, 5);
        int[] y = [0, 1, 2, 0, 1, 2];
        var moved = Assert.IsType<TwoLayerNet>(net.WithParameters(other.Parameters));
        Assert.Equal(0.1, moved.Reg);
        Assert.Equal(other.Scores(x).ToArray(), moved.Scores(x).ToArray());
        Assert.Equal(other.Loss(x, y).Loss, moved.Loss(x, y).Loss);
        Assert.Equal(net.Scores(x, other.Parameters).ToArray(), moved.Scores(x).ToArray());
        Assert.Same(other.Parameters["W1"], moved.Parameters["W1"]);
        Assert.NotEqual(net.Scores(x).ToArray(), moved.Scores(x).ToArray());

        var bn = new FullyConnectedNet([4], inputDim: 5, numClasses: 3, normalization: Normalization.Batch);
        var trained = bn.Loss(x, y).State;
        var withState = Assert.IsType<FullyConnectedNet>(bn.WithParameters(bn.Parameters, trained));
        Assert.Equal(bn.Scores(x, state: trained).ToArray(), withState.Scores(x).ToArray());

        var ex = Assert.Throws<ArgumentException>(() =>
            net.WithParameters(new Dictionary<string, Tensor>(other.Parameters) { ["W1"] = Tensor.Zeros(7, 5) }));
        Assert.Equal("parameters", ex.ParamName);
        Assert.Contains("parameters['W1'] must have shape (5, 7), got (7, 5)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() =>
            net.WithParameters(other.Parameters.Where(kv => kv.Key != "b2").ToDictionary()));
        Assert.Contains("lacks 'b2'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() =>
            net.WithParameters(new Dictionary<string, Tensor>(other.Parameters) { ["W9"] = Tensor.Zeros(1) }));
        Assert.Contains("has 'W9'", ex.Message);
    }

    [Fact]
    public void WithRegChangesOnlyTheRegularizationStrength()
    {
        var x = Normal(1, 6, 5);
        int[] y = [0, 1, 2, 0, 1, 2];
        var net = new FullyConnectedNet([7], inputDim: 5, numClasses: 3, weightScale: 0.3, seed: 4);
        var built = new FullyConnectedNet([7], inputDim: 5, numClasses: 3, weightScale: 0.3, reg: 0.25, seed: 4);
        var changed = Assert.IsType<FullyConnectedNet>(net.WithReg(0.25));
        Assert.Equal(0.25, changed.Reg);
        Assert.Equal(built.Loss(x, y).Loss, changed.Loss(x, y).Loss);
        Assert.Equal(built.Loss(x, y).Gradients["W1"].ToArray(), changed.Loss(x, y).Gradients["W1"].ToArray());
        Assert.Equal(0.0, net.Reg);

        // The parameters it had are kept.
        var other = new FullyConnectedNet([7], inputDim: 5, numClasses: 3, weightScale: 0.3, seed: 8);
        var moved = net.WithParameters(other.Parameters).WithReg(0.25);
        Assert.Same(other.Parameters["W2"], moved.Parameters["W2"]);
        var penalty = 0.5 * 0.25 * (other.Parameters["W1"].ToArray().Sum(v => v * v) + other.Parameters["W2"].ToArray().Sum(v => v * v));
        Assert.Equal(other.Loss(x, y).Loss + penalty, moved.Loss(x, y).Loss, 12);

        var conv = new ThreeLayerConvNet((1, 6, 6), numFilters: 2, filterSize: 3, hiddenDim: 4, numClasses: 3, seed: 1);
        Assert.Equal(0.5, Assert.IsType<ThreeLayerConvNet>(conv.WithReg(0.5)).Reg);
        Assert.Equal(0.5, Assert.IsType<TwoLayerNet>(new TwoLayerNet(inputDim: 5, hiddenDim: 3, numClasses: 2).WithReg(0.5)).Reg);

        var autodiff = Model.Create("linear", other.Parameters.Where(kv => kv.Key is "W1" or "b1").ToDictionary(),
            (p, v) => Ops.Affine(v, p["W1"], p["b1"]), reg: 0.0, regularized: ["W1"]);
        var w1 = other.Parameters["W1"].ToArray().Sum(v => v * v);
        int[] y7 = [0, 1, 2, 3, 4, 5];
        Assert.Equal(autodiff.Loss(x, y7).Loss + 0.5 * 0.3 * w1, autodiff.WithReg(0.3).Loss(x, y7).Loss, 12);

        var own = Model.Create("own", other.Parameters, (p, v) => v, (p, v, labels) => new ModelLoss(0.0, p));
        Assert.Throws<NotSupportedException>(() => own.WithReg(0.1));
        Assert.Equal("reg", Assert.Throws<ArgumentException>(() => net.WithReg(-1)).ParamName);
        Assert.Equal("reg", Assert.Throws<ArgumentException>(() => net.WithReg(double.NaN)).ParamName);
    }

    [Fact]
    public void TheFullyConnectedNetsNormalizationSettingsCanBeSet()
    {
        var x = Normal(1, 6, 5);
        int[] y = [0, 1, 2, 0, 1, 2];
        var net = new FullyConnectedNet([4], inputDim: 5, numClasses: 3, normalization: Normalization.Batch,
            batchNormMomentum: 0.25, normEps: 1e-3);
        Assert.Equal(0.25, net.BatchNormMomentum);
        Assert.Equal(1e-3, net.NormEps);
        var a = Tensor.MatMul(x, net.Parameters["W1"]) + net.Parameters["b1"];
        var batchMean = a.Mean([0], false);
        Assert.True(net.Loss(x, y).State["running_mean1"].AllClose(batchMean * 0.75, 1e-12, 1e-12));
        var defaults = new FullyConnectedNet([4], inputDim: 5, numClasses: 3, normalization: Normalization.Batch);
        Assert.Equal(0.9, defaults.BatchNormMomentum);
        Assert.True(defaults.Loss(x, y).State["running_mean1"].AllClose(batchMean * 0.1, 1e-12, 1e-12));

        // eps reaches layer norm too: a large one shrinks the normalized activations.
        var ln = new FullyConnectedNet([4], inputDim: 5, numClasses: 3, normalization: Normalization.Layer);
        var lnWide = new FullyConnectedNet([4], inputDim: 5, numClasses: 3, normalization: Normalization.Layer, normEps: 10.0);
        Assert.NotEqual(ln.Scores(x).ToArray(), lnWide.Scores(x).ToArray());

        Assert.Equal("batchNormMomentum", Assert.Throws<ArgumentException>(() =>
            new FullyConnectedNet([4], inputDim: 5, numClasses: 3, batchNormMomentum: 1.5)).ParamName);
        Assert.Equal("normEps", Assert.Throws<ArgumentException>(() =>
            new FullyConnectedNet([4], inputDim: 5, numClasses: 3, normEps: 0)).ParamName);
    }
}
