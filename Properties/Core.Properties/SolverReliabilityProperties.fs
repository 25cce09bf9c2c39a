/// The generic fold (any model kind, its own metric), and training that is never lost: divergence of the loss, a
/// gradient or a parameter; non-finite data; checkpoint paths that cannot be written; saves that fail mid-run;
/// saves on cancellation; stale temporary files; version-1 checkpoints.
module Functional.Properties.SolverReliabilityProperties

open System
open System.IO
open System.IO.Compression
open System.Text
open System.Threading
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators
open Functional.Properties.SolverProperties

/// Least squares y ≈ x·w, a model that is no classifier: its metric is the negative mean squared error.
let private regression (rng: Rng) (n: int) (d: int) : Trainable =
    let x = Tensor.randn (rng.Derive 0) 1.0 [| n; d |]
    let truth = Tensor.randn (rng.Derive 1) 1.0 [| d; 1 |]
    let y = Tensor.matmul x truth
    let xv = Tensor.randn (rng.Derive 2) 1.0 [| 5; d |]
    let yv = Tensor.matmul xv truth

    let mse (w: Tensor) (x: Tensor) (y: Tensor) =
        let r = Tensor.matmul x w - y
        Tensor.sumAll (r * r) / float x.Dims.[0]

    {
        Name = "least squares"
        Params = Map [ "w", Tensor.zeros [| d; 1 |] ]
        State = Map.empty
        NumTrain = n
        InputName = "x"
        Loss =
            fun p s _ batch ->
                let xb, yb = x.Take batch, y.Take batch
                let r = Tensor.matmul xb p.["w"] - yb
                let m = float batch.Length

                {
                    Loss = Tensor.sumAll (r * r) / m
                    Grads = Map [ "w", Tensor.matmul (xb.Transpose(1, 0)) r * (2.0 / m) ]
                    State = s
                }
        Metric = {
            Name = "negative mse"
            Evaluate = fun p _ _ _ -> -(mse p.["w"] x y), -(mse p.["w"] xv yv)
        }
    }

[<Property(MaxTest = 20)>]
let ``the fold trains a model that is not a classifier, keeping the best by its own metric`` () =
    Prop.forAll (cases [ "N", 4, 30; "D", 1, 4; "B", 1, 8; "E", 1, 4 ]) (fun c ->
        let t = regression c.Rng c.["N"] c.["D"]

        let config = {
            SolverConfig.Defaults with
                NumEpochs = c.["E"]
                BatchSize = c.["B"]
                Seed = int64 c.Seed
        }

        let r =
            Solver.fit SolverHooks.None (Optim.sgd |> Optim.withLearningRate 0.05) config t

        let s = r.State
        Prop.ensure (s.Setup.Metric = "negative mse") (fun () -> $"{c}: metric {s.Setup.Metric}")

        Prop.ensure
            (s.TrainMetricHistory.Count = c.["E"] + 1
             && s.ValMetricHistory.Count = c.["E"] + 1)
            (fun () -> $"{c}: history lengths")

        Prop.ensure (s.BestValMetric = Seq.max s.ValMetricHistory) (fun () -> $"{c}: best is not the max")
        let _, valOfBest = t.Metric.Evaluate s.BestParams s.BestModelState s.Rng 0
        Prop.ensure (valOfBest = s.BestValMetric) (fun () -> $"{c}: the best parameters score {valOfBest}")

        let trainLast, valLast = t.Metric.Evaluate s.Params s.ModelState s.Rng s.Epoch

        Prop.ensure
            (trainLast = Seq.last s.TrainMetricHistory
             && valLast = Seq.last s.ValMetricHistory)
            (fun () -> $"{c}: the last metric entries are not the final parameters' metric")

        Prop.ensure (s.LossHistory.Count = c.["E"] * ((c.["N"] + c.["B"] - 1) / c.["B"])) (fun () ->
            $"{c}: {s.LossHistory.Count} losses"))

[<Property(MaxTest = 10)>]
let ``a classifier through the generic fold is the classifier run bit for bit`` () =
    Prop.forAll (cases [ "N", 5, 30; "D", 1, 4; "C", 2, 4; "B", 1, 12; "rule", 0, 5 ]) (fun c ->
        let data = blobs (key c 0) c.["N"] 7 c.["D"] c.["C"]
        let model = TestModels.centered (key c 1) c.["D"] c.["C"]

        let config = {
            SolverConfig.Defaults with
                NumEpochs = 2
                BatchSize = c.["B"]
                NumTrainSamples = Some 4
                Seed = int64 c.Seed
        }

        let rule = rules.[c.["rule"]]
        let a = Solver.train rule config model data

        let b =
            Solver.fit SolverHooks.None rule config (Solver.classifier config model data)

        ensureSame (string c) a.State b.State)

/// A softmax classifier whose loss reports a NaN gradient (finite loss) at the given call.
let private badGradientAt (call: int) =
    let rng = Rng.create 3L
    let inner = TestModels.softmax (rng.Derive 5) 3 2
    let mutable calls = 0

    {
        inner with
            Loss =
                fun p s r x y ->
                    calls <- calls + 1
                    let l = inner.Loss p s r x y

                    if calls = call then
                        let g = Tensor.toArray l.Grads.["W"]
                        g.[4] <- nan

                        {
                            l with
                                Grads = l.Grads.Add("W", Tensor.ofArray [| 3; 2 |] g)
                        }
                    else
                        l
    }

[<Fact>]
let ``a NaN gradient or a parameter that stops being finite stops training with the divergence error`` () =
    let data = blobs (Rng.create 3L) 20 10 3 2

    let config = {
        SolverConfig.Defaults with
            NumEpochs = 3
            BatchSize = 5
    }

    let ex =
        Assert.Throws<TrainingDivergedException>(fun () ->
            Solver.train Optim.sgd config (badGradientAt 6) data |> ignore)

    Prop.ensure
        (ex.Iteration = 6
         && ex.Epoch = 2
         && Double.IsFinite ex.Loss
         && ex.Quantity = "gradient of 'W'")
        (fun () -> $"iteration {ex.Iteration}, epoch {ex.Epoch}, loss {ex.Loss}, quantity {ex.Quantity}")

    Prop.ensure
        (ex.Message.Contains "gradient of 'W' became NaN at [2, 0]"
         && ex.Message.Contains "iteration 6")
        (fun () -> ex.Message)

    // An update rule that overflows: the parameter becomes infinite although loss and gradient are finite.
    let overflow =
        Optim.custom "overflow" OptimConfig.Defaults (fun _ -> OptimState.Create(Map.empty, 0)) (fun _ s w _ ->
            w * 1e200 * 1e200, OptimState.Create(s.SlotMap, s.Step + 1))

    let model = TestModels.softmax (Rng.create 8L) 3 2

    let ex =
        Assert.Throws<TrainingDivergedException>(fun () -> Solver.train overflow config model data |> ignore)

    Prop.ensure
        (ex.Iteration = 1
         && ex.Quantity = "parameter 'W'"
         && ex.Message.Contains "Infinity")
        (fun () -> $"{ex.Quantity}: {ex.Message}")

[<Property(MaxTest = 30)>]
let ``non-finite training data is rejected before training, naming the argument and the index`` () =
    Prop.forAll (cases [ "N", 1, 12; "D", 1, 5; "which", 0, 2; "val", 0, 1 ]) (fun c ->
        let data = blobs c.Rng c.["N"] 4 c.["D"] 2
        let x = if c.["val"] = 1 then data.XVal else data.XTrain
        let n, d = x.Dims.[0], x.Dims.[1]
        let i, j = c.Seed % n, (c.Seed / 7) % d
        let bad = [| nan; infinity; -infinity |].[c.["which"]]
        let values = Tensor.toArray x
        values.[i * d + j] <- bad
        let x' = Tensor.ofArray [| n; d |] values

        let data' =
            if c.["val"] = 1 then
                { data with XVal = x' }
            else
                { data with XTrain = x' }

        let arg = if c.["val"] = 1 then "XVal" else "XTrain"
        let seen = Collections.Generic.List<int>()
        let inner = TestModels.softmax c.Rng d 2

        let model = {
            inner with
                Loss =
                    fun p s r x y ->
                        seen.Add 1
                        inner.Loss p s r x y
        }

        Prop.throwsWith [ "Solver"; $"{arg}[{i}, {j}] = {bad}"; "must be finite" ] (fun () ->
            Solver.train Optim.sgd SolverConfig.Defaults model data')

        Prop.ensure (seen.Count = 0) (fun () -> $"{c}: {seen.Count} steps ran before the data were rejected"))

/// A model that counts its training steps.
let private counted (steps: Collections.Generic.List<int>) =
    let inner = TestModels.softmax (Rng.create 4L) 3 2

    {
        inner with
            Loss =
                fun p s r x y ->
                    steps.Add 1
                    inner.Loss p s r x y
    }

[<Fact>]
let ``a checkpoint path that cannot be written is rejected before training starts`` () =
    let data = blobs (Rng.create 5L) 10 5 3 2

    Prop.withTempDir (fun dir ->
        let steps = Collections.Generic.List<int>()

        let train (path: string) () =
            Solver.train
                Optim.sgd
                {
                    SolverConfig.Defaults with
                        NumEpochs = 1
                        CheckpointPath = Some path
                }
                (counted steps)
                data

        // A folder, not a file.
        Prop.throwsWith [ "CheckpointPath"; "names a folder" ] (train dir)
        // Below a file.
        let file = Path.Combine(dir, "file")
        File.WriteAllText(file, "x")
        Prop.throwsWith [ "CheckpointPath"; "does not exist" ] (train (Path.Combine(file, "c.npz")))

        // A folder nobody may create files in (even root): /proc.
        if Directory.Exists "/proc/self" then
            Prop.throwsWith [ "CheckpointPath"; "cannot be written" ] (train "/proc/checkpoint.npz")

        Prop.ensure (steps.Count = 0) (fun () -> $"{steps.Count} steps ran before the path was rejected")

        Prop.ensure (Directory.GetFiles dir = [| file |]) (fun () ->
            "files left: " + String.Join(", ", Directory.GetFiles dir)))

/// The checkpointing runs' setup: 4 epochs of batches of 4 with Adam, a line every iteration; the configuration and
/// the run without checkpoints, the reference the runs with them must equal bit for bit.
let private fourEpochs (model: Model) (data: TrainingData) =
    let config = {
        SolverConfig.Defaults with
            NumEpochs = 4
            BatchSize = 4
            PrintEvery = 1
    }

    config, Solver.train Optim.adam config model data

[<Fact>]
let ``a save that fails mid-run loses nothing: training goes on, the failure is reported, later saves are retried`` () =
    let data = blobs (Rng.create 6L) 12 5 3 2
    let model = TestModels.softmax (Rng.create 7L) 3 2

    let config, full = fourEpochs model data

    Prop.withTempDir (fun dir ->
        let path = Path.Combine(dir, "c.npz")
        // After the first step the target becomes a folder (the rename fails); during epoch 3 it is freed again.
        let hooks = {
            SolverHooks.None with
                OnProgress =
                    fun p ->
                        if p.Kind = ProgressKind.Iteration && p.Iteration = 1 then
                            Directory.CreateDirectory path |> ignore
                        elif p.Kind = ProgressKind.Iteration && p.Iteration = 7 then
                            Directory.Delete path
        }

        let r =
            Solver.trainWith
                hooks
                Optim.adam
                {
                    config with
                        CheckpointPath = Some path
                }
                model
                data

        ensureSame "with failing saves" full.State r.State

        Prop.ensure (r.CheckpointFailures |> List.map (fun f -> f.Epoch) = [ 1; 2 ]) (fun () ->
            $"failures {r.CheckpointFailures}")

        Prop.ensure (r.CheckpointFailures |> List.forall (fun f -> f.Path = path && f.Message <> "")) (fun () ->
            "failure details")

        Prop.ensure (r.CheckpointsWritten = [ path ]) (fun () -> $"written {r.CheckpointsWritten}")
        ensureSame "the last save" full.State (Checkpoint.load path)

        Prop.ensure (Directory.GetFiles dir = [| path |]) (fun () ->
            "files left: " + String.Join(", ", Directory.GetFiles dir)))

[<Property(MaxTest = 10)>]
let ``on cancellation the state reached is saved and resumes bit for bit; only files of this run are reported`` () =
    Prop.forAll (cases [ "stop", 1, 11 ]) (fun c ->
        let data = blobs (Rng.create 8L) 12 5 3 2
        let model = TestModels.centered (Rng.create 9L) 3 2

        let config, full = fourEpochs model data

        Prop.withTempDir (fun dir ->
            let path = Path.Combine(dir, "c.npz")
            // A stale file of an earlier run of another model: never reported as written by this run.
            File.WriteAllText(path, "stale")
            use cts = new CancellationTokenSource()
            cts.Cancel()

            let none =
                Solver.trainWith
                    {
                        SolverHooks.None with
                            Cancellation = cts.Token
                    }
                    Optim.adam
                    {
                        config with
                            CheckpointPath = Some path
                    }
                    model
                    data

            Prop.ensure (none.Cancelled && none.CheckpointsWritten.IsEmpty) (fun () ->
                $"{c}: a run cancelled before its first step reports {none.CheckpointsWritten}")

            Prop.ensure (File.ReadAllText path = "stale") (fun () -> $"{c}: the stale file was replaced")

            use cts = new CancellationTokenSource()
            let stop = c.["stop"]

            let hooks = {
                SolverHooks.None with
                    OnProgress =
                        fun p ->
                            if p.Kind = ProgressKind.Iteration && p.Iteration = stop then
                                cts.Cancel()
                    Cancellation = cts.Token
            }

            let partial =
                Solver.trainWith
                    hooks
                    Optim.adam
                    {
                        config with
                            CheckpointPath = Some path
                    }
                    model
                    data

            Prop.ensure (partial.Cancelled && partial.State.Iteration = stop) (fun () ->
                $"{c}: stopped at {partial.State.Iteration}")

            Prop.ensure (partial.CheckpointsWritten = [ path ]) (fun () ->
                $"{c}: written {partial.CheckpointsWritten}")

            let saved = Checkpoint.load path
            ensureSame $"{c}: the saved state" partial.State saved
            let rest = Solver.resume SolverHooks.None Optim.adam config model data saved
            ensureSame $"{c}: resumed from the cancellation save" full.State rest.State))

/// The state of a small run (with model state and optimizer slots) of the given epochs and rule.
let private trainedState (seed: int64) (epochs: int) (rule: UpdateRule) =
    let config = {
        SolverConfig.Defaults with
            NumEpochs = epochs
            BatchSize = 4
    }

    (Solver.train rule config (TestModels.centered (Rng.create (seed + 1L)) 3 2) (blobs (Rng.create seed) 12 5 3 2))
        .State

[<Fact>]
let ``a save removes stale temporary files of its target, not those a writer holds open nor other targets'`` () =
    let s = trainedState 10L 1 Optim.sgd

    Prop.withTempDir (fun dir ->
        let path = Path.Combine(dir, "c.npz")
        let stale = [ for _ in 1..3 -> $"{path}.tmp-{Guid.NewGuid():N}" ]

        for f in stale do
            File.WriteAllBytes(f, Array.zeroCreate 1000)

        let held = $"{path}.tmp-{Guid.NewGuid():N}"
        let other = Path.Combine(dir, "d.npz.tmp-0123")
        File.WriteAllText(other, "another target's")

        do
            use _ = new FileStream(held, FileMode.CreateNew, FileAccess.Write, FileShare.None)
            Checkpoint.save path s
            Prop.ensure (File.Exists held) (fun () -> "the temporary file of a live writer was deleted")

        let left = Directory.GetFiles dir |> Array.sort
        let expected = [| path; held; other |] |> Array.sort
        Prop.ensure (left = expected) (fun () -> "files after the save: " + String.Join(", ", left))
        ensureSame "saved" s (Checkpoint.load path))

[<Fact>]
let ``a version-1 checkpoint (accuracy histories) still loads, as metric accuracy`` () =
    let s = trainedState 12L 2 Optim.adam

    Prop.withTempDir (fun dir ->
        let path = Path.Combine(dir, "v2.npz")
        Checkpoint.save path s

        // Rewrite it the way version 1 wrote it: other history names, other JSON keys, no metric name.
        let entries =
            use zip = ZipFile.OpenRead path

            [
                for e in zip.Entries ->
                    use st = e.Open()
                    use ms = new MemoryStream()
                    st.CopyTo ms
                    e.FullName, ms.ToArray()
            ]

        let v1 =
            entries
            |> List.map (fun (name, bytes) ->
                match name with
                | "history/train_metric.npy" -> "history/train_acc.npy", bytes
                | "history/val_metric.npy" -> "history/val_acc.npy", bytes
                | "checkpoint.json" ->
                    let text =
                        Encoding.UTF8
                            .GetString(bytes)
                            .Replace("\"version\": 2", "\"version\": 1")
                            .Replace("\"metric\": \"accuracy\",", "")
                            .Replace("bestValMetric", "bestValAccuracy")

                    name, Encoding.UTF8.GetBytes text
                | _ -> name, bytes)

        let old = Path.Combine(dir, "v1.npz")
        Npz.writeEntries "test" old v1
        let loaded = Checkpoint.load old
        ensureSame "version 1" s loaded
        // A version-2 file with version-1 names is inconsistent, not silently read.
        let mixed = Path.Combine(dir, "mixed.npz")

        Npz.writeEntries
            "test"
            mixed
            (v1
             |> List.map (fun (n, b) ->
                 if n = "checkpoint.json" then
                     n, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(b).Replace("\"version\": 1", "\"version\": 2"))
                 else
                     n, b))

        Assert.ThrowsAny<CheckpointException>(fun () -> Checkpoint.load mixed |> ignore)
        |> ignore)
