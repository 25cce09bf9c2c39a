namespace Functional

open System
open System.Collections.Generic

/// <summary>What a progress event reports: one iteration (minibatch step) or the end of an epoch.</summary>
type ProgressKind =
    /// <summary>An iteration finished (reported every PrintEvery iterations).</summary>
    | Iteration = 0
    /// <summary>An epoch finished and the accuracies were checked.</summary>
    | Epoch = 1

/// <summary>A progress event of a training run, for a callback (F#) or an <c>IProgress&lt;T&gt;</c> (C#).</summary>
[<NoComparison>]
type TrainingProgress = {
    /// <summary>Whether this reports an iteration or the end of an epoch.</summary>
    Kind: ProgressKind
    /// <summary>Completed iterations so far (1-based count, over all epochs).</summary>
    Iteration: int
    /// <summary>The number of iterations of the whole run.</summary>
    TotalIterations: int
    /// <summary>The epoch in progress (1-based) for an iteration event; the epoch just completed for an epoch event.</summary>
    Epoch: int
    /// <summary>The number of epochs of the run.</summary>
    NumEpochs: int
    /// <summary>The loss of the latest minibatch.</summary>
    Loss: float
    /// <summary>The name of the model kind's metric (e.g. "accuracy", "bleu-4"); higher is better.</summary>
    Metric: string
    /// <summary>The latest training metric (checked before training and after each epoch).</summary>
    TrainMetric: float
    /// <summary>The latest validation metric.</summary>
    ValMetric: float
    /// <summary>The learning rate in use.</summary>
    LearningRate: float
    /// <summary>Training examples processed per second in this run so far.</summary>
    ExamplesPerSecond: float
    /// <summary>Time spent in this run so far.</summary>
    Elapsed: TimeSpan
    /// <summary>Estimated time to the end of the run, from the average iteration time so far.</summary>
    Eta: TimeSpan
} with

    /// <summary>The latest training accuracy: <c>TrainMetric</c>, for classifiers (whose metric is accuracy).</summary>
    member p.TrainAccuracy = p.TrainMetric

    /// <summary>The latest validation accuracy: <c>ValMetric</c>, for classifiers (whose metric is accuracy).</summary>
    member p.ValAccuracy = p.ValMetric

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>A checkpoint save that failed during a run; training went on.</summary>
[<NoComparison>]
type CheckpointFailure = {
    /// <summary>The file that could not be written.</summary>
    Path: string
    /// <summary>The iteration (count over all epochs) whose state was being saved.</summary>
    Iteration: int
    /// <summary>The completed epochs of that state.</summary>
    Epoch: int
    /// <summary>Why: the message of the I/O error.</summary>
    Message: string
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>
/// Raised when training stops being finite: the loss, a gradient or a parameter after the update holds NaN or ±∞.
/// Training stops; the exception carries the iteration where it happened, what became non-finite, and the best
/// parameters found before it (with their validation metric).
/// </summary>
type TrainingDivergedException
    (
        message: string,
        iteration: int,
        epoch: int,
        loss: float,
        quantity: string,
        bestParameters: IReadOnlyDictionary<string, Tensor>,
        bestModelState: IReadOnlyDictionary<string, Tensor>,
        bestValMetric: float
    ) =
    inherit Exception(message)

    /// <summary>The iteration (1-based count over all epochs) that was not finite.</summary>
    member _.Iteration = iteration
    /// <summary>The epoch (1-based) in progress.</summary>
    member _.Epoch = epoch
    /// <summary>The loss of that iteration (NaN or ±∞ when the loss diverged; finite when a gradient or a parameter did).</summary>
    member _.Loss = loss

    /// <summary>What stopped being finite: "loss", "gradient of 'W1'" or "parameter 'W1'".</summary>
    member _.Quantity = quantity

    /// <summary>The parameters with the best validation metric before training diverged.</summary>
    member _.BestParameters: IReadOnlyDictionary<string, Tensor> = bestParameters

    /// <summary>The model state that goes with the best parameters.</summary>
    member _.BestModelState: IReadOnlyDictionary<string, Tensor> = bestModelState

    /// <summary>The validation metric of the best parameters (accuracy for classifiers).</summary>
    member _.BestValMetric = bestValMetric

    /// <summary>The validation accuracy of the best parameters: <c>BestValMetric</c>, for classifiers.</summary>
    member _.BestValAccuracy = bestValMetric

namespace Functional.FSharp

open System
open System.Collections.Immutable
open System.Diagnostics
open System.Threading
open Functional

/// <summary>A training set and a validation set: X has the examples along axis 0, y holds the class labels.</summary>
type TrainingData = {
    /// <summary>Training inputs (N, d1, …, dk).</summary>
    XTrain: Tensor
    /// <summary>Training labels, N of them, in [0, C).</summary>
    YTrain: int[]
    /// <summary>Validation inputs (N_val, d1, …, dk).</summary>
    XVal: Tensor
    /// <summary>Validation labels, N_val of them, in [0, C).</summary>
    YVal: int[]
}

/// <summary>The solver's configuration and result types, in a module opened with <c>Functional.FSharp</c> so that C# code importing both namespaces sees only the facade's <c>SolverConfig</c> and <c>TrainingResult</c>.</summary>
[<AutoOpen>]
module SolverTypes =
    /// <summary>The solver's options (the course's Solver keyword arguments).</summary>
    type SolverConfig = {
        /// <summary>The number of epochs to train for (≥ 1). Default 10.</summary>
        NumEpochs: int
        /// <summary>The minibatch size (≥ 1). The last minibatch of an epoch may be smaller. Default 100.</summary>
        BatchSize: int
        /// <summary>The learning rate is multiplied by this after each epoch (&gt; 0). Default 1.0.</summary>
        LrDecay: float
        /// <summary>Training examples sampled for the accuracy check (None: all). Default Some 1000.</summary>
        NumTrainSamples: int option
        /// <summary>Validation examples sampled for the accuracy check (None: all). Default None.</summary>
        NumValSamples: int option
        /// <summary>An iteration progress event every this many iterations (≥ 1). Default 10.</summary>
        PrintEvery: int
        /// <summary>The seed of the run's key (minibatches, dropout, accuracy samples). Default 0.</summary>
        Seed: int64
        /// <summary>Where to write a checkpoint after each epoch (None: no checkpoints). Default None.</summary>
        CheckpointPath: string option
    } with

        /// <summary>The course's defaults: 10 epochs, batch 100, no decay, 1000 training samples for accuracy, all validation.</summary>
        static member Defaults = {
            NumEpochs = 10
            BatchSize = 100
            LrDecay = 1.0
            NumTrainSamples = Some 1000
            NumValSamples = None
            PrintEvery = 10
            Seed = 0L
            CheckpointPath = None
        }

    /// <summary>The effects at the edge of a run: a progress callback and a cancellation token.</summary>
    type SolverHooks = {
        /// <summary>Called with every progress event, on the training thread.</summary>
        OnProgress: TrainingProgress -> unit
        /// <summary>When cancelled, training stops after the current step and returns what it has learned.</summary>
        Cancellation: CancellationToken
    } with

        /// <summary>No progress reporting, no cancellation.</summary>
        static member None = {
            OnProgress = ignore
            Cancellation = CancellationToken.None
        }

    /// <summary>The outcome of a run: the final solver state (parameters, histories, best parameters …) and timing.</summary>
    type TrainingResult = {
        /// <summary>The final state: also what a checkpoint of this run holds.</summary>
        State: SolverState
        /// <summary>True when the run stopped early because it was cancelled.</summary>
        Cancelled: bool
        /// <summary>Wall-clock time of this run (not counting earlier runs of a resumed training).</summary>
        Elapsed: TimeSpan
        /// <summary>Training examples processed per second in this run.</summary>
        ExamplesPerSecond: float
        /// <summary>
        /// The checkpoint files this run wrote (full paths, each once): empty when no save of this run succeeded, so
        /// a file that was there before the run is never reported as written.
        /// </summary>
        CheckpointsWritten: string list
        /// <summary>The saves that failed during the run, in order (training went on after each).</summary>
        CheckpointFailures: CheckpointFailure list
    }

/// <summary>
/// The metric a model kind brings to the solver: measured before training and after each epoch on the training and
/// the validation set; higher is better, and the solver keeps the parameters with the best validation value.
/// </summary>
type Metric = {
    /// <summary>A short name, stored in checkpoints: "accuracy", "bleu-4".</summary>
    Name: string
    /// <summary>
    /// params → model state → the run's key → completed epochs → (training value, validation value). Subsamples
    /// must be drawn from keys derived from the run's key with streams ≥ 2 (0 and 1 are the solver's: minibatch
    /// order and dropout), so that runs stay reproducible.
    /// </summary>
    Evaluate: Map<string, Tensor> -> Map<string, Tensor> -> Rng -> int -> float * float
}

/// <summary>
/// What the solver trains: any model kind, seen as its parameters, its state, the size of its training set, a
/// training loss over the training examples at given indices, and its metric. <c>Solver.classifier</c> makes one of
/// a classifier <see cref="T:Functional.FSharp.ModelTypes.Model"/> and its data; <c>Captioning.trainable</c> one of a
/// captioning net.
/// </summary>
type Trainable = {
    /// <summary>The model's name (stored in checkpoints).</summary>
    Name: string
    /// <summary>The initial parameters.</summary>
    Params: Map<string, Tensor>
    /// <summary>The initial non-trainable state.</summary>
    State: Map<string, Tensor>
    /// <summary>The number of training examples N (≥ 1): minibatches are drawn from 0 … N-1.</summary>
    NumTrain: int
    /// <summary>The argument that holds the training inputs, for messages (e.g. "XTrain").</summary>
    InputName: string
    /// <summary>Training-mode loss, gradients and new state on the training examples at the given indices: params → state → rng (dropout) → indices → result.</summary>
    Loss: Map<string, Tensor> -> Map<string, Tensor> -> Rng -> int[] -> ModelLoss
    /// <summary>What the solver measures after each epoch.</summary>
    Metric: Metric
}

/// <summary>
/// The training loop: a fold over minibatches, for any <see cref="T:Functional.FSharp.Trainable"/>. Each epoch visits
/// the training set in a random order (a permutation derived from the run's key and the epoch) in minibatches of
/// BatchSize, the last one possibly smaller; each step runs the model's loss, then the update rule on every
/// parameter. After each epoch the model kind's metric is checked, the best parameters kept, the learning rate
/// decayed and, when asked, a checkpoint written. Everything is a value threaded through the fold, so the same seed
/// gives the same run, and resuming a checkpoint gives bit for bit the uninterrupted run. The classifier functions
/// (<c>init</c>, <c>train</c>, <c>resume</c> …) are this fold with <c>classifier</c>'s accuracy metric.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Solver =
    // Independent streams derived from the run's key. Metrics use streams >= 2.
    let private batchStream = 0
    let private dropoutStream = 1
    let private trainSampleStream = 2
    let private valSampleStream = 3

    /// <summary>Checks the options; fails naming the option and its value.</summary>
    let validateConfig (config: SolverConfig) =
        let fn = "Solver"

        if config.NumEpochs < 1 then
            Guard.fail fn "NumEpochs" $"NumEpochs must be >= 1, got {config.NumEpochs}."

        if config.BatchSize < 1 then
            Guard.fail fn "BatchSize" $"BatchSize must be >= 1, got {config.BatchSize}."

        Guard.finiteScalar fn "LrDecay" config.LrDecay

        if config.LrDecay <= 0.0 then
            Guard.fail fn "LrDecay" $"LrDecay must be > 0, got {config.LrDecay}."

        match config.NumTrainSamples with
        | Some n when n < 1 ->
            Guard.fail fn "NumTrainSamples" $"NumTrainSamples must be >= 1 (or None for all), got {n}."
        | _ -> ()

        match config.NumValSamples with
        | Some n when n < 1 -> Guard.fail fn "NumValSamples" $"NumValSamples must be >= 1 (or None for all), got {n}."
        | _ -> ()

        if config.PrintEvery < 1 then
            Guard.fail fn "PrintEvery" $"PrintEvery must be >= 1, got {config.PrintEvery}."

        match config.CheckpointPath with
        | Some p when String.IsNullOrWhiteSpace p ->
            Guard.fail fn "CheckpointPath" "CheckpointPath must not be empty (use None for no checkpoints)."
        | Some p when IO.Directory.Exists(IO.Path.GetFullPath p) ->
            Guard.fail
                fn
                "CheckpointPath"
                $"CheckpointPath '{p}' names a folder; it must name a file (e.g. checkpoint.npz)."
        | Some p when not (IO.Directory.Exists(IO.Path.GetDirectoryName(IO.Path.GetFullPath p))) ->
            Guard.fail
                fn
                "CheckpointPath"
                $"the folder of CheckpointPath '{p}' does not exist (checkpoints are written after each epoch)."
        | _ -> ()

    /// The row-major index of flat position i in a tensor of shape dims, as text: "[3, 0, 12, 7]".
    let private indexText (dims: int[]) (i: int) =
        let strides = Guard.rowMajorStrides dims

        "["
        + String.Join(", ", Array.init dims.Length (fun k -> (i / strides.[k]) % dims.[k]))
        + "]"

    /// The first position holding NaN or ±∞, if any.
    let internal firstNonFinite (t: Tensor) =
        let data = t.Data
        let mutable i = 0

        while i < data.Length && Double.IsFinite data.[i] do
            i <- i + 1

        if i < data.Length then Some i else None

    /// <summary>
    /// Rejects training data holding NaN or ±∞ before training starts (policy: non-finite data is an input error,
    /// not something to train on; one NaN pixel would otherwise turn every gradient NaN). Names the function, the
    /// argument and the first offending index.
    /// </summary>
    let checkFinite (fn: string) (arg: string) (x: Tensor) =
        match firstNonFinite x with
        | Some i ->
            Guard.fail
                fn
                arg
                $"{arg}{indexText x.Dims i} = {x.Data.[i]}: training data must be finite (NaN or infinity would make every gradient NaN)."
        | None -> ()

    let private validateData (data: TrainingData) =
        let fn = "Solver"

        if isNull (box data.XTrain) || isNull (box data.XVal) then
            Guard.fail fn "data" "XTrain and XVal must not be null."

        if isNull (box data.YTrain) || isNull (box data.YVal) then
            Guard.fail fn "data" "YTrain and YVal must not be null."

        if data.XTrain.Rank < 1 || data.XTrain.Dims.[0] = 0 then
            Guard.fail
                fn
                "XTrain"
                $"the training set is empty: XTrain has shape {Guard.shapeText data.XTrain.Dims}, expected (N, …) with N >= 1."

        if data.XVal.Rank < 1 || data.XVal.Dims.[0] = 0 then
            Guard.fail
                fn
                "XVal"
                $"the validation set is empty: XVal has shape {Guard.shapeText data.XVal.Dims}, expected (N_val, …) with N_val >= 1."

        if data.YTrain.Length <> data.XTrain.Dims.[0] then
            Guard.fail
                fn
                "YTrain"
                $"XTrain has {data.XTrain.Dims.[0]} examples {Guard.shapeText data.XTrain.Dims} but YTrain has {data.YTrain.Length} labels."

        if data.YVal.Length <> data.XVal.Dims.[0] then
            Guard.fail
                fn
                "YVal"
                $"XVal has {data.XVal.Dims.[0]} examples {Guard.shapeText data.XVal.Dims} but YVal has {data.YVal.Length} labels."

        if data.XVal.Dims.[1..] <> data.XTrain.Dims.[1..] then
            Guard.fail
                fn
                "XVal"
                $"XVal's examples have shape {Guard.shapeText data.XVal.Dims.[1..]}, XTrain's {Guard.shapeText data.XTrain.Dims.[1..]}."

    let private checkLabels (name: string) (classes: int) (y: int[]) =
        y
        |> Array.iteri (fun i label ->
            if label < 0 || label >= classes then
                Guard.fail
                    "Solver"
                    name
                    $"label {name}[{i}] = {label} is out of range [0, {classes}) (the model scores {classes} classes).")

    /// <summary>The number of minibatches per epoch: ⌈N / BatchSize⌉.</summary>
    let iterationsPerEpoch (batchSize: int) (numTrain: int) = (numTrain + batchSize - 1) / batchSize

    /// <summary>
    /// The minibatches of an epoch: a permutation of 0 .. N-1 derived from the key and the epoch, cut into
    /// chunks of batchSize (the last one holds the remainder).
    /// </summary>
    let epochBatches (rng: Rng) (batchSize: int) (numTrain: int) (epoch: int) : int[][] =
        let perm = (rng.Derive batchStream).Derive(epoch).Permutation numTrain
        Array.chunkBySize batchSize perm

    /// <summary>
    /// The fraction of examples the model classifies correctly, in test mode, scoring in chunks of batchSize. With
    /// Some n &lt; N, a random subset of n examples drawn from the key is used.
    /// </summary>
    let checkAccuracy
        (model: Model)
        (parameters: Map<string, Tensor>)
        (state: Map<string, Tensor>)
        (x: Tensor)
        (y: int[])
        (numSamples: int option)
        (batchSize: int)
        (rng: Rng)
        =
        let n = x.Dims.[0]

        let idx =
            match numSamples with
            | Some k when k < n -> rng.Permutation(n).[.. k - 1]
            | _ -> Array.init n id

        let mutable correct = 0

        for chunk in Array.chunkBySize batchSize idx do
            let scores = model.Scores parameters state (x.Take chunk)

            if scores.Rank <> 2 || scores.Dims.[0] <> chunk.Length then
                Guard.fail
                    "Solver"
                    "model"
                    $"the model's scores for {chunk.Length} examples have shape {Guard.shapeText scores.Dims}, expected ({chunk.Length}, C)."

            correct <- correct + Losses.correct scores (fun j -> y.[chunk.[j]])

        float correct / float idx.Length

    /// <summary>
    /// A classifier and its data as a <see cref="T:Functional.FSharp.Trainable"/>: the loss on the minibatch's rows of
    /// XTrain and YTrain, and the metric "accuracy" (NumTrainSamples training and NumValSamples validation examples,
    /// sampled from streams 2 and 3 of the run's key and the epoch, scored in chunks of BatchSize). Validates the
    /// data: non-empty, matching sizes, finite inputs (NaN or ±∞ is rejected naming the argument and the index), and
    /// labels in [0, C) for the C classes the model scores.
    /// </summary>
    let classifier (config: SolverConfig) (model: Model) (data: TrainingData) : Trainable =
        Guard.notNull "Solver" "model" model

        validateData data
        checkFinite "Solver" "XTrain" data.XTrain
        checkFinite "Solver" "XVal" data.XVal

        if model.Params.IsEmpty then
            Guard.fail "Solver" "model" $"the model '{model.Name}' has no parameters to train."

        let probe = model.Scores model.Params model.State (data.XTrain.Take [| 0 |])

        if probe.Rank <> 2 || probe.Dims.[0] <> 1 then
            Guard.fail
                "Solver"
                "model"
                $"the model's scores for 1 example have shape {Guard.shapeText probe.Dims}, expected (1, C)."

        let classes = probe.Dims.[1]
        checkLabels "YTrain" classes data.YTrain
        checkLabels "YVal" classes data.YVal

        let accuracies (p: Map<string, Tensor>) (state: Map<string, Tensor>) (rng: Rng) (epoch: int) =
            let check x y samples stream =
                checkAccuracy model p state x y samples config.BatchSize ((rng.Derive stream).Derive epoch)

            check data.XTrain data.YTrain config.NumTrainSamples trainSampleStream,
            check data.XVal data.YVal config.NumValSamples valSampleStream

        {
            Name = model.Name
            Params = model.Params
            State = model.State
            NumTrain = data.XTrain.Dims.[0]
            InputName = "XTrain"
            Loss =
                fun p state rng batch ->
                    model.Loss p state rng (data.XTrain.Take batch) (Array.map (fun i -> data.YTrain.[i]) batch)
            Metric = {
                Name = "accuracy"
                Evaluate = accuracies
            }
        }

    /// <summary>
    /// The state a run of any trainable starts from: its parameters and state, the rule's initial optimizer
    /// states, the key from the seed, and the metric of the untrained model (history entry 0).
    /// </summary>
    let start (rule: UpdateRule) (config: SolverConfig) (t: Trainable) : SolverState =
        Guard.notNull "Solver" "rule" rule

        validateConfig config

        if t.Params.IsEmpty then
            Guard.fail "Solver" "model" $"the model '{t.Name}' has no parameters to train."

        if t.NumTrain < 1 then
            Guard.fail "Solver" t.InputName $"the training set is empty ({t.NumTrain} examples)."

        let s = {
            Setup = {
                ModelName = t.Name
                RuleName = rule.Name
                RuleConfig = rule.Config
                BatchSize = config.BatchSize
                NumTrain = t.NumTrain
                Metric = t.Metric.Name
            }
            Params = t.Params
            ModelState = t.State
            OptimStates = t.Params |> Map.map (fun _ w -> rule.Init w)
            LearningRate = rule.Config.LearningRate
            Rng = Rng.Create config.Seed
            Epoch = 0
            Iteration = 0
            LossHistory = ImmutableList<float>.Empty
            TrainMetricHistory = ImmutableList<float>.Empty
            ValMetricHistory = ImmutableList<float>.Empty
            BestValMetric = Double.NegativeInfinity
            BestParams = t.Params
            BestModelState = t.State
        }

        let trainValue, valValue = t.Metric.Evaluate s.Params s.ModelState s.Rng 0

        {
            s with
                TrainMetricHistory = s.TrainMetricHistory.Add trainValue
                ValMetricHistory = s.ValMetricHistory.Add valValue
                BestValMetric = valValue
        }

    /// <summary>
    /// The state a classifier's run starts from: <c>start rule config (classifier config model data)</c>. Validates
    /// the options, the data and the labels (against the number of classes the model scores).
    /// </summary>
    let init (rule: UpdateRule) (config: SolverConfig) (model: Model) (data: TrainingData) : SolverState =
        Guard.notNull "Solver" "rule" rule

        Guard.notNull "Solver" "model" model

        validateConfig config
        start rule config (classifier config model data)

    /// <summary>
    /// One iteration of any trainable, pure: the loss and gradients on the minibatch <paramref name="batch"/>
    /// (indices into the training set), then the update rule on every parameter with the current learning rate.
    /// Raises <see cref="T:Functional.TrainingDivergedException"/> when the loss, a gradient or an updated parameter
    /// holds NaN or ±∞ (the state before the step is kept; the exception names what diverged and where).
    /// </summary>
    let advance (rule: UpdateRule) (t: Trainable) (batch: int[]) (s: SolverState) : SolverState =
        let it = s.Iteration
        // The rule's configuration was checked when the rule was made; the current rate is the state's.
        if not (Double.IsFinite s.LearningRate) || s.LearningRate < 0.0 then
            Guard.fail
                "Solver"
                "state"
                $"the learning rate must be finite and >= 0, got {s.LearningRate} at iteration {it + 1} (an LrDecay above 1 grows it every epoch)."

        let dropout = (s.Rng.Derive dropoutStream).Derive it
        let r = t.Loss s.Params s.ModelState dropout batch

        let diverged (quantity: string) (detail: string) : 'a =
            let message =
                $"Solver: {detail} at iteration {it + 1} (epoch {s.Epoch + 1}); training stopped. "
                + $"The exception carries the best parameters so far (validation {s.Setup.Metric} {s.BestValMetric}). "
                + "A smaller learning rate or weight scale usually helps."

            raise (
                TrainingDivergedException(
                    message,
                    it + 1,
                    s.Epoch + 1,
                    r.Loss,
                    quantity,
                    s.BestParams,
                    s.BestModelState,
                    s.BestValMetric
                )
            )

        if not (Double.IsFinite r.Loss) then
            diverged "loss" $"the loss became {r.Loss}"

        let config = {
            rule.Config with
                LearningRate = s.LearningRate
        }

        let updated =
            s.Params
            |> Map.map (fun name w ->
                let dw =
                    match r.Grads.TryFind name with
                    | Some g -> g
                    | None ->
                        Guard.fail
                            "Solver"
                            "model"
                            $"the model's loss returned no gradient for the parameter '{name}'."

                if dw.Dims <> w.Dims then
                    Guard.fail
                        "Solver"
                        "model"
                        $"the gradient of '{name}' has shape {Guard.shapeText dw.Dims}, the parameter {Guard.shapeText w.Dims}."

                match firstNonFinite dw with
                | Some i ->
                    diverged
                        $"gradient of '{name}'"
                        $"the gradient of '{name}' became {dw.Data.[i]} at {indexText dw.Dims i} (loss {r.Loss})"
                | None -> ()

                let w', o = rule.step config s.OptimStates.[name] w dw

                match firstNonFinite w' with
                | Some i ->
                    diverged
                        $"parameter '{name}'"
                        $"the parameter '{name}' became {w'.Data.[i]} at {indexText w'.Dims i} after the update"
                | None -> ()

                w', o)

        {
            s with
                Params = updated |> Map.map (fun _ (w, _) -> w)
                OptimStates = updated |> Map.map (fun _ (_, o) -> o)
                ModelState = r.State
                Iteration = it + 1
                LossHistory = s.LossHistory.Add r.Loss
        }

    /// <summary>
    /// The end of an epoch of any trainable, pure: the epoch count advances, the metric is checked (history), the
    /// best parameters are kept when the validation metric improves, and the learning rate is decayed.
    /// </summary>
    let finishEpoch (config: SolverConfig) (t: Trainable) (s: SolverState) : SolverState =
        let s = { s with Epoch = s.Epoch + 1 }
        let trainValue, valValue = t.Metric.Evaluate s.Params s.ModelState s.Rng s.Epoch
        let better = valValue > s.BestValMetric

        {
            s with
                TrainMetricHistory = s.TrainMetricHistory.Add trainValue
                ValMetricHistory = s.ValMetricHistory.Add valValue
                BestValMetric = if better then valValue else s.BestValMetric
                BestParams = if better then s.Params else s.BestParams
                BestModelState = if better then s.ModelState else s.BestModelState
                LearningRate = s.LearningRate * config.LrDecay
        }

    let private checkCompatible (rule: UpdateRule) (config: SolverConfig) (t: Trainable) (s: SolverState) =
        let fn = "Solver.resume"

        Guard.notNull fn "state" s

        if s.Setup.RuleName <> rule.Name then
            Guard.fail fn "rule" $"the checkpoint was trained with the rule '{s.Setup.RuleName}', not '{rule.Name}'."

        if s.Setup.BatchSize <> config.BatchSize then
            Guard.fail
                fn
                "BatchSize"
                $"the checkpoint was trained with batch size {s.Setup.BatchSize}, the options ask for {config.BatchSize}."

        if s.Setup.NumTrain <> t.NumTrain then
            Guard.fail
                fn
                t.InputName
                $"the checkpoint was trained on {s.Setup.NumTrain} examples, {t.InputName} has {t.NumTrain}."

        if s.Setup.Metric <> t.Metric.Name then
            Guard.fail
                fn
                "model"
                $"the checkpoint's metric is '{s.Setup.Metric}', the model's '{t.Metric.Name}' (another kind of model)."

        let shapes (m: Map<string, Tensor>) =
            m |> Map.toList |> List.map (fun (k, t) -> k, Guard.shapeText t.Dims)

        if shapes s.Params <> shapes t.Params then
            Guard.fail
                fn
                "model"
                $"the checkpoint's parameters {shapes s.Params} do not match the model's {shapes t.Params}."

        if shapes s.ModelState <> shapes t.State then
            Guard.fail
                fn
                "model"
                $"the checkpoint's model state {shapes s.ModelState} does not match the model's {shapes t.State}."

        if Set.ofSeq s.OptimStates.Keys <> Set.ofSeq s.Params.Keys then
            Guard.fail fn "state" "the optimizer states do not name the same parameters as the parameters."

        let total = iterationsPerEpoch config.BatchSize t.NumTrain

        if s.Iteration < s.Epoch * total || s.Iteration >= (s.Epoch + 1) * total then
            Guard.fail
                fn
                "state"
                $"iteration {s.Iteration} is not within epoch {s.Epoch + 1} ({total} iterations per epoch)."

    /// <summary>
    /// Runs the fold of any trainable from a state until NumEpochs epochs are complete, reporting progress. When
    /// CheckpointPath is set: before the first step it checks that the file can be written (a folder, a missing
    /// folder, a read-only folder or a full disk is an ArgumentException); it writes a checkpoint after each epoch
    /// and, when cancelled, of the state reached (mid-epoch states resume bit for bit). A save that fails during the
    /// run does not stop training: the failure is recorded in <c>CheckpointFailures</c> and later saves are tried
    /// again. Cancellation stops cleanly after the current step.
    /// </summary>
    let fold
        (hooks: SolverHooks)
        (rule: UpdateRule)
        (config: SolverConfig)
        (t: Trainable)
        (start: SolverState)
        : TrainingResult =
        validateConfig config
        checkCompatible rule config t start

        config.CheckpointPath
        |> Option.iter (Checkpoint.checkWritable "Solver" "CheckpointPath")

        let n = t.NumTrain
        let perEpoch = iterationsPerEpoch config.BatchSize n
        let total = perEpoch * config.NumEpochs
        let clock = Stopwatch.StartNew()
        let startIteration = start.Iteration
        let mutable examples = 0L
        // What this run saved: the iteration of the last saved state, the files written, the failures.
        let mutable savedIteration = start.Iteration
        let written = Collections.Generic.List<string>()
        let failures = Collections.Generic.List<CheckpointFailure>()

        let save (s: SolverState) =
            match config.CheckpointPath with
            | None -> ()
            | Some p ->
                let full = IO.Path.GetFullPath p

                try
                    Checkpoint.save full s
                    savedIteration <- s.Iteration

                    if not (written.Contains full) then
                        written.Add full
                with
                | :? IO.IOException
                | :? UnauthorizedAccessException
                | :? ArgumentException as e ->
                    failures.Add {
                        Path = full
                        Iteration = s.Iteration
                        Epoch = s.Epoch
                        Message = e.Message
                    }

        let rate () =
            let secs = clock.Elapsed.TotalSeconds
            if secs > 0.0 then float examples / secs else 0.0

        let event (kind: ProgressKind) (s: SolverState) (epoch: int) =
            let doneHere = s.Iteration - startIteration

            let eta =
                if doneHere > 0 then
                    TimeSpan.FromTicks(clock.Elapsed.Ticks / int64 doneHere * int64 (max 0 (total - s.Iteration)))
                else
                    TimeSpan.Zero

            hooks.OnProgress {
                Kind = kind
                Iteration = s.Iteration
                TotalIterations = total
                Epoch = epoch
                NumEpochs = config.NumEpochs
                Loss =
                    (if s.LossHistory.Count > 0 then
                         s.LossHistory.[s.LossHistory.Count - 1]
                     else
                         nan)
                Metric = s.Setup.Metric
                TrainMetric = s.TrainMetricHistory.[s.TrainMetricHistory.Count - 1]
                ValMetric = s.ValMetricHistory.[s.ValMetricHistory.Count - 1]
                LearningRate = s.LearningRate
                ExamplesPerSecond = rate ()
                Elapsed = clock.Elapsed
                Eta = eta
            }

        let finish (s: SolverState) (cancelled: bool) =
            // A cancelled run saves the state it reached, unless that state is already saved.
            if cancelled && s.Iteration <> savedIteration then
                save s

            {
                State = s
                Cancelled = cancelled
                Elapsed = clock.Elapsed
                ExamplesPerSecond = rate ()
                CheckpointsWritten = List.ofSeq written
                CheckpointFailures = List.ofSeq failures
            }

        // The fold: one epoch's minibatches at a time, from wherever the state stands.
        let rec epochs (s: SolverState) =
            if s.Epoch >= config.NumEpochs then
                finish s false
            elif hooks.Cancellation.IsCancellationRequested then
                finish s true
            else
                let batches = epochBatches s.Rng config.BatchSize n s.Epoch
                let first = s.Iteration - s.Epoch * perEpoch

                let rec stepsFrom (s: SolverState) (j: int) =
                    // Cancellation is checked between steps; a cancelled epoch returns its partial state.
                    if j = batches.Length then
                        Choice1Of2 s
                    elif hooks.Cancellation.IsCancellationRequested then
                        Choice2Of2 s
                    else
                        let s' = advance rule t batches.[j] s
                        examples <- examples + int64 batches.[j].Length

                        if s'.Iteration % config.PrintEvery = 0 then
                            event ProgressKind.Iteration s' (s'.Epoch + 1)

                        stepsFrom s' (j + 1)

                match stepsFrom s first with
                | Choice2Of2 partial -> finish partial true
                | Choice1Of2 s ->
                    let s = finishEpoch config t s
                    save s
                    event ProgressKind.Epoch s s.Epoch
                    epochs s

        epochs start

    /// <summary>Trains any trainable from scratch: <c>fold hooks rule config t (start rule config t)</c>.</summary>
    let fit (hooks: SolverHooks) (rule: UpdateRule) (config: SolverConfig) (t: Trainable) =
        fold hooks rule config t (start rule config t)

    /// <summary>
    /// Runs a classifier's fold from a state until NumEpochs epochs are complete: <c>fold</c> with
    /// <c>classifier config model data</c>.
    /// </summary>
    let run
        (hooks: SolverHooks)
        (rule: UpdateRule)
        (config: SolverConfig)
        (model: Model)
        (data: TrainingData)
        (start: SolverState)
        : TrainingResult =
        validateConfig config
        validateData data
        fold hooks rule config (classifier config model data) start

    /// <summary>Trains a classifier from scratch: <c>run hooks rule config model data (init rule config model data)</c>.</summary>
    let trainWith (hooks: SolverHooks) (rule: UpdateRule) (config: SolverConfig) (model: Model) (data: TrainingData) =
        run hooks rule config model data (init rule config model data)

    /// <summary>Trains a classifier from scratch with no progress reporting and no cancellation.</summary>
    let train (rule: UpdateRule) (config: SolverConfig) (model: Model) (data: TrainingData) =
        trainWith SolverHooks.None rule config model data

    /// <summary>
    /// Continues a classifier's run from a saved state (e.g. <c>Checkpoint.load path</c>) until NumEpochs epochs are
    /// complete. The rule, the batch size, the training-set size, the metric and the model's parameter names and
    /// shapes must match the checkpoint's. With the same options and data the result is bit for bit that of the
    /// uninterrupted run.
    /// </summary>
    let resume
        (hooks: SolverHooks)
        (rule: UpdateRule)
        (config: SolverConfig)
        (model: Model)
        (data: TrainingData)
        (state: SolverState)
        =
        run hooks rule config model data state
