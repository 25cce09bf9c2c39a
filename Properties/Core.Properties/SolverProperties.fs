module Functional.Properties.SolverProperties

open System
open System.IO
open System.Threading
open Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// Tiny models written for the tests, as Model values.
module TestModels =
    let private reg = 1e-3

    /// A softmax classifier: scores = x·W + b, loss = softmax + ½·reg·ΣW².
    let softmax (rng: Rng) (d: int) (c: int) : Model =
        let loss (p: Map<string, Tensor>) (state: Map<string, Tensor>) (_: Rng) (x: Tensor) (y: int[]) =
            let scores, cache = Affine.forward x p.["W"] p.["b"]
            let l = Losses.softmax scores y
            let r, dr = Losses.l2 reg p.["W"]
            let g = Affine.backward l.Dscores cache

            {
                Loss = l.Loss + r
                Grads = Map [ "W", g.Dw + dr; "b", g.Db ]
                State = state
            }

        {
            Name = "softmax"
            Params = Map [ "W", Tensor.randn rng 0.1 [| d; c |]; "b", Tensor.zeros [| c |] ]
            State = Map.empty
            Scores = fun p _ x -> fst (Affine.forward x p.["W"] p.["b"])
            Loss = loss
        }

    /// A two-layer net: affine → relu → affine → softmax.
    let twoLayer (rng: Rng) (d: int) (h: int) (c: int) (scale: float) : Model =
        let scores (p: Map<string, Tensor>) (x: Tensor) =
            let a, c1 = AffineRelu.forward x p.["W1"] p.["b1"]
            let s, c2 = Affine.forward a p.["W2"] p.["b2"]
            s, c1, c2

        let loss (p: Map<string, Tensor>) (state: Map<string, Tensor>) (_: Rng) (x: Tensor) (y: int[]) =
            let s, c1, c2 = scores p x
            let l = Losses.softmax s y
            let g2 = Affine.backward l.Dscores c2
            let g1 = AffineRelu.backward g2.Dx c1

            {
                Loss = l.Loss
                Grads = Map [ "W1", g1.Dw; "b1", g1.Db; "W2", g2.Dw; "b2", g2.Db ]
                State = state
            }

        {
            Name = "two-layer"
            Params =
                Map [
                    "W1", Tensor.randn (rng.Derive 0) scale [| d; h |]
                    "b1", Tensor.zeros [| h |]
                    "W2", Tensor.randn (rng.Derive 1) scale [| h; c |]
                    "b2", Tensor.zeros [| c |]
                ]
            State = Map.empty
            Scores =
                fun p _ x ->
                    let s, _, _ = scores p x
                    s
            Loss = loss
        }

    /// A classifier with non-trainable state and randomness, to exercise their threading: training centers x by
    /// the batch mean and adds N(0, 0.01²) noise from the rng; the state "running_mean" tracks the batch means
    /// (momentum 0.9), and test mode centers by it.
    let centered (rng: Rng) (d: int) (c: int) : Model =
        let loss (p: Map<string, Tensor>) (state: Map<string, Tensor>) (key: Rng) (x: Tensor) (y: int[]) =
            let mean = Tensor.mean [| 0 |] false x
            let noise = Tensor.randn key 0.01 (Tensor.shape x)
            let xc = x - mean + noise
            let scores, cache = Affine.forward xc p.["W"] p.["b"]
            let l = Losses.softmax scores y
            let g = Affine.backward l.Dscores cache

            {
                Loss = l.Loss
                Grads = Map [ "W", g.Dw; "b", g.Db ]
                State = Map [ "running_mean", state.["running_mean"] * 0.9 + mean * 0.1 ]
            }

        {
            Name = "centered"
            Params = Map [ "W", Tensor.randn rng 0.1 [| d; c |]; "b", Tensor.zeros [| c |] ]
            State = Map [ "running_mean", Tensor.zeros [| d |] ]
            Scores = fun p s x -> fst (Affine.forward (x - s.["running_mean"]) p.["W"] p.["b"])
            Loss = loss
        }

/// Gaussian blobs: class k centered at a random point; n training and nVal validation examples.
let blobs (rng: Rng) (n: int) (nVal: int) (d: int) (c: int) : TrainingData =
    let centers = Tensor.randn (rng.Derive 0) 2.0 [| c; d |]

    let make (key: Rng) (count: int) =
        let y = labels (key.Derive 0) count c
        let x = centers.Take y + Tensor.randn (key.Derive 1) 1.0 [| count; d |]
        x, y

    let xt, yt = make (rng.Derive 1) n
    let xv, yv = make (rng.Derive 2) nVal

    {
        XTrain = xt
        YTrain = yt
        XVal = xv
        YVal = yv
    }

let internal rules = OptimProperties.allRules

let internal mapsEqual (a: Map<string, Tensor>) (b: Map<string, Tensor>) =
    Set.ofSeq a.Keys = Set.ofSeq b.Keys
    && a |> Map.forall (fun k t -> Prop.bitsEqual t b.[k])

/// Every field of two solver states is bit for bit the same; the message names the first that is not.
let internal statesEqual (a: SolverState) (b: SolverState) : string option =
    let checks = [
        "Setup", (a.Setup = b.Setup)
        "Params", mapsEqual a.Params b.Params
        "ModelState", mapsEqual a.ModelState b.ModelState
        "OptimStates",
        (Set.ofSeq a.OptimStates.Keys = Set.ofSeq b.OptimStates.Keys
         && a.OptimStates
            |> Map.forall (fun k s -> s.Step = b.OptimStates.[k].Step && mapsEqual s.SlotMap b.OptimStates.[k].SlotMap))
        "LearningRate", Prop.floatsEqual [ a.LearningRate ] [ b.LearningRate ]
        "Rng", (a.Rng = b.Rng)
        "Epoch", (a.Epoch = b.Epoch)
        "Iteration", (a.Iteration = b.Iteration)
        "LossHistory", Prop.floatsEqual a.LossHistory b.LossHistory
        "TrainMetricHistory", Prop.floatsEqual a.TrainMetricHistory b.TrainMetricHistory
        "ValMetricHistory", Prop.floatsEqual a.ValMetricHistory b.ValMetricHistory
        "BestValMetric", Prop.floatsEqual [ a.BestValMetric ] [ b.BestValMetric ]
        "BestParams", mapsEqual a.BestParams b.BestParams
        "BestModelState", mapsEqual a.BestModelState b.BestModelState
    ]

    checks |> List.tryFind (snd >> not) |> Option.map fst

let internal ensureSame (case: string) (a: SolverState) (b: SolverState) =
    match statesEqual a b with
    | None -> ()
    | Some field -> failwith $"{case}: the states differ in {field}"

/// A small run: N training examples in D dims, C classes, a rule, a batch size, epochs, the stateful model.
let private runCases =
    cases [ "N", 5, 30; "D", 1, 4; "C", 2, 4; "B", 1, 12; "E", 2, 4; "rule", 0, 5 ]

let private setup (c: Case) =
    let data = blobs (key c 0) c.["N"] 7 c.["D"] c.["C"]
    let model = TestModels.centered (key c 1) c.["D"] c.["C"]

    let config = {
        SolverConfig.Defaults with
            NumEpochs = c.["E"]
            BatchSize = c.["B"]
            LrDecay = 0.9
            NumTrainSamples = Some 4
            PrintEvery = 3
            Seed = int64 c.Seed
    }

    data, model, rules.[c.["rule"]], config

[<Fact>]
let ``the same seed gives the same run bit for bit`` () =
    Prop.check "same seed same history" 20 runCases (fun c ->
        let data, model, rule, config = setup c
        let a = Solver.train rule config model data
        let b = Solver.train rule config model data
        ensureSame (string c) a.State b.State
        let other = Solver.train rule { config with Seed = config.Seed + 1L } model data

        Prop.ensure (not (Prop.floatsEqual a.State.LossHistory other.State.LossHistory)) (fun () ->
            $"{c}: another seed gave the same loss history"))

[<Fact>]
let ``resuming a checkpoint from epoch k gives the uninterrupted run bit for bit`` () =
    Prop.check "resume = uninterrupted" 20 runCases (fun c ->
        let data, model, rule, config = setup c
        let full = Solver.train rule config model data
        let k = 1 + c.Seed % (config.NumEpochs - 1)

        Prop.withTempDir (fun dir ->
            let path = Path.Combine(dir, "run.npz")

            let first =
                Solver.train
                    rule
                    {
                        config with
                            NumEpochs = k
                            CheckpointPath = Some path
                    }
                    model
                    data

            let saved = Checkpoint.load path
            ensureSame $"{c} checkpoint at epoch {k}" first.State saved
            let resumed = Solver.resume SolverHooks.None rule config model data saved
            ensureSame $"{c} resumed at epoch {k}" full.State resumed.State))

[<Fact>]
let ``cancelling stops after the current step, and resuming that state gives the uninterrupted run`` () =
    Prop.check "cancel then resume" 20 runCases (fun c ->
        let data, model, rule, config = setup c
        let config = { config with PrintEvery = 1 }
        let full = Solver.train rule config model data
        let total = full.State.Iteration
        let stopAt = 1 + c.Seed % (total - 1)
        use cts = new CancellationTokenSource()

        let hooks = {
            SolverHooks.None with
                OnProgress =
                    fun p ->
                        if p.Kind = ProgressKind.Iteration && p.Iteration = stopAt then
                            cts.Cancel()
                Cancellation = cts.Token
        }

        let partial = Solver.trainWith hooks rule config model data
        Prop.ensure partial.Cancelled (fun () -> $"{c}: the run was not marked cancelled")

        Prop.ensure (partial.State.Iteration = stopAt) (fun () ->
            $"{c}: cancelled at iteration {stopAt} but the state stands at {partial.State.Iteration}")

        let rest = Solver.resume SolverHooks.None rule config model data partial.State
        Prop.ensure (not rest.Cancelled) (fun () -> $"{c}: the resumed run was marked cancelled")
        ensureSame $"{c} cancelled at {stopAt}" full.State rest.State)

[<Fact>]
let ``a tiny net overfits 50 examples to 100% training accuracy`` () =
    let rng = Rng.create 7L
    // Random labels: nothing to learn but the examples themselves.
    let x = Tensor.randn (rng.Derive 0) 1.0 [| 50; 10 |]
    let y = labels (rng.Derive 1) 50 3

    let data = {
        XTrain = x
        YTrain = y
        XVal = x.Slice(0, 0, 10)
        YVal = y.[0..9]
    }

    let model = TestModels.twoLayer (rng.Derive 2) 10 64 3 0.1

    let config = {
        SolverConfig.Defaults with
            NumEpochs = 60
            BatchSize = 10
            NumTrainSamples = None
    }

    let r = Solver.train (Optim.adam |> Optim.withLearningRate 1e-2) config model data
    let trainAcc = Seq.last r.State.TrainMetricHistory
    Prop.ensure (trainAcc = 1.0) (fun () -> $"training accuracy after 60 epochs is {trainAcc}, expected 1.0")

    let again =
        Solver.checkAccuracy model r.State.Params r.State.ModelState x y None 7 (Rng.create 0L)

    Prop.ensure (again = 1.0) (fun () -> $"checkAccuracy on the final parameters gives {again}")

/// A model that records which training rows it sees (feature 0 of row i is i) and scores nothing useful.
let private spy (seen: Collections.Generic.List<int[]>) (d: int) : Model =
    let inner = TestModels.softmax (Rng.create 1L) d 2

    {
        inner with
            Loss =
                fun p s rng x y ->
                    seen.Add(Array.init x.Dims.[0] (fun i -> int (Tensor.get [| i; 0 |] x)))
                    inner.Loss p s rng x y
    }

[<Fact>]
let ``batch sizes that do not divide the data visit every example once per epoch`` () =
    Prop.check "partial batches" 50 (cases [ "N", 1, 23; "B", 1, 30; "E", 1, 3 ]) (fun c ->
        let n, b, e = c.["N"], c.["B"], c.["E"]
        let x = Tensor.init [| n; 2 |] (fun i -> if i.[1] = 0 then float i.[0] else 0.5)
        let y = Array.init n (fun i -> i % 2)

        let data = {
            XTrain = x
            YTrain = y
            XVal = x
            YVal = y
        }

        let seen = Collections.Generic.List<int[]>()

        let config = {
            SolverConfig.Defaults with
                NumEpochs = e
                BatchSize = b
                Seed = int64 c.Seed
        }

        let r = Solver.train Optim.sgd config (spy seen 2) data
        let perEpoch = (n + b - 1) / b

        Prop.ensure (r.State.LossHistory.Count = e * perEpoch && seen.Count = e * perEpoch) (fun () ->
            $"{c}: {r.State.LossHistory.Count} losses and {seen.Count} batches, expected {e * perEpoch}")

        for epoch in 0 .. e - 1 do
            let batches = [ for j in 0 .. perEpoch - 1 -> seen.[epoch * perEpoch + j] ]
            let all = batches |> Array.concat |> Array.sort

            Prop.ensure (all = Array.init n id) (fun () -> $"{c}: epoch {epoch} visited {all}")

            Prop.ensure (batches |> List.forall (fun bt -> bt.Length <= b && bt.Length >= 1)) (fun () ->
                $"{c}: a batch of epoch {epoch} has a wrong size"))

[<Fact>]
let ``progress events, learning-rate decay and the best parameters are consistent with the histories`` () =
    Prop.check "progress and history" 20 runCases (fun c ->
        let data, model, rule, config = setup c
        let events = Collections.Generic.List<TrainingProgress>()

        let r =
            Solver.trainWith
                {
                    SolverHooks.None with
                        OnProgress = events.Add
                }
                rule
                config
                model
                data

        let s = r.State
        let total = s.Iteration

        let iterEvents =
            events |> Seq.filter (fun p -> p.Kind = ProgressKind.Iteration) |> Seq.toList

        let epochEvents =
            events |> Seq.filter (fun p -> p.Kind = ProgressKind.Epoch) |> Seq.toList

        Prop.ensure (iterEvents.Length = total / config.PrintEvery) (fun () ->
            $"{c}: {iterEvents.Length} iteration events for {total} iterations every {config.PrintEvery}")

        Prop.ensure (epochEvents |> List.map (fun p -> p.Epoch) = [ 1 .. config.NumEpochs ]) (fun () ->
            $"{c}: epoch events {epochEvents |> List.map (fun p -> p.Epoch)}")

        for p in iterEvents do
            Prop.ensure
                (Prop.floatsEqual [ p.Loss ] [ s.LossHistory.[p.Iteration - 1] ]
                 && p.TotalIterations = total)
                (fun () -> $"{c}: the event of iteration {p.Iteration} reports loss {p.Loss}")

        for p in epochEvents do
            Prop.ensure
                (Prop.floatsEqual [ p.ValAccuracy; p.TrainAccuracy ] [
                    s.ValMetricHistory.[p.Epoch]
                    s.TrainMetricHistory.[p.Epoch]
                 ]
                 && p.ExamplesPerSecond > 0.0)
                (fun () -> $"{c}: the event of epoch {p.Epoch} disagrees with the history")

        let lr =
            Seq.fold (fun lr _ -> lr * config.LrDecay) rule.Config.LearningRate (seq { 1 .. config.NumEpochs })

        Prop.ensure (Prop.floatsEqual [ s.LearningRate ] [ lr ]) (fun () ->
            $"{c}: learning rate {s.LearningRate}, expected {lr}")

        Prop.ensure (s.TrainMetricHistory.Count = config.NumEpochs + 1) (fun () -> $"{c}: accuracy history length")

        Prop.ensure (s.BestValMetric = Seq.max s.ValMetricHistory) (fun () ->
            $"{c}: best val acc {s.BestValMetric}, history {Seq.toList s.ValMetricHistory}")

        let acc =
            Solver.checkAccuracy model s.BestParams s.BestModelState data.XVal data.YVal None 100 (Rng.create 0L)

        Prop.ensure (acc = s.BestValMetric) (fun () -> $"{c}: the best parameters score {acc}, not {s.BestValMetric}"))

[<Fact>]
let ``a loss that becomes NaN stops training with the iteration and the best parameters`` () =
    let rng = Rng.create 3L
    let data = blobs rng 20 10 3 2
    let inner = TestModels.softmax (rng.Derive 5) 3 2
    let mutable calls = 0

    let model = {
        inner with
            Loss =
                fun p s r x y ->
                    calls <- calls + 1
                    let l = inner.Loss p s r x y
                    if calls = 7 then { l with Loss = nan } else l
    }

    let config = {
        SolverConfig.Defaults with
            NumEpochs = 5
            BatchSize = 5
    }

    let ex =
        Assert.Throws<TrainingDivergedException>(fun () -> Solver.train Optim.sgd config model data |> ignore)

    Prop.ensure (ex.Iteration = 7 && ex.Epoch = 2 && Double.IsNaN ex.Loss) (fun () ->
        $"iteration {ex.Iteration}, epoch {ex.Epoch}, loss {ex.Loss}")

    Prop.ensure (ex.Message.Contains "NaN" && ex.Message.Contains "iteration 7") (fun () -> ex.Message)
    // After epoch 1 the best parameters are those with the best validation accuracy of epochs 0 and 1.
    Prop.ensure (Set.ofSeq ex.BestParameters.Keys = set [ "W"; "b" ]) (fun () -> "best parameter names")

    let first = Solver.train Optim.sgd { config with NumEpochs = 1 } inner data

    Prop.ensure
        (mapsEqual first.State.BestParams (Map.ofSeq (ex.BestParameters |> Seq.map (fun kv -> kv.Key, kv.Value))))
        (fun () -> "the exception's best parameters are not those of the run so far")

    // An infinite loss too.
    calls <- 0

    let inf = {
        inner with
            Loss =
                fun p s r x y -> {
                    inner.Loss p s r x y with
                        Loss = infinity
                }
    }

    let ex =
        Assert.Throws<TrainingDivergedException>(fun () -> Solver.train Optim.sgd config inf data |> ignore)

    Prop.ensure (ex.Iteration = 1 && ex.Message.Contains "Infinity") (fun () -> ex.Message)

[<Fact>]
let ``bad options and data are clear errors`` () =
    let rng = Rng.create 1L
    let data = blobs rng 10 5 3 2
    let model = TestModels.softmax rng 3 2
    let cfg = SolverConfig.Defaults
    let train rule config data () = Solver.train rule config model data

    Prop.throwsWith [ "BatchSize must be >= 1, got 0" ] (train Optim.sgd { cfg with BatchSize = 0 } data)
    Prop.throwsWith [ "NumEpochs must be >= 1, got 0" ] (train Optim.sgd { cfg with NumEpochs = 0 } data)
    Prop.throwsWith [ "LrDecay must be > 0" ] (train Optim.sgd { cfg with LrDecay = 0.0 } data)
    Prop.throwsWith [ "PrintEvery must be >= 1" ] (train Optim.sgd { cfg with PrintEvery = 0 } data)

    Prop.throwsWith
        [ "CheckpointPath"; "does not exist" ]
        (train
            Optim.sgd
            {
                cfg with
                    CheckpointPath = Some(Path.Combine(Path.GetTempPath(), "no-such-folder-x", "c.npz"))
            }
            data)

    Prop.throwsWith [ "NumTrainSamples must be >= 1" ] (train Optim.sgd { cfg with NumTrainSamples = Some 0 } data)

    // A rule with a negative rate cannot be made (the constructor checks it, once), so it never reaches the solver.
    Prop.throwsWith [ "learning rate must be >= 0, got -0.01" ] (fun () ->
        train (Optim.withLearningRate -0.01 Optim.sgd) cfg data ())

    Prop.throwsWith
        [ "training set is empty"; "(0, 3)" ]
        (train Optim.sgd cfg {
            data with
                XTrain = Tensor.zeros [| 0; 3 |]
                YTrain = [||]
        })

    Prop.throwsWith
        [ "validation set is empty" ]
        (train Optim.sgd cfg {
            data with
                XVal = Tensor.zeros [| 0; 3 |]
                YVal = [||]
        })

    Prop.throwsWith
        [ "label YTrain[4] = 2 is out of range [0, 2)" ]
        (train Optim.sgd cfg {
            data with
                YTrain = Array.init 10 (fun i -> if i = 4 then 2 else 0)
        })

    Prop.throwsWith
        [ "label YVal[0] = -1 is out of range" ]
        (train Optim.sgd cfg { data with YVal = Array.create 5 -1 })

    Prop.throwsWith
        [ "XTrain has 10 examples"; "YTrain has 3 labels" ]
        (train Optim.sgd cfg { data with YTrain = [| 0; 1; 0 |] })

    Prop.throwsWith
        [ "XVal's examples have shape (4,)"; "XTrain's (3,)" ]
        (train Optim.sgd cfg {
            data with
                XVal = Tensor.zeros [| 5; 4 |]
        })

[<Fact>]
let ``resume rejects a state from another setup`` () =
    let rng = Rng.create 2L
    let data = blobs rng 12 5 3 2
    let model = TestModels.softmax rng 3 2

    let cfg = {
        SolverConfig.Defaults with
            NumEpochs = 2
            BatchSize = 4
    }

    let r = Solver.train Optim.adam cfg model data

    let resume rule config model data () =
        Solver.resume SolverHooks.None rule config model data r.State

    Prop.throwsWith [ "Solver.resume"; "rule 'adam', not 'sgd'" ] (resume Optim.sgd cfg model data)
    Prop.throwsWith [ "batch size 4"; "ask for 5" ] (resume Optim.adam { cfg with BatchSize = 5 } model data)

    Prop.throwsWith
        [ "12 examples"; "XTrain has 11" ]
        (resume Optim.adam cfg model {
            data with
                XTrain = data.XTrain.Slice(0, 0, 11)
                YTrain = data.YTrain.[0..10]
        })

    Prop.throwsWith [ "do not match the model's" ] (resume Optim.adam cfg (TestModels.softmax rng 3 3) data)
    // Resuming a finished run with more epochs continues it.
    let more =
        Solver.resume SolverHooks.None Optim.adam { cfg with NumEpochs = 3 } model data r.State

    Prop.ensure (more.State.Epoch = 3 && more.State.Iteration = 9) (fun () -> $"epoch {more.State.Epoch}")
    let longer = Solver.train Optim.adam { cfg with NumEpochs = 3 } model data
    ensureSame "2 + 1 epochs" longer.State more.State

[<Fact>]
let ``a custom update rule trains through the solver`` () =
    // Sign SGD: w ← w − lr · sign(dw), with a step counter; written with Optim.custom.
    let signSgd =
        Optim.custom
            "sign-sgd"
            {
                OptimConfig.Defaults with
                    LearningRate = 0.05
            }
            (fun _ -> OptimState.Create(Map.empty, 0))
            (fun cfg s w dw ->
                w - Tensor.map (fun g -> float (sign g)) dw * cfg.LearningRate,
                OptimState.Create(s.SlotMap, s.Step + 1))

    let rng = Rng.create 11L
    let data = blobs rng 40 20 2 2

    let r =
        Solver.train
            signSgd
            {
                SolverConfig.Defaults with
                    NumEpochs = 5
                    BatchSize = 10
            }
            (TestModels.softmax rng 2 2)
            data

    let steps = r.State.OptimStates.["W"].Step
    Prop.ensure (steps = 20) (fun () -> $"steps {steps}")

    Prop.ensure (Seq.last r.State.LossHistory < Seq.head r.State.LossHistory) (fun () ->
        $"loss went from {Seq.head r.State.LossHistory} to {Seq.last r.State.LossHistory}")
