// Walkthrough 2: batch normalization (the course's BatchNormalization notebook): a deep fully connected net trains
// faster with batchnorm, and is far less sensitive to the scale of its initial weights.
// Build first (dotnet build Functional.sln), then: dotnet fsi Scripts/batchnorm.fsx
// Figures go to Scripts/figures/batchnorm-*.html; FUNCTIONAL_WALKTHROUGH=small runs a reduced version (CI).
#load "Library.fsx"

open System
open Functional
open Functional.FSharp
open Library

// The course's small-data setting: 1,000 training images, a net of five hidden layers of 50 units.
let data, _ = digits (pick 1000 200) (pick 500 100)

let net (normalization: Normalization) (weightScale: float) =
    Nets.fullyConnected {
        Nets.fullyConnectedDefaults with
            HiddenDims = List.replicate 5 50
            InputDim = 784
            NumClasses = 10
            WeightScale = weightScale
            Normalization = normalization
    }

let config = {
    SolverConfig.Defaults with
        NumEpochs = pick 10 2
        BatchSize = 50
        PrintEvery = 1000
}

let adam = Optim.withLearningRate 1e-3 Optim.adam

// 1. Same net, same weights scale (2e-2), with and without batchnorm: batchnorm's loss falls faster.
let baseline, _ = train "baseline" adam config (net Normalization.None 2e-2) data
let batchnorm, _ = train "batchnorm" adam config (net Normalization.Batch 2e-2) data
save "loss" (Plot.compareLoss false [ baseline; batchnorm ])
save "accuracy" (Plot.compareAccuracy [ baseline; batchnorm ])

// 2. The weight-scale sweep: train both nets for each initial weight scale from 1e-4 to 1. Without batchnorm,
//    small scales make the activations vanish layer after layer and large ones explode (the loss can become NaN:
//    the solver then stops and reports the best validation accuracy it reached); with batchnorm every layer's
//    input is re-normalized, so the accuracy stays up over most of the range.
let scales =
    let k = pick 9 3
    Array.init k (fun i -> 10.0 ** (-4.0 + 4.0 * float i / float (k - 1)))

let bestValAccuracy normalization scale =
    try
        let _, result =
            train $"{normalization} scale {scale:G2}" adam config (net normalization scale) data

        result.State.BestValMetric
    with :? TrainingDivergedException as e ->
        printfn "  diverged at iteration %d" e.Iteration
        e.BestValAccuracy

let sweep = [
    for normalization in [ Normalization.None; Normalization.Batch ] ->
        (if normalization = Normalization.None then
             "baseline"
         else
             "batchnorm"),
        scales |> Array.map (fun s -> s, bestValAccuracy normalization s)
]

save "weight-scale" (Plot.weightScaleSweep "best validation accuracy" sweep)
