namespace Functional

/// <summary>
/// What a training run records, as plain arrays for the figures: the minibatch loss of every iteration, the
/// training and validation accuracy before training (entry 0) and after each epoch, and the learning rate used in
/// each epoch. Made from a live run (<c>TrainingHistory.ofState</c>) or from the <c>history.json</c> file the
/// command-line <c>train</c> writes (<c>TrainingHistory.load</c>).
/// </summary>
[<NoComparison>]
type TrainingHistory = {
    /// <summary>A label for the run (the legend entry of comparison figures).</summary>
    Name: string
    /// <summary>The minibatch loss of iteration 1, 2, … (one per iteration).</summary>
    Loss: float[]
    /// <summary>Training accuracy in [0, 1]: entry 0 before training, entry e after epoch e.</summary>
    TrainAccuracy: float[]
    /// <summary>Validation accuracy in [0, 1]: entry 0 before training, entry e after epoch e.</summary>
    ValAccuracy: float[]
    /// <summary>The learning rate used during epoch 1, 2, … (entry e - 1 for epoch e).</summary>
    LearningRate: float[]
} with

    /// <summary>One line: the name, the iteration and epoch counts, the last validation accuracy.</summary>
    override h.ToString() =
        let last =
            if h.ValAccuracy.Length = 0 then
                nan
            else
                Array.last h.ValAccuracy

        $"TrainingHistory {h.Name}: {h.Loss.Length} iterations, {h.LearningRate.Length} epochs, validation accuracy {last:G4}"

namespace Functional.FSharp

open System
open System.IO
open System.Text.Json
open Functional

/// <summary>Builds a <see cref="T:Functional.TrainingHistory"/> from a run or from <c>history.json</c>.</summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module TrainingHistory =

    /// <summary>
    /// The learning rate of epochs 1 … epochs: lr0 · decay^(e − 1), the solver's per-epoch decay (the course's
    /// <c>lr_decay</c>).
    /// </summary>
    let learningRates (lr0: float) (decay: float) (epochs: int) =
        Array.init (max 0 epochs) (fun e -> lr0 * Math.Pow(decay, float e))

    /// <summary>
    /// The history of a solver state (live or resumed from a checkpoint). The per-epoch decay is recovered from the
    /// starting learning rate (Setup.RuleConfig) and the current one: decay = (lr / lr0)^(1 / epochs).
    /// </summary>
    let ofState (name: string) (s: SolverState) : TrainingHistory =
        let lr0 = s.Setup.RuleConfig.LearningRate

        let decay =
            if s.Epoch = 0 || lr0 = 0.0 then
                1.0
            else
                Math.Pow(s.LearningRate / lr0, 1.0 / float s.Epoch)

        {
            Name = name
            Loss = Seq.toArray s.LossHistory
            TrainAccuracy = Seq.toArray s.TrainMetricHistory
            ValAccuracy = Seq.toArray s.ValMetricHistory
            LearningRate = learningRates lr0 decay s.Epoch
        }

    let private floats (path: string) (root: JsonElement) (name: string) =
        match root.TryGetProperty name with
        | true, v when v.ValueKind = JsonValueKind.Array -> [| for x in v.EnumerateArray() -> x.GetDouble() |]
        | _ ->
            Guard.fail "TrainingHistory.load" "path" $"'{path}' has no array '{name}' (is it a history.json of train?)."

    let private number (root: JsonElement) (name: string) (fallback: float) =
        match root.TryGetProperty name with
        | true, v when v.ValueKind = JsonValueKind.Number -> v.GetDouble()
        | _ -> fallback

    /// <summary>
    /// Reads the <c>history.json</c> that <c>functional train</c> writes: lossHistory, trainAccuracyHistory,
    /// valAccuracyHistory, learningRate (the starting one), lrDecay (or LrDecay) and epochs. The name is the file's "model" and
    /// "rule" ("conv · adam"). Throws ArgumentException naming the file when it is missing or a field is absent.
    /// </summary>
    let load (path: string) : TrainingHistory =
        if String.IsNullOrWhiteSpace path || not (File.Exists path) then
            Guard.fail "TrainingHistory.load" "path" $"the history file '{path}' does not exist."

        use doc =
            try
                JsonDocument.Parse(File.ReadAllBytes path)
            with :? JsonException as e ->
                Guard.fail "TrainingHistory.load" "path" $"'{path}' is not valid JSON: {e.Message}"

        let root = doc.RootElement

        let text (n: string) =
            match root.TryGetProperty n with
            | true, v when v.ValueKind = JsonValueKind.String ->
                match v.GetString() with
                | null -> "?"
                | s -> s
            | _ -> "?"

        let valAcc = floats path root "valAccuracyHistory"
        let epochs = int (number root "epochs" (float (valAcc.Length - 1)))

        {
            Name = text "model" + " · " + text "rule"
            Loss = floats path root "lossHistory"
            TrainAccuracy = floats path root "trainAccuracyHistory"
            ValAccuracy = valAcc
            LearningRate =
                learningRates
                    (number root "learningRate" nan)
                    (number root "lrDecay" (number root "LrDecay" 1.0))
                    epochs
        }
