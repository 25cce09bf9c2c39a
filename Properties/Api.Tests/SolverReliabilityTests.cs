namespace Functional.Api.Tests;

/// <summary>Training that is never lost, through the facade: unwritable checkpoint paths, saves on cancellation, non-finite data.</summary>
public class SolverReliabilityTests
{
    private static Model Net() => new TwoLayerNet(inputDim: 4, hiddenDim: 8, numClasses: 3, seed: 1);

    private static (Tensor X, int[] Y) Data(int n, int seed)
    {
        var x = Tensor.RandomNormal(Rng.Create(seed), 1.0, n, 4);
        var y = Enumerable.Range(0, n).Select(i => i % 3).ToArray();
        return (x, y);
    }

    [Fact]
    public void ACheckpointPathNamingAFolderIsRejectedBeforeTraining()
    {
        var dir = Directory.CreateTempSubdirectory("functional-api-tests-");
        try
        {
            var (x, y) = Data(12, 1);
            var ex = Assert.Throws<ArgumentException>(() =>
                new Solver(Net(), UpdateRule.Sgd(1e-2), new SolverConfig { NumEpochs = 1, CheckpointPath = dir.FullName }));
            Assert.Contains("names a folder", ex.Message);
            Assert.Equal("CheckpointPath", ex.ParamName);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void CancellationSavesTheStateReachedAndReportsOnlyThisRunsFiles()
    {
        var dir = Directory.CreateTempSubdirectory("functional-api-tests-");
        try
        {
            var path = Path.Combine(dir.FullName, "run.npz");
            var (x, y) = Data(24, 2);
            var (xv, yv) = Data(6, 3);
            var options = new SolverConfig { NumEpochs = 3, BatchSize = 4, PrintEvery = 1, CheckpointPath = path };
            var solver = new Solver(Net(), UpdateRule.Adam(1e-2), options);

            using var cts = new CancellationTokenSource();
            var partial = solver.Train(x, y, xv, yv,
                new Reporter(p => { if (p.Iteration == 8) cts.Cancel(); }), cts.Token);

            Assert.True(partial.Cancelled);
            Assert.Equal(8, partial.Iterations);
            Assert.Equal([path], partial.CheckpointsWritten);
            Assert.Empty(partial.CheckpointFailures);
            var checkpoint = Checkpoint.Load(path);
            Assert.Equal(8, checkpoint.Iteration);
            Assert.Equal("accuracy", checkpoint.Metric);

            var full = new Solver(Net(), UpdateRule.Adam(1e-2), options with { CheckpointPath = null }).Train(x, y, xv, yv);
            var rest = solver.Resume(checkpoint, x, y, xv, yv);
            Assert.Equal(full.LossHistory, rest.LossHistory);

            // Cancelled before the first step: nothing written, nothing reported.
            using var already = new CancellationTokenSource();
            already.Cancel();
            var none = new Solver(Net(), UpdateRule.Adam(1e-2), options with { CheckpointPath = Path.Combine(dir.FullName, "other.npz") })
                .Train(x, y, xv, yv, cancellationToken: already.Token);
            Assert.Empty(none.CheckpointsWritten);
            Assert.False(File.Exists(Path.Combine(dir.FullName, "other.npz")));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void NonFiniteTrainingDataIsRejectedNamingTheIndex()
    {
        var (x, y) = Data(12, 4);
        var values = x.ToArray();
        values[5 * 4 + 2] = double.NaN;
        var bad = Tensor.FromArray(values, 12, 4);
        var ex = Assert.Throws<ArgumentException>(() =>
            new Solver(Net(), UpdateRule.Sgd(1e-2)).Train(bad, y, x, y));
        Assert.Contains("XTrain[5, 2] = NaN", ex.Message);
        Assert.Equal("XTrain", ex.ParamName);
    }

    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
