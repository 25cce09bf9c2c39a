// The backpropagation lecture with autodiff: the computational graphs of its slides, drawn, and its two-layer sigmoid
// net trained for 2,000 steps with gradients from the reverse sweep, checked against the lecture's hand-derived ones.
// Build first (dotnet build Functional.sln), then: dotnet fsi Scripts/backprop.fsx
// Figures go to Scripts/figures/backprop-*; FUNCTIONAL_WALKTHROUGH=small runs 200 steps instead of 2,000 (CI).
#load "Library.fsx"

open System.IO
open Functional
open Functional.FSharp
open Library

// 1. The sigmoid neuron f = 1 / (1 + e^-(w0·x0 + w1·x1 + w2)), its sigmoid written as the lecture's four gates.
let inputs =
    Map [ "w0", 2.0; "x0", -1.0; "w1", -3.0; "x1", -2.0; "w2", -3.0 ]
    |> Map.map (fun _ v -> Tensor.scalar v)

let neuron (p: Map<string, Value>) =
    let z = p.["w0"] * p.["x0"] + p.["w1"] * p.["x1"] + p.["w2"]
    1.0 / (Ops.exp (z * -1.0) + 1.0)

let f, grads = Autodiff.gradients neuron inputs
printfn "f = %.2f" f // 0.73

for KeyValue(name, g) in grads do
    printfn "  df/d%s = %.2f" name (Tensor.item g) // w0 -0.20, x0 0.39, w1 -0.39, x1 -0.59, w2 0.20

// Drawn as on the slides: forward values (green) and gradients (red) on the edges; SVG when Graphviz is installed.
let dot = Graph.toDot true (neuron (inputs |> Map.map Autodiff.variable))
Directory.CreateDirectory figures |> ignore
printfn "%s" (Graph.save (Path.Combine(figures, "backprop-neuron")) dot)

// 2. The lecture's two-layer net: h = σ(x·w1), ŷ = h·w2, loss = Σ(ŷ − y)², plain steps of 1e-4.
let n, dIn, h, dOut = 64, 1000, 100, 10
let key = Rng.create 0L
let x = Tensor.randn (Rng.derive 0 key) 1.0 [| n; dIn |]
let y = Tensor.randn (Rng.derive 1 key) 1.0 [| n; dOut |]

let loss (p: Map<string, Value>) =
    let hidden = Layers.sigmoid (Ops.matmul (Autodiff.constant x) p.["w1"])
    let diff = Ops.matmul hidden p.["w2"] - Autodiff.constant y
    Ops.sum [||] false (diff * diff)

// The lecture's hand-derived gradients, for comparison.
let byHand (w1: Tensor) (w2: Tensor) =
    let hidden = Tensor.map Sigmoid.value (Tensor.matmul x w1)
    let gradYPred = 2.0 * (Tensor.matmul hidden w2 - y)
    let gradW2 = Tensor.matmul (Tensor.transpose hidden) gradYPred
    let gradH = Tensor.matmul gradYPred (Tensor.transpose w2)
    Tensor.matmul (Tensor.transpose x) (gradH * hidden * (1.0 - hidden)), gradW2

let mutable parameters =
    Map [
        "w1", Tensor.randn (Rng.derive 2 key) 1.0 [| dIn; h |]
        "w2", Tensor.randn (Rng.derive 3 key) 1.0 [| h; dOut |]
    ]

let steps = pick 2000 200
let losses = ResizeArray<float * float>()

for t in 0 .. steps - 1 do
    let value, g = Autodiff.gradients loss parameters
    losses.Add(float (t + 1), value)

    if t % 200 = 0 then
        let gw1, gw2 = byHand parameters.["w1"] parameters.["w2"]

        printfn
            "step %4d: loss %10.2f   autodiff vs hand-derived: w1 %.1e, w2 %.1e"
            t
            value
            (GradCheck.relativeError g.["w1"] gw1)
            (GradCheck.relativeError g.["w2"] gw2)

    parameters <- parameters |> Map.map (fun name w -> w - 1e-4 * g.[name])

printfn "final loss %.2f" (fst (Autodiff.gradients loss parameters))

// The loss curve of those steps: gradients from the reverse sweep, plain steps of 1e-4.
save "loss" (Plot.sweep "two-layer sigmoid net, squared error" "step" "loss" [ "loss", losses.ToArray() ])
