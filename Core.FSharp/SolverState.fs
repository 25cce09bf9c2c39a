namespace Functional.FSharp

open System.Collections.Immutable
open Functional

/// <summary>How a training run was set up. Stored in checkpoints and compared with the run that resumes them.</summary>
type SolverSetup = {
    /// <summary>The model's name.</summary>
    ModelName: string
    /// <summary>The update rule's name (e.g. "adam").</summary>
    RuleName: string
    /// <summary>The update rule's starting configuration (before any learning-rate decay).</summary>
    RuleConfig: OptimConfig
    /// <summary>The minibatch size.</summary>
    BatchSize: int
    /// <summary>The number of training examples.</summary>
    NumTrain: int
    /// <summary>
    /// The name of the metric the model kind checks after each epoch (higher is better): "accuracy" for classifiers,
    /// "bleu-4" for captioning nets. Checkpoints of version 1 (classifiers only) read as "accuracy".
    /// </summary>
    Metric: string
}

/// <summary>
/// Everything the solver threads through its fold over minibatches, and what a checkpoint holds: parameters, model
/// state, optimizer states, the random key, the position (epoch, iteration), the current learning rate, the
/// histories and the best parameters so far. Resuming from a state gives bit for bit what the uninterrupted run
/// gives. The metric histories hold what the model kind measures (<see cref="P:Functional.FSharp.SolverSetup.Metric"/>):
/// classification accuracy for classifiers, BLEU-4 of greedy captions for captioning nets.
/// </summary>
type SolverState = {
    /// <summary>How the run was set up.</summary>
    Setup: SolverSetup
    /// <summary>The current parameters.</summary>
    Params: Map<string, Tensor>
    /// <summary>The current non-trainable model state (e.g. batchnorm running statistics).</summary>
    ModelState: Map<string, Tensor>
    /// <summary>The update rule's state for each parameter, by parameter name.</summary>
    OptimStates: Map<string, OptimState>
    /// <summary>The current (decayed) learning rate.</summary>
    LearningRate: float
    /// <summary>The run's key: minibatches, dropout masks and metric subsamples are derived from it.</summary>
    Rng: Rng
    /// <summary>The number of completed epochs.</summary>
    Epoch: int
    /// <summary>The number of completed iterations (minibatch steps) over all epochs.</summary>
    Iteration: int
    /// <summary>The minibatch loss of every iteration, in order.</summary>
    LossHistory: ImmutableList<float>
    /// <summary>The training metric before training (entry 0) and after each epoch.</summary>
    TrainMetricHistory: ImmutableList<float>
    /// <summary>The validation metric before training (entry 0) and after each epoch.</summary>
    ValMetricHistory: ImmutableList<float>
    /// <summary>The best validation metric so far.</summary>
    BestValMetric: float
    /// <summary>The parameters with the best validation metric so far.</summary>
    BestParams: Map<string, Tensor>
    /// <summary>The model state that went with the best parameters.</summary>
    BestModelState: Map<string, Tensor>
}
