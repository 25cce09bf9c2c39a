/// The README's F# example, verbatim between the markers (ReadmeExamples checks that the texts agree).
module Functional.Properties.ReadmeFSharpExample

// README-BEGIN
open Functional
open Functional.FSharp

let rng = Rng.create 0L
let x = Tensor.randn (Rng.derive 0 rng) 1.0 [| 4; 10 |]
let w = Tensor.randn (Rng.derive 1 rng) 0.1 [| 10; 3 |]
let b = Tensor.zeros [| 3 |]
let labels = [| 0; 1; 2; 0 |]

let scores, cache = Affine.forward x w b
let loss = Losses.softmax scores labels
let grads = Affine.backward loss.Dscores cache

// Is dW right? Compare it with the centered-difference gradient of the loss.
let lossOfW w' =
    (Losses.softmax (fst (Affine.forward x w' b)) labels).Loss

let report = GradCheck.check "dW" 1e-7 lossOfW w grads.Dw
printfn "%O" report
// README-END

/// The README's F# convolution example.
module Conv =
    // README-BEGIN conv
    open Functional
    open Functional.FSharp

    let key = Rng.create 1L
    let x = Tensor.randn (Rng.derive 0 key) 1.0 [| 2; 3; 8; 8 |] // (N, C, H, W)
    let w = Tensor.randn (Rng.derive 1 key) 0.1 [| 4; 3; 3; 3 |] // (F, C, HH, WW)
    let b = Tensor.zeros [| 4 |]
    let cfg = ConvConfig.Create(stride = 2, pad = 1)

    let out, cache = Conv.forward cfg x w b // out: (2, 4, 4, 4)
    let dout = Tensor.randn (Rng.derive 2 key) 1.0 (Tensor.shape out)
    let g = Conv.backward dout cache // g.Dx, g.Dw, g.Db

    // The fast path (im2col + GEMM) against the readable loops, and dx against numeric gradients.
    let naive, _ = Conv.forwardNaive cfg x w b
    let sameAsNaive = GradCheck.relativeError out naive < 1e-10

    let dxReport =
        GradCheck.checkOf "conv dx" 1e-7 (fun x' -> fst (Conv.forward cfg x' w b)) x dout g.Dx
    // README-END conv

/// The README's F# autodiff example.
module AutodiffExample =
    // README-BEGIN autodiff
    open Functional
    open Functional.FSharp

    // The lecture's graph f = (x + y)·z, differentiated by the reverse sweep.
    let f (p: Map<string, Value>) = (p.["x"] + p.["y"]) * p.["z"]

    let inputs =
        Map [ "x", Tensor.scalar -2.0; "y", Tensor.scalar 5.0; "z", Tensor.scalar -4.0 ]

    let value, grads = Autodiff.gradients f inputs
    // value = -12; grads: x -> -4, y -> -4, z -> 3

    // A net is a plain function of its parameters; the layers are primitives with their hand-written backward.
    let key = Rng.create 2L
    let x = Tensor.randn (Rng.derive 0 key) 1.0 [| 5; 4 |]
    let labels = [| 0; 1; 2; 0; 1 |]

    let parameters =
        Map [
            "W1", Tensor.randn (Rng.derive 1 key) 0.5 [| 4; 8 |]
            "b1", Tensor.zeros [| 8 |]
            "W2", Tensor.randn (Rng.derive 2 key) 0.5 [| 8; 3 |]
            "b2", Tensor.zeros [| 3 |]
        ]

    let loss (p: Map<string, Value>) =
        let h = Layers.relu (Layers.affine (Autodiff.constant x) p.["W1"] p.["b1"])
        Layers.softmaxLoss (Layers.affine h p.["W2"] p.["b2"]) labels

    let lossValue, netGrads = Autodiff.gradients loss parameters // netGrads.["W1"]: (4, 8), …

    // The graph as Graphviz DOT, forward values and gradients on the edges (Graph.save also writes SVG).
    let dot = Graph.toDot true (f (Map.map Autodiff.variable inputs))
    // README-END autodiff
