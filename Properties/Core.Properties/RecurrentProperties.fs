module Functional.Properties.RecurrentProperties

open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// One cell seen uniformly: its parameters (Wx, Wh, then one or two biases), its sequence and step pairs with the
/// gradients listed in a fixed order (x, h0 / prev_h, then the parameters), and its forward written from tensor ops.
type private Cell = {
    Name: string
    Gates: int
    BiasNames: string list
    Forward: Tensor -> Tensor -> Tensor list -> Tensor
    Grads: Tensor -> Tensor -> Tensor list -> Tensor -> Tensor list
    /// The step pair, the state as (h, c): forward → h', c' and the backward dh' dc' → dx, dh, dc, parameter grads.
    Step:
        Tensor
            -> Tensor * Tensor
            -> Tensor list
            -> Tensor * Tensor * (Tensor -> Tensor -> Tensor * Tensor * Tensor * Tensor list)
}

let private sigmoid (t: Tensor) =
    Tensor.map (fun v -> 1.0 / (1.0 + exp -v)) t

let private tanhT (t: Tensor) = Tensor.map tanh t

/// Columns [from, from + h) of a matrix.
let private block (i: int) (h: int) (t: Tensor) = Tensor.slice 1 (i * h) ((i + 1) * h) t

let private rnn = {
    Name = "rnn"
    Gates = 1
    BiasNames = [ "b" ]
    Forward = fun x h0 p -> fst (Rnn.forward x h0 p.[0] p.[1] p.[2])
    Grads =
        fun x h0 p dh ->
            let g = Rnn.backward dh (snd (Rnn.forward x h0 p.[0] p.[1] p.[2]))
            [ g.Dx; g.Dh0; g.DWx; g.DWh; g.Db ]
    Step =
        fun x (h, c) p ->
            let h', cache = Rnn.stepForward x h p.[0] p.[1] p.[2]

            h',
            c,
            fun dh dc ->
                let g = Rnn.stepBackward dh cache
                g.Dx, g.DprevH, dc, [ g.DWx; g.DWh; g.Db ]
}

let private lstm = {
    Name = "lstm"
    Gates = 4
    BiasNames = [ "b" ]
    Forward = fun x h0 p -> fst (Lstm.forward x h0 p.[0] p.[1] p.[2])
    Grads =
        fun x h0 p dh ->
            let g = Lstm.backward dh (snd (Lstm.forward x h0 p.[0] p.[1] p.[2]))
            [ g.Dx; g.Dh0; g.DWx; g.DWh; g.Db ]
    Step =
        fun x (h, c) p ->
            let h', c', cache = Lstm.stepForward x h c p.[0] p.[1] p.[2]

            h',
            c',
            fun dh dc ->
                let g = Lstm.stepBackward dh dc cache
                g.Dx, g.DprevH, g.DprevC, [ g.DWx; g.DWh; g.Db ]
}

let private gru = {
    Name = "gru"
    Gates = 3
    BiasNames = [ "bx"; "bh" ]
    Forward = fun x h0 p -> fst (Gru.forward x h0 p.[0] p.[1] p.[2] p.[3])
    Grads =
        fun x h0 p dh ->
            let g = Gru.backward dh (snd (Gru.forward x h0 p.[0] p.[1] p.[2] p.[3]))
            [ g.Dx; g.Dh0; g.DWx; g.DWh; g.Dbx; g.Dbh ]
    Step =
        fun x (h, c) p ->
            let h', cache = Gru.stepForward x h p.[0] p.[1] p.[2] p.[3]

            h',
            c,
            fun dh dc ->
                let g = Gru.stepBackward dh cache
                g.Dx, g.DprevH, dc, [ g.DWx; g.DWh; g.Dbx; g.Dbh ]
}

let private cells = [ rnn; lstm; gru ]

// ---- each cell's equations written from the autodiff's tensor ops (the reference and the third oracle) ----

/// The bound on hand-written vs autodiff gradients (numeric gradients resolve only about 1e-7).
[<Literal>]
let private OracleTolerance = 1e-10

let private sigmoidOps (a: Value) = 1.0 / (1.0 + Ops.exp (-a))

let private tanhOps (a: Value) =
    let e = Ops.exp (a * 2.0)
    (e - 1.0) / (e + 1.0)

let private blockOps (i: int) (h: int) (a: Value) = Ops.slice 1 (i * h) ((i + 1) * h) a

/// One step from ops: (x_t, (h, c), parameters) → (h', c') (c unused but by the LSTM): the course's RNN and LSTM
/// (gate order i, f, o, g), PyTorch's GRU (order r, z, n, bias_ih = bx, bias_hh = bh).
let private stepOps (cell: Cell) (x: Value) (h: Value, c: Value) (p: Value list) =
    let hh = h.Shape.[1]

    match cell.Gates with
    | 1 -> tanhOps (Ops.matmul x p.[0] + Ops.matmul h p.[1] + p.[2]), c
    | 4 ->
        let a = Ops.matmul x p.[0] + Ops.matmul h p.[1] + p.[2]

        let c' =
            sigmoidOps (blockOps 1 hh a) * c
            + sigmoidOps (blockOps 0 hh a) * tanhOps (blockOps 3 hh a)

        sigmoidOps (blockOps 2 hh a) * tanhOps c', c'
    | _ ->
        let gx = Ops.matmul x p.[0] + p.[2]
        let gh = Ops.matmul h p.[1] + p.[3]
        let r = sigmoidOps (blockOps 0 hh gx + blockOps 0 hh gh)
        let z = sigmoidOps (blockOps 1 hh gx + blockOps 1 hh gh)
        let n = tanhOps (blockOps 2 hh gx + r * blockOps 2 hh gh)
        (1.0 - z) * n + z * h, c


let private seqCases = cases [ "N", 1, 4; "T", 1, 6; "D", 1, 5; "H", 1, 5 ]

/// The fixed edge cases every body also runs on: N = 1 and T = 1 together and apart.
let private edges = [
    for n, t in [ 1, 1; 1, 5; 3, 1 ] ->
        {
            Sizes = [ "N", n; "T", t; "D", 3; "H", 4 ]
            Seed = 7 * n + t
        }
]

/// A sequence case (seqCases). The argument of the sequence properties (SequenceArbitraries).
type SeqCase = SeqCase of Case

/// The Arbitrary instance of SeqCase, for [<Property(Arbitrary = [| typeof<SequenceArbitraries> |])>].
type SequenceArbitraries =
    static member Seq() =
        seqCases |> Arb.convert SeqCase (fun (SeqCase c) -> c)

/// body on the case, after body on the edge cases (once per run: Prop.withEdges).
let private checkAll name (c: Case) body = Prop.withEdges name edges c body

/// x (N, T, D), h0 (N, H), the parameters, dh (N, T, H); weights scaled by 1/sqrt(fan-in) so tanh is not flat.
let private inputs (cell: Cell) (c: Case) =
    let n, t, d, h = c.["N"], c.["T"], c.["D"], c.["H"]
    let k = cell.Gates * h

    let p =
        [
            Tensor.randn (key c 2) (1.0 / sqrt (float d)) [| d; k |]
            Tensor.randn (key c 3) (1.0 / sqrt (float h)) [| h; k |]
        ]
        @ (cell.BiasNames |> List.mapi (fun i _ -> normal (key c (4 + i)) [| k |]))

    normal (key c 0) [| n; t; d |], normal (key c 1) [| n; h |], p, normal (key c 9) [| n; t; h |]

let private gradNames (cell: Cell) =
    [ "dx"; "dh0"; "dWx"; "dWh" ] @ (cell.BiasNames |> List.map (fun b -> "d" + b))

let private checkNumeric (cell: Cell) (c: Case) =
    checkAll $"{cell.Name} backward" c (fun c ->
        let x, h0, p, dh = inputs cell c
        let analytic = cell.Grads x h0 p dh
        let case = $"{cell.Name} {c}"

        // The library's oracle (Richardson-extrapolated): the plain centered difference's h² term reached 1.3e-9
        // absolute on a dWx of 1.4e-3 over T = 6 (1.3e-7 relative at the floor, one failure in a CI run).
        let num f at = Verification.numericGradient f at dh

        let replace i v =
            p |> List.mapi (fun j q -> if j = i then v else q)

        let numeric =
            [
                num (fun x' -> cell.Forward x' h0 p) x
                num (fun h' -> cell.Forward x h' p) h0
            ]
            @ (p |> List.mapi (fun i q -> num (fun q' -> cell.Forward x h0 (replace i q')) q))

        List.zip3 (gradNames cell) analytic numeric
        |> List.iter (fun (name, a, n) -> Prop.gradClose case name a n))

[<Property(MaxTest = 30, Arbitrary = [| typeof<SequenceArbitraries> |])>]
let ``rnn sequence backward matches numeric gradients for x, h0, Wx, Wh and b`` (SeqCase c) = checkNumeric rnn c

[<Property(MaxTest = 30, Arbitrary = [| typeof<SequenceArbitraries> |])>]
let ``lstm sequence backward matches numeric gradients for x, h0, Wx, Wh and b`` (SeqCase c) = checkNumeric lstm c

[<Property(MaxTest = 30, Arbitrary = [| typeof<SequenceArbitraries> |])>]
let ``gru sequence backward matches numeric gradients for x, h0, Wx, Wh, bx and bh`` (SeqCase c) = checkNumeric gru c

/// x[:, t] as (N, D).
let private at (t: int) (x: Tensor) =
    let s = Tensor.shape x
    x |> Tensor.slice 1 t (t + 1) |> Tensor.reshape [| s.[0]; s.[2] |]

/// Stacks T tensors (N, H) into (N, T, H).
let private stack (steps: Tensor list) =
    let n, h = (Tensor.shape steps.Head).[0], (Tensor.shape steps.Head).[1]
    let arr = steps |> List.map Tensor.toArray |> Array.ofList
    Tensor.init [| n; steps.Length; h |] (fun ix -> arr.[ix.[1]].[ix.[0] * h + ix.[2]])

let private checkChained (cell: Cell) (c: Case) =
    checkAll $"{cell.Name} chained steps" c (fun c ->
        let x, h0, p, dh = inputs cell c
        let t = c.["T"]
        let zeros = Tensor.zeros (Tensor.shape h0)
        let case = $"{cell.Name} {c}"

        // Forward: T step calls, the state carried (c0 = 0 as in the course's sequence).
        let outs =
            (((h0, zeros), []), [ 0 .. t - 1 ])
            ||> List.fold (fun (state, acc) i ->
                let h', c', back = cell.Step (at i x) state p
                (h', c'), (h', back) :: acc)
            |> snd
            |> List.rev

        Prop.close case 1e-12 (stack (List.map fst outs)) (cell.Forward x h0 p)

        // Backward: from the last step down, each step's upstream is dh[:, t] plus what the later step sent back.
        let dxs, dprev, _, pg =
            List.foldBack
                (fun (i, back) (dxs, dnh, dnc, pg) ->
                    let dx, dph, dpc, g = back (at i dh + dnh) dnc
                    dx :: dxs, dph, dpc, List.map2 (+) pg g)
                (List.indexed (List.map snd outs))
                ([], zeros, zeros, p |> List.map (Tensor.shape >> Tensor.zeros))

        let expected = stack dxs :: dprev :: pg
        let actual = cell.Grads x h0 p dh

        List.zip3 (gradNames cell) expected actual
        |> List.iter (fun (name, e, a) -> Prop.close $"{case} {name}" 1e-10 e a))

[<Property(MaxTest = 50, Arbitrary = [| typeof<SequenceArbitraries> |])>]
let ``rnn sequence forward and backward equal T chained step calls`` (SeqCase c) = checkChained rnn c

[<Property(MaxTest = 50, Arbitrary = [| typeof<SequenceArbitraries> |])>]
let ``lstm sequence forward and backward equal T chained step calls`` (SeqCase c) = checkChained lstm c

[<Property(MaxTest = 50, Arbitrary = [| typeof<SequenceArbitraries> |])>]
let ``gru sequence forward and backward equal T chained step calls`` (SeqCase c) = checkChained gru c

[<Property(MaxTest = 50, Arbitrary = [| typeof<SequenceArbitraries> |])>]
let ``each step equals its equations written from tensor ops (course's RNN and LSTM, PyTorch's GRU)`` (SeqCase c) =
    for cell in cells do
        checkAll $"{cell.Name} reference" c (fun c ->
            let x, h0, p, _ = inputs cell c
            let c0 = normal (key c 11) (Tensor.shape h0)
            let x0 = at 0 x
            let h', c', _ = cell.Step x0 (h0, c0) p

            let rh, rc =
                stepOps
                    cell
                    (Autodiff.constant x0)
                    (Autodiff.constant h0, Autodiff.constant c0)
                    (List.map Autodiff.constant p)
                |> fun (a, b) -> Autodiff.primal a, Autodiff.primal b

            Prop.close $"{cell.Name} {c} next_h" 1e-12 rh h'
            Prop.close $"{cell.Name} {c} next_c" 1e-12 rc c')

let private stepCases = cases [ "N", 1, 4; "D", 1, 5; "H", 1, 5 ]

/// A single-step case (stepCases). The argument of the properties below (RecurrentArbitraries).
type StepCase = StepCase of Case

/// The Arbitrary instances of this file's cases, for [<Property(Arbitrary = [| typeof<RecurrentArbitraries> |])>].
type RecurrentArbitraries =
    static member Step() =
        stepCases |> Arb.convert StepCase (fun (StepCase c) -> c)

[<Property(MaxTest = 50, Arbitrary = [| typeof<RecurrentArbitraries> |])>]
let ``lstm step backward matches numeric gradients for x, prev_h and prev_c`` (StepCase c) =
    let n, d, h = c.["N"], c.["D"], c.["H"]

    let x, ph, pc =
        normal (key c 0) [| n; d |], normal (key c 1) [| n; h |], normal (key c 2) [| n; h |]

    let wx, wh, b =
        normal (key c 3) [| d; 4 * h |], normal (key c 4) [| h; 4 * h |], normal (key c 5) [| 4 * h |]

    let dnh, dnc = normal (key c 6) [| n; h |], normal (key c 7) [| n; h |]
    // One scalar for both outputs: sum(next_h · dnext_h + next_c · dnext_c).
    let f x' ph' pc' wx' =
        let nh, nc, _ = Lstm.stepForward x' ph' pc' wx' wh b
        nh * dnh + nc * dnc

    let _, _, cache = Lstm.stepForward x ph pc wx wh b
    let g = Lstm.stepBackward dnh dnc cache
    let ones = Tensor.ones [| n; h |]
    let case = string c
    Prop.gradClose case "dx" g.Dx (GradCheck.numericGradientOf 1e-5 (fun v -> f v ph pc wx) x ones)
    Prop.gradClose case "dprev_h" g.DprevH (GradCheck.numericGradientOf 1e-5 (fun v -> f x v pc wx) ph ones)
    Prop.gradClose case "dprev_c" g.DprevC (GradCheck.numericGradientOf 1e-5 (fun v -> f x ph v wx) pc ones)
    Prop.gradClose case "dWx" g.DWx (GradCheck.numericGradientOf 1e-5 (fun v -> f x ph pc v) wx ones)

[<Property(MaxTest = 50)>]
let ``an lstm with the forget gate saturated open and the input gate closed carries its cell state unchanged`` () =
    Prop.forAll (cases [ "N", 1, 4; "T", 1, 6; "D", 1, 5; "H", 1, 5 ]) (fun c ->
        let n, t, d, h = c.["N"], c.["T"], c.["D"], c.["H"]

        let wx, wh =
            Tensor.randn (key c 0) 0.1 [| d; 4 * h |], Tensor.randn (key c 1) 0.1 [| h; 4 * h |]
        // Biases: i = σ(−1e3) = 0, f = σ(1e3) = 1, o and g random.
        let b =
            Tensor.init [| 4 * h |] (fun ix ->
                match ix.[0] / h with
                | 0 -> -1e3
                | 1 -> 1e3
                | _ -> 0.5)

        let c0 = normal (key c 2) [| n; h |]

        let final =
            ((normal (key c 3) [| n; h |], c0), [ 0 .. t - 1 ])
            ||> List.fold (fun (hh, cc) i ->
                let nh, nc, _ = Lstm.stepForward (normal (key c (10 + i)) [| n; d |]) hh cc wx wh b

                Prop.ensure (Tensor.toArray nc = Tensor.toArray c0) (fun () ->
                    $"{c}: the cell state changed at step {i}")

                nh, nc)

        Prop.ensure (Tensor.toArray (snd final) = Tensor.toArray c0) (fun () -> $"{c}: the cell state changed"))

[<Property(MaxTest = 50, Arbitrary = [| typeof<RecurrentArbitraries> |])>]
let ``lstm weights convert to and from PyTorch's gate order`` (StepCase c) =
    let n, d, h = c.["N"], c.["D"], c.["H"]
    let wih, whh = normal (key c 0) [| 4 * h; d |], normal (key c 1) [| 4 * h; h |]
    let bih, bhh = normal (key c 2) [| 4 * h |], normal (key c 3) [| 4 * h |]
    let wx, wh, b = Lstm.ofPyTorch wih whh bih bhh

    let x, ph, pc =
        normal (key c 4) [| n; d |], normal (key c 5) [| n; h |], normal (key c 6) [| n; h |]
    // PyTorch's equations, order i, f, g, o, with its own weight layout.
    let a =
        Tensor.matmul x (Tensor.transpose wih)
        + Tensor.matmul ph (Tensor.transpose whh)
        + bih
        + bhh

    let i, f, g, o =
        sigmoid (block 0 h a), sigmoid (block 1 h a), tanhT (block 2 h a), sigmoid (block 3 h a)

    let ec = f * pc + i * g
    let nh, nc, _ = Lstm.stepForward x ph pc wx wh b
    Prop.close (string c) 1e-12 ec nc
    Prop.close (string c) 1e-12 (o * tanhT ec) nh

    Prop.ensure (Tensor.toArray (Lstm.swapGateOrder (Lstm.swapGateOrder wx)) = Tensor.toArray wx) (fun () ->
        $"{c}: swap twice")

[<Fact>]
let ``recurrent layers reject bad shapes naming the function, the argument, expected and actual`` () =
    let x, h0 = Tensor.zeros [| 2; 3; 4 |], Tensor.zeros [| 2; 5 |]

    let wx, wh, b =
        Tensor.zeros [| 4; 5 |], Tensor.zeros [| 5; 5 |], Tensor.zeros [| 5 |]

    Prop.throwsWith [ "Rnn.forward"; "rank-3"; "(2, 4)" ] (fun () -> Rnn.forward (Tensor.zeros [| 2; 4 |]) h0 wx wh b)

    Prop.throwsWith [ "Rnn.forward"; "h0"; "N = 2"; "(3, 5)" ] (fun () ->
        Rnn.forward x (Tensor.zeros [| 3; 5 |]) wx wh b)

    Prop.throwsWith [ "Rnn.forward"; "wx"; "(D, H) = (4, 5)"; "(3, 5)" ] (fun () ->
        Rnn.forward x h0 (Tensor.zeros [| 3; 5 |]) wh b)

    Prop.throwsWith [ "Rnn.forward"; "wh"; "(H, H) = (5, 5)"; "(5, 4)" ] (fun () ->
        Rnn.forward x h0 wx (Tensor.zeros [| 5; 4 |]) b)

    Prop.throwsWith [ "Rnn.forward"; "b"; "(H,) = (5,)"; "(4,)" ] (fun () ->
        Rnn.forward x h0 wx wh (Tensor.zeros [| 4 |]))

    let _, cache = Rnn.forward x h0 wx wh b

    Prop.throwsWith [ "Rnn.backward"; "dh"; "(N, T, H) = (2, 3, 5)"; "(2, 2, 5)" ] (fun () ->
        Rnn.backward (Tensor.zeros [| 2; 2; 5 |]) cache)

    Prop.throwsWith [ "Rnn.stepForward"; "prevH"; "(2, 4)" ] (fun () ->
        Rnn.stepForward (Tensor.zeros [| 3; 4 |]) (Tensor.zeros [| 2; 4 |]) wx wh b)

    let _, sc = Rnn.stepForward (Tensor.zeros [| 2; 4 |]) h0 wx wh b

    Prop.throwsWith [ "Rnn.stepBackward"; "dnextH"; "(N, H) = (2, 5)"; "(2, 3, 5)" ] (fun () ->
        Rnn.stepBackward (Tensor.zeros [| 2; 3; 5 |]) sc)

    Prop.throwsWith [ "Lstm.forward"; "wx"; "(D, 4H) = (4, 20)"; "(4, 5)" ] (fun () -> Lstm.forward x h0 wx wh b)

    Prop.throwsWith [ "Lstm.stepForward"; "prevC"; "(N, H) = (2, 5)"; "(2, 4)" ] (fun () ->
        Lstm.stepForward
            (Tensor.zeros [| 2; 4 |])
            h0
            (Tensor.zeros [| 2; 4 |])
            (Tensor.zeros [| 4; 20 |])
            (Tensor.zeros [| 5; 20 |])
            (Tensor.zeros [| 20 |]))

    Prop.throwsWith [ "Gru.forward"; "bh"; "(3H,) = (15,)"; "(5,)" ] (fun () ->
        Gru.forward x h0 (Tensor.zeros [| 4; 15 |]) (Tensor.zeros [| 5; 15 |]) (Tensor.zeros [| 15 |]) b)

    Prop.throwsWith [ "Lstm.swapGateOrder"; "4H"; "(6,)" ] (fun () -> Lstm.swapGateOrder (Tensor.zeros [| 6 |]))

[<Fact>]
let ``the README's recurrent example is the code the C# tests run`` () =
    Assert.Equal<string list>(
        ReadmeExamples.sourceRegionNamed " recurrent" "Properties/Api.Tests/RecurrentTests.cs",
        ReadmeExamples.readmeBlock "### Recurrent layers in C#" "csharp"
    )

// ---- the third oracle: autodiff of each sequence forward written from tensor ops ----

/// The sequence from ops: T steps over x[:, t], c0 = 0, the hidden states stacked into (N, T, H).
let private sequenceOps (cell: Cell) (x: Value) (h0: Value) (p: Value list) =
    let s = x.Shape
    let c0 = Autodiff.constant (Tensor.zeros h0.Shape)

    (((h0, c0), []), [ 0 .. s.[1] - 1 ])
    ||> List.fold (fun (state, hs) t ->
        let xt = x |> Ops.slice 1 t (t + 1) |> Ops.reshape [| s.[0]; s.[2] |]
        let h', c' = stepOps cell xt state p
        (h', c'), h' :: hs)
    |> snd
    |> List.rev
    |> Ops.stack 1

let private checkOracle (cell: Cell) (c: Case) =
    checkAll $"{cell.Name} autodiff oracle" c (fun c ->
        let x, h0, p, dh = inputs cell c
        let names = gradNames cell |> List.map (fun g -> g.Substring 1)
        let inputs = List.zip names (x :: h0 :: p) |> Map.ofList

        let _, auto =
            Autodiff.gradients
                (fun v ->
                    let h =
                        sequenceOps cell v.["x"] v.["h0"] (names |> List.skip 2 |> List.map (fun k -> v.[k]))

                    Ops.sum [||] false (h * Autodiff.constant dh))
                inputs

        List.zip3 names (gradNames cell) (cell.Grads x h0 p dh)
        |> List.iter (fun (input, gname, analytic) ->
            let r =
                GradCheck.compareWith Prop.GradFloor gname OracleTolerance analytic auto.[input]

            Prop.ensure r.Passed (fun () -> $"{cell.Name} {c}: {r}")))

[<Property(MaxTest = 30, Arbitrary = [| typeof<SequenceArbitraries> |])>]
let ``rnn sequence backward equals autodiff of its forward written from ops`` (SeqCase c) = checkOracle rnn c

[<Property(MaxTest = 30, Arbitrary = [| typeof<SequenceArbitraries> |])>]
let ``lstm sequence backward equals autodiff of its forward written from ops`` (SeqCase c) = checkOracle lstm c

[<Property(MaxTest = 30, Arbitrary = [| typeof<SequenceArbitraries> |])>]
let ``gru sequence backward equals autodiff of its forward written from ops`` (SeqCase c) = checkOracle gru c
