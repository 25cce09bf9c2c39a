/// Properties of the library's verification (Core.FSharp/Verification): the library's own layers pass every entry
/// point; deliberately broken F# layers fail with the right output, a shrunk configuration and the hint that names
/// the bug; the engine shrinks to the smallest failing case and reports stubs, errors and missing functions.
module Functional.Properties.VerificationProperties

open System
open Xunit
open Functional
open Functional.FSharp

let private options = { Cases = 25; Seed = 7 }

let private passes (r: VerifyReport) =
    Prop.ensure (r.Status = VerifyStatus.Pass) (fun () -> string r)

let private failsWith (output: string) (hint: string) (r: VerifyReport) =
    Prop.ensure (r.Status = VerifyStatus.Fail) (fun () -> $"expected a failure:\n{r}")

    match r.Failure, r.Hint with
    | Some f, Some h ->
        Prop.ensure (output = "" || f.Output = output) (fun () -> $"expected {output} to fail:\n{r}")
        Prop.ensure (h.Contains hint) (fun () -> $"expected the hint to mention \"{hint}\":\n{r}")
        f
    | _ -> failwith $"expected a counterexample and a hint:\n{r}"

let private param (f: Counterexample) (name: string) =
    f.Description.TryParameter name
    |> Option.defaultWith (fun () -> failwith $"no parameter {name} in {f.Description}")

[<Fact>]
let ``the library's own layers pass every entry point`` () =
    let small = { options with Cases = 8 }

    [
        Verify.affineWith options Affine.forward Affine.backward
        Verify.reluWith options Relu.forward Relu.backward
        Verify.softmaxLossWith options Losses.softmax
        Verify.svmLossWith options Losses.svm
        Verify.batchnormWith options BatchNorm.forward BatchNorm.backward
        Verify.batchnormWith options BatchNorm.forward BatchNorm.backwardAlt
        Verify.layernormWith options LayerNorm.forward LayerNorm.backward
        Verify.dropoutWith options Dropout.forward Dropout.backward
        Verify.convolutionWith small Conv.forward Conv.backward
        Verify.convolutionWith small Conv.forwardNaive Conv.backwardNaive
        Verify.maxPoolWith options MaxPool.forward MaxPool.backward
        Verify.maxPoolWith options MaxPool.forwardNaive MaxPool.backwardNaive
        Verify.spatialBatchnormWith options SpatialBatchNorm.forward SpatialBatchNorm.backward
        Verify.groupnormWith options GroupNorm.forward GroupNorm.backward
        Verify.sgdWith options Optim.sgd.Init Optim.sgd.step
        Verify.momentumWith options Optim.momentum.Init Optim.momentum.step
        Verify.rmspropWith options Optim.rmsprop.Init Optim.rmsprop.step
        Verify.adamWith options Optim.adam.Init Optim.adam.step
        Verify.wordEmbeddingWith options WordEmbedding.forward WordEmbedding.backward
        Verify.temporalAffineWith options TemporalAffine.forward TemporalAffine.backward
        Verify.temporalSoftmaxLossWith options TemporalSoftmax.loss
        Verify.rnnStepWith options Rnn.stepForward Rnn.stepBackward
        Verify.rnnWith options Rnn.forward Rnn.backward
        Verify.lstmStepWith small Lstm.stepForward Lstm.stepBackward
        Verify.lstmWith small Lstm.forward Lstm.backward
    ]
    |> List.iter passes

[<Fact>]
let ``a convolution backward that drops dx at pad 0 shrinks to the smallest case and gets the pad hint`` () =
    let r =
        Verify.convolutionWith
            { options with Cases = 40 }
            (fun cfg x w b ->
                let out, k = Conv.forward cfg x w b
                out, (cfg, k))
            (fun d (cfg, k) ->
                let g = Conv.backward d k

                if cfg.PadH = 0 && cfg.PadW = 0 then
                    {
                        g with
                            Dx = Tensor.zeros (Tensor.shape g.Dx)
                    }
                else
                    g)

    let f = failsWith "dx" "pad 0" r

    for name, expected in
        [
            "pad_h", 0.0
            "pad_w", 0.0
            "N", 1.0
            "C", 1.0
            "F", 1.0
            "HH", 1.0
            "WW", 1.0
        ] do
        Prop.ensure (param f name = expected) (fun () -> $"{name} not shrunk to {expected}:\n{r}")

    Prop.ensure (f.ShrinkSteps > 0) (fun () -> $"no shrinking:\n{r}")

[<Fact>]
let ``a softmax loss summed over N is recognized as N times too large`` () =
    Verify.softmaxLossWith options (fun s y ->
        let r = Losses.softmax s y
        let n = float (Tensor.shape s).[0]

        {
            Loss = r.Loss * n
            Dscores = r.Dscores * n
        })
    |> failsWith "loss" "summed over the N examples"
    |> ignore

[<Fact>]
let ``dropout that is not inverted, or reads p as the drop probability, gets its hint`` () =
    let notInverted p (mode: Mode) rng x =
        if mode = Mode.Test then
            x, Tensor.ones (Tensor.shape x)
        else
            let m = Dropout.mask p rng (Tensor.shape x)
            x * m, m

    let dropProbability p (mode: Mode) rng x =
        if mode = Mode.Test then
            x, Tensor.ones (Tensor.shape x)
        else
            let m = Dropout.mask (1.0 - p) rng (Tensor.shape x) / (1.0 - p)
            x * m, m

    let back d m = d * m

    Verify.dropoutWith { options with Cases = 60 } notInverted back
    |> failsWith "" "not inverted"
    |> ignore

    Verify.dropoutWith { options with Cases = 60 } dropProbability back
    |> failsWith "" "drop probability"
    |> ignore

[<Fact>]
let ``batchnorm test mode with batch statistics, and a running variance from the std, get their hints`` () =
    Verify.batchnormWith
        { options with Cases = 40 }
        (fun cfg mode state gamma beta x ->
            let out, state', k = BatchNorm.forward cfg Mode.Train state gamma beta x
            out, (if mode = Mode.Test then state else state'), k)
        BatchNorm.backward
    |> failsWith "out" "batch's statistics"
    |> ignore

    Verify.batchnormWith
        { options with Cases = 40 }
        (fun cfg mode state gamma beta x ->
            let out, state', k = BatchNorm.forward cfg mode state gamma beta x
            let m = cfg.Momentum
            // The running variance moved toward the batch std: σ = √(σ² − …) recovered from the correct update.
            let batchVar = (state'.RunningVar - state.RunningVar * m) / (1.0 - m)

            let wrong =
                if mode = Mode.Train then
                    state.RunningVar * m + Tensor.map sqrt batchVar * (1.0 - m)
                else
                    state'.RunningVar

            out, { state' with RunningVar = wrong }, k)
        BatchNorm.backward
    |> failsWith "running_var" "standard deviation"
    |> ignore

[<Fact>]
let ``a layer norm over the batch axis gets the wrong-axis hint`` () =
    // Normalizes each feature over the batch (batch norm's axis) for N ≥ 2; the backward is layer norm's.
    Verify.layernormWith
        { options with Cases = 40 }
        (fun eps gamma beta x ->
            let n, d = (Tensor.shape x).[0], (Tensor.shape x).[1]
            let right, k = LayerNorm.forward eps gamma beta x

            if n >= 2 then
                let out, _, _ =
                    BatchNorm.forward
                        {
                            BatchNormConfig.Default with
                                Eps = eps
                        }
                        Mode.Train
                        (BatchNormState.Initial d)
                        gamma
                        beta
                        x

                out, k
            else
                right, k)
        LayerNorm.backward
    |> failsWith "" "wrong axis"
    |> ignore

[<Fact>]
let ``an embedding gradient that assigns, a temporal loss that ignores the mask, get their hints`` () =
    let f =
        Verify.wordEmbeddingWith
            options
            (fun x w ->
                let out, _ = WordEmbedding.forward x w
                out, (x, Tensor.shape w))
            (fun d (x, ws) ->
                let dd = Tensor.toArray d
                let dw = Array.zeroCreate (ws.[0] * ws.[1])

                x.ToArray()
                |> Array.iteri (fun k i -> Array.blit dd (k * ws.[1]) dw (i * ws.[1]) ws.[1])

                Tensor.ofArray ws dw)
        |> failsWith "dW" "accumulating"

    Prop.ensure (param f "repeated" = 1.0) (fun () -> $"the shrunk case has no repeated index: {f.Description}")

    Verify.temporalSoftmaxLossWith options (fun s y _ ->
        let sh = Tensor.shape s
        TemporalSoftmax.loss s y (Mask.Full(true, sh.[0], sh.[1])))
    |> failsWith "dx" "masked steps"
    |> ignore

[<Fact>]
let ``an RNN backward right only for T = 1, and an LSTM with the gates i f g o, get their hints`` () =
    // The backward takes each step's dh alone, dropping the gradient carried back from later steps.
    let rnnBackward (dh: Tensor) (x: Tensor, h0: Tensor, wx: Tensor, wh: Tensor, b: Tensor) =
        let sh = Tensor.shape x
        let n, t, d = sh.[0], sh.[1], sh.[2]
        let h = (Tensor.shape h0).[1]
        let hs, _ = Rnn.forward x h0 wx wh b

        let at i width (s: Tensor) =
            s |> Tensor.slice 1 i (i + 1) |> Tensor.reshape [| n; width |]

        let grads = [
            for i in 0 .. t - 1 ->
                let prev = if i = 0 then h0 else at (i - 1) h hs
                let _, k = Rnn.stepForward (at i d x) prev wx wh b
                Rnn.stepBackward (at i h dh) k
        ]

        let sum (f: RnnStepGrads -> Tensor) = grads |> List.map f |> List.reduce (+)

        let dx =
            Tensor.ofArray
                sh
                (Array.init (n * t * d) (fun k ->
                    let row, ti, j = k / (t * d), (k / d) % t, k % d
                    (Tensor.toArray grads.[ti].Dx).[row * d + j]))

        ({
            Dx = dx
            Dh0 = grads.[0].DprevH
            DWx = sum (fun g -> g.DWx)
            DWh = sum (fun g -> g.DWh)
            Db = sum (fun g -> g.Db)
        }
        : RnnGrads)

    Verify.rnnWith
        { options with Cases = 30 }
        (fun x h0 wx wh b ->
            let out, _ = Rnn.forward x h0 wx wh b
            out, (x, h0, wx, wh, b))
        rnnBackward
    |> failsWith "" "T = 1"
    |> ignore

    let swap (h: int) (t: Tensor) =
        let sh = Tensor.shape t
        let cols = sh.[sh.Length - 1]
        let a = Tensor.toArray t

        let src j =
            if j >= 2 * h && j < 3 * h then j + h
            elif j >= 3 * h then j - h
            else j

        Tensor.ofArray sh (Array.init a.Length (fun k -> a.[k - k % cols + src (k % cols)]))

    Verify.lstmWith
        { options with Cases = 6 }
        (fun x h0 wx wh b ->
            let h = (Tensor.shape h0).[1]
            Lstm.forward x h0 (swap h wx) (swap h wh) (swap h b))
        (fun d k ->
            let g = Lstm.backward d k
            let h = (Tensor.shape g.Dh0).[1]

            {
                g with
                    DWx = swap h g.DWx
                    DWh = swap h g.DWh
                    Db = swap h g.Db
            })
    |> failsWith "" "LSTM gates are in another order"
    |> ignore

[<Fact>]
let ``a max-pool backward that is right only for square windows gets the non-square hint`` () =
    let r =
        Verify.maxPoolWith
            { options with Cases = 60 }
            (fun cfg x ->
                let out, k = MaxPool.forward cfg x
                out, (cfg, k))
            (fun d (cfg, k) ->
                let dx = MaxPool.backward d k

                if cfg.PoolHeight = cfg.PoolWidth then dx else dx * 0.5)

    let f = failsWith "dx" "height ≠ width" r
    Prop.ensure (param f "pool_height" <> param f "pool_width") (fun () -> $"shrunk to a square window:\n{r}")

[<Fact>]
let ``Adam without bias correction gets its hint at one step`` () =
    let step (c: OptimConfig) (m: Tensor, v: Tensor) (w: Tensor) (dw: Tensor) =
        let m' = m * c.Beta1 + dw * (1.0 - c.Beta1)
        let v' = v * c.Beta2 + dw * dw * (1.0 - c.Beta2)
        w - Tensor.map2 (fun a b -> a / (sqrt b + c.Epsilon)) m' v' * c.LearningRate, (m', v')

    let init w =
        Tensor.zeros (Tensor.shape w), Tensor.zeros (Tensor.shape w)

    let f = Verify.adamWith options init step |> failsWith "next_w" "bias-corrected"
    Prop.ensure (param f "steps" = 1.0) (fun () -> $"not shrunk to one step: {f.Description}")

[<Fact>]
let ``momentum that forgets its velocity fails only after the first step`` () =
    let r =
        Verify.momentumWith options (fun _ -> ()) (fun c () w dw -> w - dw * c.LearningRate, ())

    failsWith "next_w" "more than one step" r |> ignore

// ---- the engine ----

let private spec (valid: VerificationCase -> bool) : VerifySpec<VerificationCase> = {
    Name = "toy"
    Arbitrary = Cases.where [ "N", 1, 9; "K", 0, 5 ] valid
    Describe =
        fun c -> {
            Parameters = [ "N", float c.["N"]; "K", float c.["K"] ]
            Shapes = []
        }
    Variants = []
}

let private compared (expected: float) (actual: float) =
    Outcome.Compared [
        {
            Output = "y"
            Expected = Tensor.scalar expected
            Actual = Tensor.scalar actual
            Oracle = Oracle.Reference
        }
    ]

[<Fact>]
let ``the engine shrinks a failure to the smallest failing case`` () =
    Prop.check "shrinks to the boundary" 20 (Generators.cases [ "seed", 0, 100000 ]) (fun s ->
        // Fails exactly when N ≥ 4 and K ≥ 2: the smallest failing case is N = 4, K = 2.
        let r =
            Verification.run (spec (fun _ -> true)) 100 s.["seed"] (fun c ->
                compared 1.0 (if c.["N"] >= 4 && c.["K"] >= 2 then 2.0 else 1.0))

        match r.Failure with
        | Some f ->
            Prop.ensure (param f "N" = 4.0 && param f "K" = 2.0) (fun () -> $"not the smallest case: {r}")
            Prop.ensure (f.Expected = 1.0 && f.Actual = 2.0) (fun () -> string r)
        | None -> failwith $"no failure found in 100 cases: {r}")

[<Fact>]
let ``the engine reports stubs, missing functions, timeouts and errors by their status`` () =
    let run o =
        Verification.run (spec (fun _ -> true)) 10 0 (fun _ -> o)

    Prop.ensure ((run Outcome.NotImplemented).Status = VerifyStatus.NotImplemented) (fun () -> "not implemented")
    Prop.ensure ((run Outcome.NotFound).Status = VerifyStatus.NotFound) (fun () -> "not found")
    Prop.ensure ((run Outcome.Timeout).Status = VerifyStatus.Timeout) (fun () -> "timeout")

    let e =
        Verification.run (spec (fun _ -> true)) 30 0 (fun c ->
            if c.["N"] > 5 then
                raise (InvalidOperationException "boom")
            else
                compared 1.0 1.0)

    Prop.ensure (e.Status = VerifyStatus.Error) (fun () -> string e)

    Prop.ensure (e.Message |> Option.exists (fun m -> m.Contains "boom" && m.Contains "N=6")) (fun () ->
        $"the error is not shrunk to N = 6: {e}")

    let p = run (compared 1.0 (1.0 + 1e-12))
    Prop.ensure (p.Status = VerifyStatus.Pass && p.Cases = 10) (fun () -> string p)

[<Fact>]
let ``a case pattern hint needs every case on each side`` () =
    let r =
        Verification.run (spec (fun _ -> true)) 60 3 (fun c -> compared 1.0 (if c.["N"] = 1 then 0.5 else 1.0))

    Prop.ensure (r.Hint |> Option.exists (fun h -> h.Contains "N = 1" && h.Contains "N > 1")) (fun () -> string r)

    // Failing on only some of the N = 1 cases: no batch-of-one hint.
    let partial =
        Verification.run (spec (fun _ -> true)) 60 3 (fun c ->
            compared 1.0 (if c.["N"] = 1 && c.["K"] > 2 then 0.5 else 1.0))

    Prop.ensure (partial.Hint |> Option.forall (fun h -> not (h.Contains "N = 1"))) (fun () -> string partial)

[<Fact>]
let ``the catalogue holds at least 15 patterns with distinct ids`` () =
    let ids = Hints.catalogue |> List.map (fun p -> p.Id)
    Prop.ensure (ids.Length >= 15) (fun () -> $"{ids.Length} patterns")
    Prop.ensure (List.distinct ids = ids) (fun () -> $"duplicate ids in {ids}")

[<Fact>]
let ``the tolerance rule is the one the gradient properties use`` () =
    Prop.ensure (Prop.GradTolerance = Tolerance.Gradient && Prop.GradFloor = Tolerance.Floor) (fun () -> "rule")
    // 5e-10 absolute at a zero gradient passes (the floor allows 1e-9), 2e-9 does not.
    let z = Tensor.zeros [| 1 |]
    Prop.ensure (Tolerance.gradient "g" (Tensor.ofArray [| 1 |] [| 5e-10 |]) z).Passed (fun () -> "5e-10")
    Prop.ensure (not (Tolerance.gradient "g" (Tensor.ofArray [| 1 |] [| 2e-9 |]) z).Passed) (fun () -> "2e-9")

    Prop.ensure
        (Tolerance.relativeError 1.0 1.0 = 0.0
         && Tolerance.relativeError nan 1.0 = infinity)
        (fun () -> "nan")

/// The README's F# example of "Verify your own layer".
module ReadmeVerify =
    // README-BEGIN verify
    // Your layer, with the library's signatures (here the naive loops stand in for yours).
    let myForward (cfg: ConvConfig) (x: Tensor) (w: Tensor) (b: Tensor) = Conv.forwardNaive cfg x w b
    let myBackward (dout: Tensor) cache = Conv.backwardNaive dout cache

    let report = Verify.convolutionWith { Cases = 20; Seed = 1 } myForward myBackward
    printfn "%O" report // status, one line per output and oracle, the smallest failing case, the hint
    // README-END verify

[<Fact>]
let ``the README's verification examples are the code that runs here, and they pass`` () =
    Assert.Equal<string list>(
        ReadmeExamples.sourceRegionNamed " verify" "Properties/Core.Properties/VerificationProperties.fs",
        ReadmeExamples.readmeBlock "### Verify your own layer in F#" "fsharp"
    )

    Assert.Equal<string list>(
        ReadmeExamples.sourceRegionNamed " verify" "Properties/Api.Tests/VerifyTests.cs",
        ReadmeExamples.readmeBlock "### Verify your own layer in C#" "csharp"
    )

    passes ReadmeVerify.report
