/// The third oracle: for every layer whose forward can be written from the autodiff ops, the hand-written backward
/// equals autodiff of that forward to 1e-10 (numeric gradients resolve only about 1e-7), over random shapes.
module Functional.Properties.AutodiffOracleProperties

open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// The bound on hand-written vs autodiff gradients (relative error, denominator floor 1e-2 as the gradient checks).
[<Literal>]
let OracleTolerance = 1e-10

let private oracleClose (case: string) (name: string) (expected: Tensor) (actual: Tensor) =
    let r = GradCheck.compareWith Prop.GradFloor name OracleTolerance actual expected

    if not r.Passed then
        failwith $"{case}: {r}"

/// Autodiff of a forward written from ops, contracted with an upstream gradient dout: the output and the gradient of
/// Σ f(inputs)·dout for every named input (what a hand-written backward returns for that dout).
let private autodiffOf (f: Map<string, Value> -> Value) (inputs: Map<string, Tensor>) (dout: Tensor) =
    let out = Autodiff.primal (f (inputs |> Map.map (fun _ t -> Autodiff.constant t)))

    let _, g =
        Autodiff.gradients (fun p -> Ops.sum [||] false (f p * Autodiff.constant dout)) inputs

    out, g

let private c' (t: Tensor) = Autodiff.constant t

// ---- the forwards written from ops ----

let affineOps (p: Map<string, Value>) =
    let x = p.["x"]
    let n = (Autodiff.primal x).Shape.[0]
    Ops.matmul (Ops.reshape [| n; -1 |] x) p.["w"] + p.["b"]

let reluOps (x: Value) = Ops.maximum x (Ops.scalar 0.0)

let leakyReluOps (slope: float) (x: Value) =
    let positive =
        Autodiff.primal x |> Tensor.map (fun v -> if v > 0.0 then 1.0 else 0.0)

    Ops.where positive x (x * slope)

let sigmoidOps (x: Value) = 1.0 / (1.0 + Ops.exp (-x))

let tanhOps (x: Value) =
    let e = Ops.exp (x * 2.0)
    (e - 1.0) / (e + 1.0)

let softmaxLossOps (y: int[]) (scores: Value) =
    let n = float y.Length
    let shifted = scores - Ops.max [| 1 |] true scores
    let logZ = Ops.log (Ops.sum [| 1 |] true (Ops.exp shifted))
    -(Ops.sum [||] false (Ops.pick y (shifted - logZ))) / n

let svmLossOps (y: int[]) (scores: Value) =
    let shape = Tensor.shape (Autodiff.primal scores)
    let n = shape.[0]
    let correct = Ops.reshape [| n; 1 |] (Ops.pick y scores)
    let margins = Ops.maximum (scores - correct + 1.0) (Ops.scalar 0.0)
    let others = Tensor.init shape (fun i -> if i.[1] = y.[i.[0]] then 0.0 else 1.0)
    Ops.sum [||] false (margins * c' others) / float n

let l2Ops (reg: float) (w: Value) = 0.5 * reg * Ops.sum [||] false (w * w)

/// (x − mean) / √(var + eps) over the given axes (biased variance), then gamma · x̂ + beta (broadcast by shape).
let normalizeOps (axes: int[]) (eps: float) (gammaShape: int[]) (p: Map<string, Value>) =
    let x = p.["x"]
    let mu = Ops.mean axes true x
    let centered = x - mu
    let var = Ops.mean axes true (centered * centered)
    let xhat = centered / Ops.sqrt (var + eps)
    Ops.reshape gammaShape p.["gamma"] * xhat + Ops.reshape gammaShape p.["beta"]

// ---- the properties ----

[<Property(MaxTest = 200)>]
let ``affine: hand-written backward = autodiff of x·w + b`` () =
    Prop.forAll (cases [ "N", 1, 4; "D1", 1, 3; "D2", 1, 3; "M", 1, 4 ]) (fun c ->
        let x = normal (key c 0) [| c.["N"]; c.["D1"]; c.["D2"] |]
        let w = normal (key c 1) [| c.["D1"] * c.["D2"]; c.["M"] |]
        let b = normal (key c 2) [| c.["M"] |]
        let dout = normal (key c 3) [| c.["N"]; c.["M"] |]
        let out, cache = Affine.forward x w b
        let g = Affine.backward dout cache
        let out', ad = autodiffOf affineOps (Map [ "x", x; "w", w; "b", b ]) dout
        let case = string c
        oracleClose case "out" out' out
        oracleClose case "dx" ad.["x"] g.Dx
        oracleClose case "dw" ad.["w"] g.Dw
        oracleClose case "db" ad.["b"] g.Db)

/// One elementwise layer against its ops forward: output and dx.
let private elementwise
    (name: string)
    (forward: Tensor -> Tensor * 'c)
    (backward: Tensor -> 'c -> Tensor)
    (ops: Value -> Value)
    =
    Prop.forAll (cases [ "N", 1, 4; "D", 1, 5 ]) (fun c ->
        let x = awayFromZero 1e-3 (key c 0) [| c.["N"]; c.["D"] |]
        let dout = normal (key c 1) [| c.["N"]; c.["D"] |]
        let out, cache = forward x
        let out', ad = autodiffOf (fun p -> ops p.["x"]) (Map [ "x", x ]) dout
        oracleClose (string c) $"{name} out" out' out
        oracleClose (string c) $"{name} dx" ad.["x"] (backward dout cache))
    |> Prop.label $"oracle {name}"

[<Property(MaxTest = 200)>]
let ``relu: hand-written backward = autodiff of max(x, 0)`` () =
    elementwise "relu" Relu.forward Relu.backward reluOps

[<Property(MaxTest = 200)>]
let ``leaky relu: hand-written backward = autodiff of where(x > 0, x, slope·x)`` () =
    elementwise "leaky relu" (LeakyRelu.forward 0.05) LeakyRelu.backward (leakyReluOps 0.05)

[<Property(MaxTest = 200)>]
let ``sigmoid: hand-written backward = autodiff of 1 / (1 + e^-x)`` () =
    elementwise "sigmoid" Sigmoid.forward Sigmoid.backward sigmoidOps

[<Property(MaxTest = 200)>]
let ``tanh: hand-written backward = autodiff of (e^2x − 1) / (e^2x + 1)`` () =
    elementwise "tanh" Tanh.forward Tanh.backward tanhOps

/// A loss over scores against its ops forward: the loss and dscores.
let private lossOracle (name: string) (loss: Tensor -> int[] -> LossResult) (ops: int[] -> Value -> Value) =
    Prop.forAll (cases [ "N", 1, 5; "C", 2, 5 ]) (fun c ->
        let scores = normal (key c 0) [| c.["N"]; c.["C"] |]
        let y = labels (key c 1) c.["N"] c.["C"]
        let r = loss scores y
        let value, g = Autodiff.valueAndGrad (ops y) scores

        Prop.ensure (abs (value - r.Loss) <= OracleTolerance * max 1.0 (abs r.Loss)) (fun () ->
            $"{c}: {value} vs {r.Loss}")

        oracleClose (string c) $"{name} dscores" g r.Dscores)
    |> Prop.label $"oracle {name}"

[<Property(MaxTest = 200)>]
let ``softmax loss: hand-written gradient = autodiff of −mean log softmax[y]`` () =
    lossOracle "softmax loss" Losses.softmax softmaxLossOps

[<Property(MaxTest = 200)>]
let ``SVM loss: hand-written gradient = autodiff of the mean hinge over the wrong classes`` () =
    lossOracle "svm loss" Losses.svm svmLossOps

[<Property(MaxTest = 100)>]
let ``L2: hand-written gradient = autodiff of 0.5 · reg · Σw²`` () =
    Prop.forAll (cases [ "D0", 1, 4; "D1", 1, 4 ]) (fun c ->
        let w = normal (key c 0) [| c.["D0"]; c.["D1"] |]
        let loss, g = Losses.l2 0.3 w
        let value, ad = Autodiff.valueAndGrad (l2Ops 0.3) w
        Prop.ensure (abs (value - loss) <= OracleTolerance * max 1.0 loss) (fun () -> $"{c}: {value} vs {loss}")
        oracleClose (string c) "l2 dw" ad g)

/// A normalization layer against its ops forward: output and the three gradients.
let private normOracle
    (case: string)
    (out: Tensor)
    (g: NormGrads)
    (ops: Map<string, Value> -> Value)
    x
    gamma
    beta
    dout
    =
    let out', ad = autodiffOf ops (Map [ "x", x; "gamma", gamma; "beta", beta ]) dout
    oracleClose case "out" out' out
    oracleClose case "dx" ad.["x"] g.Dx
    oracleClose case "dgamma" ad.["gamma"] g.Dgamma
    oracleClose case "dbeta" ad.["beta"] g.Dbeta

let private normInputs (c: Case) (shape: int[]) (channels: int) =
    normal (key c 0) shape |> Tensor.map (fun v -> 2.0 * v + 0.5),
    normal (key c 1) [| channels |],
    normal (key c 2) [| channels |],
    normal (key c 3) shape

[<Property(MaxTest = 200)>]
let ``batchnorm, train and test: hand-written backward = autodiff of (x − μ) / √(σ² + eps) · γ + β`` () =
    Prop.forAll (cases [ "N", 2, 6; "D", 1, 4; "Test", 0, 1 ]) (fun c ->
        let n, d = c.["N"], c.["D"]
        let x, gamma, beta, dout = normInputs c [| n; d |] d
        let cfg = BatchNormConfig.Default

        let state: BatchNormState = {
            RunningMean = normal (key c 4) [| d |]
            RunningVar = Tensor.rand (key c 5) 0.5 2.0 [| d |]
        }

        if c.["Test"] = 1 then
            let out, _, cache = BatchNorm.forward cfg Mode.Test state gamma beta x
            let g = BatchNorm.backward dout cache

            let ops (p: Map<string, Value>) =
                let xhat =
                    (p.["x"] - c' state.RunningMean) / c' (Tensor.sqrt (state.RunningVar + cfg.Eps))

                p.["gamma"] * xhat + p.["beta"]

            normOracle (string c) out g ops x gamma beta dout
        else
            let out, _, cache = BatchNorm.forward cfg Mode.Train state gamma beta x
            let g = BatchNorm.backward dout cache
            normOracle (string c) out g (normalizeOps [| 0 |] cfg.Eps [| d |]) x gamma beta dout)

[<Property(MaxTest = 200)>]
let ``layernorm: hand-written backward = autodiff of the per-row normalization`` () =
    Prop.forAll (cases [ "N", 1, 4; "D", 2, 6 ]) (fun c ->
        let n, d = c.["N"], c.["D"]
        let x, gamma, beta, dout = normInputs c [| n; d |] d
        let out, cache = LayerNorm.forward 1e-5 gamma beta x
        let g = LayerNorm.backward dout cache
        normOracle (string c) out g (normalizeOps [| 1 |] 1e-5 [| d |]) x gamma beta dout)

[<Property(MaxTest = 150)>]
let ``spatial batchnorm: hand-written backward = autodiff of the normalization over (N, H, W)`` () =
    Prop.forAll (cases [ "N", 1, 3; "C", 1, 3; "H", 1, 3; "W", 2, 3 ]) (fun c ->
        let ch = c.["C"]
        let x, gamma, beta, dout = normInputs c [| c.["N"]; ch; c.["H"]; c.["W"] |] ch
        let cfg = BatchNormConfig.Default

        let out, _, cache =
            SpatialBatchNorm.forward cfg Mode.Train (BatchNormState.Initial ch) gamma beta x

        let g = SpatialBatchNorm.backward dout cache
        normOracle (string c) out g (normalizeOps [| 0; 2; 3 |] cfg.Eps [| 1; ch; 1; 1 |]) x gamma beta dout)

[<Property(MaxTest = 150)>]
let ``group norm: hand-written backward = autodiff of the per-(sample, group) normalization`` () =
    Prop.forAll (cases [ "N", 1, 3; "G", 1, 3; "K", 1, 2; "H", 1, 3; "W", 2, 3 ]) (fun c ->
        let n, groups, h, w = c.["N"], c.["G"], c.["H"], c.["W"]
        let ch = groups * c.["K"]
        let shape = [| n; ch; h; w |]
        let x, gamma, beta, dout = normInputs c shape ch
        let out, cache = GroupNorm.forward 1e-5 groups gamma beta x
        let g = GroupNorm.backward dout cache

        let ops (p: Map<string, Value>) =
            let grouped = Ops.reshape [| n; groups; -1 |] p.["x"]
            let mu = Ops.mean [| 2 |] true grouped
            let centered = grouped - mu
            let var = Ops.mean [| 2 |] true (centered * centered)
            let xhat = Ops.reshape shape (centered / Ops.sqrt (var + 1e-5))

            Ops.reshape [| 1; ch; 1; 1 |] p.["gamma"] * xhat
            + Ops.reshape [| 1; ch; 1; 1 |] p.["beta"]

        normOracle (string c) out g ops x gamma beta dout)

[<Property(MaxTest = 100)>]
let ``dropout with a fixed mask: hand-written backward = autodiff of x · mask / p`` () =
    Prop.forAll (cases [ "N", 1, 4; "D", 1, 6; "P", 1, 9 ]) (fun c ->
        let keep = float c.["P"] / 10.0
        let x = normal (key c 0) [| c.["N"]; c.["D"] |]
        let dout = normal (key c 1) [| c.["N"]; c.["D"] |]
        let rng = key c 2
        let out, cache = Dropout.forward keep Mode.Train rng x
        let mask = Dropout.mask keep rng (Tensor.shape x)
        let out', ad = autodiffOf (fun p -> p.["x"] * c' mask / keep) (Map [ "x", x ]) dout
        oracleClose (string c) "out" out' out
        oracleClose (string c) "dx" ad.["x"] (Dropout.backward dout cache))

[<Property(MaxTest = 100)>]
let ``the lifted layers run the layer's own forward and backward`` () =
    Prop.forAll (cases [ "N", 1, 3; "D", 1, 4; "M", 1, 4 ]) (fun c ->
        let x = normal (key c 0) [| c.["N"]; c.["D"] |]
        let w = normal (key c 1) [| c.["D"]; c.["M"] |]
        let b = normal (key c 2) [| c.["M"] |]
        let y = labels (key c 3) c.["N"] c.["M"]
        let p = Map [ "x", x; "w", w; "b", b ]

        let loss, g =
            Autodiff.gradients (fun v -> Layers.softmaxLoss (Layers.affine v.["x"] v.["w"] v.["b"]) y) p

        let scores, cache = Affine.forward x w b
        let r = Losses.softmax scores y
        let hand = Affine.backward r.Dscores cache
        Prop.ensure (loss = r.Loss) (fun () -> $"{c}: {loss} vs {r.Loss}")
        Prop.close (string c) 0.0 hand.Dx g.["x"]
        Prop.close (string c) 0.0 hand.Dw g.["w"]
        Prop.close (string c) 0.0 hand.Db g.["b"]

        // a loss that is not at the root: its pullback scales by the upstream gradient
        let scaled (loss: Value -> int[] -> Value) (r: LossResult) =
            let _, gs = Autodiff.valueAndGrad (fun s -> loss s y * 3.0) scores
            Prop.close $"{c} scaled" 1e-15 (r.Dscores * 3.0) gs

        scaled Layers.softmaxLoss r
        scaled Layers.svmLoss (Losses.svm scores y)
        let _, gl = Autodiff.valueAndGrad (fun v -> Layers.l2 0.5 v * -2.0) w
        Prop.close $"{c} scaled l2" 1e-15 (w * -1.0) gl)

[<Property(MaxTest = 60)>]
let ``a two-input graph (image features -> h0, caption words -> embeddings -> RNN or LSTM) matches numeric gradients``
    ()
    =
    let ranges = [
        "N", 1, 3
        "T", 1, 3
        "F", 1, 3
        "D", 1, 3
        "H", 1, 3
        "V", 2, 4
        "Lstm", 0, 1
    ]

    Prop.forAll (cases ranges) (fun c ->
        let n, t, h, v = c.["N"], c.["T"], c.["H"], c.["V"]
        let gates = if c.["Lstm"] = 1 then 4 * h else h
        let features = normal (key c 0) [| n; c.["F"] |]
        let words = labels (key c 1) (n * t) v
        let captionsIn = Indices.FromArray(words, n, t)
        let captionsOut = Indices.FromArray(labels (key c 2) (n * t) v, n, t)
        let mask = Mask.FromArray(Array.init (n * t) (fun i -> i % 3 <> 2), n, t)

        let p =
            Map [
                "W_proj", normal (key c 3) [| c.["F"]; h |]
                "b_proj", normal (key c 4) [| h |]
                "W_embed", normal (key c 5) [| v; c.["D"] |]
                "Wx", normal (key c 6) [| c.["D"]; gates |] * 0.5
                "Wh", normal (key c 7) [| h; gates |] * 0.5
                "b", normal (key c 8) [| gates |]
                "W_vocab", normal (key c 9) [| h; v |]
                "b_vocab", normal (key c 10) [| v |]
            ]

        let loss (pv: Map<string, Value>) =
            let h0 = Layers.affine (Autodiff.constant features) pv.["W_proj"] pv.["b_proj"]
            let x = Layers.wordEmbedding captionsIn pv.["W_embed"]
            let recurrent = if c.["Lstm"] = 1 then Layers.lstm else Layers.rnn
            let hs = recurrent x h0 pv.["Wx"] pv.["Wh"] pv.["b"]
            Layers.temporalSoftmaxLoss (Layers.temporalAffine hs pv.["W_vocab"] pv.["b_vocab"]) captionsOut mask

        let _, g = Autodiff.gradients loss p

        for KeyValue(name, value) in p do
            let f (t: Tensor) =
                fst (Autodiff.gradients loss (Map.add name t p))

            Prop.gradClose (string c) name g.[name] (GradCheck.numericGradient 1e-5 f value))
