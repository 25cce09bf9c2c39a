using Functional.FSharp;
using CoreCheckpoint = Functional.FSharp.CheckpointModule;

namespace Functional;

/// <summary>
/// A saved training run: parameters, net state, optimizer states, the random key, the position (epoch, iteration),
/// the learning rate and the histories. Files are numpy <c>.npz</c> archives (<c>np.load</c> opens them: arrays
/// such as <c>params/W1</c>, <c>optim/W1/m</c>, <c>history/loss</c>, plus a <c>checkpoint.json</c> entry) written
/// atomically. Resume one with
/// <see cref="Solver.Resume(Checkpoint, Tensor, IReadOnlyList{int}, Tensor, IReadOnlyList{int}, IProgress{TrainingProgress}?, CancellationToken)"/>.
/// </summary>
public sealed class Checkpoint
{
    /// <summary>The format version written by this library (and the newest it reads).</summary>
    public const int FormatVersion = CoreCheckpoint.Version;

    internal Checkpoint(SolverState core) => Core = core;

    /// <summary>The F# solver state.</summary>
    internal SolverState Core { get; }

    /// <summary>Writes a training result to <paramref name="path"/> (temporary file, then rename; an existing file is replaced only on success).</summary>
    /// <param name="path">The file, conventionally <c>*.npz</c>; its folder must exist.</param>
    /// <param name="result">The result to save.</param>
    /// <exception cref="ArgumentException">The folder does not exist.</exception>
    /// <exception cref="IOException">The file cannot be written; nothing is left behind.</exception>
    public static void Save(string path, TrainingResult result) =>
        CoreCheckpoint.save(Require.NotNull(path), Require.NotNull(result).CoreState);

    /// <summary>Writes this checkpoint to <paramref name="path"/>, atomically.</summary>
    /// <param name="path">The file; its folder must exist.</param>
    public void Save(string path) => CoreCheckpoint.save(Require.NotNull(path), Core);

    /// <summary>Reads a checkpoint, verifying every entry.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The checkpoint.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointException">The file is truncated, corrupted, not a checkpoint, or from a newer version.</exception>
    public static Checkpoint Load(string path) => new(CoreCheckpoint.load(Require.NotNull(path)));

    /// <summary>The number of completed epochs.</summary>
    public int Epoch => Core.Epoch;

    /// <summary>The number of completed iterations.</summary>
    public int Iteration => Core.Iteration;

    /// <summary>The learning rate to continue with.</summary>
    public double LearningRate => Core.LearningRate;

    /// <summary>The run's random key.</summary>
    public Rng Rng => Core.Rng;

    /// <summary>The name of the net that was trained.</summary>
    public string ModelName => Core.Setup.ModelName;

    /// <summary>The name of the update rule.</summary>
    public string RuleName => Core.Setup.RuleName;

    /// <summary>The update rule's starting configuration.</summary>
    public OptimConfig RuleConfig => Core.Setup.RuleConfig;

    /// <summary>The minibatch size of the run.</summary>
    public int BatchSize => Core.Setup.BatchSize;

    /// <summary>The number of training examples of the run.</summary>
    public int NumTrain => Core.Setup.NumTrain;

    /// <summary>The parameters.</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters => Core.Params;

    /// <summary>The net state.</summary>
    public IReadOnlyDictionary<string, Tensor> State => Core.ModelState;

    /// <summary>The update rule's state of every parameter.</summary>
    public IReadOnlyDictionary<string, OptimState> OptimizerStates => Core.OptimStates;

    /// <summary>The best parameters so far.</summary>
    public IReadOnlyDictionary<string, Tensor> BestParameters => Core.BestParams;

    /// <summary>The net state that goes with the best parameters.</summary>
    public IReadOnlyDictionary<string, Tensor> BestState => Core.BestModelState;

    /// <summary>The name of the metric checked after each epoch: "accuracy" for classifiers, "bleu-4" for captioning nets.</summary>
    public string Metric => Core.Setup.Metric;

    /// <summary>The best validation accuracy so far (the best validation <see cref="Metric"/> for other model kinds).</summary>
    public double BestValAccuracy => Core.BestValMetric;

    /// <summary>The loss of every iteration so far.</summary>
    public IReadOnlyList<double> LossHistory => Core.LossHistory;

    /// <summary>Training accuracy (<see cref="Metric"/>) before training and after each completed epoch.</summary>
    public IReadOnlyList<double> TrainAccuracyHistory => Core.TrainMetricHistory;

    /// <summary>Validation accuracy (<see cref="Metric"/>) before training and after each completed epoch.</summary>
    public IReadOnlyList<double> ValAccuracyHistory => Core.ValMetricHistory;

    /// <inheritdoc/>
    public override string ToString() =>
        $"Checkpoint of {ModelName} with {RuleName}: epoch {Epoch}, iteration {Iteration}, best validation accuracy {BestValAccuracy:F4}";
}
