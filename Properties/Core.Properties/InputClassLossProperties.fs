/// Softmax far from zero: rows whose logits are all ≤ −1e3, and shifts of up to ±1e4 in both directions, give the
/// same finite loss and gradient as the unshifted rows (softmax, temporal softmax, and the SVM where its shift
/// invariance holds: away from the hinge).
module Functional.Properties.InputClassLossProperties

open System
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators
open Functional.Properties.InputClass

/// Per-row shifts: for rows r ≡ 0, 1, 2, 3 (mod 4) one in [−1e4, −1e3 − 10] (every logit of the row ≤ −1e3, the
/// normal draws being within ±10 with overwhelming probability), exactly −1e4, one in [1e3, 1e4], exactly +1e4.
let private shiftOf (rng: Rng) (r: int) =
    match r % 4 with
    | 0 -> uniform (rng.Derive r) -1e4 (-1e3 - 10.0)
    | 1 -> -1e4
    | 2 -> uniform (rng.Derive r) 1e3 1e4
    | _ -> 1e4

/// Adding 1e4 to an O(1) value rounds it by up to ulp(1e4)/2 ≈ 9e-13; the loss and the gradient move by a few
/// such roundings.
[<Literal>]
let private ShiftTol = 1e-10

let private finite (case: string) (what: string) (xs: float[]) =
    xs
    |> Array.iteri (fun i v -> Prop.ensure (Double.IsFinite v) (fun () -> $"{case}: {what}[{i}] = {v}"))

[<Fact>]
let ``softmax of the rows [-1000, -1001] is log(1 + 1/e), finite, with the exact gradient`` () =
    let s = Tensor.ofArray [| 2; 2 |] [| -1000.0; -1001.0; -1001.0; -1000.0 |]
    let r = Losses.softmax s [| 0; 1 |]
    let expected = Math.Log(1.0 + Math.Exp -1.0) // 0.31326168751822286
    Prop.ensure (abs (r.Loss - expected) <= 1e-14) (fun () -> $"loss {r.Loss:R}, expected {expected:R}")
    let p = 1.0 / (1.0 + Math.E) // the smaller logit's probability
    within "dscores" 0.0 1e-15 [| -p / 2.0; p / 2.0; p / 2.0; -p / 2.0 |] (Tensor.toArray r.Dscores)

[<Property(MaxTest = 100)>]
let ``softmax loss and gradient are unchanged and finite under row shifts up to ±1e4, all-negative rows included`` () =
    Prop.forAll (cases [ "N", 1, 8; "C", 2, 7 ]) (fun c ->
        let n, k = c.["N"], c.["C"]
        let s = normal (key c 0) [| n; k |]
        let y = labels (key c 1) n k
        let shifts = Array.init n (shiftOf (key c 2))
        let shifted = s + Tensor.ofArray [| n; 1 |] shifts
        let a = Losses.softmax s y
        let b = Losses.softmax shifted y
        finite (string c) "dscores" (Tensor.toArray b.Dscores)
        finite (string c) "loss" [| b.Loss |]
        within $"{c} loss" 0.0 ShiftTol [| a.Loss |] [| b.Loss |]
        within $"{c} dscores" 0.0 ShiftTol (Tensor.toArray a.Dscores) (Tensor.toArray b.Dscores))

[<Property(MaxTest = 60)>]
let ``temporal softmax loss and gradient are unchanged and finite under row shifts up to ±1e4`` () =
    Prop.forAll (cases [ "N", 1, 4; "T", 1, 5; "V", 2, 7 ]) (fun c ->
        let n, t, v = c.["N"], c.["T"], c.["V"]
        let s = normal (key c 0) [| n; t; v |]
        let y = Indices.FromArray(labels (key c 1) (n * t) v, n, t)

        let mask =
            Mask.FromArray((key c 3).Uniforms(n * t) |> Array.map (fun u -> u < 0.8), n, t)

        let shifts = Array.init (n * t) (shiftOf (key c 2))
        let shifted = s + Tensor.ofArray [| n; t; 1 |] shifts
        let a = TemporalSoftmax.loss s y mask
        let b = TemporalSoftmax.loss shifted y mask
        finite (string c) "dscores" (Tensor.toArray b.Dscores)
        finite (string c) "loss" [| b.Loss |]
        within $"{c} loss" 0.0 ShiftTol [| a.Loss |] [| b.Loss |]
        within $"{c} dscores" 0.0 ShiftTol (Tensor.toArray a.Dscores) (Tensor.toArray b.Dscores))

[<Property(MaxTest = 100)>]
let ``svm loss and gradient are unchanged by row shifts up to ±1e4 away from the hinge`` () =
    // The hinge's kink: a margin within 1e-6 of 0 could flip under the shift's rounding, so such cases are skipped.
    let inputs (c: Case) =
        let n, k = c.["N"], c.["C"]
        normal (key c 0) [| n; k |], labels (key c 1) n k

    let valid (c: Case) =
        let s, y = inputs c

        Seq.forall
            (fun i ->
                Seq.forall
                    (fun j -> j = y.[i] || abs (s.[i, j] - s.[i, y.[i]] + 1.0) > 1e-6)
                    (seq { 0 .. c.["C"] - 1 }))
            (seq { 0 .. y.Length - 1 })

    Prop.forAll (casesWhere [ "N", 1, 8; "C", 2, 7 ] valid) (fun c ->
        let s, y = inputs c
        let shifts = Array.init c.["N"] (shiftOf (key c 2))
        let a = Losses.svm s y
        let b = Losses.svm (s + Tensor.ofArray [| c.["N"]; 1 |] shifts) y
        within $"{c} loss" 0.0 ShiftTol [| a.Loss |] [| b.Loss |]
        within $"{c} dscores" 0.0 0.0 (Tensor.toArray a.Dscores) (Tensor.toArray b.Dscores))
