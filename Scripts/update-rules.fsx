// Walkthrough 1: fully connected nets and update rules (the course's FullyConnectedNets notebook).
// Build first (dotnet build Functional.sln), then: dotnet fsi Scripts/update-rules.fsx
// Figures go to Scripts/figures/update-rules-*.html; FUNCTIONAL_WALKTHROUGH=small runs a reduced version (CI).
#load "Library.fsx"

open Functional
open Functional.FSharp
open Library

// 1. The net: {affine -> ReLU} x 2 -> affine -> softmax, on 20 features and 5 classes, with L2 regularization.
let config = {
    Nets.fullyConnectedDefaults with
        HiddenDims = [ 30; 30 ]
        InputDim = 20
        NumClasses = 5
        WeightScale = 0.1
        Reg = 0.01
}

let net = Nets.fullyConnected config
let rng = Rng.create 1L
let x = Tensor.randn (Rng.derive 0 rng) 1.0 [| 50; 20 |]
let y = rng |> Rng.derive 1 |> Rng.uniforms 50 |> Array.map (fun u -> int (u * 5.0))

// 2. Its gradients against centered differences, on 5 examples. Some gradients are near 0, where the numeric
//    gradient's round-off (~1e-11) dominates the course's rel_error, so the denominator is floored at 1e-2.
let xs, ys = Tensor.slice 0 0 5 x, y.[0..4]
let loss0 = net.Loss net.Params net.State (Rng.derive 3 rng) xs ys
printfn "initial loss %.4f (log 5 = %.4f: small random weights score every class alike)" loss0.Loss (log 5.0)

let checks = [
    for KeyValue(name, p) in net.Params ->
        let lossOf t =
            (net.Loss (Map.add name t net.Params) net.State (Rng.derive 3 rng) xs ys).Loss

        let numeric = GradCheck.numericGradient GradCheck.DefaultStep lossOf p
        $"d{name}", GradCheck.compareWith 1e-2 $"d{name}" 1e-7 loss0.Grads.[name] numeric
]

save "gradient-check" (Plot.gradCheck checks)

// 3. A sanity check from the course: a net this size must overfit 50 examples (training accuracy 1.0) quickly.
//    The loss curve on a log axis shows it falling by orders of magnitude.
let tiny = {
    XTrain = x
    YTrain = y
    XVal = x
    YVal = y
}

let overfit, _ =
    train
        "overfit 50 examples"
        (Optim.withLearningRate 0.5 Optim.sgd)
        {
            SolverConfig.Defaults with
                NumEpochs = pick 100 30
                BatchSize = 50
        }
        net
        tiny

save "overfit-loss" (Plot.loss true overfit)

// 4. The four update rules on the digits (784 inputs, 10 classes, two hidden layers of 100): plain SGD crawls,
//    momentum and RMSProp do better, Adam best, as in the course's comparison plots.
let data, _ = digits (pick 4000 500) (pick 1000 200)

let digitsNet =
    Nets.fullyConnected {
        Nets.fullyConnectedDefaults with
            HiddenDims = [ 100; 100 ]
            InputDim = 784
            NumClasses = 10
            WeightScale = 5e-2
    }

let solverConfig = {
    SolverConfig.Defaults with
        NumEpochs = pick 5 2
        BatchSize = 100
        PrintEvery = 1000
}

let runs = [
    for name, rule, lr in
        [
            "sgd", Optim.sgd, 1e-2
            "momentum", Optim.momentum, 1e-2
            "rmsprop", Optim.rmsprop, 1e-4
            "adam", Optim.adam, 1e-3
        ] -> train name (Optim.withLearningRate lr rule) solverConfig digitsNet data
]

save "loss" (Plot.compareLoss false (List.map fst runs))
save "accuracy" (Plot.compareAccuracy (List.map fst runs))

// 5. What the first layer learned (Adam's run): each hidden unit's 784 weights drawn as a 28×28 image.
let w1 = (snd (List.last runs)).State.Params.["W1"] // (784, 100)

let units =
    w1
    |> Tensor.transpose
    |> Tensor.slice 0 0 36
    |> Tensor.reshape [| 36; 1; 28; 28 |]

save "first-layer" (Plot.imageGrid "First-layer weights (36 hidden units)" units)
