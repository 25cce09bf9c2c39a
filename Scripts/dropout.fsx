// Walkthrough 3: dropout (the course's Dropout notebook): on a small training set, a net without dropout fits the
// training images perfectly while its validation accuracy stalls; with dropout the gap closes.
// Build first (dotnet build Functional.sln), then: dotnet fsi Scripts/dropout.fsx
// Figures go to Scripts/figures/dropout-*.html; FUNCTIONAL_WALKTHROUGH=small runs a reduced version (CI).
#load "Library.fsx"

open Functional
open Functional.FSharp
open Library

// 500 training images (the course's setting) and a wide two-layer net: easy to overfit.
let data, _ = digits (pick 500 100) (pick 1000 200)

let net keep =
    Nets.fullyConnected {
        Nets.fullyConnectedDefaults with
            HiddenDims = [ 500 ]
            InputDim = 784
            NumClasses = 10
            WeightScale = 1e-2
            // Inverted dropout: each hidden unit is kept with this probability in training and the kept ones are
            // scaled by 1 / keep, so nothing changes at test time (keep = 1: no dropout).
            DropoutKeepProbability = keep
    }

let config = {
    SolverConfig.Defaults with
        NumEpochs = pick 25 3
        BatchSize = 100
        PrintEvery = 1000
}

let runs = [
    for keep in [ 1.0; 0.25 ] ->
        fst (
            train
                (if keep = 1.0 then "no dropout" else $"keep {keep}")
                (Optim.withLearningRate 5e-4 Optim.adam)
                config
                (net keep)
                data
        )
]

// Training accuracy (dashed) reaches 1 without dropout; the validation accuracies (solid) tell which generalizes.
save "accuracy" (Plot.compareAccuracy runs)
save "loss" (Plot.compareLoss false runs)
