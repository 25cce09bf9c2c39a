module Functional.Properties.LossProperties

open System
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

let private lossCases = cases [ "N", 1, 6; "C", 2, 6 ]

/// A loss case (lossCases): scores (N, C) and labels. The argument of the properties below (LossArbitraries).
type LossCase = LossCase of Case

/// The Arbitrary instances of this file's cases, for [<Property(Arbitrary = [| typeof<LossArbitraries> |])>].
type LossArbitraries =
    static member Loss() =
        lossCases |> Arb.convert LossCase (fun (LossCase c) -> c)

let private inputs (c: Case) =
    let n, k = c.["N"], c.["C"]
    normal (key c 0) [| n; k |], labels (key c 1) n k

[<Property(MaxTest = 100, Arbitrary = [| typeof<LossArbitraries> |])>]
let ``softmax loss gradient matches the numeric gradient`` (LossCase c) =
    let s, y = inputs c
    let r = Losses.softmax s y

    Prop.gradClose
        (string c)
        "dscores"
        r.Dscores
        (GradCheck.numericGradient 1e-5 (fun s' -> (Losses.softmax s' y).Loss) s)

[<Property(MaxTest = 100)>]
let ``svm loss gradient matches the numeric gradient away from the hinge`` () =
    let valid (c: Case) =
        let s, y = inputs c
        let k = c.["C"]

        Seq.forall
            (fun i ->
                Seq.forall (fun j -> j = y.[i] || abs (s.[i, j] - s.[i, y.[i]] + 1.0) > 1e-3) (seq { 0 .. k - 1 }))
            (seq { 0 .. y.Length - 1 })

    Prop.forAll (casesWhere [ "N", 1, 6; "C", 2, 6 ] valid) (fun c ->
        let s, y = inputs c
        let r = Losses.svm s y

        Prop.gradClose
            (string c)
            "dscores"
            r.Dscores
            (GradCheck.numericGradient 1e-5 (fun s' -> (Losses.svm s' y).Loss) s))

[<Property(MaxTest = 100, Arbitrary = [| typeof<LossArbitraries> |])>]
let ``softmax loss is unchanged by adding a constant to a row`` (LossCase c) =
    let s, y = inputs c
    let shift = normal (key c 2) [| c.["N"]; 1 |] * 100.0
    let a = Losses.softmax s y
    let b = Losses.softmax (s + shift) y
    Prop.ensure (abs (a.Loss - b.Loss) <= 1e-10 * max 1.0 a.Loss) (fun () -> $"{c}: {a.Loss} vs {b.Loss}")
    Prop.close (string c) 1e-8 a.Dscores b.Dscores

[<Property(MaxTest = 100, Arbitrary = [| typeof<LossArbitraries> |])>]
let ``uniform scores give a softmax loss of log C`` (LossCase c) =
    let _, y = inputs c
    let v = float c.Seed / 1e6
    let r = Losses.softmax (Tensor.full [| c.["N"]; c.["C"] |] v) y
    Prop.ensure (abs (r.Loss - log (float c.["C"])) < 1e-12) (fun () -> $"{c}: {r.Loss}")

[<Property(MaxTest = 100, Arbitrary = [| typeof<LossArbitraries> |])>]
let ``svm loss is never negative and is zero when every margin holds`` (LossCase c) =
    let s, y = inputs c
    Prop.ensure ((Losses.svm s y).Loss >= 0.0) (fun () -> $"{c}: negative")
    // Raise each correct score 1 + (largest gap) above the others: every margin holds.
    let separated =
        Tensor.init (Tensor.shape s) (fun ix ->
            if ix.[1] = y.[ix.[0]] then
                s.[ix.[0], ix.[1]] + 100.0
            else
                s.[ix.[0], ix.[1]])

    let r = Losses.svm separated y
    Prop.ensure (r.Loss = 0.0) (fun () -> $"{c}: loss {r.Loss}")
    Prop.ensure (Tensor.toArray r.Dscores |> Array.forall ((=) 0.0)) (fun () -> $"{c}: gradient not zero")

[<Fact>]
let ``softmax stays finite for logits of plus or minus 1e4`` () =
    let s = Tensor.ofRows [| [| 1e4; -1e4; 0.0 |]; [| -1e4; -1e4; 1e4 |] |]
    let r = Losses.softmax s [| 1; 2 |]
    Assert.False(Double.IsNaN r.Loss || Double.IsInfinity r.Loss)
    Assert.Equal(1e4, r.Loss, 6)
    Assert.True(Tensor.toArray r.Dscores |> Array.forall Double.IsFinite)

[<Property(MaxTest = 100)>]
let ``l2 regularization is half reg times the squared norm, gradient reg times w`` () =
    Prop.forAll (cases [ "a", 1, 5; "b", 1, 5 ]) (fun c ->
        let w = normal c.Rng [| c.["a"]; c.["b"] |]
        let reg = 0.37
        let loss, grad = Losses.l2 reg w
        Prop.ensure (abs (loss - 0.5 * reg * Tensor.sumAll (w * w)) < 1e-12) (fun () -> $"{c}")
        Prop.gradClose (string c) "dW" grad (GradCheck.numericGradient 1e-5 (fun w' -> fst (Losses.l2 reg w')) w))

[<Fact>]
let ``labels are validated: count, range and rank`` () =
    let s = Tensor.zeros [| 2; 3 |]
    Prop.throwsWith [ "Losses.softmax"; "expected 2 labels"; "got 3" ] (fun () -> Losses.softmax s [| 0; 1; 2 |])
    Prop.throwsWith [ "Losses.svm"; "y[1] = 3"; "[0, 3)" ] (fun () -> Losses.svm s [| 0; 3 |])
    Prop.throwsWith [ "Losses.softmax"; "y[0] = -1" ] (fun () -> Losses.softmax s [| -1; 0 |])
    Prop.throwsWith [ "Losses.softmax"; "rank-2" ] (fun () -> Losses.softmax (Tensor.zeros [| 3 |]) [| 0; 0; 0 |])
    Prop.throwsWith [ "Losses.l2"; "reg" ] (fun () -> Losses.l2 -1.0 s)

[<Fact>]
let ``accuracy counts arg-max hits`` () =
    let s = Tensor.ofRows [| [| 0.1; 0.9 |]; [| 0.8; 0.2 |]; [| 0.3; 0.7 |] |]
    Assert.Equal(2.0 / 3.0, Losses.accuracy s [| 1; 0; 0 |], 15)
