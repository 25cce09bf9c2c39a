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
