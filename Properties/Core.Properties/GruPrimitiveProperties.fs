/// The GRU as an autodiff primitive (<c>Layers.gru</c>): the gradients the autodiff returns through it against the
/// three oracles, over random N, T (1–6), D, H and the fixed edge cases N = 1, T = 1: the hand-written backward (bit
/// for bit: the primitive's pullback is that backward), Richardson-extrapolated numeric gradients, and autodiff of the
/// GRU written from the autodiff's tensor ops (PyTorch's equations, ≤ 1e-10); and inside a captioning graph.
module Functional.Properties.GruPrimitiveProperties

open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// The bound on the primitive's gradients vs autodiff of the ops forward (numeric gradients resolve only about 1e-7).
[<Literal>]
let private OracleTolerance = 1e-10

let private sigmoidOps (a: Value) = 1.0 / (1.0 + Ops.exp (-a))

let private tanhOps (a: Value) =
    let e = Ops.exp (a * 2.0)
    (e - 1.0) / (e + 1.0)

let private blockOps (i: int) (h: int) (a: Value) = Ops.slice 1 (i * h) ((i + 1) * h) a

/// The GRU over a sequence from ops, PyTorch's nn.GRU: gx = x_t·Wx + bx, gh = h·Wh + bh, r = σ(gx_r + gh_r),
/// z = σ(gx_z + gh_z), n = tanh(gx_n + r ⊙ gh_n), h' = (1 − z) ⊙ n + z ⊙ h; the hidden states stacked (N, T, H).
let private gruOps (x: Value) (h0: Value) (wx: Value) (wh: Value) (bx: Value) (bh: Value) =
    let s = x.Shape
    let hh = h0.Shape.[1]

    ((h0, []), [ 0 .. s.[1] - 1 ])
    ||> List.fold (fun (h, hs) t ->
        let xt = x |> Ops.slice 1 t (t + 1) |> Ops.reshape [| s.[0]; s.[2] |]
        let gx = Ops.matmul xt wx + bx
        let gh = Ops.matmul h wh + bh
        let r = sigmoidOps (blockOps 0 hh gx + blockOps 0 hh gh)
        let z = sigmoidOps (blockOps 1 hh gx + blockOps 1 hh gh)
        let n = tanhOps (blockOps 2 hh gx + r * blockOps 2 hh gh)
        let h' = (1.0 - z) * n + z * h
        h', h' :: hs)
    |> snd
    |> List.rev
    |> Ops.stack 1

let private names = [ "x"; "h0"; "Wx"; "Wh"; "bx"; "bh" ]

/// The inputs by name and an upstream gradient dh (N, T, H); weights scaled by 1/sqrt(fan-in) so tanh is not flat.
let private inputs (c: Case) =
    let n, t, d, h = c.["N"], c.["T"], c.["D"], c.["H"]

    Map [
        "x", normal (key c 0) [| n; t; d |]
        "h0", normal (key c 1) [| n; h |]
        "Wx", Tensor.randn (key c 2) (1.0 / sqrt (float d)) [| d; 3 * h |]
        "Wh", Tensor.randn (key c 3) (1.0 / sqrt (float h)) [| h; 3 * h |]
        "bx", normal (key c 4) [| 3 * h |]
        "bh", normal (key c 5) [| 3 * h |]
    ],
    normal (key c 9) [| n; t; h |]

let private apply (f: Value -> Value -> Value -> Value -> Value -> Value -> Value) (v: Map<string, Value>) =
    f v.["x"] v.["h0"] v.["Wx"] v.["Wh"] v.["bx"] v.["bh"]

/// The output and the gradients of Σ f(inputs) ⊙ dh for every input, by autodiff.
let private gradientsOf f (p: Map<string, Tensor>) (dh: Tensor) =
    let out = Autodiff.primal (apply f (p |> Map.map (fun _ t -> Autodiff.constant t)))

    let _, g =
        Autodiff.gradients (fun v -> Ops.sum [||] false (apply f v * Autodiff.constant dh)) p

    out, g

let private edges = [
    for n, t in [ 1, 1; 1, 5; 3, 1 ] ->
        {
            Sizes = [ "N", n; "T", t; "D", 3; "H", 4 ]
            Seed = 7 * n + t
        }
]

/// body on a random case, after body on the edge cases (once per run: Prop.withEdges).
let private checkAll (name: string) (body: Case -> unit) =
    Prop.forAll (cases [ "N", 1, 4; "T", 1, 6; "D", 1, 5; "H", 1, 5 ]) (fun c -> Prop.withEdges name edges c body)

[<Property(MaxTest = 60)>]
let ``the gru primitive's gradients are the hand-written backward's, bit for bit`` () =
    checkAll "gru primitive vs backward" (fun c ->
        let p, dh = inputs c
        let out, g = gradientsOf Layers.gru p dh
        let h, cache = Gru.forward p.["x"] p.["h0"] p.["Wx"] p.["Wh"] p.["bx"] p.["bh"]
        let hand = Gru.backward dh cache
        let case = string c
        Prop.close case 0.0 h out

        List.zip names [ hand.Dx; hand.Dh0; hand.DWx; hand.DWh; hand.Dbx; hand.Dbh ]
        |> List.iter (fun (name, expected) -> Prop.close $"{case} d{name}" 0.0 expected g.[name]))

[<Property(MaxTest = 30)>]
let ``the gru primitive's gradients match numeric gradients for x, h0, Wx, Wh, bx and bh`` () =
    checkAll "gru primitive vs numeric" (fun c ->
        let p, dh = inputs c
        let _, g = gradientsOf Layers.gru p dh

        let forward (name: string) (t: Tensor) =
            let q = Map.add name t p
            fst (Gru.forward q.["x"] q.["h0"] q.["Wx"] q.["Wh"] q.["bx"] q.["bh"])

        for name in names do
            // The library's Richardson-extrapolated oracle, as the layer's own numeric properties.
            Prop.gradClose (string c) $"d{name}" g.[name] (Verification.numericGradient (forward name) p.[name] dh))

[<Property(MaxTest = 60)>]
let ``the gru primitive's gradients equal autodiff of the gru written from ops`` () =
    checkAll "gru primitive vs ops" (fun c ->
        let p, dh = inputs c
        let out, g = gradientsOf Layers.gru p dh
        let out', auto = gradientsOf gruOps p dh
        let case = string c
        Prop.close case OracleTolerance out' out

        for name in names do
            let r =
                GradCheck.compareWith Prop.GradFloor $"d{name}" OracleTolerance g.[name] auto.[name]

            Prop.ensure r.Passed (fun () -> $"{case}: {r}"))

[<Property(MaxTest = 40)>]
let ``a captioning graph with the gru primitive (features -> h0, words -> embeddings -> gru) matches numeric gradients``
    ()
    =
    let ranges = [ "N", 1, 3; "T", 1, 3; "F", 1, 3; "D", 1, 3; "H", 1, 3; "V", 2, 4 ]

    Prop.forAll (cases ranges) (fun c ->
        let n, t, h, v = c.["N"], c.["T"], c.["H"], c.["V"]
        let features = normal (key c 0) [| n; c.["F"] |]
        let captionsIn = Indices.FromArray(labels (key c 1) (n * t) v, n, t)
        let captionsOut = Indices.FromArray(labels (key c 2) (n * t) v, n, t)
        let mask = Mask.FromArray(Array.init (n * t) (fun i -> i % 3 <> 2), n, t)

        let p =
            Map [
                "W_proj", normal (key c 3) [| c.["F"]; h |]
                "b_proj", normal (key c 4) [| h |]
                "W_embed", normal (key c 5) [| v; c.["D"] |]
                "Wx", normal (key c 6) [| c.["D"]; 3 * h |] * 0.5
                "Wh", normal (key c 7) [| h; 3 * h |] * 0.5
                "b", normal (key c 8) [| 3 * h |]
                "b_h", normal (key c 11) [| 3 * h |]
                "W_vocab", normal (key c 9) [| h; v |]
                "b_vocab", normal (key c 10) [| v |]
            ]

        let loss (pv: Map<string, Value>) =
            let h0 = Layers.affine (Autodiff.constant features) pv.["W_proj"] pv.["b_proj"]
            let x = Layers.wordEmbedding captionsIn pv.["W_embed"]
            let hs = Layers.gru x h0 pv.["Wx"] pv.["Wh"] pv.["b"] pv.["b_h"]
            Layers.temporalSoftmaxLoss (Layers.temporalAffine hs pv.["W_vocab"] pv.["b_vocab"]) captionsOut mask

        let _, g = Autodiff.gradients loss p

        for KeyValue(name, value) in p do
            let f (t: Tensor) =
                fst (Autodiff.gradients loss (Map.add name t p))

            Prop.gradClose (string c) name g.[name] (GradCheck.numericGradient 1e-5 f value))

[<Fact>]
let ``the gru primitive rejects a bad shape naming the function and the argument`` () =
    let x = Autodiff.constant (Tensor.zeros [| 2; 3; 4 |])
    let h0 = Autodiff.constant (Tensor.zeros [| 2; 5 |])
    let wx = Autodiff.constant (Tensor.zeros [| 4; 15 |])
    let wh = Autodiff.constant (Tensor.zeros [| 5; 15 |])
    let b = Autodiff.constant (Tensor.zeros [| 15 |])
    let wrong = Autodiff.constant (Tensor.zeros [| 14 |])

    let e =
        Assert.Throws<System.ArgumentException>(fun () -> Layers.gru x h0 wx wh b wrong |> ignore)

    Assert.Equal("bh", e.ParamName)
    Assert.Contains("Gru.forward", e.Message)
