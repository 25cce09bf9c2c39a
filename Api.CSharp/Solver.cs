using Functional.FSharp;
using Microsoft.FSharp.Core;
using CoreHooks = Functional.FSharp.SolverTypes.SolverHooks;
using CoreConfig = Functional.FSharp.SolverTypes.SolverConfig;
using CoreResult = Functional.FSharp.SolverTypes.TrainingResult;
using CoreSolver = Functional.FSharp.SolverModule;

namespace Functional;

/// <summary>The solver's configuration, with the course's defaults. Set only what you need: <c>new SolverConfig { NumEpochs = 5 }</c>.</summary>
public record SolverConfig
{
    /// <summary>The number of epochs to train for (≥ 1). Default 10.</summary>
    public int NumEpochs { get; init; } = 10;

    /// <summary>The minibatch size (≥ 1); the last minibatch of an epoch may be smaller. Default 100.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>The learning rate is multiplied by this after each epoch (&gt; 0). Default 1.0 (no decay).</summary>
    public double LrDecay { get; init; } = 1.0;

    /// <summary>Training examples sampled for the per-epoch accuracy check (null: all). Default 1000.</summary>
    public int? NumTrainSamples { get; init; } = 1000;

    /// <summary>Validation examples sampled for the per-epoch accuracy check (null: all). Default null.</summary>
    public int? NumValSamples { get; init; }

    /// <summary>A progress report every this many iterations (≥ 1); epoch reports come always. Default 10.</summary>
    public int PrintEvery { get; init; } = 10;

    /// <summary>The seed of the run (minibatch order, dropout, accuracy samples). Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>When set, a checkpoint is written there (atomically) after each epoch. Default null.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>The F# configuration.</summary>
    internal CoreConfig ToCore() => new(
        NumEpochs, BatchSize, LrDecay,
        NumTrainSamples is { } t ? FSharpOption<int>.Some(t) : FSharpOption<int>.None,
        NumValSamples is { } v ? FSharpOption<int>.Some(v) : FSharpOption<int>.None,
        PrintEvery, Seed,
        CheckpointPath is { } p ? FSharpOption<string>.Some(p) : FSharpOption<string>.None);
}

/// <summary>
/// The outcome of a training run: the loss of every iteration, the accuracies before training and after each epoch,
/// the best and the final parameters, and timing. Pass it to <see cref="Checkpoint.Save(string, TrainingResult)"/> or
/// <see cref="Solver.Resume(TrainingResult, Tensor, IReadOnlyList{int}, Tensor, IReadOnlyList{int}, IProgress{TrainingProgress}?, CancellationToken)"/>.
/// </summary>
public sealed class TrainingResult
{
    internal TrainingResult(CoreResult core) => Core = core;

    /// <summary>The F# result.</summary>
    internal CoreResult Core { get; }

    /// <summary>The final solver state.</summary>
    internal SolverState CoreState => Core.State;

    /// <summary>The minibatch loss of every iteration, in order.</summary>
    public IReadOnlyList<double> LossHistory => Core.State.LossHistory;

    /// <summary>Training accuracy before training (entry 0) and after each epoch.</summary>
    public IReadOnlyList<double> TrainAccuracyHistory => Core.State.TrainMetricHistory;

    /// <summary>Validation accuracy before training (entry 0) and after each epoch.</summary>
    public IReadOnlyList<double> ValAccuracyHistory => Core.State.ValMetricHistory;

    /// <summary>The best validation accuracy.</summary>
    public double BestValAccuracy => Core.State.BestValMetric;

    /// <summary>The parameters with the best validation accuracy.</summary>
    public IReadOnlyDictionary<string, Tensor> BestParameters => Core.State.BestParams;

    /// <summary>The net state (e.g. running statistics) that goes with the best parameters.</summary>
    public IReadOnlyDictionary<string, Tensor> BestState => Core.State.BestModelState;

    /// <summary>The parameters at the end of the run.</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters => Core.State.Params;

    /// <summary>The net state at the end of the run.</summary>
    public IReadOnlyDictionary<string, Tensor> State => Core.State.ModelState;

    /// <summary>The update rule's state of every parameter at the end of the run.</summary>
    public IReadOnlyDictionary<string, OptimState> OptimizerStates => Core.State.OptimStates;

    /// <summary>The learning rate at the end of the run (after the per-epoch decay).</summary>
    public double LearningRate => Core.State.LearningRate;

    /// <summary>The number of completed epochs.</summary>
    public int Epochs => Core.State.Epoch;

    /// <summary>The number of completed iterations.</summary>
    public int Iterations => Core.State.Iteration;

    /// <summary>True when the run was cancelled before completing its epochs.</summary>
    public bool Cancelled => Core.Cancelled;

    /// <summary>The wall-clock time of this run.</summary>
    public TimeSpan Elapsed => Core.Elapsed;

    /// <summary>Training examples processed per second in this run.</summary>
    public double ExamplesPerSecond => Core.ExamplesPerSecond;

    /// <summary>
    /// The checkpoint files this run wrote (full paths): empty when no save of this run succeeded, so a file left by
    /// an earlier run is never reported. A cancelled run saves the state it reached (it resumes bit for bit).
    /// </summary>
    public IReadOnlyList<string> CheckpointsWritten => Core.CheckpointsWritten.ToArray();

    /// <summary>The checkpoint saves that failed during the run, in order; training went on after each.</summary>
    public IReadOnlyList<CheckpointFailure> CheckpointFailures => Core.CheckpointFailures.ToArray();

    /// <inheritdoc/>
    public override string ToString() =>
        $"TrainingResult: {Epochs} epochs, {Iterations} iterations, best validation accuracy {BestValAccuracy:F4}{(Cancelled ? " (cancelled)" : "")}";
}

/// <summary>
/// Trains a <see cref="Model"/> with an <see cref="UpdateRule"/> (the course's Solver). Each epoch visits the
/// training set in a random order, in minibatches; after each epoch it checks the accuracies, keeps the best
/// parameters, decays the learning rate and, if asked, writes a checkpoint. Runs are reproducible: the same seed
/// gives the same result, and resuming a checkpoint gives bit for bit the uninterrupted run.
/// </summary>
public sealed class Solver
{
    /// <summary>A solver for a net, a rule and options.</summary>
    /// <param name="model">The net to train (its own parameters are the starting point and are not changed).</param>
    /// <param name="rule">The update rule.</param>
    /// <param name="config">The configuration; the defaults when null.</param>
    /// <exception cref="ArgumentException">A setting is out of range (the message names it).</exception>
    public Solver(Model model, UpdateRule rule, SolverConfig? config = null)
    {
        Model = Require.NotNull(model);
        Rule = Require.NotNull(rule);
        Config = config ?? new SolverConfig();
        CoreSolver.validateConfig(Config.ToCore());
    }

    /// <summary>The net being trained.</summary>
    public Model Model { get; }

    /// <summary>The update rule.</summary>
    public UpdateRule Rule { get; }

    /// <summary>The configuration.</summary>
    public SolverConfig Config { get; }

    /// <summary>The former name of <see cref="Config"/>.</summary>
    [Obsolete("Use Config: the solver's settings are a SolverConfig, the library's one name for them.")]
    public SolverConfig Options => Config;

    private static TrainingData Data(Tensor xTrain, IReadOnlyList<int> yTrain, Tensor xVal, IReadOnlyList<int> yVal) =>
        new(Require.NotNull(xTrain), Require.Labels(yTrain), Require.NotNull(xVal), Require.Labels(yVal));

    private static CoreHooks Hooks(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken) =>
        new(progress is null
                ? FuncConvert.FromAction<TrainingProgress>(_ => { })
                : FuncConvert.FromAction<TrainingProgress>(progress.Report),
            cancellationToken);

    /// <summary>Trains from the net's own parameters.</summary>
    /// <param name="xTrain">Training inputs (N, d1, …, dk).</param>
    /// <param name="yTrain">N training labels in [0, C).</param>
    /// <param name="xVal">Validation inputs (N_val, d1, …, dk).</param>
    /// <param name="yVal">N_val validation labels in [0, C).</param>
    /// <param name="progress">
    /// Receives a report every PrintEvery iterations and at the end of every epoch; its <c>Report</c> is called on
    /// the training thread. The standard <see cref="Progress{T}"/> posts each report to a synchronization context
    /// or the thread pool, so its handler may run after this returns; for reports in order before the result, use
    /// the overload that takes an <see cref="Action{T}"/>.
    /// </param>
    /// <param name="cancellationToken">When cancelled, training stops after the current step and returns what it has learned (<see cref="TrainingResult.Cancelled"/> is true).</param>
    /// <returns>The histories, the best and final parameters, and timing.</returns>
    /// <exception cref="ArgumentException">The data are empty, mismatched or not finite (the message names the argument and the index), a label is out of range, or the checkpoint file cannot be written (checked before training starts).</exception>
    /// <exception cref="TrainingDivergedException">The loss, a gradient or a parameter became NaN or infinite; the exception carries the best parameters so far.</exception>
    public TrainingResult Train(
        Tensor xTrain,
        IReadOnlyList<int> yTrain,
        Tensor xVal,
        IReadOnlyList<int> yVal,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        new(CoreSolver.trainWith(Hooks(progress, cancellationToken), Rule.Core, Config.ToCore(), Model.Core,
            Data(xTrain, yTrain, xVal, yVal)));

    /// <summary>
    /// Trains from the net's own parameters, calling <paramref name="onProgress"/> synchronously on the training
    /// thread, in order, before training goes on: every report has arrived when this returns. (With the
    /// <see cref="IProgress{T}"/> overload and the standard <see cref="Progress{T}"/>, reports are posted to the
    /// synchronization context captured when the <c>Progress</c> was made, or to the thread pool when there is none,
    /// as in a console app: they then run later and may arrive after the result and out of order.)
    /// </summary>
    /// <param name="xTrain">Training inputs (N, d1, …, dk).</param>
    /// <param name="yTrain">N training labels in [0, C).</param>
    /// <param name="xVal">Validation inputs (N_val, d1, …, dk).</param>
    /// <param name="yVal">N_val validation labels in [0, C).</param>
    /// <param name="onProgress">Called with a report every PrintEvery iterations and at the end of every epoch; an exception it throws stops training and propagates.</param>
    /// <param name="cancellationToken">When cancelled, training stops after the current step and returns what it has learned.</param>
    /// <returns>The histories, the best and final parameters, and timing.</returns>
    /// <exception cref="ArgumentException">The data are empty or mismatched, a label is out of range, or onProgress is null.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    public TrainingResult Train(
        Tensor xTrain,
        IReadOnlyList<int> yTrain,
        Tensor xVal,
        IReadOnlyList<int> yVal,
        Action<TrainingProgress> onProgress,
        CancellationToken cancellationToken = default) =>
        Train(xTrain, yTrain, xVal, yVal, new SynchronousProgress(Require.NotNull(onProgress)), cancellationToken);

    /// <summary>An <see cref="IProgress{T}"/> that calls its action at once, on the reporting thread.</summary>
    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    /// <summary>
    /// <see cref="Train(Tensor, IReadOnlyList{int}, Tensor, IReadOnlyList{int}, IProgress{TrainingProgress}?, CancellationToken)"/> on a thread-pool thread. Cancellation still returns the partial result (the task does
    /// not end as cancelled).
    /// </summary>
    /// <param name="xTrain">Training inputs (N, d1, …, dk).</param>
    /// <param name="yTrain">N training labels.</param>
    /// <param name="xVal">Validation inputs.</param>
    /// <param name="yVal">Validation labels.</param>
    /// <param name="progress">Progress reports.</param>
    /// <param name="cancellationToken">Stops training after the current step.</param>
    /// <returns>The training result.</returns>
    public Task<TrainingResult> TrainAsync(
        Tensor xTrain,
        IReadOnlyList<int> yTrain,
        Tensor xVal,
        IReadOnlyList<int> yVal,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var data = Data(xTrain, yTrain, xVal, yVal);
        return Task.Run(() => new TrainingResult(CoreSolver.trainWith(
            Hooks(progress, cancellationToken), Rule.Core, Config.ToCore(), Model.Core, data)));
    }

    /// <summary>
    /// Continues training from a checkpoint until <see cref="SolverConfig.NumEpochs"/> epochs are complete. With the
    /// same net, rule, options and data, the result is bit for bit that of an uninterrupted run.
    /// </summary>
    /// <param name="checkpoint">The checkpoint (see <see cref="Checkpoint.Load"/>).</param>
    /// <param name="xTrain">Training inputs, the same as before.</param>
    /// <param name="yTrain">Training labels.</param>
    /// <param name="xVal">Validation inputs.</param>
    /// <param name="yVal">Validation labels.</param>
    /// <param name="progress">Progress reports.</param>
    /// <param name="cancellationToken">Stops training after the current step.</param>
    /// <returns>The training result (its histories include the checkpoint's).</returns>
    /// <exception cref="ArgumentException">The checkpoint was made with another rule, batch size, training-set size or parameter set.</exception>
    public TrainingResult Resume(
        Checkpoint checkpoint,
        Tensor xTrain,
        IReadOnlyList<int> yTrain,
        Tensor xVal,
        IReadOnlyList<int> yVal,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        new(CoreSolver.resume(Hooks(progress, cancellationToken), Rule.Core, Config.ToCore(), Model.Core,
            Data(xTrain, yTrain, xVal, yVal), Require.NotNull(checkpoint).Core));

    /// <summary>Continues a previous (e.g. cancelled) run until <see cref="SolverConfig.NumEpochs"/> epochs are complete.</summary>
    /// <param name="previous">The earlier result.</param>
    /// <param name="xTrain">Training inputs, the same as before.</param>
    /// <param name="yTrain">Training labels.</param>
    /// <param name="xVal">Validation inputs.</param>
    /// <param name="yVal">Validation labels.</param>
    /// <param name="progress">Progress reports.</param>
    /// <param name="cancellationToken">Stops training after the current step.</param>
    /// <returns>The training result.</returns>
    public TrainingResult Resume(
        TrainingResult previous,
        Tensor xTrain,
        IReadOnlyList<int> yTrain,
        Tensor xVal,
        IReadOnlyList<int> yVal,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        new(CoreSolver.resume(Hooks(progress, cancellationToken), Rule.Core, Config.ToCore(), Model.Core,
            Data(xTrain, yTrain, xVal, yVal), Require.NotNull(previous).CoreState));
}

/// <summary>The former name of <see cref="SolverConfig"/>, kept so that existing code compiles.</summary>
[Obsolete("Use SolverConfig: the same settings under the library's one name for them.")]
public sealed record SolverOptions : SolverConfig;
