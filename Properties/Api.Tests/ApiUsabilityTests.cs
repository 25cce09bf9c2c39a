namespace Functional.Api.Tests;

/// <summary>What a C# user meets first: typed optimizer state, progress callbacks in order.</summary>
public class ApiUsabilityTests
{
    private static Tensor Normal(int seed, params int[] shape) => Tensor.RandomNormal(Rng.Create(seed), 1.0, shape);

    /// <summary>Same step count, same slot names, same values (OptimState's Equals compares the tensors by reference).</summary>
    private static void AssertSameState(OptimState expected, OptimState actual)
    {
        Assert.Equal(expected.Step, actual.Step);
        Assert.Equal(expected.Slots.Keys.Order(), actual.Slots.Keys.Order());
        foreach (var (name, t) in expected.Slots)
            Assert.Equal(t.ToArray(), actual.Slot(name).ToArray());
    }

    [Fact]
    public void TypedOptimizerStatesAreTheStatesTheRulesMake()
    {
        var w = Normal(1, 3, 4);
        var dw = Normal(2, 3, 4);
        var adam = UpdateRule.Adam(learningRate: 1e-2);
        var (_, afterOne) = adam.Step(adam.Init(w), w, dw);
        // The same state made by hand, from its moments and step count, steps to the same place.
        var byHand = OptimStates.Adam(afterOne.FirstMoment(), afterOne.SecondMoment(), stepsTaken: 1);
        Assert.Equal(afterOne, byHand);
        Assert.Equal(1, byHand.Step);
        Assert.Equal(adam.Step(afterOne, w, dw).Parameter.ToArray(), adam.Step(byHand, w, dw).Parameter.ToArray());
        AssertSameState(adam.Init(w), OptimStates.Adam(Tensor.Zeros(3, 4), Tensor.Zeros(3, 4), stepsTaken: 0));

        AssertSameState(UpdateRule.Momentum().Init(w), OptimStates.Momentum(Tensor.Zeros(3, 4)));
        AssertSameState(UpdateRule.Nesterov().Init(w), OptimStates.Momentum(Tensor.Zeros(3, 4)));
        AssertSameState(UpdateRule.RmsProp().Init(w), OptimStates.RmsProp(Tensor.Zeros(3, 4)));
        AssertSameState(UpdateRule.Sgd().Init(w), OptimStates.Sgd());
        Assert.Equal(dw.ToArray(), OptimStates.RmsProp(dw, 3).Cache().ToArray());
        Assert.Equal(dw.ToArray(), OptimStates.Momentum(dw).Velocity().ToArray());

        var ex = Assert.Throws<ArgumentException>(() => OptimStates.Sgd().Velocity());
        Assert.Contains("no slot 'velocity'", ex.Message);
        Assert.Throws<ArgumentException>(() => OptimStates.Adam(w, w, stepsTaken: -1));
        Assert.Throws<ArgumentNullException>(() => OptimStates.Momentum(null!));
    }

    [Fact]
    public void TheActionOverloadDeliversEveryReportInOrderBeforeTrainReturns()
    {
        var x = Normal(3, 40, 6);
        int[] y = [.. Enumerable.Range(0, 40).Select(i => i % 3)];
        var net = new TwoLayerNet(inputDim: 6, hiddenDim: 8, numClasses: 3, weightScale: 0.1);
        var solver = new Solver(net, UpdateRule.Sgd(), new SolverConfig { NumEpochs = 2, BatchSize = 10, PrintEvery = 1 });
        var reports = new List<TrainingProgress>();
        var result = solver.Train(x, y, x, y, onProgress: reports.Add);
        var returned = reports.Count;
        // 4 iterations per epoch, each reported, plus one report per epoch: all there, in order, when Train returns.
        Assert.Equal(2 * 4 + 2, returned);
        Assert.Equal(result.Iterations, reports.Max(p => p.Iteration));
        Assert.True(reports.Select(p => (p.Iteration, p.Kind)).SequenceEqual(reports.Select(p => (p.Iteration, p.Kind)).Order()));
        Assert.Equal(ProgressKind.Epoch, reports[^1].Kind);
        Assert.Throws<ArgumentNullException>(() => solver.Train(x, y, x, y, onProgress: null!));
    }
}
