/// Model files (Core.FSharp/Model/ModelFile.fs): a classifier saved with its configuration loads back as the same
/// net, bit for bit; broken files are clear errors; files of format version 1 keep loading.
module Functional.Properties.ModelFileProperties

open System
open System.IO
open System.IO.Compression
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// A uniform double in [lo, hi) from the case's key, stream i.
let private uniform (c: Case) (i: int) (lo: float) (hi: float) =
    lo + (hi - lo) * (c.Rng.Derive(100 + i).Uniforms 1).[0]

let private modelCases =
    cases [
        "kind", 0, 2
        "classes", 1, 5
        "d", 1, 12
        "layers", 0, 3
        "h1", 1, 6
        "h2", 1, 6
        "h3", 1, 6
        "norm", 0, 2
        "dropout", 0, 1
        "channels", 1, 2
        "hw", 2, 6
        "dw", 0, 2
        "fs", 0, 1
        "n", 2, 4 // batchnorm's training loss needs N >= 2
    ]

/// A random configuration of kind c.["kind"] (two-layer net, fully connected net, three-layer convnet), its floats
/// drawn with long decimal forms so that only an exact round trip keeps them.
let private configOf (c: Case) : ModelConfig =
    let scale, reg = uniform c 0 0.0 1.0, uniform c 1 0.0 1.0

    match c.["kind"] with
    | 0 ->
        TwoLayerNet {
            InputDim = c.["d"]
            HiddenDim = c.["h1"]
            NumClasses = c.["classes"]
            WeightScale = scale
            Reg = reg
            Seed = int64 c.Seed * 7919L
        }
    | 1 ->
        FullyConnectedNet {
            HiddenDims = [ for i in 1 .. c.["layers"] -> c.[$"h{i}"] ]
            InputDim = c.["d"]
            NumClasses = c.["classes"]
            WeightScale = scale
            Reg = reg
            Normalization = enum<Normalization> c.["norm"]
            Norm = {
                Eps = 10.0 ** uniform c 2 (-8.0) (-1.0)
                Momentum = uniform c 3 0.0 1.0
            }
            DropoutKeepProbability = if c.["dropout"] = 1 then uniform c 4 0.05 1.0 else 1.0
            Seed = -(int64 c.Seed)
        }
    | _ ->
        ThreeLayerConvNet {
            InputDims = c.["channels"], c.["hw"], c.["hw"] + c.["dw"]
            NumFilters = c.["h1"]
            FilterSize = 2 * c.["fs"] + 1
            HiddenDim = c.["h2"]
            NumClasses = c.["classes"]
            WeightScale = scale
            Reg = reg
            Seed = int64 c.Seed
        }

/// "Trained" parameters and state: every tensor of the model replaced by random values (running variances
/// positive), so that a file holding the initial values would not pass.
let private trained (key: Rng) (m: Model) =
    let random (i: int) (positive: bool) (t: Tensor) =
        let n = key.Derive(i).Normals(Tensor.size t)
        Tensor.ofArray t.Dims (if positive then Array.map exp n else n)

    let replace offset (group: Map<string, Tensor>) =
        group
        |> Map.toList
        |> List.mapi (fun i (name, t) -> name, random (offset + i) (name.StartsWith "running_var") t)
        |> Map.ofList

    replace 0 m.Params, replace 1000 m.State

/// A batch of n random inputs for the configuration.
let private inputs (key: Rng) (n: int) (config: ModelConfig) =
    let shape =
        match config with
        | TwoLayerNet c -> [| n; c.InputDim |]
        | FullyConnectedNet c -> [| n; c.InputDim |]
        | ThreeLayerConvNet c ->
            let ch, h, w = c.InputDims
            [| n; ch; h; w |]

    Tensor.randn key 1.0 shape

let private sameTensors (what: string) (expected: Map<string, Tensor>) (actual: Map<string, Tensor>) =
    Prop.ensure (Set.ofSeq expected.Keys = Set.ofSeq actual.Keys) (fun () ->
        $"{what}: names {List.ofSeq expected.Keys} came back as {List.ofSeq actual.Keys}")

    for kv in expected do
        Prop.ensure (Prop.bitsEqual kv.Value actual.[kv.Key]) (fun () ->
            $"{what}/{kv.Key}: {kv.Value} came back as {actual.[kv.Key]}")

[<Property(MaxTest = 60)>]
let ``a saved model loads as the same net: configuration, parameters, state, scores and loss bit for bit`` () =
    Prop.forAll modelCases (fun c ->
        Prop.withTempDir (fun dir ->
            let config = configOf c
            let m = Model.ofConfig config
            let p, s = trained (c.Rng.Derive 1) m
            let path = Path.Combine(dir, "model.npz")
            Model.save path config p s
            let config', m' = Model.load path

            Prop.ensure (config' = config) (fun () -> $"{c}: the configuration {config} came back as {config'}")
            sameTensors $"{c}: params" p m'.Params
            sameTensors $"{c}: state" s m'.State
            Prop.ensure (m'.Name = m.Name) (fun () -> $"{c}: name {m.Name} came back as {m'.Name}")
            // Test-mode scores of random inputs, and the training-mode loss with the same key (reg, dropout's keep
            // probability, the norm's eps and momentum all take part), bit for bit.
            let n = c.["n"]
            let x = inputs (c.Rng.Derive 2) n config
            let scores = m.Scores p s x
            let scores' = m'.Scores m'.Params m'.State x
            Prop.ensure (Prop.bitsEqual scores scores') (fun () -> $"{c}: scores {scores} came back as {scores'}")
            let y = Array.init n (fun i -> i % c.["classes"])
            let l = m.Loss p s (c.Rng.Derive 3) x y
            let l' = m'.Loss m'.Params m'.State (c.Rng.Derive 3) x y

            Prop.ensure (Prop.floatsEqual [ l.Loss ] [ l'.Loss ]) (fun () ->
                $"{c}: loss {l.Loss} came back as {l'.Loss}")

            sameTensors $"{c}: gradients" l.Grads l'.Grads
            sameTensors $"{c}: new state" l.State l'.State
            // Nothing but the file: the temporary file was renamed over it.
            Prop.ensure (Directory.GetFiles dir = [| path |]) (fun () -> $"{c}: files {Directory.GetFiles dir}")))

/// A fully connected net with batchnorm and dropout, its "trained" tensors, and its saved bytes.
let private makeSample () =
    let config =
        FullyConnectedNet {
            Nets.fullyConnectedDefaults with
                HiddenDims = [ 5; 4 ]
                InputDim = 6
                NumClasses = 3
                Normalization = Normalization.Batch
                Norm = { Eps = 1e-3; Momentum = 0.8 }
                DropoutKeepProbability = 0.75
        }

    let p, s = trained (Rng.create 11L) (Model.ofConfig config)

    Prop.withTempDir (fun dir ->
        let path = Path.Combine(dir, "m.npz")
        Model.save path config p s
        config, p, s, File.ReadAllBytes path)

let private sample = lazy (makeSample ())

let private loadBytes (dir: string) (bytes: byte[]) =
    let path = Path.Combine(dir, "x.npz")
    File.WriteAllBytes(path, bytes)

    try
        Ok(Model.load path)
    with e ->
        Error e

let private expectError (dir: string) (fragments: string list) (bytes: byte[]) =
    match loadBytes dir bytes with
    | Error(:? CheckpointException as e) ->
        for f in "Model.load" :: "x.npz" :: fragments do
            Prop.ensure (e.Message.Contains(f: string)) (fun () -> $"\"{e.Message}\" does not mention \"{f}\"")
    | Error e -> failwith $"raised {e.GetType().Name}: {e.Message} (expected {fragments})"
    | Ok _ -> failwith $"loaded without error (expected {fragments})"

[<Property(MaxTest = 100)>]
let ``a truncated model file is a clear error`` () =
    let _, _, _, bytes = sample.Force()

    Prop.forAll (cases [ "cut", 0, 1000 ]) (fun c ->
        Prop.withTempDir (fun dir -> expectError dir [] bytes.[.. bytes.Length * c.["cut"] / 1001 - 1]))

[<Property(MaxTest = 200)>]
let ``a corrupted model file is a clear error, or reads back exactly`` () =
    let config, p, s, bytes = sample.Force()

    Prop.forAll (cases [ "at", 0, bytes.Length - 1; "bit", 0, 7 ]) (fun c ->
        Prop.withTempDir (fun dir ->
            let b = Array.copy bytes
            b.[c.["at"]] <- b.[c.["at"]] ^^^ (1uy <<< c.["bit"])

            // A flip in a field the reader does not use (a timestamp, say) is harmless; any other is detected.
            match loadBytes dir b with
            | Error(:? CheckpointException) -> ()
            | Error e -> failwith $"{c}: raised {e.GetType().Name}: {e.Message}"
            | Ok(config', m) ->
                Prop.ensure (config' = config) (fun () -> $"{c}: read back {config'}")
                sameTensors $"{c}: params" p m.Params
                sameTensors $"{c}: state" s m.State))

/// The archive with its entries edited: model.json's text through editJson, then entries removed and added.
let private edit (bytes: byte[]) (editJson: string -> string) (remove: string list) (add: (string * byte[]) list) =
    Prop.editArchive bytes Model.MetaEntry editJson remove add

[<Fact>]
let ``foreign files, other versions, unknown kinds and mismatched arrays are clear errors`` () =
    let config, p, s, good = sample.Force()

    Prop.withTempDir (fun dir ->
        let expect = expectError dir
        let json (f: string -> string) = edit good f [] []

        expect [ "not a readable model file"; "not a zip" ] (Text.Encoding.UTF8.GetBytes "not a model")
        expect [ "not a readable model file" ] [||]
        // A plain .npz archive, and a training checkpoint: each named for what it is.
        let npz = Path.Combine(dir, "plain.npz")
        Npz.save npz (Map [ "W", Tensor.ones [| 2 |] ])
        expect [ "not a Functional model file"; "no model.json" ] (File.ReadAllBytes npz)

        expect
            [ "training checkpoint, not a model file"; "Checkpoint.load" ]
            (snd (CheckpointProperties.savedBytes.Force()))
        // model.json edited.
        expect
            [ "newer version"; "version 7"; $"up to {Model.Version}" ]
            (json (fun t -> t.Replace("\"version\": 1", "\"version\": 7")))

        expect [ "invalid model file version 0" ] (json (fun t -> t.Replace("\"version\": 1", "\"version\": 0")))
        expect [ "not a Functional model file" ] (json (fun t -> t.Replace("functional-model", "functional-other")))
        expect [ "corrupted model.json" ] (json (fun t -> t.Substring(0, t.Length / 2)))

        expect
            [ "unknown kind 'resnet'"; "fully-connected-net" ]
            (json (fun t -> t.Replace("\"fully-connected-net\"", "\"resnet\"")))

        expect
            [ "'normalization' must be none, batch or layer, got 'group'" ]
            (json (fun t -> t.Replace("\"batch\"", "\"group\"")))

        expect [ "the field 'normEps' is missing" ] (json (fun t -> t.Replace("\"normEps\"", "\"eps\"")))

        expect
            [ "'hiddenDims' must list 32-bit integers" ]
            (json (fun t -> t.Replace("\"hiddenDims\": [", "\"hiddenDims\": [\"four\", ")))

        expect
            [ "'seed' is a String, expected a Number" ]
            (json (fun t -> t.Replace("\"seed\": 0", "\"seed\": \"0\"")))

        expect
            [ "invalid configuration"; "numClasses must be > 0" ]
            (json (fun t -> t.Replace("\"numClasses\": 3", "\"numClasses\": 0")))

        // The configuration and the arrays disagree: the entry, the actual and the expected shape are named.
        expect
            [
                "does not match its configuration"
                "params/W1 has shape (6, 5)"
                "gives (7, 5)"
            ]
            (json (fun t -> t.Replace("\"inputDim\": 6", "\"inputDim\": 7")))

        expect
            [ "does not match its configuration"; "state/running_var2 is missing" ]
            (edit good id [ "state/running_var2.npy" ] [])

        let extra = Npy.toBytes (Tensor.zeros [| 1 |])

        expect [ "params/W9 is not one of the params"; "W1, W2, W3" ] (edit good id [] [ "params/W9.npy", extra ])

        expect [ "holds an entry 'notes.txt'" ] (edit good id [] [ "notes.txt", extra ])
        // A float32 array is refused, not converted.
        let f32 =
            let f64 = Npy.toBytes p.["b1"]
            let headerEnd = 10 + int f64.[8] + 256 * int f64.[9]
            let header = Array.copy f64.[.. headerEnd - 1]
            header.[(Text.Encoding.Latin1.GetString header).IndexOf("<f8") + 2] <- byte '4'

            Array.append
                header
                (Tensor.toArray p.["b1"]
                 |> Array.collect (fun v -> BitConverter.GetBytes(float32 v)))

        expect
            [ "corrupted array"; "params/b1.npy"; "'<f4' is not float64" ]
            (edit good id [ "params/b1.npy" ] [ "params/b1.npy", f32 ])

        // A missing file is the runtime's FileNotFoundException; the unchanged archive still loads.
        Assert.Throws<FileNotFoundException>(fun () -> Model.load (Path.Combine(dir, "none.npz")) |> ignore)
        |> ignore

        match loadBytes dir good with
        | Ok(config', m) ->
            Assert.Equal(config, config')
            sameTensors "good file" p m.Params
            sameTensors "good file" s m.State
        | Error e -> raise e)

[<Fact>]
let ``saving checks the configuration and the arrays before writing anything`` () =
    let config, p, s, _ = sample.Force()

    Prop.withTempDir (fun dir ->
        let path = Path.Combine(dir, "m.npz")

        Prop.throwsWith [ "Model.save"; "params/W1 has shape (2, 2)"; "gives (6, 5)" ] (fun () ->
            Model.save path config (p.Add("W1", Tensor.zeros [| 2; 2 |])) s)

        Prop.throwsWith [ "Model.save"; "state/running_mean1 is missing" ] (fun () ->
            Model.save path config p Map.empty)

        Prop.throwsWith [ "Model.save"; "params/W9 is not one of the params" ] (fun () ->
            Model.save path config (p.Add("W9", Tensor.zeros [| 1 |])) s)

        let invalid =
            match config with
            | FullyConnectedNet c -> FullyConnectedNet { c with NumClasses = 0 }
            | other -> other

        Prop.throwsWith [ "Nets.fullyConnected"; "numClasses must be > 0" ] (fun () -> Model.save path invalid p s)

        Prop.throwsWith [ "Model.save"; "does not exist" ] (fun () ->
            Model.save (Path.Combine(dir, "no", "m.npz")) config p s)

        Prop.ensure (Directory.GetFiles dir |> Array.isEmpty) (fun () -> $"written: {Directory.GetFiles dir}"))

/// The model files of format version 1 checked into Fixtures/ (written once by Fixtures/make-model-v1.fsx) and the
/// scores they gave then: every later version of the library must load them to the same
/// configuration and the same scores (to 1e-12 relative: the kernels' summation order depends on the instruction set).
[<Fact>]
let ``model files of format version 1 still load, to the same scores`` () =
    let fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures")
    let expected = Npz.load (Path.Combine(fixtures, "model-v1-expected.npz"))

    for kind in [ "two-layer-net"; "fully-connected-net"; "three-layer-convnet" ] do
        let config, m = Model.load (Path.Combine(fixtures, $"model-v1-{kind}.npz"))
        Assert.Equal(kind, Model.kind config)
        let scores = m.Scores m.Params m.State expected.[$"{kind}/x"]

        let recorded = expected.[$"{kind}/scores"]

        // Recorded with the AVX2 kernels; the scalar fallbacks (CI's run with DOTNET_EnableAVX2=0) and other vector
        // widths sum in another order, so the scores agree to rounding, not bit for bit.
        Prop.close $"{kind}: the version-1 file's scores" 1e-12 recorded scores

[<Fact>]
let ``the README's model-file examples are the code that runs here, and the loaded model predicts as trained`` () =
    Assert.Equal<string list>(
        ReadmeExamples.sourceRegionNamed " model" "Properties/Core.Properties/ModelFileReadmeExample.fs",
        ReadmeExamples.readmeBlock "### A trained model in F#" "fsharp"
    )

    Assert.Equal<string list>(
        ReadmeExamples.sourceRegionNamed " model" "Properties/Api.Tests/ModelFileTests.cs",
        ReadmeExamples.readmeBlock "### A trained model in C#" "csharp"
    )

    let e = ModelFileReadmeExample.result.State
    let model = ModelFileReadmeExample.model
    sameTensors "readme" e.BestParams model.Params
    sameTensors "readme" e.BestModelState model.State
    // The loaded net predicts what the trained one predicts, and well.
    let trained = Model.ofConfig ModelFileReadmeExample.config
    let split = ModelFileReadmeExample.split

    let expected =
        Tensor.argmax 1 (trained.Scores e.BestParams e.BestModelState split.Test.X)

    Assert.Equal<int[]>(expected, ModelFileReadmeExample.predicted)
    let accuracy = Losses.accuracy ModelFileReadmeExample.scores split.Test.Y
    // Two short epochs: well above chance (0.1), not the net's best.
    Prop.ensure (accuracy > 0.6) (fun () -> $"the loaded model's test accuracy is {accuracy}")
