namespace Functional.Api.Tests;

/// <summary>
/// Model files from C#: <see cref="Model.Save"/> and <see cref="Model.Load"/> give back the same kind of net with the
/// same settings, predicting bit for bit as the trained one; errors say what is wrong. The README's C# example is here
/// between the markers (the F# ModelFileProperties compare the texts).
/// </summary>
public class ModelFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("functional-model-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Tensor Normal(int seed, params int[] shape) => Tensor.RandomNormal(Rng.Create(seed), 1.0, shape);

    /// <summary>Every tensor of the net replaced by random values (running variances positive).</summary>
    private static (Dictionary<string, Tensor> Parameters, Dictionary<string, Tensor> State) Trained(Model net)
    {
        var i = 0;
        var p = net.Parameters.ToDictionary(kv => kv.Key, kv => Normal(++i, [.. kv.Value.Shape]));
        var s = net.State.ToDictionary(kv => kv.Key, kv =>
        {
            var t = Normal(++i, [.. kv.Value.Shape]);
            return kv.Key.StartsWith("running_var", StringComparison.Ordinal) ? Tensor.Ones([.. kv.Value.Shape]) + t * t : t;
        });
        return (p, s);
    }

    private static void SameBits(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in expected)
        {
            Assert.Equal(t.Shape, actual[name].Shape);
            Assert.Equal(t.ToArray().Select(BitConverter.DoubleToInt64Bits), actual[name].ToArray().Select(BitConverter.DoubleToInt64Bits));
        }
    }

    public static TheoryData<string> Kinds => ["two-layer", "fc", "fc-batchnorm-dropout", "fc-layernorm", "conv"];

    private static (Model Net, Tensor X) Build(string kind) => kind switch
    {
        "two-layer" => (new TwoLayerNet(inputDim: 6, hiddenDim: 4, numClasses: 3, reg: 0.125, seed: 3), Normal(50, 5, 6)),
        "fc" => (new FullyConnectedNet([7, 5], inputDim: 12, numClasses: 4), Normal(50, 5, 3, 2, 2)),
        "fc-batchnorm-dropout" => (new FullyConnectedNet(
            [7, 5], inputDim: 6, numClasses: 3, reg: 0.01, normalization: Normalization.Batch, dropoutKeepProbability: 0.6,
            seed: 9, normEps: 1.2345e-4, batchNormMomentum: 0.77), Normal(50, 5, 6)),
        "fc-layernorm" => (new FullyConnectedNet([4], inputDim: 6, numClasses: 2, normalization: Normalization.Layer, normEps: 0.01), Normal(50, 3, 6)),
        _ => (new ThreeLayerConvNet(inputDims: (2, 6, 5), numFilters: 3, filterSize: 3, hiddenDim: 4, numClasses: 3, reg: 0.5), Normal(50, 2, 2, 6, 5)),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ASavedNetLoadsAsTheSameNetWithTheSameScoresBitForBit(string kind)
    {
        var (net, x) = Build(kind);
        var (p, s) = Trained(net);
        var path = Path.Combine(_dir, "model.npz");
        net.Save(path, p, s);

        var loaded = Model.Load(path);
        Assert.IsType(net.GetType(), loaded);
        Assert.Equal(net.Name, loaded.Name);
        SameBits(p, loaded.Parameters);
        SameBits(s, loaded.State);
        SameBits(
            new Dictionary<string, Tensor> { ["scores"] = net.Scores(x, p, s) },
            new Dictionary<string, Tensor> { ["scores"] = loaded.Scores(x) });
        Assert.Equal(net.Predict(x, p, s), loaded.Predict(x));
        int[] labels = [.. Enumerable.Range(0, x.Shape[0]).Select(i => i % 2)];
        var rng = Rng.Create(4);
        Assert.Equal(net.Loss(x, labels, p, s, rng).Loss, loaded.Loss(x, labels, rng: rng).Loss);
        Assert.Equal(new[] { path }, Directory.GetFiles(_dir));

        // The settings came back as well (the properties of the net's own type).
        switch (net, loaded)
        {
            case (FullyConnectedNet a, FullyConnectedNet b):
                Assert.Equal(a.HiddenDims, b.HiddenDims);
                Assert.Equal((a.InputDim, a.NumClasses, a.Reg, a.Normalization, a.DropoutKeepProbability, a.Seed, a.NormEps, a.BatchNormMomentum),
                    (b.InputDim, b.NumClasses, b.Reg, b.Normalization, b.DropoutKeepProbability, b.Seed, b.NormEps, b.BatchNormMomentum));
                break;
            case (TwoLayerNet a, TwoLayerNet b):
                Assert.Equal((a.InputDim, a.HiddenDim, a.NumClasses, a.Reg, a.Seed), (b.InputDim, b.HiddenDim, b.NumClasses, b.Reg, b.Seed));
                break;
            case (ThreeLayerConvNet a, ThreeLayerConvNet b):
                Assert.Equal((a.InputDims, a.NumFilters, a.FilterSize, a.HiddenDim, a.NumClasses, a.Reg, a.Seed),
                    (b.InputDims, b.NumFilters, b.FilterSize, b.HiddenDim, b.NumClasses, b.Reg, b.Seed));
                break;
            default:
                Assert.Fail($"{net.GetType().Name} came back as {loaded.GetType().Name}");
                break;
        }
    }

    [Fact]
    public void SaveWithoutParametersWritesTheNetsOwnAndLoadedNetsBehaveLikeBuiltOnes()
    {
        var net = new FullyConnectedNet([5], inputDim: 4, numClasses: 3, dropoutKeepProbability: 0.5);
        var path = Path.Combine(_dir, "own.npz");
        net.Save(path);
        var loaded = (FullyConnectedNet)Model.Load(path);
        SameBits(net.Parameters, loaded.Parameters);
        // A dropout net still needs a key for its training loss, and WithReg works on a loaded net.
        Assert.Throws<ArgumentNullException>(() => loaded.Loss(Normal(1, 2, 4), [0, 1]));
        Assert.Equal(0.25, ((FullyConnectedNet)loaded.WithReg(0.25)).Reg);
    }

    [Fact]
    public void BadFilesAndBadArgumentsAreClearErrors()
    {
        var net = new FullyConnectedNet([5], inputDim: 4, numClasses: 3, normalization: Normalization.Batch);
        var path = Path.Combine(_dir, "m.npz");

        var shape = Assert.Throws<ArgumentException>(() =>
            net.Save(path, new Dictionary<string, Tensor>(net.Parameters) { ["W1"] = Tensor.Zeros(3, 5) }));
        Assert.Contains("params/W1 has shape (3, 5)", shape.Message);
        Assert.Contains("gives (4, 5)", shape.Message);
        var state = Assert.Throws<ArgumentException>(() => net.Save(path, state: new Dictionary<string, Tensor>()));
        Assert.Contains("state/running_mean1 is missing", state.Message);
        Assert.Empty(Directory.GetFiles(_dir));

        var custom = Model.Create("mine", new Dictionary<string, Tensor> { ["W"] = Tensor.Zeros(2, 2) }, (p, x) => Ops.MatMul(x, p["W"]));
        Assert.Contains("Npz.Save", Assert.Throws<NotSupportedException>(() => custom.Save(path)).Message);

        Assert.Throws<FileNotFoundException>(() => Model.Load(Path.Combine(_dir, "none.npz")));
        File.WriteAllText(path, "not a model");
        var notZip = Assert.Throws<CheckpointException>(() => Model.Load(path));
        Assert.Contains("Model.load", notZip.Message);
        Assert.Equal(path, notZip.Path);

        // A training checkpoint is named for what it is.
        var x = Normal(1, 10, 4);
        int[] y = [.. Enumerable.Range(0, 10).Select(i => i % 3)];
        var result = new Solver(net, UpdateRule.Sgd(), new SolverConfig { NumEpochs = 1, BatchSize = 5 }).Train(x, y, x, y);
        Checkpoint.Save(path, result);
        Assert.Contains("training checkpoint", Assert.Throws<CheckpointException>(() => Model.Load(path)).Message);
    }

    private static (Model Loaded, IReadOnlyList<int> Predicted, TrainingResult Result, DataSplit Split) RunReadme()
    {
        // README-BEGIN model
        var split = Datasets.Digits().SubtractMean().Split;
        var train = split.Train.Head(1000);
        var net = new FullyConnectedNet([50], inputDim: 28 * 28, numClasses: 10, normalization: Normalization.Batch);
        var result = new Solver(net, UpdateRule.Adam(), new SolverConfig { NumEpochs = 2, BatchSize = 50 })
            .Train(train.X, train.Labels, split.Validation.X, split.Validation.Labels);
        var path = Path.Combine(Path.GetTempPath(), "digits-fc.npz");
        net.Save(path, result.BestParameters, result.BestState);

        // Later, in another program: the file brings the net's kind and settings with its parameters.
        var model = Model.Load(path);
        var predicted = model.Predict(split.Test.X);
        Console.WriteLine($"test accuracy {model.Accuracy(split.Test.X, split.Test.Labels):P1}");
        // README-END model
        return (model, predicted, result, split);
    }

    [Fact]
    public void TheReadmeExampleSavesAndLoadsATrainedNet()
    {
        var (model, predicted, result, split) = RunReadme();
        SameBits(result.BestParameters, model.Parameters);
        SameBits(result.BestState, model.State);
        Assert.Equal(new FullyConnectedNet([50], inputDim: 28 * 28, numClasses: 10, normalization: Normalization.Batch)
            .Predict(split.Test.X, result.BestParameters, result.BestState), predicted);
        Assert.True(model.Accuracy(split.Test.X, split.Test.Labels) > 0.6);   // two short epochs: well above chance (0.1)
    }
}
