module Functional.Properties.ConvNetProperties

open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// N examples of (C, H, W) with even H, W (2·h2, 2·w2), F filters of size 2·k + 1, hidden width Hd, K classes, R = 1 for reg.
let private ranges = [
    "N", 1, 3
    "C", 1, 2
    "h2", 1, 3
    "w2", 1, 3
    "F", 1, 3
    "k", 0, 1
    "Hd", 2, 5
    "K", 2, 4
    "R", 0, 1
]

let private config (c: Case) : ThreeLayerConvNetConfig = {
    InputDims = (c.["C"], 2 * c.["h2"], 2 * c.["w2"])
    NumFilters = c.["F"]
    FilterSize = 2 * c.["k"] + 1
    HiddenDim = c.["Hd"]
    NumClasses = c.["K"]
    WeightScale = 1.0
    Reg = (if c.["R"] = 1 then 0.3 else 0.0)
    Seed = int64 c.Seed
}

let private data (c: Case) =
    let ch, h, w = (config c).InputDims
    normal (key c 100) [| c.["N"]; ch; h; w |], labels (key c 101) c.["N"] c.["K"]

/// Every ReLU input at least 1e-3 from 0 and every max-pool window's winner at least 1e-3 above the runner-up
/// (when positive), so no centered difference with h = 1e-5 crosses a kink or a tie.
let private awayFromKinks (c: Case) =
    let cfg = config c
    let model = ConvNet.threeLayer cfg
    let p = model.Params
    let x, _ = data c
    let gap = 1e-3
    let a, _ = Conv.forward (ConvConfig.Create(1, c.["k"])) x p.["W1"] p.["b1"]
    let ok1 = Tensor.toArray a |> Array.forall (fun v -> abs v > gap)
    let r, _ = Relu.forward a
    let n, f, h, w = r.Dims.[0], r.Dims.[1], r.Dims.[2], r.Dims.[3]

    let ok2 =
        Seq.forall
            (fun (i, j, y, z) ->
                let vs =
                    [
                        for dy in 0..1 do
                            for dz in 0..1 -> r.[i, j, 2 * y + dy, 2 * z + dz]
                    ]
                    |> List.sortDescending

                vs.[0] = 0.0 || vs.[0] - vs.[1] > gap)
            (seq {
                for i in 0 .. n - 1 do
                    for j in 0 .. f - 1 do
                        for y in 0 .. h / 2 - 1 do
                            for z in 0 .. w / 2 - 1 -> i, j, y, z
            })

    let pooled, _ = MaxPool.forward (PoolConfig.Create(2, 2, 2)) r
    let hidden, _ = Affine.forward pooled p.["W2"] p.["b2"]
    ok1 && ok2 && (Tensor.toArray hidden |> Array.forall (fun v -> abs v > gap))

let private cases = casesWhere ranges awayFromKinks

[<Property(MaxTest = 100)>]
let ``three-layer convnet gradients match numeric gradients, with and without reg`` () =
    Prop.forAll cases (fun c ->
        let model = ConvNet.threeLayer (config c)
        let x, y = data c
        ModelProperties.checkModelGrads "convnet gradients" (string c) model model.Params (Rng.create 0L) x y)

[<Property(MaxTest = 100)>]
let ``the convnet as functions equals the same net wired by hand`` () =
    Prop.forAll (cases) (fun c ->
        let cfg = config c
        let model = ConvNet.threeLayer cfg
        let p = model.Params
        let x, y = data c
        let convCfg = ConvConfig.Create(1, c.["k"])
        let poolCfg = PoolConfig.Create(2, 2, 2)
        let h1, c1 = ConvReluPool.forward convCfg poolCfg x p.["W1"] p.["b1"]
        let h2, c2 = AffineRelu.forward h1 p.["W2"] p.["b2"]
        let scores, c3 = Affine.forward h2 p.["W3"] p.["b3"]
        Prop.close $"{c} scores" 1e-12 scores (model.Scores p model.State x)
        let loss = Losses.softmax scores y

        let regLoss =
            [ "W1"; "W2"; "W3" ] |> List.sumBy (fun n -> fst (Losses.l2 cfg.Reg p.[n]))

        let g3 = Affine.backward loss.Dscores c3
        let g2 = AffineRelu.backward g3.Dx c2
        let g1 = ConvReluPool.backward g2.Dx c1
        let r = model.Loss p model.State (Rng.create 0L) x y
        Prop.ensure (abs (r.Loss - (loss.Loss + regLoss)) < 1e-12 * max 1.0 r.Loss) (fun () -> $"{c}: loss")

        for name, g in [ "W1", g1.Dw; "b1", g1.Db; "W2", g2.Dw; "b2", g2.Db; "W3", g3.Dw; "b3", g3.Db ] do
            let expected = if name.StartsWith "W" then g + p.[name] * cfg.Reg else g
            Prop.close $"{c} d{name}" 1e-12 expected r.Grads.[name])

[<Fact>]
let ``with small weights the initial loss is about log C`` () =
    let model =
        ConvNet.threeLayer {
            ConvNet.defaults with
                InputDims = (1, 8, 8)
                NumFilters = 4
                FilterSize = 3
        }

    let rng = Rng.create 3L
    let x = Tensor.randn rng 1.0 [| 20; 1; 8; 8 |]
    let y = labels (Rng.derive 1 rng) 20 10
    let loss = (model.Loss model.Params model.State rng x y).Loss
    Assert.True(abs (loss - log 10.0) < 1e-3, $"initial loss {loss}, expected about {log 10.0}")

[<Fact>]
let ``the convnet overfits 50 digits to 100% training accuracy with Adam`` () =
    let digits = Digits.load ()
    let idx = Array.init 50 id
    let x = digits.Train.X.Take idx
    let y = idx |> Array.map (fun i -> digits.Train.Y.[i])

    let model =
        ConvNet.threeLayer {
            ConvNet.defaults with
                InputDims = (1, 28, 28)
                NumFilters = 8
                FilterSize = 3
                HiddenDim = 50
                WeightScale = 1e-2
        }

    let config = {
        SolverConfig.Defaults with
            NumEpochs = 30
            BatchSize = 10
            NumTrainSamples = None
    }

    let data = {
        XTrain = x
        YTrain = y
        XVal = x
        YVal = y
    }

    let r = Solver.train (Optim.adam |> Optim.withLearningRate 5e-3) config model data
    let acc = Seq.last r.State.TrainMetricHistory
    Assert.True((acc = 1.0), $"training accuracy after 30 epochs: {acc}")

[<Fact>]
let ``the convnet validates its configuration and input`` () =
    Prop.throwsWith [ "ConvNet.threeLayer"; "filterSize"; "odd" ] (fun () ->
        ConvNet.threeLayer { ConvNet.defaults with FilterSize = 4 })

    Prop.throwsWith [ "ConvNet.threeLayer"; "numFilters" ] (fun () ->
        ConvNet.threeLayer { ConvNet.defaults with NumFilters = 0 })

    let model =
        ConvNet.threeLayer {
            ConvNet.defaults with
                InputDims = (1, 8, 8)
        }

    Prop.throwsWith [ "(N, 1, 8, 8)"; "(2, 3, 8, 8)" ] (fun () ->
        model.Scores model.Params model.State (Tensor.zeros [| 2; 3; 8; 8 |]))
