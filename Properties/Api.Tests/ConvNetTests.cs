namespace Functional.Api.Tests;

public class ConvNetTests
{
    [Fact]
    public void ThreeLayerConvNetHasTheCourseParametersScoresAndGradients()
    {
        var net = new ThreeLayerConvNet(inputDims: (1, 8, 8), numFilters: 4, filterSize: 3, hiddenDim: 10, numClasses: 5,
            weightScale: 1e-2, reg: 0.1, seed: 3);
        Assert.Equal((1, 8, 8), net.InputDims);
        Assert.Equal(4, net.NumFilters);
        Assert.Equal(3, net.FilterSize);
        Assert.Equal(10, net.HiddenDim);
        Assert.Equal(5, net.NumClasses);
        Assert.Equal(0.1, net.Reg);
        Assert.Equal(3, net.Seed);
        Assert.Equal(["W1", "W2", "W3", "b1", "b2", "b3"], net.Parameters.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([4, 1, 3, 3], net.Parameters["W1"].Shape);
        Assert.Equal([4 * 4 * 4, 10], net.Parameters["W2"].Shape);
        var x = Tensor.RandomNormal(Rng.Create(1), 1.0, 6, 1, 8, 8);
        int[] y = [0, 1, 2, 3, 4, 0];
        Assert.Equal([6, 5], net.Scores(x).Shape);
        var loss = net.Loss(x, y);
        Assert.Equal(net.Parameters.Keys.Order(), loss.Gradients.Keys.Order());
        var report = GradCheck.Check("W3", w3 =>
            net.Loss(x, y, new Dictionary<string, Tensor>(net.Parameters) { ["W3"] = w3 }).Loss,
            net.Parameters["W3"], loss.Gradients["W3"], tolerance: 1e-6);
        Assert.True(report.Passed, report.ToString());
        Assert.InRange(net.Accuracy(x, y, batchSize: 4), 0.0, 1.0);
    }

    [Fact]
    public void ThreeLayerConvNetRejectsBadSettingsAndInputs()
    {
        var ex = Assert.Throws<ArgumentException>(() => new ThreeLayerConvNet(filterSize: 4));
        Assert.Contains("odd", ex.Message);
        var net = new ThreeLayerConvNet(inputDims: (1, 8, 8), numFilters: 2, filterSize: 3, hiddenDim: 4);
        ex = Assert.Throws<ArgumentException>(() => net.Scores(Tensor.Zeros(2, 3, 8, 8)));
        Assert.Contains("(N, 1, 8, 8)", ex.Message);
        Assert.Throws<ArgumentException>(() => net.Accuracy(Tensor.Zeros(2, 1, 8, 8), [0, 1], batchSize: 0));
    }

    [Fact]
    public void TheSolverTrainsAConvNetFromCSharp()
    {
        var digits = Datasets.Digits();
        var train = digits.Train.Head(40);
        var net = new ThreeLayerConvNet(inputDims: (1, 28, 28), numFilters: 4, filterSize: 3, hiddenDim: 20, weightScale: 1e-2);
        var solver = new Solver(net, UpdateRule.Adam(learningRate: 5e-3),
            new SolverConfig { NumEpochs = 3, BatchSize = 10, NumTrainSamples = null });
        var events = new List<TrainingProgress>();
        var result = solver.Train(train.X, train.Labels, train.X, train.Labels, new Sync(events.Add));
        Assert.Equal(12, result.Iterations);
        Assert.Contains(events, e => e.Kind == ProgressKind.Epoch && e.Epoch == 3);
        Assert.True(result.LossHistory[^1] < result.LossHistory[0]);
    }

    private sealed class Sync(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
