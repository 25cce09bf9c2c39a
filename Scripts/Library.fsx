// The one place the walkthroughs load the library from. Every build of Core.FSharp (Debug or Release) copies
// Functional.Core.dll and the packages it uses to Scripts/bin, so a walkthrough only needs:
//     #load "Library.fsx"
// after `dotnet build Functional.sln`. It also gives the walkthroughs their size and where their figures go.
#r "bin/System.Numerics.Tensors.dll"
#r "bin/DynamicObj.dll"
#r "bin/Newtonsoft.Json.dll"
#r "bin/Giraffe.ViewEngine.dll"
#r "bin/Plotly.NET.dll"
#r "bin/Functional.Core.dll"

open System
open System.IO

/// How big the walkthroughs run: FUNCTIONAL_WALKTHROUGH=small (CI) runs each on a fraction of the data and epochs.
let small = Environment.GetEnvironmentVariable "FUNCTIONAL_WALKTHROUGH" = "small"

/// `full` normally, `reduced` when FUNCTIONAL_WALKTHROUGH=small.
let pick full reduced = if small then reduced else full

/// Where the figures go: Scripts/figures, next to the scripts.
let figures = Path.Combine(__SOURCE_DIRECTORY__, "figures")

/// The running walkthrough's name (its file name without .fsx): the prefix of its figures.
let walkthrough =
    fsi.CommandLineArgs
    |> Array.tryHead
    |> Option.map Path.GetFileNameWithoutExtension
    |> Option.defaultValue "interactive"

/// Saves a chart as figures/<walkthrough>-<name>.html (self-contained: open it in any browser, offline).
let save (name: string) (chart: Plotly.NET.GenericChart) =
    Directory.CreateDirectory figures |> ignore
    let path = Path.Combine(figures, $"{walkthrough}-{name}.html")
    Functional.FSharp.Figure.saveHtml path chart
    printfn "figure: %s" path

open Functional
open Functional.FSharp

/// The embedded digits (28×28 grayscale, split 8,000 / 1,000 / 1,000), mean image subtracted, cut to the first
/// `train` training and `validation` validation images (the course's small-data experiments).
let digits (train: int) (validation: int) : TrainingData * DataSplit =
    let split, _ = Preprocess.subtractMean (Digits.load ())

    {
        XTrain = split.Train.X |> Tensor.slice 0 0 train
        YTrain = split.Train.Y.[.. train - 1]
        XVal = split.Val.X |> Tensor.slice 0 0 validation
        YVal = split.Val.Y.[.. validation - 1]
    },
    split

/// Trains with the solver and returns the run's history under a name (for the comparison figures) and the result.
let train (name: string) (rule: UpdateRule) (config: SolverConfig) (model: Model) (data: TrainingData) =
    let result = Solver.train rule config model data

    printfn
        "%-28s %d iterations, final loss %.3f, val accuracy %.3f"
        name
        result.State.Iteration
        (Seq.last result.State.LossHistory)
        (Seq.last result.State.ValMetricHistory)

    TrainingHistory.ofState name result.State, result
