module Functional.Properties.ConvProperties

open System
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators
open Functional.Properties.ConvGenerators

// Tolerances. Gradients: Prop.gradClose, relative error |a − n| / max(1e-2, |a| + |n|) ≤ 1e-7 (Prop.GradTolerance)
// against centered differences (ConvGenerators.numericOf). Fast vs naive: Prop.close, |a − b| / max(1, |a| + |b|)
// ≤ 1e-10. Measured over 3000 random cases: worst gradient error about 4e-9 with h = 1e-4 (5e-8 with h = 1e-5).

/// The centered-difference step. A convolution is linear in each of x, w and b, so the centered difference has no
/// truncation error at any step; its round-off, about ε·|out| / h, shrinks as the step grows. 1e-4 keeps the error
/// some 30 times under the bound; with ReLU the step stays far from the kinks (outputs are ≥ 1e-3 from 0 and move
/// by at most h·|w| or h·|x|).
let private h = 1e-4

/// Numeric gradients of a forward pass for x, w and b against dout, with step h.
let private numericConvWith (h: float) (forward: Tensor -> Tensor -> Tensor -> Tensor) x w b dout =
    numericOf h (fun t -> forward t w b) x dout,
    numericOf h (fun t -> forward x t b) w dout,
    numericOf h (fun t -> forward x w t) b dout

let private numericConv forward x w b dout = numericConvWith h forward x w b dout

[<Property(MaxTest = 100, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``conv backward (naive and fast) matches numeric gradients for x, w and b`` (ConvCase c) =
    let cfg = convConfig c
    let x, w, b, dout = convInputs c
    let case = describe c

    let nx, nw, nb =
        numericConv (fun x w b -> fst (Conv.forwardNaive cfg x w b)) x w b dout

    for name, cache, backward in
        [
            "naive", snd (Conv.forwardNaive cfg x w b), Conv.backwardNaive
            "fast", snd (Conv.forward cfg x w b), Conv.backward
        ] do
        let g = backward dout cache
        Prop.gradClose case $"{name} dx" g.Dx nx
        Prop.gradClose case $"{name} dw" g.Dw nw
        Prop.gradClose case $"{name} db" g.Db nb

[<Property(MaxTest = 200, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``conv fast forward and backward equal the naive loops`` (ConvCase c) =
    let cfg = convConfig c
    let x, w, b, dout = convInputs c
    let case = describe c
    let outN, cacheN = Conv.forwardNaive cfg x w b
    let outF, cacheF = Conv.forward cfg x w b
    Prop.close $"{case} out" 1e-10 outN outF
    let gN = Conv.backwardNaive dout cacheN
    // The fast backward with its own cache (kept columns) and with a naive cache (columns rebuilt).
    for gF in [ Conv.backward dout cacheF; Conv.backward dout cacheN ] do
        Prop.close $"{case} dx" 1e-10 gN.Dx gF.Dx
        Prop.close $"{case} dw" 1e-10 gN.Dw gF.Dw
        Prop.close $"{case} db" 1e-10 gN.Db gF.Db

[<Property(MaxTest = 10)>]
let ``conv fast equals naive on inputs large enough for the parallel paths`` () =
    // Even the smallest of these has N·F·H'·W'·K ≥ 2^20 multiply-adds: with 4 groups one image's GEMM is small and the
    // images run in parallel; with 1 group it is ≥ 2^18 and Gemm splits its rows instead. The dw chunks run in parallel.
    let ranges = [
        "N", 8, 9
        "C", 4, 4
        "H", 36, 38
        "W", 36, 38
        "F", 16, 16
        "KH", 3, 3
        "KW", 3, 3
        "SH", 1, 1
        "SW", 1, 1
        "PH", 1, 1
        "PW", 1, 1
        "D", 1, 2
        "G", 1, 4
    ]

    // Both GEMM backends (these products are above the small-size cut-off, where the backends differ).
    let backends =
        if Blas.OpenBlasAvailable then
            [ Functional.Kernels.Managed; Functional.Kernels.OpenBlas ]
        else
            [ Functional.Kernels.Managed ]

    Prop.forAll (convCasesOver ranges) (fun c ->
        for backend in backends do
            Functional.Kernels.Gemm.withBackend backend (fun () ->
                let cfg = convConfig c
                let x, w, b, dout = convInputs c
                let case = $"{describe c} on {backend}"
                let outN, cacheN = Conv.forwardNaive cfg x w b
                let outF, cacheF = Conv.forward cfg x w b
                Prop.close case 1e-10 outN outF
                let gN = Conv.backwardNaive dout cacheN
                let gF = Conv.backward dout cacheF
                Prop.close $"{case} dx" 1e-10 gN.Dx gF.Dx
                Prop.close $"{case} dw" 1e-10 gN.Dw gF.Dw
                Prop.close $"{case} db" 1e-10 gN.Db gF.Db
                // Deterministic: the same inputs give the same bits.
                let again = Conv.backward dout (snd (Conv.forward cfg x w b))

                Prop.ensure (Tensor.toArray again.Dw = Tensor.toArray gF.Dw) (fun () ->
                    $"{case}: dw differs between runs")))

[<Property(MaxTest = 100)>]
let ``with pad 0 and a stride that does not divide evenly the uncovered rows and columns get zero gradient`` () =
    let ranges = withRanges [ "PH", 0, 0; "PW", 0, 0; "SH", 2, 3; "SW", 2, 3 ]

    Prop.forAll (convCasesOver ranges) (fun c ->
        let cfg = convConfig c
        let x, w, b, dout = convInputs c
        let case = describe c
        let out, cache = Conv.forward cfg x w b
        let ho, wo = out.Dims.[2], out.Dims.[3]
        // The last row (column) any window reaches; rows below it are uncovered.
        let usedH = (ho - 1) * c.["SH"] + c.["D"] * (c.["KH"] - 1) + 1
        let usedW = (wo - 1) * c.["SW"] + c.["D"] * (c.["KW"] - 1) + 1

        for g in [ Conv.backward dout cache; Conv.backwardNaive dout cache ] do
            Prop.ensure (Tensor.shape g.Dx = xShape c) (fun () -> $"{case}: dx has shape {g.Dx}")

            let uncovered =
                Tensor.toArray g.Dx
                |> Array.indexed
                |> Array.filter (fun (i, _) -> (i / c.["W"]) % c.["H"] >= usedH || i % c.["W"] >= usedW)

            Prop.ensure (uncovered |> Array.forall (fun (_, v) -> v = 0.0)) (fun () ->
                $"{case}: uncovered inputs have nonzero gradient {uncovered}")

            Prop.gradClose case "dx" g.Dx (numericOf h (fun t -> fst (Conv.forwardNaive cfg t w b)) x dout))

[<Property(MaxTest = 100, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``a grouped convolution is the side-by-side convolutions of its groups`` (ConvCase c) =
    let cfg = convConfig c
    let x, w, b, _ = convInputs c
    let g = c.["G"]
    let cg, fg = c.["C"] / g, c.["F"] / g
    let out, _ = Conv.forward cfg x w b

    for k in 0 .. g - 1 do
        let part, _ =
            Conv.forwardNaive
                { cfg with Groups = 1 }
                (Tensor.slice 1 (k * cg) ((k + 1) * cg) x)
                (Tensor.slice 0 (k * fg) ((k + 1) * fg) w)
                (Tensor.slice 0 (k * fg) ((k + 1) * fg) b)

        Prop.close $"{describe c} group {k}" 1e-10 part (Tensor.slice 1 (k * fg) ((k + 1) * fg) out)

[<Property(MaxTest = 100, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``a dilated convolution is a convolution with the zero-filled dilated kernel`` (ConvCase c) =
    let cfg = convConfig c
    let x, w, b, _ = convInputs c
    let d = c.["D"]
    let ws = wShape c
    let eh, ew = d * (ws.[2] - 1) + 1, d * (ws.[3] - 1) + 1

    let dilated =
        Tensor.init [| ws.[0]; ws.[1]; eh; ew |] (fun i ->
            if i.[2] % d = 0 && i.[3] % d = 0 then
                Tensor.get [| i.[0]; i.[1]; i.[2] / d; i.[3] / d |] w
            else
                0.0)

    Prop.close
        (describe c)
        1e-10
        (fst (Conv.forwardNaive { cfg with Dilation = 1 } x dilated b))
        (fst (Conv.forward cfg x w b))

/// Catches the ArgumentException of f and checks its parameter name and message fragments.
let private rejects (param: string) (fragments: string list) (f: unit -> 'a) =
    Prop.throwsWith fragments f

    try
        f () |> ignore
    with :? ArgumentException as e ->
        if e.ParamName <> param then
            failwith $"expected the error to name the argument \"{param}\", got \"{e.ParamName}\" ({e.Message})"

[<Property(MaxTest = 100, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``bad configurations raise errors naming the argument and the sizes`` (ConvCase c) =
    let cfg = convConfig c
    let x, w, b, dout = convInputs c
    let xs, ws = xShape c, wShape c
    let sh, ph, pw = c.["SH"], c.["PH"], c.["PW"]

    for name, forward in [ "Conv.forward", Conv.forward; "Conv.forwardNaive", Conv.forwardNaive ] do
        // Channel mismatch: one input channel too many in w.
        let wBad = Tensor.zeros [| ws.[0]; ws.[1] + 1; ws.[2]; ws.[3] |]

        rejects "w" [ name; "channel mismatch"; Guard.shapeText xs; Guard.shapeText wBad.Dims ] (fun () ->
            forward cfg x wBad b)

        rejects "pad" [ name; $"({-ph - 1}, {pw})" ] (fun () -> forward { cfg with PadH = -ph - 1 } x w b)

        rejects "stride" [ name; $"({sh}, 0)" ] (fun () -> forward { cfg with StrideW = 0 } x w b)

        // A kernel one row taller than the padded input.
        let hp, wp = c.["H"] + 2 * ph, c.["W"] + 2 * pw
        let tall = Tensor.zeros [| ws.[0]; ws.[1]; hp + 1; ws.[3] |]

        rejects "w" [ name; "larger than the padded input"; $"{hp}×{wp}"; Guard.shapeText xs ] (fun () ->
            forward { cfg with Dilation = 1 } x tall b)

    let _, cache = Conv.forward cfg x w b
    let badDout = Tensor.zeros [| c.["N"]; c.["F"] + 1; 1; 1 |]

    for name, backward in [ "Conv.backward", Conv.backward; "Conv.backwardNaive", Conv.backwardNaive ] do
        rejects "dout" [ name; Guard.shapeText dout.Dims; Guard.shapeText badDout.Dims ] (fun () ->
            backward badDout cache)

[<Fact>]
let ``groups, bias and rank errors are explicit`` () =
    let x = Tensor.zeros [| 2; 3; 5; 5 |]
    let w = Tensor.zeros [| 4; 3; 3; 3 |]
    let b = Tensor.zeros [| 4 |]

    rejects "groups" [ "Conv.forward"; "C = 3"; "groups = 2" ] (fun () ->
        Conv.forward (ConvConfig.Create(1, 0, groups = 2)) x w b)

    rejects "groups" [ "F = 4"; "groups = 3" ] (fun () ->
        Conv.forward (ConvConfig.Create(1, 0, groups = 3)) x (Tensor.zeros [| 4; 1; 3; 3 |]) b)

    rejects "groups" [ "groups must be >= 1"; "0" ] (fun () -> Conv.forward (ConvConfig.Create(1, 0, groups = 0)) x w b)

    rejects "dilation" [ "dilation must be >= 1" ] (fun () ->
        Conv.forward (ConvConfig.Create(1, 0, dilation = 0)) x w b)

    rejects "b" [ "(4,)"; "(3,)" ] (fun () -> Conv.forward ConvConfig.Default x w (Tensor.zeros [| 3 |]))

    rejects "x" [ "(N, C, H, W)"; "(3, 5, 5)" ] (fun () ->
        Conv.forward ConvConfig.Default (Tensor.zeros [| 3; 5; 5 |]) w b)

    rejects "w" [ "at least 1×1" ] (fun () -> Conv.forward ConvConfig.Default x (Tensor.zeros [| 4; 3; 0; 3 |]) b)
    Assert.Equal<int[]>([| 2; 4; 3; 3 |], Conv.outputShape (ConvConfig.Create(2, 1)) [| 2; 3; 5; 5 |] [| 4; 3; 3; 3 |])

[<Fact>]
let ``a failing case shrinks to the smallest configuration and the message prints it`` () =
    // A deliberately wrong backward pass: dx is 0.1% off whenever the vertical stride is above 1. Checked here through
    // FsCheck's own runner, whose failure throws with the shrunk case.
    let ex =
        Assert.ThrowsAny<exn>(fun () ->
            let config =
                FsCheck.Config.QuickThrowOnFailure.WithMaxTest(100).WithQuietOnSuccess(true)

            FsCheck.Check.One(
                config,
                Prop.forAll convCases (fun c ->
                    let cfg = convConfig c
                    let x, w, b, dout = convInputs c
                    let g = Conv.backward dout (snd (Conv.forward cfg x w b))
                    let dx = if cfg.StrideH > 1 then g.Dx * 1.001 else g.Dx
                    let nx = numericOf h (fun t -> fst (Conv.forward cfg t w b)) x dout
                    Prop.gradClose (describe c) "dx" dx nx)
            ))

    let msg = ex.ToString()

    for frag in
        [
            "x (1, 1, 1, 1), w (1, 1, 1, 1), stride (2, 1), pad (0, 0), dilation 1, groups 1"
            "max rel error"
            "at (0, 0, 0, 0)"
        ] do
        Assert.True(msg.Contains frag, $"expected \"{frag}\" in:\n{msg}")

let private awayFromKink (out: Tensor) =
    Tensor.toArray out |> Array.forall (fun v -> abs v > 1e-3)

let private sandwichRanges = [
    "N", 1, 2
    "C", 1, 3
    "H", 2, 7
    "W", 2, 7
    "F", 1, 3
    "KH", 1, 3
    "KW", 1, 3
    "SH", 1, 2
    "SW", 1, 2
    "PH", 0, 1
    "PW", 0, 1
    "D", 1, 2
    "G", 1, 1
    "PPH", 1, 2
    "PPW", 1, 2
    "PS", 1, 2
]

[<Property(MaxTest = 100)>]
let ``conv-relu backward matches numeric gradients away from the kink`` () =
    // Cases whose convolution outputs are all at least 1e-3 from 0: a step h = 1e-4 never crosses the kink.
    let valid (c: Case) =
        validConv c
        && (let x, w, b, _ = convInputs c in awayFromKink (fst (Conv.forward (convConfig c) x w b)))

    Prop.forAll (casesShrinkingPairs convRanges valid) (fun c ->
        let cfg = convConfig c
        let x, w, b, dout = convInputs c
        let g = ConvRelu.backward dout (snd (ConvRelu.forward cfg x w b))

        let nx, nw, nb =
            numericConv (fun x w b -> fst (ConvRelu.forward cfg x w b)) x w b dout

        let case = describe c
        Prop.gradClose case "dx" g.Dx nx
        Prop.gradClose case "dw" g.Dw nw
        Prop.gradClose case "db" g.Db nb)

let private sandwichPool (c: Case) = {
    PoolHeight = c.["PPH"]
    PoolWidth = c.["PPW"]
    StrideH = c.["PS"]
    StrideW = c.["PS"]
}

/// No window of the ReLU output has two positive values within 1e-3 of its maximum.
let private noNearTies (pool: PoolConfig) (r: Tensor) =
    let d = r.Dims

    let ho, wo =
        (d.[2] - pool.PoolHeight) / pool.StrideH + 1, (d.[3] - pool.PoolWidth) / pool.StrideW + 1

    seq {
        for n in 0 .. d.[0] - 1 do
            for f in 0 .. d.[1] - 1 do
                for i in 0 .. ho - 1 do
                    for j in 0 .. wo - 1 do
                        let vs =
                            [|
                                for ki in 0 .. pool.PoolHeight - 1 do
                                    for kj in 0 .. pool.PoolWidth - 1 do
                                        Tensor.get [| n; f; i * pool.StrideH + ki; j * pool.StrideW + kj |] r
                            |]
                            |> Array.sortDescending

                        vs.[0] = 0.0 || vs.Length = 1 || vs.[0] - vs.[1] > 1e-3
    }
    |> Seq.forall id

[<Property(MaxTest = 100)>]
let ``conv-relu-pool backward matches numeric gradients away from kinks and ties`` () =
    let valid (c: Case) =
        validConv c
        && (let x, w, b, _ = convInputs c
            let out = fst (Conv.forward (convConfig c) x w b)

            out.Dims.[2] >= c.["PPH"]
            && out.Dims.[3] >= c.["PPW"]
            && awayFromKink out
            && noNearTies (sandwichPool c) (fst (Relu.forward out)))

    Prop.forAll (casesShrinkingPairs sandwichRanges valid) (fun c ->
        let cfg, pool = convConfig c, sandwichPool c
        let x, w, b, _ = convInputs c

        let fwd x w b =
            fst (ConvReluPool.forward cfg pool x w b)

        let dout = normal (key c 5) (Tensor.shape (fwd x w b))
        let g = ConvReluPool.backward dout (snd (ConvReluPool.forward cfg pool x w b))
        // Two window values within 2·h·|w| could swap places: a smaller step here, on smaller cases.
        let nx, nw, nb = numericConvWith 1e-5 fwd x w b dout
        let case = $"{describe c}, {pool}"
        Prop.gradClose case "dx" g.Dx nx
        Prop.gradClose case "dw" g.Dw nw
        Prop.gradClose case "db" g.Db nb)

[<Fact>]
let ``the course's conv_forward_naive check values`` () =
    // cs231n: x = linspace(-0.1, 0.5, (2, 3, 4, 4)), w = linspace(-0.2, 0.3, (3, 3, 4, 4)), b = linspace(-0.1, 0.2, 3),
    // stride 2, pad 1.
    let x = Tensor.linspace -0.1 0.5 [| 2; 3; 4; 4 |]
    let w = Tensor.linspace -0.2 0.3 [| 3; 3; 4; 4 |]
    let b = Tensor.linspace -0.1 0.2 [| 3 |]

    let expected =
        Tensor.ofArray [| 2; 3; 2; 2 |] [|
            -0.08759809
            -0.10987781
            -0.18387192
            -0.2109216
            0.21027089
            0.21661097
            0.22847626
            0.23004637
            0.50813986
            0.54309974
            0.64082444
            0.67101435
            -0.98053589
            -1.03143541
            -1.19128892
            -1.24695841
            0.69108355
            0.66880383
            0.59480972
            0.56776003
            2.36270298
            2.36904306
            2.38090835
            2.38247847
        |]

    for forward in [ Conv.forwardNaive; Conv.forward ] do
        let out, _ = forward (ConvConfig.Create(2, 1)) x w b
        Assert.True(GradCheck.relativeError out expected < 1e-7, string (GradCheck.relativeError out expected))
