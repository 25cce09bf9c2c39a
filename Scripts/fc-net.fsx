// A fully connected net written as functions over differentiable values: build it, check its gradients, overfit a small dataset.
// Build first (dotnet build Functional.sln), then: dotnet fsi Scripts/fc-net.fsx
#r "nuget: System.Numerics.Tensors, 10.0.0"
#r "../Core.FSharp/bin/Debug/net10.0/Functional.Core.dll"

open Functional
open Functional.FSharp

// 1. The net: {affine -> ReLU} x 2 -> affine -> softmax, on 20 features and 5 classes, with L2 regularization.
let config = {
    Nets.fullyConnectedDefaults with
        HiddenDims = [ 30; 30 ]
        InputDim = 20
        NumClasses = 5
        WeightScale = 0.1
        Reg = 0.01
        Seed = 0L
}

let net = Nets.fullyConnected config
printfn "%s" net.Name

for KeyValue(name, p) in net.Params do
    printfn "  %-3s %A" name (Tensor.shape p)

// Its forward pass as a graph of layer primitives, and what each one outputs on a batch.
let rng = Rng.create 1L
let x = Tensor.randn (Rng.derive 0 rng) 1.0 [| 50; 20 |]
let y = rng |> Rng.derive 1 |> Rng.uniforms 50 |> Array.map (fun u -> int (u * 5.0))

let parameters = net.Params |> Map.map (fun _ t -> Autodiff.constant t)

let scores, _ =
    (Nets.fullyConnectedNet config).Apply parameters net.State Mode.Train (Rng.derive 2 rng) (Autodiff.constant x)

for v in Autodiff.nodes scores do
    if not v.Inputs.IsEmpty then
        let out = Autodiff.primal v
        printfn "  %-12s -> %A, mean %.3f" v.Gate (Tensor.shape out) (Tensor.sumAll out / float (Tensor.size out))

// 2. Its gradients against centered differences, on a small batch (the reverse sweep runs the pullbacks). Some gradients
//    are near 0, where the numeric gradient's absolute round-off (~1e-11) dominates the course's rel_error, so the
//    relative error's denominator is floored at 1e-2: near 0 the check is |analytic - numeric| <= 1e-9.
let xs, ys = Tensor.slice 0 0 5 x, y.[0..4]
let result = net.Loss net.Params net.State (Rng.derive 3 rng) xs ys
printfn "initial loss %.4f (log 5 = %.4f)" result.Loss (log 5.0)

for KeyValue(name, p) in net.Params do
    let lossOf t =
        (net.Loss (Map.add name t net.Params) net.State (Rng.derive 3 rng) xs ys).Loss

    let numeric = GradCheck.numericGradient GradCheck.DefaultStep lossOf p
    printfn "  %O" (GradCheck.compareWith 1e-2 $"d{name}" 1e-7 result.Grads.[name] numeric)

// 3. Overfit the 50 examples with a tiny inline SGD loop: p <- p - lr * dp, full batch.
let learningRate = 0.5

let accuracy (p: Map<string, Tensor>) =
    Losses.accuracy (net.Scores p net.State x) y

let trained =
    (net.Params, [ 1..100 ])
    ||> List.fold (fun p epoch ->
        let r = net.Loss p net.State (Rng.derive epoch rng) x y

        if epoch = 1 || epoch % 20 = 0 then
            printfn "  epoch %3d  loss %.4f  train accuracy %.2f" epoch r.Loss (accuracy p)

        p |> Map.map (fun name w -> w - r.Grads.[name] * learningRate))

printfn "final train accuracy %.2f" (accuracy trained)
