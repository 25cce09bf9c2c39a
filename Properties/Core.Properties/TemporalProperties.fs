module Functional.Properties.TemporalProperties

open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// V from 1: small vocabularies make repeated indices frequent.
let private temporalCases = cases [ "N", 1, 4; "T", 1, 6; "D", 1, 5; "V", 1, 6 ]

/// The fixed edge cases every body also runs on: N = 1 and T = 1 together and apart, V = 1.
let private edges = [
    for n, t, v in [ 1, 1, 3; 1, 5, 1; 3, 1, 4 ] ->
        {
            Sizes = [ "N", n; "T", t; "D", 3; "V", v ]
            Seed = 11 * n + t
        }
]

/// A temporal case (temporalCases). The argument of the properties below (TemporalArbitraries).
type TemporalCase = TemporalCase of Case

/// The Arbitrary instance of TemporalCase, for [<Property(Arbitrary = [| typeof<TemporalArbitraries> |])>].
type TemporalArbitraries =
    static member Temporal() =
        temporalCases |> Arb.convert TemporalCase (fun (TemporalCase c) -> c)

/// body on the case, after body on the edge cases (once per run: Prop.withEdges).
let private checkAll name (c: Case) body = Prop.withEdges name edges c body

let private indices (rng: Rng) (n: int) (t: int) (v: int) =
    Indices.FromArray(labels rng (n * t) v, n, t)

let private mask (rng: Rng) (n: int) (t: int) =
    Mask.FromArray(rng.Uniforms(n * t) |> Array.map (fun u -> u < 0.6), n, t)

[<Property(MaxTest = 100, Arbitrary = [| typeof<TemporalArbitraries> |])>]
let ``word embedding forward looks up rows and its backward matches the numeric gradient`` (TemporalCase c) =
    checkAll "embedding" c (fun c ->
        let n, t, d, v = c.["N"], c.["T"], c.["D"], c.["V"]
        let x = indices (key c 0) n t v
        let w = normal (key c 1) [| v; d |]
        let dout = normal (key c 2) [| n; t; d |]
        let out, cache = WordEmbedding.forward x w

        for i in 0 .. n - 1 do
            for j in 0 .. t - 1 do
                for k in 0 .. d - 1 do
                    Prop.ensure (out.[i, j, k] = w.[x.[i, j], k]) (fun () -> $"{c}: out[{i}, {j}, {k}]")

        Prop.gradClose
            (string c)
            "dW"
            (WordEmbedding.backward dout cache)
            (GradCheck.numericGradientOf 1e-5 (fun w' -> fst (WordEmbedding.forward x w')) w dout))

[<Property(MaxTest = 100, Arbitrary = [| typeof<TemporalArbitraries> |])>]
let ``the embedding gradient with repeated indices is the sum of the per-occurrence gradients`` (TemporalCase c) =
    checkAll "embedding repeats" c (fun c ->
        let n, t, d, v = c.["N"], c.["T"], c.["D"], c.["V"]
        let x = indices (key c 0) n t v
        let dout = normal (key c 2) [| n; t; d |]
        let _, cache = WordEmbedding.forward x (normal (key c 1) [| v; d |])
        // Each occurrence alone: the gradient of a (1, 1) lookup of x[i, j] with upstream dout[i, j].
        let alone i j =
            let _, one =
                WordEmbedding.forward (Indices.FromArray([| x.[i, j] |], 1, 1)) (Tensor.zeros [| v; d |])

            WordEmbedding.backward (Tensor.init [| 1; 1; d |] (fun ix -> dout.[i, j, ix.[2]])) one

        let summed =
            [
                for i in 0 .. n - 1 do
                    for j in 0 .. t - 1 -> alone i j
            ]
            |> List.reduce (+)

        Prop.close (string c) 1e-14 summed (WordEmbedding.backward dout cache))

[<Property(MaxTest = 100, Arbitrary = [| typeof<TemporalArbitraries> |])>]
let ``temporal affine backward matches numeric gradients for x, w and b`` (TemporalCase c) =
    checkAll "temporal affine" c (fun c ->
        let n, t, d, m = c.["N"], c.["T"], c.["D"], c.["V"]

        let x, w, b =
            normal (key c 0) [| n; t; d |], normal (key c 1) [| d; m |], normal (key c 2) [| m |]

        let dout = normal (key c 3) [| n; t; m |]
        let g = TemporalAffine.backward dout (snd (TemporalAffine.forward x w b))
        let f x' w' b' = fst (TemporalAffine.forward x' w' b')
        let case = string c
        Prop.gradClose case "dx" g.Dx (GradCheck.numericGradientOf 1e-5 (fun v -> f v w b) x dout)
        Prop.gradClose case "dw" g.Dw (GradCheck.numericGradientOf 1e-5 (fun v -> f x v b) w dout)
        Prop.gradClose case "db" g.Db (GradCheck.numericGradientOf 1e-5 (fun v -> f x w v) b dout))

let private softmaxInputs (c: Case) =
    let n, t, v = c.["N"], c.["T"], c.["V"]
    normal (key c 0) [| n; t; v |], indices (key c 1) n t v, mask (key c 2) n t

[<Property(MaxTest = 100, Arbitrary = [| typeof<TemporalArbitraries> |])>]
let ``temporal softmax gradient matches the numeric gradient and the loss is the course's sum over unmasked steps / N``
    (TemporalCase c)
    =
    checkAll "temporal softmax" c (fun c ->
        let n, t, v = c.["N"], c.["T"], c.["V"]
        let s, y, m = softmaxInputs c
        let r = TemporalSoftmax.loss s y m

        Prop.gradClose
            (string c)
            "dscores"
            r.Dscores
            (GradCheck.numericGradient 1e-5 (fun s' -> (TemporalSoftmax.loss s' y m).Loss) s)

        // The same loss through the classification softmax over the unmasked rows: its mean times their count / N.
        let rows = [|
            for k in 0 .. n * t - 1 do
                if (m.ToArray()).[k] then
                    k
        |]

        let expected =
            if rows.Length = 0 then
                0.0
            else
                let flat = Tensor.reshape [| n * t; v |] s |> Tensor.take rows
                let labels = rows |> Array.map (fun k -> (y.ToArray()).[k])
                (Losses.softmax flat labels).Loss * float rows.Length / float n

        Prop.ensure (abs (r.Loss - expected) <= 1e-12 * max 1.0 expected) (fun () -> $"{c}: {r.Loss} vs {expected}"))

[<Property(MaxTest = 100, Arbitrary = [| typeof<TemporalArbitraries> |])>]
let ``masked steps change neither the temporal softmax loss nor any gradient`` (TemporalCase c) =
    checkAll "temporal softmax mask" c (fun c ->
        let n, t, v = c.["N"], c.["T"], c.["V"]
        let s, y, m = softmaxInputs c
        let keep = m.ToArray()
        // New scores and targets at the masked steps only.
        let s2 =
            Tensor.init [| n; t; v |] (fun ix -> if keep.[ix.[0] * t + ix.[1]] then s.[ix] else 1e3 * s.[ix])

        let other = (indices (key c 5) n t v).ToArray()

        let y2 =
            Indices.FromArray(Array.init (n * t) (fun k -> if keep.[k] then (y.ToArray()).[k] else other.[k]), n, t)

        let a = TemporalSoftmax.loss s y m
        let b = TemporalSoftmax.loss s2 y2 m
        Prop.ensure (a.Loss = b.Loss) (fun () -> $"{c}: loss {a.Loss} vs {b.Loss}")
        Prop.ensure (Tensor.toArray a.Dscores = Tensor.toArray b.Dscores) (fun () -> $"{c}: the gradients differ")

        for k in 0 .. n * t - 1 do
            if not keep.[k] then
                for j in 0 .. v - 1 do
                    Prop.ensure (a.Dscores.[k / t, k % t, j] = 0.0) (fun () -> $"{c}: gradient at masked step {k}"))

[<Property(MaxTest = 100, Arbitrary = [| typeof<TemporalArbitraries> |])>]
let ``temporal softmax is invariant to per-step shifts up to 1e4 and finite for logits at or below -1e3``
    (TemporalCase c)
    =
    checkAll "temporal softmax shift" c (fun c ->
        let n, t = c.["N"], c.["T"]
        let s, y, m = softmaxInputs c
        let shift = Tensor.rand (key c 3) (-1e4) 1e4 [| n; t; 1 |]
        // Every logit ≤ −1e3 (also a per-step shift of s): e^{s} underflows to 0 without the max shift.
        let low = s - Tensor.rand (key c 4) 1e3 2e3 [| n; t; 1 |] - 3.0
        let a = TemporalSoftmax.loss s y m

        for shifted in [ s + shift; low ] do
            let b = TemporalSoftmax.loss shifted y m
            Prop.ensure (System.Double.IsFinite b.Loss) (fun () -> $"{c}: loss {b.Loss}")
            Prop.ensure (abs (a.Loss - b.Loss) <= 1e-9 * max 1.0 a.Loss) (fun () -> $"{c}: {a.Loss} vs {b.Loss}")
            Prop.close (string c) 1e-8 a.Dscores b.Dscores)

[<Fact>]
let ``temporal layers reject bad input naming the function, the argument, expected and actual`` () =
    let x = Indices.FromArray([| 0; 1; 2; 3; 4; 5 |], 2, 3)

    Prop.throwsWith [ "WordEmbedding.forward"; "x[1, 2] = 5"; "[0, V) = [0, 5)" ] (fun () ->
        WordEmbedding.forward x (Tensor.zeros [| 5; 4 |]))

    Prop.throwsWith [ "WordEmbedding.forward"; "rank-2"; "(6,)" ] (fun () ->
        WordEmbedding.forward (Indices.FromArray([| 0; 1; 2; 3; 4; 5 |], 6)) (Tensor.zeros [| 6; 4 |]))

    Prop.throwsWith [ "WordEmbedding.forward"; "x[0, 0] = -1" ] (fun () ->
        WordEmbedding.forward (Indices.FromArray([| -1 |], 1, 1)) (Tensor.zeros [| 6; 4 |]))

    let _, cache = WordEmbedding.forward x (Tensor.zeros [| 6; 4 |])

    Prop.throwsWith [ "WordEmbedding.backward"; "dout"; "(N, T, D) = (2, 3, 4)"; "(2, 3, 5)" ] (fun () ->
        WordEmbedding.backward (Tensor.zeros [| 2; 3; 5 |]) cache)

    Prop.throwsWith [ "TemporalAffine.forward"; "D = 4"; "(3, 2)" ] (fun () ->
        TemporalAffine.forward (Tensor.zeros [| 2; 3; 4 |]) (Tensor.zeros [| 3; 2 |]) (Tensor.zeros [| 2 |]))

    Prop.throwsWith [ "TemporalAffine.forward"; "rank-3"; "(2, 4)" ] (fun () ->
        TemporalAffine.forward (Tensor.zeros [| 2; 4 |]) (Tensor.zeros [| 4; 2 |]) (Tensor.zeros [| 2 |]))

    let scores = Tensor.zeros [| 2; 3; 6 |]
    let all = Mask.Full(true, 2, 3)

    Prop.throwsWith [ "TemporalSoftmax.loss"; "mask"; "(N, T) = (2, 3)"; "(3, 2)" ] (fun () ->
        TemporalSoftmax.loss scores x (Mask.Full(true, 3, 2)))

    Prop.throwsWith [ "TemporalSoftmax.loss"; "y"; "(N, T) = (2, 3)"; "(3, 2)" ] (fun () ->
        TemporalSoftmax.loss scores (Indices.FromArray([| 0; 1; 2; 3; 4; 5 |], 3, 2)) all)

    Prop.throwsWith [ "TemporalSoftmax.loss"; "y[1, 2] = 5"; "[0, 5)" ] (fun () ->
        TemporalSoftmax.loss (Tensor.zeros [| 2; 3; 5 |]) x all)

    Prop.throwsWith [ "TemporalSoftmax.loss"; "rank-3" ] (fun () ->
        TemporalSoftmax.loss (Tensor.zeros [| 6; 6 |]) x all)

    Prop.throwsWith [ "TemporalSoftmax.loss"; "N >= 1" ] (fun () ->
        TemporalSoftmax.loss (Tensor.zeros [| 0; 3; 6 |]) (Indices.FromArray([||], 0, 3)) (Mask.Full(true, 0, 3)))

    Prop.throwsWith [ "Indices.FromArray"; "(2, 2)"; "3" ] (fun () -> Indices.FromArray([| 1; 2; 3 |], 2, 2))
    Prop.throwsWith [ "Mask.FromArray"; "(4,)"; "2" ] (fun () -> Mask.FromArray([| true; false |], 4))

[<Fact>]
let ``indices slice along the time axis and compare into masks`` () =
    let captions = Indices.FromArray([| 1; 5; 6; 2; 0; 1; 7; 2; 0; 0 |], 2, 5)
    let input = captions.Slice(1, 0, 4)
    let output = captions.Slice(1, 1, 5)
    Assert.Equal<int[]>([| 1; 5; 6; 2; 1; 7; 2; 0 |], input.ToArray())
    Assert.Equal<int[]>([| 5; 6; 2; 0; 7; 2; 0; 0 |], output.ToArray())
    Assert.Equal<bool[]>([| true; true; true; false; true; true; false; false |], (output.NotEqual 0).ToArray())
    Assert.Equal(5, (output.NotEqual 0).CountTrue)
    Assert.Equal(7, captions.[1, 1])
    Prop.throwsWith [ "Indices.Item"; "index 5"; "axis 1" ] (fun () -> captions.[0, 5])

[<Property(MaxTest = 50, Arbitrary = [| typeof<TemporalArbitraries> |])>]
let ``temporal layers' backward passes equal autodiff of their forwards written from ops`` (TemporalCase c) =
    checkAll "temporal autodiff oracle" c (fun c ->
        let n, t, d, v = c.["N"], c.["T"], c.["D"], c.["V"]

        let close name (expected: Tensor) (actual: Tensor) =
            let r = GradCheck.compareWith Prop.GradFloor name 1e-10 actual expected
            Prop.ensure r.Passed (fun () -> $"{c}: {r}")

        let x = indices (key c 0) n t v
        let w = normal (key c 1) [| v; d |]
        let dout = normal (key c 2) [| n; t; d |]
        // Embedding: gather the rows of W, then (N, T, D).
        let embedOps (w: Value) =
            Ops.gather (x.ToArray()) w |> Ops.reshape [| n; t; d |]

        close
            "embedding dW"
            (Autodiff.grad (fun w' -> Ops.sum [||] false (embedOps w' * Autodiff.constant dout)) w)
            (WordEmbedding.backward dout (snd (WordEmbedding.forward x w)))

        // Temporal affine: reshape to (N·T, D), one product, back to (N, T, M).
        let xs, wa, ba =
            normal (key c 3) [| n; t; d |], normal (key c 4) [| d; v |], normal (key c 5) [| v |]

        let da = normal (key c 6) [| n; t; v |]
        let inputs = Map.ofList [ "x", xs; "w", wa; "b", ba ]

        let _, auto =
            Autodiff.gradients
                (fun p ->
                    let out =
                        Ops.matmul (Ops.reshape [| n * t; d |] p.["x"]) p.["w"] + p.["b"]
                        |> Ops.reshape [| n; t; v |]

                    Ops.sum [||] false (out * Autodiff.constant da))
                inputs

        let g = TemporalAffine.backward da (snd (TemporalAffine.forward xs wa ba))
        close "affine dx" auto.["x"] g.Dx
        close "affine dw" auto.["w"] g.Dw
        close "affine db" auto.["b"] g.Db

        // Temporal softmax: log-softmax rows, the targets picked, masked, summed, divided by N.
        let s, y, m = softmaxInputs c

        let keep =
            Tensor.ofArray [| n * t |] (m.ToArray() |> Array.map (fun b -> if b then 1.0 else 0.0))

        let lossOps (scores: Value) =
            let rows = Ops.reshape [| n * t; v |] scores
            let shifted = rows - Ops.max [| 1 |] true rows
            let logp = shifted - Ops.log (Ops.sum [| 1 |] true (Ops.exp shifted))

            -(Ops.sum [||] false (Ops.pick (y.ToArray()) logp * Autodiff.constant keep))
            / float n

        let loss, auto = Autodiff.valueAndGrad lossOps s
        let r = TemporalSoftmax.loss s y m
        Prop.ensure (abs (loss - r.Loss) <= 1e-12 * max 1.0 (abs loss)) (fun () -> $"{c}: {loss} vs {r.Loss}")
        close "dscores" auto r.Dscores)
