namespace Functional.Api.Tests;

public class TrainingTests
{
    /// <summary>A softmax classifier written with the facade: scores = x·W + b, softmax loss + ½·reg·ΣW².</summary>
    private static Model SoftmaxNet(int d, int c, int seed = 1, double reg = 1e-3, Func<double, double>? lossHook = null) =>
        Model.Create(
            "softmax",
            new Dictionary<string, Tensor>
            {
                ["W"] = Tensor.RandomNormal(Rng.Create(seed), 0.1, d, c),
                ["b"] = Tensor.Zeros(c),
            },
            (p, x) => Layers.AffineForward(x, p["W"], p["b"]).Out,
            (p, x, y) =>
            {
                var (scores, cache) = Layers.AffineForward(x, p["W"], p["b"]);
                var loss = Losses.Softmax(scores, y);
                var (r, dr) = Losses.L2(p["W"], reg);
                var g = Layers.AffineBackward(loss.Dscores, cache);
                var total = loss.Loss + r;
                return new ModelLoss(lossHook?.Invoke(total) ?? total,
                    new Dictionary<string, Tensor> { ["W"] = g.Dw + dr, ["b"] = g.Db });
            });

    /// <summary>Gaussian blobs around c random centers in d dims.</summary>
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

    private static readonly (Tensor X, int[] Y) Train = Blobs(60, 4, 3, 1);
    private static readonly (Tensor X, int[] Y) Val = Blobs(30, 4, 3, 2);

    private sealed class ListProgress : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = [];
        public Action<TrainingProgress>? OnReport { get; init; }

        public void Report(TrainingProgress value)
        {
            Reports.Add(value);
            OnReport?.Invoke(value);
        }
    }

    private static void SameTensors(IReadOnlyDictionary<string, Tensor> a, IReadOnlyDictionary<string, Tensor> b)
    {
        Assert.Equal(a.Keys.Order(StringComparer.Ordinal), b.Keys.Order(StringComparer.Ordinal));
        foreach (var (k, t) in a)
            Assert.Equal(t.ToArray(), b[k].ToArray());
    }

    [Fact]
    public void UpdateRulesHaveTheCourseDefaults()
    {
        Assert.Equal(("sgd", 1e-2), (UpdateRule.Sgd().Name, UpdateRule.Sgd().LearningRate));
        var momentum = UpdateRule.Momentum();
        Assert.Equal(("sgd_momentum", 1e-2, 0.9), (momentum.Name, momentum.LearningRate, momentum.Config.Momentum));
        var rms = UpdateRule.RmsProp();
        Assert.Equal(("rmsprop", 0.99, 1e-8), (rms.Name, rms.Config.DecayRate, rms.Config.Epsilon));
        var adam = UpdateRule.Adam(learningRate: 1e-3);
        Assert.Equal(("adam", 1e-3, 0.9, 0.999), (adam.Name, adam.LearningRate, adam.Config.Beta1, adam.Config.Beta2));
        Assert.Equal("nesterov", UpdateRule.Nesterov().Name);
        Assert.Equal(("adamw", 1e-2), (UpdateRule.AdamW().Name, UpdateRule.AdamW().Config.WeightDecay));
        Assert.Equal(5e-4, UpdateRule.Adam().WithLearningRate(5e-4).LearningRate);
        Assert.Contains("adam", UpdateRule.Adam().ToString());
    }

    [Fact]
    public void UpdateRuleStepsMatchTheCourseValues()
    {
        var w = Tensor.Linspace(-0.4, 0.6, 4, 5);
        var dw = Tensor.Linspace(-0.6, 0.4, 4, 5);
        var v = Tensor.Linspace(0.6, 0.9, 4, 5);
        var state = OptimState.Create(new Dictionary<string, Tensor> { ["velocity"] = v }, 0);
        var (next, s) = UpdateRule.Momentum(learningRate: 1e-3).Step(state, w, dw);
        Assert.Equal(0.1406, next[0, 0], 12);
        Assert.Equal(0.5406, s.Slot("velocity")[0, 0], 12);
        Assert.Equal(1, s.Step);
        // Pure: the inputs are unchanged.
        Assert.Equal(-0.4, w[0, 0]);
        Assert.Equal(0.6, v[0, 0]);

        var sgd = UpdateRule.Sgd(learningRate: 0.5);
        var (w1, _) = sgd.Step(sgd.Init(w), w, dw);
        Assert.Equal(-0.4 + 0.3, w1[0, 0], 14);

        var adam = UpdateRule.Adam(learningRate: 1e-2);
        var (w2, s2) = adam.Step(adam.Init(w), w, dw);
        Assert.Equal(-0.4 + 1e-2, w2[0, 0], 9); // first Adam step ≈ lr · sign(g)
        Assert.Equal(["m", "v"], s2.Slots.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void UpdateRulesRejectBadHyperParameters()
    {
        var ex = Assert.Throws<ArgumentException>(() => UpdateRule.Sgd(learningRate: -1));
        Assert.Equal("learningRate", ex.ParamName);
        Assert.Contains("UpdateRule.Sgd", ex.Message);
        Assert.Contains("-1", ex.Message);
        Assert.Equal("momentum", Assert.Throws<ArgumentException>(() => UpdateRule.Momentum(momentum: 1.0)).ParamName);
        Assert.Equal("momentum", Assert.Throws<ArgumentException>(() => UpdateRule.Nesterov(momentum: -0.1)).ParamName);
        Assert.Equal("epsilon", Assert.Throws<ArgumentException>(() => UpdateRule.RmsProp(epsilon: 0)).ParamName);
        Assert.Equal("decayRate", Assert.Throws<ArgumentException>(() => UpdateRule.RmsProp(decayRate: double.NaN)).ParamName);
        Assert.Equal("beta1", Assert.Throws<ArgumentException>(() => UpdateRule.Adam(beta1: 1.5)).ParamName);
        Assert.Equal("beta2", Assert.Throws<ArgumentException>(() => UpdateRule.AdamW(beta2: 1.0)).ParamName);
        Assert.Equal("weightDecay", Assert.Throws<ArgumentException>(() => UpdateRule.AdamW(weightDecay: -1)).ParamName);
        Assert.Equal("learningRate",
            Assert.Throws<ArgumentException>(() => UpdateRule.Adam().WithLearningRate(double.PositiveInfinity)).ParamName);

        var w = Tensor.Zeros(2, 3);
        var adam = UpdateRule.Adam();
        var wrongState = Assert.Throws<ArgumentException>(() => adam.Step(UpdateRule.Sgd().Init(w), w, w));
        Assert.Contains("no slot 'm'", wrongState.Message);
        var wrongShape = Assert.Throws<ArgumentException>(() => adam.Step(adam.Init(w), w, Tensor.Zeros(3, 2)));
        Assert.Contains("(2, 3)", wrongShape.Message);
        Assert.Throws<ArgumentNullException>(() => adam.Step(null!, w, w));
        Assert.Throws<ArgumentNullException>(() => UpdateRule.Custom("x", null!, (c, s, p, g) => (p, s)));
    }

    [Fact]
    public void NeuralNetCreateWrapsYourOwnFunctions()
    {
        var net = SoftmaxNet(4, 3);
        Assert.Equal("softmax", net.Name);
        Assert.Equal(["W", "b"], net.Parameters.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(net.State);
        Assert.Equal([60, 3], net.Scores(Train.X).Shape);
        var loss = net.Loss(Train.X, Train.Y);
        Assert.InRange(loss.Loss, 0.5, 2.0);
        Assert.Equal([4, 3], loss.Gradients["W"].Shape);
        Assert.Empty(loss.State);
        Assert.Equal(60, net.Predict(Train.X).Count);
        Assert.InRange(net.Accuracy(Train.X, Train.Y), 0.0, 1.0);
        // Other parameters can be passed in; the net's own are not changed.
        var zeros = new Dictionary<string, Tensor> { ["W"] = Tensor.Zeros(4, 3), ["b"] = Tensor.Zeros(3) };
        Assert.Equal(Math.Log(3), net.Loss(Train.X, Train.Y, zeros).Loss, 3);
        Assert.Contains("softmax", net.ToString());

        Assert.Equal("name", Assert.Throws<ArgumentException>(() => Model.Create(" ", zeros, (p, x) => x, (p, x, y) => null!)).ParamName);
        Assert.Equal("parameters", Assert.Throws<ArgumentException>(() =>
            Model.Create("n", new Dictionary<string, Tensor>(), (p, x) => x, (p, x, y) => null!)).ParamName);
        Assert.Throws<ArgumentNullException>(() => Model.Create("n", zeros, null!, (p, x, y) => null!));
    }

    [Fact]
    public void ASolverTrainsASmallNet()
    {
        var net = SoftmaxNet(4, 3);
        var solver = new Solver(net, UpdateRule.Adam(learningRate: 5e-2),
            new SolverConfig { NumEpochs = 5, BatchSize = 16, NumTrainSamples = null, LrDecay = 0.9 });
        var result = solver.Train(Train.X, Train.Y, Val.X, Val.Y);
        Assert.Same(net, solver.Model);

        Assert.Equal(5 * 4, result.LossHistory.Count); // ⌈60 / 16⌉ = 4 minibatches per epoch
        Assert.Equal(6, result.TrainAccuracyHistory.Count);
        Assert.Equal(6, result.ValAccuracyHistory.Count);
        Assert.True(result.LossHistory[^1] < result.LossHistory[0]);
        Assert.True(result.ValAccuracyHistory[^1] > 0.8, $"validation accuracy {result.ValAccuracyHistory[^1]}");
        Assert.Equal(result.ValAccuracyHistory.Max(), result.BestValAccuracy);
        Assert.Equal(result.BestValAccuracy, net.Accuracy(Val.X, Val.Y, result.BestParameters));
        Assert.Equal((5, 20, false), (result.Epochs, result.Iterations, result.Cancelled));
        Assert.Equal(5e-2 * 0.9 * 0.9 * 0.9 * 0.9 * 0.9, result.LearningRate, 15);
        Assert.Equal(["W", "b"], result.OptimizerStates.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(20, result.OptimizerStates["W"].Step);
        Assert.True(result.ExamplesPerSecond > 0);
        Assert.True(result.Elapsed > TimeSpan.Zero);
        Assert.Empty(result.State);
        Assert.Empty(result.BestState);
        Assert.NotEqual(net.Parameters["W"].ToArray(), result.Parameters["W"].ToArray());
        Assert.Contains("5 epochs", result.ToString());

        // The same seed gives the same run; another seed another one.
        var again = solver.Train(Train.X, Train.Y, Val.X, Val.Y);
        Assert.Equal(result.LossHistory, again.LossHistory);
        SameTensors(result.Parameters, again.Parameters);
        var other = new Solver(net, solver.Rule, solver.Config with { Seed = 9 }).Train(Train.X, Train.Y, Val.X, Val.Y);
        Assert.NotEqual(result.LossHistory, other.LossHistory);
    }

    [Fact]
    public void ProgressIsReportedPerIterationAndPerEpoch()
    {
        var progress = new ListProgress();
        var solver = new Solver(SoftmaxNet(4, 3), UpdateRule.Sgd(), new SolverConfig { NumEpochs = 3, BatchSize = 10, PrintEvery = 4 });
        var result = solver.Train(Train.X, Train.Y, Val.X, Val.Y, progress);
        var iterations = progress.Reports.Where(p => p.Kind == ProgressKind.Iteration).ToList();
        var epochs = progress.Reports.Where(p => p.Kind == ProgressKind.Epoch).ToList();
        Assert.Equal([4, 8, 12, 16], iterations.Select(p => p.Iteration));
        Assert.All(iterations, p => Assert.Equal(result.LossHistory[p.Iteration - 1], p.Loss));
        Assert.All(progress.Reports, p => Assert.Equal((18, 3), (p.TotalIterations, p.NumEpochs)));
        Assert.Equal([1, 2, 3], epochs.Select(p => p.Epoch));
        Assert.Equal(result.ValAccuracyHistory.Skip(1), epochs.Select(p => p.ValAccuracy));
        Assert.Equal(result.TrainAccuracyHistory.Skip(1), epochs.Select(p => p.TrainAccuracy));
        Assert.Equal(TimeSpan.Zero, epochs[^1].Eta);
        Assert.All(progress.Reports, p => Assert.True(p.ExamplesPerSecond > 0 && p.Elapsed > TimeSpan.Zero));
    }

    [Fact]
    public void CancellationStopsAfterTheCurrentStepAndTheRunCanBeResumed()
    {
        var net = SoftmaxNet(4, 3);
        var options = new SolverConfig { NumEpochs = 3, BatchSize = 7, PrintEvery = 1 };
        var solver = new Solver(net, UpdateRule.RmsProp(), options);
        var full = solver.Train(Train.X, Train.Y, Val.X, Val.Y);

        using var cts = new CancellationTokenSource();
        var progress = new ListProgress { OnReport = p => { if (p.Iteration == 11) cts.Cancel(); } };
        var partial = solver.Train(Train.X, Train.Y, Val.X, Val.Y, progress, cts.Token);
        Assert.True(partial.Cancelled);
        Assert.Equal(11, partial.Iterations);
        Assert.Equal(1, partial.Epochs);
        Assert.Equal(full.LossHistory.Take(11), partial.LossHistory);

        var rest = solver.Resume(partial, Train.X, Train.Y, Val.X, Val.Y);
        Assert.False(rest.Cancelled);
        Assert.Equal(full.LossHistory, rest.LossHistory);
        SameTensors(full.Parameters, rest.Parameters);
        SameTensors(full.BestParameters, rest.BestParameters);
    }

    [Fact]
    public async Task TrainAsyncReturnsTheResultAndHonoursCancellation()
    {
        var solver = new Solver(SoftmaxNet(4, 3), UpdateRule.Nesterov(), new SolverConfig { NumEpochs = 2, BatchSize = 20 });
        var result = await solver.TrainAsync(Train.X, Train.Y, Val.X, Val.Y);
        Assert.Equal(6, result.Iterations);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var cancelled = await solver.TrainAsync(Train.X, Train.Y, Val.X, Val.Y, cancellationToken: cts.Token);
        Assert.True(cancelled.Cancelled);
        Assert.Equal(0, cancelled.Iterations);
    }

    [Fact]
    public void CheckpointsSaveLoadAndResumeBitForBit()
    {
        var dir = Directory.CreateTempSubdirectory("functional-api-tests-");
        try
        {
            var path = Path.Combine(dir.FullName, "run.npz");
            var net = SoftmaxNet(4, 3);
            var options = new SolverConfig { NumEpochs = 4, BatchSize = 8, LrDecay = 0.95, Seed = 3 };
            var rule = UpdateRule.AdamW(learningRate: 1e-2);
            var full = new Solver(net, rule, options).Train(Train.X, Train.Y, Val.X, Val.Y);

            var first = new Solver(net, rule, options with { NumEpochs = 2, CheckpointPath = path })
                .Train(Train.X, Train.Y, Val.X, Val.Y);
            var checkpoint = Checkpoint.Load(path);
            Assert.Equal((2, 16, "adamw", "softmax", 8, 60), (checkpoint.Epoch, checkpoint.Iteration, checkpoint.RuleName,
                checkpoint.ModelName, checkpoint.BatchSize, checkpoint.NumTrain));
            Assert.Equal(first.LearningRate, checkpoint.LearningRate);
            Assert.Equal(Rng.Create(3), checkpoint.Rng);
            Assert.Equal(1e-2, checkpoint.RuleConfig.LearningRate);
            Assert.Equal(first.LossHistory, checkpoint.LossHistory);
            Assert.Equal(first.TrainAccuracyHistory, checkpoint.TrainAccuracyHistory);
            Assert.Equal(first.ValAccuracyHistory, checkpoint.ValAccuracyHistory);
            Assert.Equal(first.BestValAccuracy, checkpoint.BestValAccuracy);
            SameTensors(first.Parameters, checkpoint.Parameters);
            SameTensors(first.BestParameters, checkpoint.BestParameters);
            Assert.Empty(checkpoint.State);
            Assert.Empty(checkpoint.BestState);
            Assert.Equal(16, checkpoint.OptimizerStates["W"].Step);
            Assert.Equal(2, Checkpoint.FormatVersion);
            Assert.Contains("epoch 2", checkpoint.ToString());

            var resumed = new Solver(net, rule, options).Resume(checkpoint, Train.X, Train.Y, Val.X, Val.Y);
            Assert.Equal(full.LossHistory, resumed.LossHistory);
            SameTensors(full.Parameters, resumed.Parameters);
            SameTensors(full.BestParameters, resumed.BestParameters);

            // Save from a result and from a checkpoint, then read back.
            var other = Path.Combine(dir.FullName, "other.npz");
            Checkpoint.Save(other, full);
            Assert.Equal(4, Checkpoint.Load(other).Epoch);
            checkpoint.Save(other);
            Assert.Equal(2, Checkpoint.Load(other).Epoch);
            Assert.DoesNotContain(Directory.GetFiles(dir.FullName), f => f.Contains(".tmp-"));

            var mismatch = Assert.Throws<ArgumentException>(() =>
                new Solver(net, UpdateRule.Sgd(), options).Resume(checkpoint, Train.X, Train.Y, Val.X, Val.Y));
            Assert.Contains("'adamw', not 'sgd'", mismatch.Message);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void LoadingABadCheckpointIsAClearError()
    {
        var dir = Directory.CreateTempSubdirectory("functional-api-tests-");
        try
        {
            var path = Path.Combine(dir.FullName, "bad.npz");
            File.WriteAllText(path, "not a checkpoint");
            var ex = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path));
            Assert.Contains("bad.npz", ex.Message);
            Assert.Contains("not a zip", ex.Message);
            Assert.Equal(path, ex.Path);
            Assert.Equal("not a checkpoint", File.ReadAllText(path));
            Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(Path.Combine(dir.FullName, "missing.npz")));
            Assert.Throws<ArgumentNullException>(() => Checkpoint.Load(null!));
            Assert.Throws<ArgumentNullException>(() => Checkpoint.Save(path, null!));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void BadOptionsAndDataAreClearErrors()
    {
        var net = SoftmaxNet(4, 3);
        var batch = Assert.Throws<ArgumentException>(() => new Solver(net, UpdateRule.Sgd(), new SolverConfig { BatchSize = 0 }));
        Assert.Equal("BatchSize", batch.ParamName);
        Assert.Contains("BatchSize must be >= 1, got 0", batch.Message);
        Assert.Equal("NumEpochs", Assert.Throws<ArgumentException>(() => new Solver(net, UpdateRule.Sgd(), new SolverConfig { NumEpochs = 0 })).ParamName);
        Assert.Equal("LrDecay", Assert.Throws<ArgumentException>(() => new Solver(net, UpdateRule.Sgd(), new SolverConfig { LrDecay = -1 })).ParamName);
        Assert.Equal("NumValSamples", Assert.Throws<ArgumentException>(() => new Solver(net, UpdateRule.Sgd(), new SolverConfig { NumValSamples = 0 })).ParamName);
        Assert.Throws<ArgumentNullException>(() => new Solver(null!, UpdateRule.Sgd()));
        Assert.Throws<ArgumentNullException>(() => new Solver(net, null!));

        var solver = new Solver(net, UpdateRule.Sgd());
        var empty = Assert.Throws<ArgumentException>(() => solver.Train(Tensor.Zeros(0, 4), [], Val.X, Val.Y));
        Assert.Contains("training set is empty", empty.Message);
        var label = Assert.Throws<ArgumentException>(() => solver.Train(Train.X, Train.Y.Select(y => y == 2 ? 3 : y).ToArray(), Val.X, Val.Y));
        Assert.Contains("out of range [0, 3)", label.Message);
        var count = Assert.Throws<ArgumentException>(() => solver.Train(Train.X, Train.Y.Take(5).ToArray(), Val.X, Val.Y));
        Assert.Contains("YTrain has 5 labels", count.Message);
        Assert.Throws<ArgumentNullException>(() => solver.Train(null!, Train.Y, Val.X, Val.Y));

        var defaults = new SolverConfig();
        Assert.Equal((10, 100, 1.0, 1000, 10, 0L),
            (defaults.NumEpochs, defaults.BatchSize, defaults.LrDecay, defaults.NumTrainSamples, defaults.PrintEvery, defaults.Seed));
        Assert.Null(defaults.NumValSamples);
        Assert.Null(defaults.CheckpointPath);
    }

    [Fact]
    public void ADivergingLossStopsTrainingWithTheBestParameters()
    {
        var calls = 0;
        var net = SoftmaxNet(4, 3, lossHook: l => ++calls == 9 ? double.NaN : l);
        var solver = new Solver(net, UpdateRule.Sgd(), new SolverConfig { NumEpochs = 3, BatchSize = 15 });
        var ex = Assert.Throws<TrainingDivergedException>(() => solver.Train(Train.X, Train.Y, Val.X, Val.Y));
        Assert.Equal((9, 3), (ex.Iteration, ex.Epoch));
        Assert.True(double.IsNaN(ex.Loss));
        Assert.Contains("iteration 9", ex.Message);
        Assert.Equal(["W", "b"], ex.BestParameters.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(ex.BestValAccuracy, net.Accuracy(Val.X, Val.Y, ex.BestParameters));
        Assert.Empty(ex.BestModelState);
    }

    [Fact]
    public void ACustomUpdateRuleTrainsThroughTheSolver()
    {
        // Sign SGD: w ← w − lr · sign(dw).
        var signSgd = UpdateRule.Custom(
            "sign-sgd",
            w => OptimState.Create([], 0),
            (config, state, w, dw) => (w - dw.Map(g => Math.Sign(g)) * config.LearningRate, OptimState.Create(state.Slots, state.Step + 1)),
            learningRate: 0.05);
        Assert.Equal("sign-sgd", signSgd.Name);
        var result = new Solver(SoftmaxNet(4, 3), signSgd, new SolverConfig { NumEpochs = 4, BatchSize = 20 })
            .Train(Train.X, Train.Y, Val.X, Val.Y);
        Assert.True(result.LossHistory[^1] < result.LossHistory[0]);
        Assert.Equal(0.05, result.LearningRate);
    }
}
