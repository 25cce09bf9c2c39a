namespace Functional.FSharp

open Functional

/// <summary>How many random cases a verification runs and from which seed (the same seed gives the same cases).</summary>
[<NoComparison>]
type VerifyOptions = {
    /// <summary>The number of random cases, ≥ 1.</summary>
    Cases: int
    /// <summary>The seed of the cases.</summary>
    Seed: int
} with

    /// <summary>200 cases from seed 0.</summary>
    static member Default = { Cases = 200; Seed = 0 }

namespace Functional.FSharp

open System
open Functional

/// <summary>
/// Verify your own layer: one entry point per library layer and update rule. Give your forward pass (returning
/// the output and a cache of your own type) and your backward pass (taking the upstream gradient and that cache,
/// returning the gradients in the library's record); the verification runs random cases (VerifyOptions.Default:
/// 200 from seed 0, or the <c>…With</c> form), compares the forward with the library's reference and each gradient
/// with both the reference and the numeric gradient of YOUR forward, shrinks the first failure to the smallest case
/// that still fails, and returns a <see cref="T:Functional.VerifyReport"/> with a hint. So a backward consistent with
/// a wrong forward fails the reference but passes the numeric oracle, and a wrong backward of a right forward fails
/// both. The functions' signatures are the library's own: <c>Verify.convolution Conv.forward Conv.backward</c> passes.
/// Each layer's <c>…Spec</c> is its cases, description and known wrong formulas, for <c>Verification.run</c>.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Verify =
    /// <summary>The engine (Verification.run), for a function of your own with a spec of your own.</summary>
    let run spec cases seed check = Verification.run spec cases seed check

    let private shapeOf (t: Tensor) = Tensor.shape t

    let private ps (c: VerificationCase) (names: (string * string) list) =
        names |> List.map (fun (course, mine) -> course, float c.[mine])

    let private spec name arb describe variants : VerifySpec<VerificationCase> = {
        Name = name
        Arbitrary = arb
        Describe = describe
        Variants = variants
    }

    let private stdOf (xs: float[]) =
        let m = Array.average xs
        sqrt (xs |> Array.averageBy (fun v -> (v - m) * (v - m)))

    /// Groups of a flat array (each group's indices from a function) all spread by at least 0.5: the normalization's
    /// curvature (∝ 1/σ³) then keeps the numeric oracle's truncation error far below the bound.
    let private spread (groups: int[][]) (data: float[]) =
        groups
        |> Array.forall (fun g -> g.Length < 2 || stdOf (g |> Array.map (fun i -> data.[i])) >= 0.5)

    // ---- affine ----

    let private affineInputs (c: VerificationCase) =
        let n, d, m = c.["N"], c.["D"], c.["M"]

        Cases.normal (Cases.key c 0) [| n; d |],
        Cases.normal (Cases.key c 1) [| d; m |],
        Cases.normal (Cases.key c 2) [| m |],
        Cases.normal (Cases.key c 3) [| n; m |]

    /// <summary>The affine layer's spec: x (N, D), w (D, M), b (M,).</summary>
    let affineSpec =
        spec
            "affine"
            Cases.affine
            (fun c ->
                let x, w, b, _ = affineInputs c

                {
                    Parameters = ps c [ "N", "N"; "D", "D"; "M", "M" ]
                    Shapes = [ "x", shapeOf x; "w", shapeOf w; "b", shapeOf b ]
                })
            []

    let private affineLike forward backward refForward (refBackward: Tensor -> 'r -> AffineGrads) inputs =
        fun (c: VerificationCase) ->
            let x, w, b, dout = inputs c
            let out, cache = refForward x w b
            let g: AffineGrads = refBackward dout cache

            Verification.layerOutcome
                [ "x", x; "w", w; "b", b ]
                dout
                [ "out", out; "dx", g.Dx; "dw", g.Dw; "db", g.Db ]
                (fun ts ->
                    let o, k = forward ts.[0] ts.[1] ts.[2]
                    o, k, [])
                (fun d k ->
                    let g: AffineGrads = backward d k
                    [ "dx", g.Dx; "dw", g.Dw; "db", g.Db ])

    /// <summary>Verifies an affine layer (forward x w b → out (N, M), cache; backward dout cache → AffineGrads).</summary>
    let affineWith (options: VerifyOptions) forward backward =
        run
            affineSpec
            options.Cases
            options.Seed
            (affineLike forward backward Affine.forward Affine.backward affineInputs)

    /// <summary>Verifies an affine layer with VerifyOptions.Default.</summary>
    let affine forward backward =
        affineWith VerifyOptions.Default forward backward

    // ---- relu ----

    let private reluInputs (c: VerificationCase) =
        let shape = [| c.["N"]; c.["D"] |]
        Cases.awayFromZero 0.1 (Cases.key c 0) shape, Cases.normal (Cases.key c 1) shape

    /// <summary>The ReLU layer's spec: x (N, D), entries at least 0.1 from 0.</summary>
    let reluSpec =
        spec
            "relu"
            Cases.relu
            (fun c -> {
                Parameters = ps c [ "N", "N"; "D", "D" ]
                Shapes = [ "x", [| c.["N"]; c.["D"] |] ]
            })
            []

    /// <summary>Verifies a ReLU layer (forward x → out, cache; backward dout cache → dx).</summary>
    let reluWith (options: VerifyOptions) (forward: Tensor -> Tensor * 'c) (backward: Tensor -> 'c -> Tensor) =
        run reluSpec options.Cases options.Seed (fun c ->
            let x, dout = reluInputs c
            let out, cache = Relu.forward x

            Verification.layerOutcome
                [ "x", x ]
                dout
                [ "out", out; "dx", Relu.backward dout cache ]
                (fun ts ->
                    let o, k = forward ts.[0]
                    o, k, [])
                (fun d k -> [ "dx", backward d k ]))

    /// <summary>Verifies a ReLU layer with VerifyOptions.Default.</summary>
    let relu forward backward =
        reluWith VerifyOptions.Default forward backward

    // ---- losses ----

    let private lossInputs (c: VerificationCase) =
        let n, k = c.["N"], c.["C"]
        Cases.normal (Cases.key c 0) [| n; k |], Cases.labels (Cases.key c 1) n k

    let private lossSpec name =
        spec
            name
            Cases.loss
            (fun c -> {
                Parameters = ps c [ "N", "N"; "C", "C" ]
                Shapes = [ "x", [| c.["N"]; c.["C"] |]; "y", [| c.["N"] |] ]
            })
            []

    /// <summary>The softmax loss's spec: scores x (N, C), labels y (N,).</summary>
    let softmaxLossSpec = lossSpec "softmax_loss"

    /// <summary>The SVM loss's spec: scores x (N, C), labels y (N,).</summary>
    let svmLossSpec = lossSpec "svm_loss"

    /// The outcome of a loss on scores x: loss against the reference, dx against the reference and the numeric
    /// gradient of the checked loss.
    let private lossOutcome (x: Tensor) (reference: Tensor -> LossResult) (loss: Tensor -> LossResult) =
        let r = reference x

        Verification.layerOutcome
            [ "x", x ]
            (Tensor.ones [||])
            [ "out", Tensor.scalar r.Loss; "dx", r.Dscores ]
            (fun ts ->
                let mine = loss ts.[0]
                Tensor.scalar mine.Loss, mine, [])
            (fun _ mine -> [ "dx", mine.Dscores ])
        |> function
            | Outcome.Compared cs ->
                Outcome.Compared(
                    cs
                    |> List.map (fun cmp ->
                        if cmp.Output = "out" then
                            { cmp with Output = "loss" }
                        else
                            cmp)
                )
            | o -> o

    let private classification (reference: Tensor -> int[] -> LossResult) (loss: Tensor -> int[] -> LossResult) =
        fun (c: VerificationCase) ->
            let x, y = lossInputs c
            lossOutcome x (fun s -> reference s y) (fun s -> loss s y)

    /// <summary>Verifies a softmax loss (scores (N, C), labels → LossResult: loss averaged over N, dscores).</summary>
    let softmaxLossWith (options: VerifyOptions) loss =
        run softmaxLossSpec options.Cases options.Seed (classification Losses.softmax loss)

    /// <summary>Verifies a softmax loss with VerifyOptions.Default.</summary>
    let softmaxLoss loss =
        softmaxLossWith VerifyOptions.Default loss

    /// <summary>Verifies a multiclass SVM loss (margin 1, averaged over N).</summary>
    let svmLossWith (options: VerifyOptions) loss =
        run svmLossSpec options.Cases options.Seed (classification Losses.svm loss)

    /// <summary>Verifies a multiclass SVM loss with VerifyOptions.Default.</summary>
    let svmLoss loss = svmLossWith VerifyOptions.Default loss

    // ---- batch and layer normalization ----

    let private columns n d =
        Array.init d (fun j -> Array.init n (fun i -> i * d + j))

    let private rows n d =
        Array.init n (fun i -> Array.init d (fun j -> i * d + j))

    let private bnInputs (c: VerificationCase) =
        let n, d = c.["N"], c.["D"]

        let state = {
            RunningMean = Cases.normal (Cases.key c 4) [| d |]
            RunningVar = Tensor.map (fun v -> 0.5 + abs v) (Cases.normal (Cases.key c 5) [| d |])
        }

        Cases.normInput (Cases.key c 0) [| n; d |],
        Cases.normal (Cases.key c 1) [| d |],
        Cases.normal (Cases.key c 2) [| d |],
        Cases.normal (Cases.key c 3) [| n; d |],
        state,
        (if c.["mode"] = 1 then Mode.Test else Mode.Train)

    let private bnCases =
        Cases.where [ "N", 2, 6; "D", 1, 4; "mode", 0, 1 ] (fun c ->
            let x, _, _, _, _, _ = bnInputs c
            spread (columns c.["N"] c.["D"]) (Tensor.toArray x))

    /// <summary>Batch normalization's spec: x (N, D), gamma, beta (D,), running statistics (D,) drawn from the seed;
    /// mode train or test (parameter test_mode); momentum 0.9, eps 1e-5. Known wrong formulas: test mode with batch
    /// statistics, running variance updated with the standard deviation, normalization over the features.</summary>
    let batchnormSpec =
        spec
            "batchnorm"
            bnCases
            (fun c -> {
                Parameters = ps c [ "N", "N"; "D", "D"; "test_mode", "mode" ]
                Shapes = [ "x", [| c.["N"]; c.["D"] |]; "gamma", [| c.["D"] |]; "beta", [| c.["D"] |] ]
            })
            [
                {
                    Hint = "batchnorm-test-batch-statistics"
                    Outputs =
                        fun c ->
                            let x, gamma, beta, _, state, mode = bnInputs c

                            if mode = Mode.Test then
                                let out, _, _ =
                                    BatchNorm.forward BatchNormConfig.Default Mode.Train state gamma beta x

                                [ "out", out ]
                            else
                                []
                }
                {
                    Hint = "running-variance-std"
                    Outputs =
                        fun c ->
                            let x, _, _, _, state, mode = bnInputs c
                            let n, d = c.["N"], c.["D"]
                            let a = Tensor.toArray x
                            let m = BatchNormConfig.Default.Momentum

                            if mode = Mode.Train then
                                let std =
                                    columns n d |> Array.map (fun col -> stdOf (col |> Array.map (fun i -> a.[i])))

                                [
                                    "running_var",
                                    Tensor.ofArray
                                        [| d |]
                                        (Array.map2
                                            (fun r s -> m * r + (1.0 - m) * s)
                                            (Tensor.toArray state.RunningVar)
                                            std)
                                ]
                            else
                                []
                }
                {
                    Hint = "normalization-axis"
                    Outputs =
                        fun c ->
                            let x, gamma, beta, _, _, mode = bnInputs c

                            if mode = Mode.Train then
                                let out, _ = LayerNorm.forward BatchNormConfig.Default.Eps gamma beta x
                                [ "out", out ]
                            else
                                []
                }
            ]

    let private batchnormLike
        (referenceForward:
            BatchNormConfig -> Mode -> BatchNormState -> Tensor -> Tensor -> Tensor -> Tensor * BatchNormState * 'r)
        (referenceBackward: Tensor -> 'r -> NormGrads)
        (inputs: VerificationCase -> Tensor * Tensor * Tensor * Tensor * BatchNormState * Mode)
        (forward:
            BatchNormConfig -> Mode -> BatchNormState -> Tensor -> Tensor -> Tensor -> Tensor * BatchNormState * 'c)
        (backward: Tensor -> 'c -> NormGrads)
        =
        fun (c: VerificationCase) ->
            let x, gamma, beta, dout, state, mode = inputs c
            let cfg = BatchNormConfig.Default
            let out, state', cache = referenceForward cfg mode state gamma beta x

            let reference = [
                "out", out
                "running_mean", state'.RunningMean
                "running_var", state'.RunningVar
                if mode = Mode.Train then
                    let g = referenceBackward dout cache
                    yield! [ "dx", g.Dx; "dgamma", g.Dgamma; "dbeta", g.Dbeta ]
            ]

            Verification.layerOutcome
                [ "x", x; "gamma", gamma; "beta", beta ]
                dout
                reference
                (fun ts ->
                    let o, s, k = forward cfg mode state ts.[1] ts.[2] ts.[0]
                    o, k, [ "running_mean", s.RunningMean; "running_var", s.RunningVar ])
                (fun d k ->
                    if mode = Mode.Train then
                        let g = backward d k
                        [ "dx", g.Dx; "dgamma", g.Dgamma; "dbeta", g.Dbeta ]
                    else
                        [])

    /// <summary>Verifies batch normalization (forward cfg mode state gamma beta x → out (N, D), new state, cache;
    /// backward dout cache → NormGrads; the backward only in training mode).</summary>
    let batchnormWith (options: VerifyOptions) forward backward =
        run
            batchnormSpec
            options.Cases
            options.Seed
            (batchnormLike BatchNorm.forward BatchNorm.backward bnInputs forward backward)

    /// <summary>Verifies batch normalization with VerifyOptions.Default.</summary>
    let batchnorm forward backward =
        batchnormWith VerifyOptions.Default forward backward

    let private lnInputs (c: VerificationCase) =
        let n, d = c.["N"], c.["D"]

        Cases.normInput (Cases.key c 0) [| n; d |],
        Cases.normal (Cases.key c 1) [| d |],
        Cases.normal (Cases.key c 2) [| d |],
        Cases.normal (Cases.key c 3) [| n; d |]

    let private lnCases =
        Cases.where [ "N", 1, 5; "D", 2, 6 ] (fun c ->
            let x, _, _, _ = lnInputs c
            spread (rows c.["N"] c.["D"]) (Tensor.toArray x))

    /// <summary>Layer normalization's spec: x (N, D), gamma, beta (D,), eps 1e-5. Known wrong formula:
    /// normalization over the batch axis.</summary>
    let layernormSpec =
        spec
            "layernorm"
            lnCases
            (fun c -> {
                Parameters = ps c [ "N", "N"; "D", "D" ]
                Shapes = [ "x", [| c.["N"]; c.["D"] |]; "gamma", [| c.["D"] |]; "beta", [| c.["D"] |] ]
            })
            [
                {
                    Hint = "normalization-axis"
                    Outputs =
                        fun c ->
                            let x, gamma, beta, _ = lnInputs c

                            if c.["N"] >= 2 then
                                let out, _, _ =
                                    BatchNorm.forward
                                        BatchNormConfig.Default
                                        Mode.Train
                                        (BatchNormState.Initial c.["D"])
                                        gamma
                                        beta
                                        x

                                [ "out", out ]
                            else
                                []
                }
            ]

    let private normLike
        (eps: float)
        (referenceForward: float -> Tensor -> Tensor -> Tensor -> Tensor * 'r)
        (referenceBackward: Tensor -> 'r -> NormGrads)
        (inputs: VerificationCase -> Tensor * Tensor * Tensor * Tensor)
        (forward: float -> Tensor -> Tensor -> Tensor -> Tensor * 'c)
        (backward: Tensor -> 'c -> NormGrads)
        =
        fun (c: VerificationCase) ->
            let x, gamma, beta, dout = inputs c
            let out, cache = referenceForward eps gamma beta x
            let g = referenceBackward dout cache

            Verification.layerOutcome
                [ "x", x; "gamma", gamma; "beta", beta ]
                dout
                [ "out", out; "dx", g.Dx; "dgamma", g.Dgamma; "dbeta", g.Dbeta ]
                (fun ts ->
                    let o, k = forward eps ts.[1] ts.[2] ts.[0]
                    o, k, [])
                (fun d k ->
                    let g = backward d k
                    [ "dx", g.Dx; "dgamma", g.Dgamma; "dbeta", g.Dbeta ])

    /// <summary>Verifies layer normalization (forward eps gamma beta x → out (N, D), cache; backward → NormGrads).</summary>
    let layernormWith (options: VerifyOptions) forward backward =
        run
            layernormSpec
            options.Cases
            options.Seed
            (normLike 1e-5 LayerNorm.forward LayerNorm.backward lnInputs forward backward)

    /// <summary>Verifies layer normalization with VerifyOptions.Default.</summary>
    let layernorm forward backward =
        layernormWith VerifyOptions.Default forward backward

    // ---- dropout ----

    /// <summary>Dropout's spec: x (N, D), keep probability p = keep/10 (0.3–0.9), mode train or test.</summary>
    let dropoutSpec =
        spec
            "dropout"
            Cases.dropout
            (fun c -> {
                Parameters = [
                    "N", float c.["N"]
                    "D", float c.["D"]
                    "p", float c.["keep"] / 10.0
                    "test_mode", float c.["mode"]
                ]
                Shapes = [ "x", [| c.["N"]; c.["D"] |] ]
            })
            []

    /// <summary>
    /// Verifies dropout (forward keepProb mode rng x → out, cache; backward dout cache → dx). Your mask is your own
    /// (drawn from the rng given): in training mode the expected output keeps exactly the units your output keeps,
    /// scaled by 1/p (inverted dropout), and the expected dx is dout/p on them; in test mode out = x. The gradient is
    /// also compared with the numeric gradient of your forward under the same rng.
    /// </summary>
    let dropoutWith
        (options: VerifyOptions)
        (forward: float -> Mode -> Rng -> Tensor -> Tensor * 'c)
        (backward: Tensor -> 'c -> Tensor)
        =
        run dropoutSpec options.Cases options.Seed (fun c ->
            let shape = [| c.["N"]; c.["D"] |]
            let x = Cases.awayFromZero 0.1 (Cases.key c 0) shape
            let dout = Cases.normal (Cases.key c 1) shape
            let p = float c.["keep"] / 10.0
            let mode = if c.["mode"] = 1 then Mode.Test else Mode.Train
            let rng = Cases.key c 2
            let out, _ = forward p mode rng x

            let kept =
                if mode = Mode.Test || isNull (box out) || Tensor.shape out <> shape then
                    Tensor.ones shape
                else
                    out |> Tensor.map (fun v -> if v = 0.0 then 0.0 else 1.0)

            let scale = if mode = Mode.Test then 1.0 else 1.0 / p

            Verification.layerOutcome
                [ "x", x ]
                dout
                [ "out", x * kept * scale; "dx", dout * kept * scale ]
                (fun ts ->
                    let o, k = forward p mode rng ts.[0]
                    o, k, [])
                (fun d k -> [ "dx", backward d k ]))

    /// <summary>Verifies dropout with VerifyOptions.Default.</summary>
    let dropout forward backward =
        dropoutWith VerifyOptions.Default forward backward

    // ---- convolution and pooling ----

    /// <summary>The convolution's spec (Cases.convolution: the course's convolution, no dilation or groups):
    /// x (N, C, H, W), w (F, C, HH, WW), b (F,), stride and pad per axis (pad 0 reachable, strides that do not
    /// divide the input).</summary>
    let convolutionSpec =
        spec
            "convolution"
            Cases.convolution
            (fun c -> {
                Parameters =
                    ps c [
                        "N", "N"
                        "C", "C"
                        "F", "F"
                        "HH", "KH"
                        "WW", "KW"
                        "stride_h", "SH"
                        "stride_w", "SW"
                        "pad_h", "PH"
                        "pad_w", "PW"
                    ]
                Shapes = [ "x", Cases.convXShape c; "w", Cases.convWShape c; "b", [| c.["F"] |] ]
            })
            []

    /// <summary>Verifies a convolution (forward cfg x w b → out (N, F, H', W'), cache; backward dout cache →
    /// ConvGrads).</summary>
    let convolutionWith
        (options: VerifyOptions)
        (forward: ConvConfig -> Tensor -> Tensor -> Tensor -> Tensor * 'c)
        (backward: Tensor -> 'c -> ConvGrads)
        =
        run convolutionSpec options.Cases options.Seed (fun c ->
            let cfg = Cases.convConfig c
            let x, w, b, dout = Cases.convInputs c
            let out, cache = Conv.forward cfg x w b
            let g = Conv.backward dout cache

            Verification.layerOutcome
                [ "x", x; "w", w; "b", b ]
                dout
                [ "out", out; "dx", g.Dx; "dw", g.Dw; "db", g.Db ]
                (fun ts ->
                    let o, k = forward cfg ts.[0] ts.[1] ts.[2]
                    o, k, [])
                (fun d k ->
                    let g = backward d k
                    [ "dx", g.Dx; "dw", g.Dw; "db", g.Db ]))

    /// <summary>Verifies a convolution with VerifyOptions.Default.</summary>
    let convolution forward backward =
        convolutionWith VerifyOptions.Default forward backward

    /// <summary>Max pooling's backward with the arg-max's row and column computed from the flat window index with
    /// the window's width and height swapped (a known wrong formula, for the "max-pool-window" hint).</summary>
    let private maxPoolSwappedBackward (cfg: PoolConfig) (x: Tensor) (dout: Tensor) =
        let s = Tensor.shape x
        let n, ch, h, w = s.[0], s.[1], s.[2], s.[3]
        let ds = Tensor.shape dout
        let ho, wo = ds.[2], ds.[3]
        let xa, da = Tensor.toArray x, Tensor.toArray dout
        let dx = Array.zeroCreate xa.Length
        let ph, pw = cfg.PoolHeight, cfg.PoolWidth

        for i in 0 .. n - 1 do
            for k in 0 .. ch - 1 do
                let plane = (i * ch + k) * h * w

                for r in 0 .. ho - 1 do
                    for q in 0 .. wo - 1 do
                        let mutable best = -1
                        let mutable bestV = -infinity

                        for a in 0 .. ph - 1 do
                            for bb in 0 .. pw - 1 do
                                let v = xa.[plane + (r * cfg.StrideH + a) * w + q * cfg.StrideW + bb]

                                if v > bestV then
                                    bestV <- v
                                    best <- a * pw + bb

                        let a, bb = best / ph, best % ph
                        let row, col = r * cfg.StrideH + a, q * cfg.StrideW + bb

                        if row < h && col < w then
                            dx.[plane + row * w + col] <-
                                dx.[plane + row * w + col] + da.[((i * ch + k) * ho + r) * wo + q]

        Tensor.ofArray s dx

    /// <summary>Max pooling's spec (Cases.pool): x (N, C, H, W) of distinct values, windows pool_height ×
    /// pool_width (square and not), strides per axis. Known wrong formula: the arg-max's row and column computed
    /// with the other window size.</summary>
    let maxPoolSpec =
        spec
            "max_pool"
            Cases.pool
            (fun c -> {
                Parameters =
                    ps c [
                        "N", "N"
                        "C", "C"
                        "pool_height", "PH"
                        "pool_width", "PW"
                        "stride_h", "SH"
                        "stride_w", "SW"
                    ]
                Shapes = [ "x", snd (Cases.poolSetup c) ]
            })
            [
                {
                    Hint = "max-pool-window"
                    Outputs =
                        fun c ->
                            let cfg, _ = Cases.poolSetup c
                            let x, dout = Cases.poolInputs c
                            [ "dx", maxPoolSwappedBackward cfg x dout ]
                }
            ]

    /// <summary>Verifies max pooling (forward cfg x → out (N, C, H', W'), cache; backward dout cache → dx).</summary>
    let maxPoolWith
        (options: VerifyOptions)
        (forward: PoolConfig -> Tensor -> Tensor * 'c)
        (backward: Tensor -> 'c -> Tensor)
        =
        run maxPoolSpec options.Cases options.Seed (fun c ->
            let cfg, _ = Cases.poolSetup c
            let x, dout = Cases.poolInputs c
            let out, cache = MaxPool.forward cfg x

            Verification.layerOutcome
                [ "x", x ]
                dout
                [ "out", out; "dx", MaxPool.backward dout cache ]
                (fun ts ->
                    let o, k = forward cfg ts.[0]
                    o, k, [])
                (fun d k -> [ "dx", backward d k ]))

    /// <summary>Verifies max pooling with VerifyOptions.Default.</summary>
    let maxPool forward backward =
        maxPoolWith VerifyOptions.Default forward backward

    // ---- spatial normalization ----

    let private spatialGroups n ch h w g =
        let per = ch / g

        Array.init (n * g) (fun ng ->
            let i, gi = ng / g, ng % g

            [|
                for k in gi * per .. (gi + 1) * per - 1 do
                    for p in 0 .. h * w - 1 -> ((i * ch + k) * h * w) + p
            |])

    let private channelGroups n ch h w =
        Array.init ch (fun k -> [|
            for i in 0 .. n - 1 do
                for p in 0 .. h * w - 1 -> ((i * ch + k) * h * w) + p
        |])

    let private sbnInputs (c: VerificationCase) =
        let n, ch, h, w = c.["N"], c.["C"], c.["H"], c.["W"]

        Cases.normInput (Cases.key c 0) [| n; ch; h; w |],
        Cases.normal (Cases.key c 1) [| ch |],
        Cases.normal (Cases.key c 2) [| ch |],
        Cases.normal (Cases.key c 3) [| n; ch; h; w |],
        BatchNormState.Initial ch,
        Mode.Train

    let private sbnCases =
        Cases.where [ "N", 1, 3; "C", 1, 3; "H", 1, 3; "W", 1, 3 ] (fun c ->
            let x, _, _, _, _, _ = sbnInputs c

            c.["N"] * c.["H"] * c.["W"] >= 2
            && spread (channelGroups c.["N"] c.["C"] c.["H"] c.["W"]) (Tensor.toArray x))

    /// <summary>Spatial batch normalization's spec: x (N, C, H, W), gamma, beta (C,), training mode.</summary>
    let spatialBatchnormSpec =
        spec
            "spatial_batchnorm"
            sbnCases
            (fun c -> {
                Parameters = ps c [ "N", "N"; "C", "C"; "H", "H"; "W", "W" ]
                Shapes = [
                    "x", [| c.["N"]; c.["C"]; c.["H"]; c.["W"] |]
                    "gamma", [| c.["C"] |]
                    "beta", [| c.["C"] |]
                ]
            })
            []

    /// <summary>Verifies spatial batch normalization (the batchnorm signature over (N, C, H, W), per channel).</summary>
    let spatialBatchnormWith (options: VerifyOptions) forward backward =
        run
            spatialBatchnormSpec
            options.Cases
            options.Seed
            (batchnormLike SpatialBatchNorm.forward SpatialBatchNorm.backward sbnInputs forward backward)

    /// <summary>Verifies spatial batch normalization with VerifyOptions.Default.</summary>
    let spatialBatchnorm forward backward =
        spatialBatchnormWith VerifyOptions.Default forward backward

    let private gnInputs (c: VerificationCase) =
        let n, ch, h, w = c.["N"], c.["C"], c.["H"], c.["W"]

        Cases.normInput (Cases.key c 0) [| n; ch; h; w |],
        Cases.normal (Cases.key c 1) [| ch |],
        Cases.normal (Cases.key c 2) [| ch |],
        Cases.normal (Cases.key c 3) [| n; ch; h; w |]

    let private gnCases =
        Cases.where [ "N", 1, 3; "C", 1, 6; "H", 1, 3; "W", 1, 3; "G", 1, 6 ] (fun c ->
            let ch, g = c.["C"], c.["G"]

            g <= ch
            && ch % g = 0
            && ch / g * c.["H"] * c.["W"] >= 2
            && (let x, _, _, _ = gnInputs c
                spread (spatialGroups c.["N"] ch c.["H"] c.["W"] g) (Tensor.toArray x)))

    /// <summary>Spatial group normalization's spec: x (N, C, H, W), G dividing C (G = 1 and G = C reachable),
    /// gamma, beta (C,), eps 1e-5.</summary>
    let groupnormSpec =
        spec
            "spatial_groupnorm"
            gnCases
            (fun c -> {
                Parameters = ps c [ "N", "N"; "C", "C"; "H", "H"; "W", "W"; "G", "G" ]
                Shapes = [
                    "x", [| c.["N"]; c.["C"]; c.["H"]; c.["W"] |]
                    "gamma", [| c.["C"] |]
                    "beta", [| c.["C"] |]
                ]
            })
            []

    /// <summary>Verifies spatial group normalization (forward eps G gamma beta x → out, cache; backward → NormGrads).</summary>
    let groupnormWith
        (options: VerifyOptions)
        (forward: float -> int -> Tensor -> Tensor -> Tensor -> Tensor * 'c)
        backward
        =
        run groupnormSpec options.Cases options.Seed (fun c ->
            let g = c.["G"]

            normLike
                1e-5
                (fun eps -> GroupNorm.forward eps g)
                GroupNorm.backward
                gnInputs
                (fun eps -> forward eps g)
                backward
                c)

    /// <summary>Verifies spatial group normalization with VerifyOptions.Default.</summary>
    let groupnorm forward backward =
        groupnormWith VerifyOptions.Default forward backward

    // ---- update rules ----

    let private updateInputs (c: VerificationCase) =
        let shape = [| c.["R"]; c.["K"] |]
        Cases.normal (Cases.key c 0) shape, List.init c.["steps"] (fun k -> Cases.normal (Cases.key c (k + 1)) shape)

    let private stacked (ws: Tensor list) =
        let shape = Tensor.shape ws.Head
        Tensor.ofArray (Array.append [| ws.Length |] shape) (ws |> List.toArray |> Array.collect Tensor.toArray)

    let private trajectory
        (config: OptimConfig)
        (init: Tensor -> 's)
        (step: OptimConfig -> 's -> Tensor -> Tensor -> Tensor * 's)
        (c: VerificationCase)
        =
        let w0, dws = updateInputs c

        dws
        |> List.scan (fun (w, s) dw -> step config s w dw) (w0, init w0)
        |> List.tail
        |> List.map fst
        |> stacked

    let private configOf (rule: UpdateRule) (c: VerificationCase) = {
        rule.Config with
            LearningRate = float c.["lr"] * 1e-3
    }

    let private adamWithoutBiasCorrection (config: OptimConfig) (c: VerificationCase) =
        let w0, dws = updateInputs c
        let zeros = Tensor.zeros (Tensor.shape w0)

        dws
        |> List.scan
            (fun (w: Tensor, m: Tensor, v: Tensor) (dw: Tensor) ->
                let m' = m * config.Beta1 + dw * (1.0 - config.Beta1)
                let v' = v * config.Beta2 + dw * dw * (1.0 - config.Beta2)
                let step = Tensor.map2 (fun a b -> a / (sqrt b + config.Epsilon)) m' v'
                w - step * config.LearningRate, m', v')
            (w0, zeros, zeros)
        |> List.tail
        |> List.map (fun (w, _, _) -> w)
        |> stacked

    let private updateSpec (rule: UpdateRule) =
        spec
            rule.Name
            Cases.update
            (fun c -> {
                Parameters = [ "learning_rate", float c.["lr"] * 1e-3; "steps", float c.["steps"] ]
                Shapes = [ "w", [| c.["R"]; c.["K"] |]; "dw", [| c.["R"]; c.["K"] |] ]
            })
            (if rule.Name = "adam" then
                 [
                     {
                         Hint = "adam-bias-correction"
                         Outputs = fun c -> [ "next_w", adamWithoutBiasCorrection (configOf rule c) c ]
                     }
                 ]
             else
                 [])

    /// <summary>The spec of sgd (the course's "sgd").</summary>
    let sgdSpec = updateSpec Optim.sgd

    /// <summary>The spec of SGD with momentum ("sgd_momentum").</summary>
    let momentumSpec = updateSpec Optim.momentum

    /// <summary>The spec of RMSProp.</summary>
    let rmspropSpec = updateSpec Optim.rmsprop

    /// <summary>The spec of Adam (known wrong formula: no bias correction).</summary>
    let adamSpec = updateSpec Optim.adam

    let private updateWith (rule: UpdateRule) (options: VerifyOptions) (init: Tensor -> 's) step =
        run (updateSpec rule) options.Cases options.Seed (fun c ->
            let config = configOf rule c

            Outcome.Compared [
                {
                    Output = "next_w"
                    Expected = trajectory config rule.Init rule.step c
                    Actual = trajectory config init step c
                    Oracle = Oracle.Reference
                }
            ])

    /// <summary>
    /// Verifies an SGD step (init w → your state; step config state w dw → next w, next state) over 1–5 consecutive
    /// steps with the state carried forward; output next_w is every step's w stacked, (steps, R, K). The config is
    /// the library's default with the case's learning rate.
    /// </summary>
    let sgdWith options init step = updateWith Optim.sgd options init step

    /// <summary>Verifies an SGD step with VerifyOptions.Default.</summary>
    let sgd init step = sgdWith VerifyOptions.Default init step

    /// <summary>Verifies SGD with momentum (momentum 0.9) as sgdWith does.</summary>
    let momentumWith options init step =
        updateWith Optim.momentum options init step

    /// <summary>Verifies SGD with momentum with VerifyOptions.Default.</summary>
    let momentum init step =
        momentumWith VerifyOptions.Default init step

    /// <summary>Verifies RMSProp (decay 0.99, ε 1e-8) as sgdWith does.</summary>
    let rmspropWith options init step =
        updateWith Optim.rmsprop options init step

    /// <summary>Verifies RMSProp with VerifyOptions.Default.</summary>
    let rmsprop init step =
        rmspropWith VerifyOptions.Default init step

    /// <summary>Verifies Adam (β₁ 0.9, β₂ 0.999, ε 1e-8, bias-corrected, t incremented before use) as sgdWith does.</summary>
    let adamWith options init step = updateWith Optim.adam options init step

    /// <summary>Verifies Adam with VerifyOptions.Default.</summary>
    let adam init step =
        adamWith VerifyOptions.Default init step

    // ---- temporal layers ----

    let private embeddingInputs (c: VerificationCase) =
        let n, t, v, d = c.["N"], c.["T"], c.["V"], c.["D"]

        Indices.FromArray(Cases.indices (Cases.key c 0) n t v, n, t),
        Cases.normal (Cases.key c 1) [| v; d |],
        Cases.normal (Cases.key c 2) [| n; t; d |]

    let private repeated (xs: int[]) =
        if Array.distinct xs |> Array.length < xs.Length then
            1.0
        else
            0.0

    /// <summary>The word embedding's spec: indices x (N, T) in [0, V), W (V, D); parameter repeated = 1 when an
    /// index occurs twice. Known wrong formula: dW assigned, not accumulated (the last occurrence wins).</summary>
    let wordEmbeddingSpec =
        spec
            "word_embedding"
            Cases.wordEmbedding
            (fun c ->
                let x, _, _ = embeddingInputs c

                {
                    Parameters =
                        ps c [ "N", "N"; "T", "T"; "V", "V"; "D", "D" ]
                        @ [ "repeated", repeated (x.ToArray()) ]
                    Shapes = [ "x", [| c.["N"]; c.["T"] |]; "W", [| c.["V"]; c.["D"] |] ]
                })
            [
                {
                    Hint = "embedding-accumulation"
                    Outputs =
                        fun c ->
                            let x, w, dout = embeddingInputs c
                            let d = c.["D"]
                            let dw = Array.zeroCreate (c.["V"] * d)
                            let da = Tensor.toArray dout

                            x.ToArray() |> Array.iteri (fun k i -> Array.blit da (k * d) dw (i * d) d)

                            [ "dW", Tensor.ofArray (Tensor.shape w) dw ]
                }
            ]

    /// <summary>Verifies a word embedding (forward x W → out (N, T, D), cache; backward dout cache → dW (V, D)).</summary>
    let wordEmbeddingWith
        (options: VerifyOptions)
        (forward: Indices -> Tensor -> Tensor * 'c)
        (backward: Tensor -> 'c -> Tensor)
        =
        run wordEmbeddingSpec options.Cases options.Seed (fun c ->
            let x, w, dout = embeddingInputs c
            let out, cache = WordEmbedding.forward x w

            Verification.layerOutcome
                [ "W", w ]
                dout
                [ "out", out; "dW", WordEmbedding.backward dout cache ]
                (fun ts ->
                    let o, k = forward x ts.[0]
                    o, k, [])
                (fun d k -> [ "dW", backward d k ]))

    /// <summary>Verifies a word embedding with VerifyOptions.Default.</summary>
    let wordEmbedding forward backward =
        wordEmbeddingWith VerifyOptions.Default forward backward

    let private temporalAffineInputs (c: VerificationCase) =
        let n, t, d, m = c.["N"], c.["T"], c.["D"], c.["M"]

        Cases.normal (Cases.key c 0) [| n; t; d |],
        Cases.normal (Cases.key c 1) [| d; m |],
        Cases.normal (Cases.key c 2) [| m |],
        Cases.normal (Cases.key c 3) [| n; t; m |]

    /// <summary>The temporal affine layer's spec: x (N, T, D), w (D, M), b (M,).</summary>
    let temporalAffineSpec =
        spec
            "temporal_affine"
            Cases.temporalAffine
            (fun c -> {
                Parameters = ps c [ "N", "N"; "T", "T"; "D", "D"; "M", "M" ]
                Shapes = [
                    "x", [| c.["N"]; c.["T"]; c.["D"] |]
                    "w", [| c.["D"]; c.["M"] |]
                    "b", [| c.["M"] |]
                ]
            })
            []

    /// <summary>Verifies a temporal affine layer (forward x w b → out (N, T, M), cache; backward → AffineGrads).</summary>
    let temporalAffineWith (options: VerifyOptions) forward backward =
        run
            temporalAffineSpec
            options.Cases
            options.Seed
            (affineLike forward backward TemporalAffine.forward TemporalAffine.backward temporalAffineInputs)

    /// <summary>Verifies a temporal affine layer with VerifyOptions.Default.</summary>
    let temporalAffine forward backward =
        temporalAffineWith VerifyOptions.Default forward backward

    let private temporalSoftmaxInputs (c: VerificationCase) =
        let n, t, v = c.["N"], c.["T"], c.["V"]

        Cases.normal (Cases.key c 0) [| n; t; v |],
        Indices.FromArray(Cases.indices (Cases.key c 1) n t v, n, t),
        Mask.FromArray(Cases.mask (Cases.key c 2) n t (c.["mask"] = 1), n, t)

    /// <summary>The temporal softmax loss's spec: scores x (N, T, V), targets y (N, T), mask (N, T) with zeros or
    /// all ones (parameter masked = 1 when some step is masked). Known wrong formula: the mask ignored.</summary>
    let temporalSoftmaxLossSpec =
        spec
            "temporal_softmax_loss"
            Cases.temporalSoftmax
            (fun c ->
                let _, _, mask = temporalSoftmaxInputs c

                {
                    Parameters =
                        ps c [ "N", "N"; "T", "T"; "V", "V" ]
                        @ [ "masked", (if mask.CountTrue < mask.Count then 1.0 else 0.0) ]
                    Shapes = [
                        "x", [| c.["N"]; c.["T"]; c.["V"] |]
                        "y", [| c.["N"]; c.["T"] |]
                        "mask", [| c.["N"]; c.["T"] |]
                    ]
                })
            [
                {
                    Hint = "temporal-mask-ignored"
                    Outputs =
                        fun c ->
                            let x, y, _ = temporalSoftmaxInputs c
                            let r = TemporalSoftmax.loss x y (Mask.Full(true, c.["N"], c.["T"]))
                            [ "loss", Tensor.scalar r.Loss; "dx", r.Dscores ]
                }
            ]

    /// <summary>Verifies a temporal softmax loss (scores (N, T, V), targets, mask → LossResult: the masked steps'
    /// losses summed and divided by N, dscores (N, T, V)).</summary>
    let temporalSoftmaxLossWith (options: VerifyOptions) (loss: Tensor -> Indices -> Mask -> LossResult) =
        run temporalSoftmaxLossSpec options.Cases options.Seed (fun c ->
            let x, y, mask = temporalSoftmaxInputs c
            lossOutcome x (fun s -> TemporalSoftmax.loss s y mask) (fun s -> loss s y mask))

    /// <summary>Verifies a temporal softmax loss with VerifyOptions.Default.</summary>
    let temporalSoftmaxLoss loss =
        temporalSoftmaxLossWith VerifyOptions.Default loss

    // ---- recurrent layers ----

    let private recurrentDescribe (step: bool) (gates: int) (c: VerificationCase) =
        let n, d, h = c.["N"], c.["D"], c.["H"]

        {
            Parameters =
                ps c [ "N", "N"; "D", "D"; "H", "H" ]
                @ (if step then [] else [ "T", float c.["T"] ])
            Shapes = [
                "x", (if step then [| n; d |] else [| n; c.["T"]; d |])
                (if step then "prev_h" else "h0"), [| n; h |]
                "Wx", [| d; gates * h |]
                "Wh", [| h; gates * h |]
                "b", [| gates * h |]
            ]
        }

    let private recurrentInputs (step: bool) (gates: int) (c: VerificationCase) =
        let n, d, h = c.["N"], c.["D"], c.["H"]
        let xShape = if step then [| n; d |] else [| n; c.["T"]; d |]
        let outShape = if step then [| n; h |] else [| n; c.["T"]; h |]

        [
            "x", Cases.normal (Cases.key c 0) xShape
            (if step then "prev_h" else "h0"), Cases.normal (Cases.key c 1) [| n; h |]
            "Wx", Cases.normal (Cases.key c 2) [| d; gates * h |] * 0.5
            "Wh", Cases.normal (Cases.key c 3) [| h; gates * h |] * 0.5
            "b", Cases.normal (Cases.key c 4) [| gates * h |]
        ],
        Cases.normal (Cases.key c 5) outShape

    /// <summary>The vanilla RNN step's spec: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,).</summary>
    let rnnStepSpec = spec "rnn_step" Cases.recurrentStep (recurrentDescribe true 1) []

    /// <summary>The vanilla RNN's spec: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,); T = 1 and T &gt; 1.</summary>
    let rnnSpec = spec "rnn" Cases.recurrent (recurrentDescribe false 1) []

    let private recurrentLike
        (step: bool)
        (gates: int)
        (referenceForward: Tensor -> Tensor -> Tensor -> Tensor -> Tensor -> Tensor * 'r)
        (referenceBackward: Tensor -> 'r -> (string * Tensor) list)
        (forward: Tensor -> Tensor -> Tensor -> Tensor -> Tensor -> Tensor * 'c)
        (backward: Tensor -> 'c -> (string * Tensor) list)
        =
        fun (c: VerificationCase) ->
            let inputs, dout = recurrentInputs step gates c

            let apply f (ts: Tensor list) = f ts.[0] ts.[1] ts.[2] ts.[3] ts.[4]

            let out, cache = apply referenceForward (List.map snd inputs)

            Verification.layerOutcome
                inputs
                dout
                (("out", out) :: referenceBackward dout cache)
                (fun ts ->
                    let o, k = apply forward ts
                    o, k, [])
                backward

    let private rnnStepGrads (g: RnnStepGrads) = [
        "dx", g.Dx
        "dprev_h", g.DprevH
        "dWx", g.DWx
        "dWh", g.DWh
        "db", g.Db
    ]

    let private rnnGrads (g: RnnGrads) = [ "dx", g.Dx; "dh0", g.Dh0; "dWx", g.DWx; "dWh", g.DWh; "db", g.Db ]

    /// <summary>Verifies a vanilla RNN step (forward x prev_h Wx Wh b → next_h (N, H), cache; backward dnext_h cache
    /// → RnnStepGrads).</summary>
    let rnnStepWith (options: VerifyOptions) forward (backward: Tensor -> 'c -> RnnStepGrads) =
        run
            rnnStepSpec
            options.Cases
            options.Seed
            (recurrentLike true 1 Rnn.stepForward (fun d k -> rnnStepGrads (Rnn.stepBackward d k)) forward (fun d k ->
                rnnStepGrads (backward d k)))

    /// <summary>Verifies a vanilla RNN step with VerifyOptions.Default.</summary>
    let rnnStep forward backward =
        rnnStepWith VerifyOptions.Default forward backward

    /// <summary>Verifies a vanilla RNN over a sequence (forward x h0 Wx Wh b → h (N, T, H), cache; backward dh
    /// cache → RnnGrads).</summary>
    let rnnWith (options: VerifyOptions) forward (backward: Tensor -> 'c -> RnnGrads) =
        run
            rnnSpec
            options.Cases
            options.Seed
            (recurrentLike false 1 Rnn.forward (fun d k -> rnnGrads (Rnn.backward d k)) forward (fun d k ->
                rnnGrads (backward d k)))

    /// <summary>Verifies a vanilla RNN with VerifyOptions.Default.</summary>
    let rnn forward backward =
        rnnWith VerifyOptions.Default forward backward

    /// Wx, Wh or b with the gate blocks o (2H..3H) and g (3H..4H) swapped: an LSTM reading the gates as i, f, g, o
    /// computes the library's LSTM of the swapped parameters.
    let private swapGates (h: int) (t: Tensor) =
        let shape = Tensor.shape t
        let cols = shape.[shape.Length - 1]
        let a = Tensor.toArray t

        let src j =
            if j >= 2 * h && j < 3 * h then j + h
            elif j >= 3 * h then j - h
            else j

        Tensor.ofArray shape (Array.init a.Length (fun k -> a.[k - k % cols + src (k % cols)]))

    /// <summary>The LSTM's spec: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,), gates i, f, o, g. Known
    /// wrong formula: the gates in the order i, f, g, o.</summary>
    let lstmSpec =
        spec "lstm" Cases.recurrent (recurrentDescribe false 4) [
            {
                Hint = "lstm-gate-order"
                Outputs =
                    fun c ->
                        let inputs, _ = recurrentInputs false 4 c
                        let t = List.map snd inputs |> List.toArray
                        let sw = swapGates c.["H"]
                        let out, _ = Lstm.forward t.[0] t.[1] (sw t.[2]) (sw t.[3]) (sw t.[4])
                        [ "out", out ]
            }
        ]

    let private lstmGrads (g: LstmGrads) = [ "dx", g.Dx; "dh0", g.Dh0; "dWx", g.DWx; "dWh", g.DWh; "db", g.Db ]

    /// <summary>Verifies an LSTM over a sequence (forward x h0 Wx Wh b → h (N, T, H), cache; backward dh cache →
    /// LstmGrads).</summary>
    let lstmWith (options: VerifyOptions) forward (backward: Tensor -> 'c -> LstmGrads) =
        run
            lstmSpec
            options.Cases
            options.Seed
            (recurrentLike false 4 Lstm.forward (fun d k -> lstmGrads (Lstm.backward d k)) forward (fun d k ->
                lstmGrads (backward d k)))

    /// <summary>Verifies an LSTM with VerifyOptions.Default.</summary>
    let lstm forward backward =
        lstmWith VerifyOptions.Default forward backward

    /// <summary>The LSTM step's spec: x (N, D), prev_h, prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,); the output
    /// is next_h and next_c side by side, (N, 2H).</summary>
    let lstmStepSpec =
        spec
            "lstm_step"
            Cases.recurrentStep
            (fun c ->
                let d = recurrentDescribe true 4 c

                {
                    d with
                        Shapes = d.Shapes @ [ "prev_c", [| c.["N"]; c.["H"] |] ]
                })
            []

    let private sideBySide (a: Tensor) (b: Tensor) =
        let s = Tensor.shape a
        let n, h = s.[0], s.[1]
        let x, y = Tensor.toArray a, Tensor.toArray b

        Tensor.ofArray
            [| n; 2 * h |]
            (Array.init (n * 2 * h) (fun k ->
                let i, j = k / (2 * h), k % (2 * h) in if j < h then x.[i * h + j] else y.[i * h + j - h]))

    let private halves (t: Tensor) =
        let s = Tensor.shape t
        let n, h2 = s.[0], s.[1]
        let h = h2 / 2
        let a = Tensor.toArray t

        Tensor.ofArray [| n; h |] (Array.init (n * h) (fun k -> a.[(k / h) * h2 + k % h])),
        Tensor.ofArray [| n; h |] (Array.init (n * h) (fun k -> a.[(k / h) * h2 + h + k % h]))

    /// <summary>Verifies an LSTM step (forward x prev_h prev_c Wx Wh b → next_h, next_c (N, H), cache; backward
    /// dnext_h dnext_c cache → LstmStepGrads). The output "out" is next_h and next_c side by side (N, 2H).</summary>
    let lstmStepWith
        (options: VerifyOptions)
        (forward: Tensor -> Tensor -> Tensor -> Tensor -> Tensor -> Tensor -> Tensor * Tensor * 'c)
        (backward: Tensor -> Tensor -> 'c -> LstmStepGrads)
        =
        run lstmStepSpec options.Cases options.Seed (fun c ->
            let inputs, _ = recurrentInputs true 4 c
            let n, h = c.["N"], c.["H"]
            let prevC = Cases.normal (Cases.key c 6) [| n; h |]
            let dout = Cases.normal (Cases.key c 7) [| n; 2 * h |]
            let all = (List.take 2 inputs) @ [ "prev_c", prevC ] @ (List.skip 2 inputs)

            let call f (ts: Tensor list) =
                let nh, nc, k = f ts.[0] ts.[1] ts.[2] ts.[3] ts.[4] ts.[5]
                sideBySide nh nc, k

            let grads (g: LstmStepGrads) = [
                "dx", g.Dx
                "dprev_h", g.DprevH
                "dprev_c", g.DprevC
                "dWx", g.DWx
                "dWh", g.DWh
                "db", g.Db
            ]

            let out, cache = call Lstm.stepForward (List.map snd all)
            let dh, dc = halves dout

            Verification.layerOutcome
                all
                dout
                (("out", out) :: grads (Lstm.stepBackward dh dc cache))
                (fun ts ->
                    let o, k = call forward ts
                    o, k, [])
                (fun d k ->
                    let dh, dc = halves d
                    grads (backward dh dc k)))

    /// <summary>Verifies an LSTM step with VerifyOptions.Default.</summary>
    let lstmStep forward backward =
        lstmStepWith VerifyOptions.Default forward backward
