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
    /// <summary>The latest training accuracy (checked before training and after each epoch).</summary>
    TrainAccuracy: float
    /// <summary>The latest validation accuracy.</summary>
    ValAccuracy: float
    /// <summary>The learning rate in use.</summary>
    LearningRate: float
    /// <summary>Training examples processed per second in this run so far.</summary>
    ExamplesPerSecond: float
    /// <summary>Time spent in this run so far.</summary>
    Elapsed: TimeSpan
    /// <summary>Estimated time to the end of the run, from the average iteration time so far.</summary>
    Eta: TimeSpan
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>
/// Raised when the training loss becomes NaN or infinite. Training stops; the exception carries the iteration where
/// it happened and the best parameters found before it (with their validation accuracy).
/// </summary>
type TrainingDivergedException
    (
        message: string,
        iteration: int,
        epoch: int,
        loss: float,
        bestParameters: IReadOnlyDictionary<string, Tensor>,
        bestModelState: IReadOnlyDictionary<string, Tensor>,
        bestValAccuracy: float
    ) =
    inherit Exception(message)

    /// <summary>The iteration (1-based count over all epochs) whose loss was not finite.</summary>
    member _.Iteration = iteration
    /// <summary>The epoch (1-based) in progress.</summary>
    member _.Epoch = epoch
    /// <summary>The loss value (NaN or ±∞).</summary>
    member _.Loss = loss

    /// <summary>The parameters with the best validation accuracy before training diverged.</summary>
    member _.BestParameters: IReadOnlyDictionary<string, Tensor> = bestParameters

    /// <summary>The model state that goes with the best parameters.</summary>
    member _.BestModelState: IReadOnlyDictionary<string, Tensor> = bestModelState

    /// <summary>The validation accuracy of the best parameters.</summary>
    member _.BestValAccuracy = bestValAccuracy

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
type SolverResult = {
    /// <summary>The final state: also what a checkpoint of this run holds.</summary>
    State: SolverState
    /// <summary>True when the run stopped early because it was cancelled.</summary>
    Cancelled: bool
    /// <summary>Wall-clock time of this run (not counting earlier runs of a resumed training).</summary>
    Elapsed: TimeSpan
    /// <summary>Training examples processed per second in this run.</summary>
    ExamplesPerSecond: float
}

/// <summary>
/// The training loop: a fold over minibatches. Each epoch visits the training set in a random order (a permutation
/// derived from the run's key and the epoch) in minibatches of BatchSize, the last one possibly smaller; each step
/// runs the model's loss, then the update rule on every parameter. After each epoch the accuracies are checked, the
/// best parameters kept, the learning rate decayed and, when asked, a checkpoint written. Everything is a value
/// threaded through the fold, so the same seed gives the same run, and resuming a checkpoint gives bit for bit the
/// uninterrupted run.
/// </summary>
[<RequireQualifiedAccess>]
module Solver =
    // Independent streams derived from the run's key.
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
        | Some p when not (IO.Directory.Exists(IO.Path.GetDirectoryName(IO.Path.GetFullPath p))) ->
            Guard.fail
                fn
                "CheckpointPath"
                $"the folder of CheckpointPath '{p}' does not exist (checkpoints are written after each epoch)."
        | _ -> ()

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

            let pred = scores.ArgMax 1

            for j in 0 .. chunk.Length - 1 do
                if pred.[j] = y.[chunk.[j]] then
                    correct <- correct + 1

        float correct / float idx.Length

    let private accuracies (config: SolverConfig) (model: Model) (data: TrainingData) (s: SolverState) (epoch: int) =
        let trainAcc =
            checkAccuracy
                model
                s.Params
                s.ModelState
                data.XTrain
                data.YTrain
                config.NumTrainSamples
                config.BatchSize
                ((s.Rng.Derive trainSampleStream).Derive epoch)

        let valAcc =
            checkAccuracy
                model
                s.Params
                s.ModelState
                data.XVal
                data.YVal
                config.NumValSamples
                config.BatchSize
                ((s.Rng.Derive valSampleStream).Derive epoch)

        trainAcc, valAcc

    /// <summary>
    /// The state a run starts from: the model's parameters and state, the rule's initial optimizer states, the key
    /// from the seed, and the accuracies of the untrained model (history entry 0). Validates the options, the data
    /// and the labels (against the number of classes the model scores).
    /// </summary>
    let init (rule: UpdateRule) (config: SolverConfig) (model: Model) (data: TrainingData) : SolverState =
        if isNull (box rule) then
            Guard.fail "Solver" "rule" "the update rule must not be null."

        if isNull (box model) then
            Guard.fail "Solver" "model" "the model must not be null."

        validateConfig config
        Optim.validateConfig "Solver" rule.Config
        validateData data

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

        let s = {
            Setup = {
                ModelName = model.Name
                RuleName = rule.Name
                RuleConfig = rule.Config
                BatchSize = config.BatchSize
                NumTrain = data.XTrain.Dims.[0]
            }
            Params = model.Params
            ModelState = model.State
            OptimStates = model.Params |> Map.map (fun _ w -> rule.Init w)
            LearningRate = rule.Config.LearningRate
            Rng = Rng.Create config.Seed
            Epoch = 0
            Iteration = 0
            LossHistory = ImmutableList<float>.Empty
            TrainAccHistory = ImmutableList<float>.Empty
            ValAccHistory = ImmutableList<float>.Empty
            BestValAcc = Double.NegativeInfinity
            BestParams = model.Params
            BestModelState = model.State
        }

        let trainAcc, valAcc = accuracies config model data s 0

        {
            s with
                TrainAccHistory = s.TrainAccHistory.Add trainAcc
                ValAccHistory = s.ValAccHistory.Add valAcc
                BestValAcc = valAcc
        }

    /// <summary>
    /// One iteration, pure: the model's loss and gradients on the minibatch <paramref name="batch"/> (indices into
    /// the training set), then the update rule on every parameter with the current learning rate. Raises
    /// <see cref="T:Functional.TrainingDivergedException"/> when the loss is NaN or infinite.
    /// </summary>
    let step (rule: UpdateRule) (model: Model) (data: TrainingData) (batch: int[]) (s: SolverState) : SolverState =
        let t = s.Iteration
        let xb = data.XTrain.Take batch
        let yb = Array.map (fun i -> data.YTrain.[i]) batch
        let dropout = (s.Rng.Derive dropoutStream).Derive t
        let r = model.Loss s.Params s.ModelState dropout xb yb

        if Double.IsNaN r.Loss || Double.IsInfinity r.Loss then
            let message =
                $"Solver: the loss became {r.Loss} at iteration {t + 1} (epoch {s.Epoch + 1}); training stopped. "
                + $"The exception carries the best parameters so far (validation accuracy {s.BestValAcc}). "
                + "A smaller learning rate or weight scale usually helps."

            raise (
                TrainingDivergedException(
                    message,
                    t + 1,
                    s.Epoch + 1,
                    r.Loss,
                    s.BestParams,
                    s.BestModelState,
                    s.BestValAcc
                )
            )

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

                rule.Step config s.OptimStates.[name] w dw)

        {
            s with
                Params = updated |> Map.map (fun _ (w, _) -> w)
                OptimStates = updated |> Map.map (fun _ (_, o) -> o)
                ModelState = r.State
                Iteration = t + 1
                LossHistory = s.LossHistory.Add r.Loss
        }

    /// <summary>
    /// The end of an epoch, pure: the epoch count advances, the accuracies are checked (history), the best
    /// parameters are kept when the validation accuracy improves, and the learning rate is decayed.
    /// </summary>
    let endEpoch (config: SolverConfig) (model: Model) (data: TrainingData) (s: SolverState) : SolverState =
        let s = { s with Epoch = s.Epoch + 1 }
        let trainAcc, valAcc = accuracies config model data s s.Epoch
        let better = valAcc > s.BestValAcc

        {
            s with
                TrainAccHistory = s.TrainAccHistory.Add trainAcc
                ValAccHistory = s.ValAccHistory.Add valAcc
                BestValAcc = if better then valAcc else s.BestValAcc
                BestParams = if better then s.Params else s.BestParams
                BestModelState = if better then s.ModelState else s.BestModelState
                LearningRate = s.LearningRate * config.LrDecay
        }

    let private checkCompatible
        (rule: UpdateRule)
        (config: SolverConfig)
        (model: Model)
        (data: TrainingData)
        (s: SolverState)
        =
        let fn = "Solver.resume"

        if isNull (box s) then
            Guard.fail fn "state" "the state to resume must not be null."

        if s.Setup.RuleName <> rule.Name then
            Guard.fail fn "rule" $"the checkpoint was trained with the rule '{s.Setup.RuleName}', not '{rule.Name}'."

        if s.Setup.BatchSize <> config.BatchSize then
            Guard.fail
                fn
                "BatchSize"
                $"the checkpoint was trained with batch size {s.Setup.BatchSize}, the options ask for {config.BatchSize}."

        if s.Setup.NumTrain <> data.XTrain.Dims.[0] then
            Guard.fail
                fn
                "XTrain"
                $"the checkpoint was trained on {s.Setup.NumTrain} examples, XTrain has {data.XTrain.Dims.[0]}."

        let shapes (m: Map<string, Tensor>) =
            m |> Map.toList |> List.map (fun (k, t) -> k, Guard.shapeText t.Dims)

        if shapes s.Params <> shapes model.Params then
            Guard.fail
                fn
                "model"
                $"the checkpoint's parameters {shapes s.Params} do not match the model's {shapes model.Params}."

        if shapes s.ModelState <> shapes model.State then
            Guard.fail
                fn
                "model"
                $"the checkpoint's model state {shapes s.ModelState} does not match the model's {shapes model.State}."

        if Set.ofSeq s.OptimStates.Keys <> Set.ofSeq s.Params.Keys then
            Guard.fail fn "state" "the optimizer states do not name the same parameters as the parameters."

        let total = iterationsPerEpoch config.BatchSize data.XTrain.Dims.[0]

        if s.Iteration < s.Epoch * total || s.Iteration >= (s.Epoch + 1) * total then
            Guard.fail
                fn
                "state"
                $"iteration {s.Iteration} is not within epoch {s.Epoch + 1} ({total} iterations per epoch)."

    /// <summary>
    /// Runs the fold from a state until NumEpochs epochs are complete, reporting progress, writing a checkpoint after
    /// each epoch when CheckpointPath is set, and stopping cleanly after the current step when cancelled.
    /// </summary>
    let run
        (hooks: SolverHooks)
        (rule: UpdateRule)
        (config: SolverConfig)
        (model: Model)
        (data: TrainingData)
        (start: SolverState)
        : SolverResult =
        validateConfig config
        validateData data
        checkCompatible rule config model data start
        let n = data.XTrain.Dims.[0]
        let perEpoch = iterationsPerEpoch config.BatchSize n
        let total = perEpoch * config.NumEpochs
        let clock = Stopwatch.StartNew()
        let startIteration = start.Iteration
        let mutable examples = 0L

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
                TrainAccuracy = s.TrainAccHistory.[s.TrainAccHistory.Count - 1]
                ValAccuracy = s.ValAccHistory.[s.ValAccHistory.Count - 1]
                LearningRate = s.LearningRate
                ExamplesPerSecond = rate ()
                Elapsed = clock.Elapsed
                Eta = eta
            }

        let finish (s: SolverState) (cancelled: bool) = {
            State = s
            Cancelled = cancelled
            Elapsed = clock.Elapsed
            ExamplesPerSecond = rate ()
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
                        let s' = step rule model data batches.[j] s
                        examples <- examples + int64 batches.[j].Length

                        if s'.Iteration % config.PrintEvery = 0 then
                            event ProgressKind.Iteration s' (s'.Epoch + 1)

                        stepsFrom s' (j + 1)

                match stepsFrom s first with
                | Choice2Of2 partial -> finish partial true
                | Choice1Of2 s ->
                    let s = endEpoch config model data s
                    config.CheckpointPath |> Option.iter (fun p -> Checkpoint.save p s)
                    event ProgressKind.Epoch s s.Epoch
                    epochs s

        epochs start

    /// <summary>Trains a model from scratch: <c>run hooks rule config model data (init rule config model data)</c>.</summary>
    let trainWith (hooks: SolverHooks) (rule: UpdateRule) (config: SolverConfig) (model: Model) (data: TrainingData) =
        run hooks rule config model data (init rule config model data)

    /// <summary>Trains a model from scratch with no progress reporting and no cancellation.</summary>
    let train (rule: UpdateRule) (config: SolverConfig) (model: Model) (data: TrainingData) =
        trainWith SolverHooks.None rule config model data

    /// <summary>
    /// Continues a run from a saved state (e.g. <c>Checkpoint.load path</c>) until NumEpochs epochs are complete.
    /// The rule, the batch size, the training-set size and the model's parameter names and shapes must match the
    /// checkpoint's. With the same options and data the result is bit for bit that of the uninterrupted run.
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
