/// The README's F# example of saving and loading a trained model, verbatim between the markers
/// (ModelFileProperties checks that the texts agree and that the example runs).
module Functional.Properties.ModelFileReadmeExample

// README-BEGIN model
open Functional
open Functional.FSharp

let split, _ = Preprocess.subtractMean (Digits.load ())
let train = Dataset.head 1000 split.Train

let config =
    FullyConnectedNet {
        Nets.fullyConnectedDefaults with
            HiddenDims = [ 50 ]
            InputDim = 28 * 28
            Normalization = Normalization.Batch
    }

let data = {
    XTrain = train.X
    YTrain = train.Y
    XVal = split.Val.X
    YVal = split.Val.Y
}

let settings = {
    SolverConfig.Defaults with
        NumEpochs = 2
        BatchSize = 50
}

let result = Solver.train Optim.adam settings (Model.ofConfig config) data
let path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "digits-fc.npz")
Model.save path config result.State.BestParams result.State.BestModelState

// Later, in another program: the file brings the net's kind and settings with its parameters.
let _, model = Model.load path
let scores = model.Scores model.Params model.State split.Test.X
let predicted = Tensor.argmax 1 scores
printfn "test accuracy %.3f" (Losses.accuracy scores split.Test.Y)
// README-END model
