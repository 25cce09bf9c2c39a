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
let loss = Loss.softmax scores labels
let grads = Affine.backward loss.Dscores cache

// Is dW right? Compare it with the centered-difference gradient of the loss.
let lossOfW w' =
    (Loss.softmax (fst (Affine.forward x w' b)) labels).Loss

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
