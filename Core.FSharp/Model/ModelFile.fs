namespace Functional.FSharp

open System
open System.IO
open System.Text.Json
open Functional

/// <summary>
/// The configuration of one of the library's classifiers: what a model file stores so that <c>Model.load</c> can
/// rebuild the same net around the saved parameters. Each case holds the configuration its factory takes.
/// </summary>
type ModelConfig =
    /// <summary>The two-layer net (<c>Nets.twoLayer</c>).</summary>
    | TwoLayerNet of TwoLayerNetConfig
    /// <summary>The fully connected net (<c>Nets.fullyConnected</c>).</summary>
    | FullyConnectedNet of FullyConnectedNetConfig
    /// <summary>The three-layer convnet (<c>ConvNet.threeLayer</c>).</summary>
    | ThreeLayerConvNet of ThreeLayerConvNetConfig

/// <summary>
/// Model files: a trained classifier saved for inference, its configuration with its parameters and state, so that
/// <c>Model.load</c> gives a model ready for <c>Scores</c> without rebuilding the net by hand. A model file is a
/// numpy <c>.npz</c> archive (<c>np.load</c> opens it): one float64 <c>.npy</c> array per parameter
/// (<c>params/W1.npy</c>, …) and per state tensor (<c>state/running_mean1.npy</c>, …), plus a <c>model.json</c> entry
/// (System.Text.Json) with the format name <c>"functional-model"</c>, the format version, the model kind
/// (<c>"two-layer-net"</c>, <c>"fully-connected-net"</c> or <c>"three-layer-convnet"</c>), the net's name, and the
/// configuration under <c>"config"</c> with camelCase keys (the fields of the kind's configuration record; the fully
/// connected net's normalization as <c>"none"</c>, <c>"batch"</c> or <c>"layer"</c> and its <c>Norm</c> as
/// <c>normEps</c> and <c>batchNormMomentum</c>; the convnet's input dims as <c>[C, H, W]</c>). Numbers are written in
/// their shortest round-trip form, so every configuration reads back exactly. Writes are atomic; reads check
/// everything and raise a <see cref="T:Functional.CheckpointException"/> naming the file and the problem.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Model =
    /// <summary>The model-file format version this library writes (and the newest it reads).</summary>
    [<Literal>]
    let Version = 1

    /// <summary>The name of the JSON entry.</summary>
    [<Literal>]
    let MetaEntry = "model.json"

    [<Literal>]
    let private Format = "functional-model"

    /// <summary>
    /// The net a configuration describes, with its initial parameters (the factory's own checks apply: an
    /// ArgumentException naming the factory and the field).
    /// </summary>
    let ofConfig (config: ModelConfig) : Model =
        Guard.notNull "Model.ofConfig" "config" config

        match config with
        | TwoLayerNet c -> Nets.twoLayer c
        | FullyConnectedNet c -> Nets.fullyConnected c
        | ThreeLayerConvNet c -> ConvNet.threeLayer c

    /// <summary>The kind a model file names: "two-layer-net", "fully-connected-net" or "three-layer-convnet".</summary>
    let kind (config: ModelConfig) =
        match config with
        | TwoLayerNet _ -> "two-layer-net"
        | FullyConnectedNet _ -> "fully-connected-net"
        | ThreeLayerConvNet _ -> "three-layer-convnet"

    let private normalizationName (n: Normalization) =
        match n with
        | Normalization.Batch -> "batch"
        | Normalization.Layer -> "layer"
        | _ -> "none"

    let private writeConfig (w: Utf8JsonWriter) (config: ModelConfig) =
        let ints (name: string) (xs: int seq) =
            w.WriteStartArray name

            for x in xs do
                w.WriteNumberValue x

            w.WriteEndArray()

        w.WriteStartObject "config"

        match config with
        | TwoLayerNet c ->
            w.WriteNumber("inputDim", c.InputDim)
            w.WriteNumber("hiddenDim", c.HiddenDim)
            w.WriteNumber("numClasses", c.NumClasses)
            w.WriteNumber("weightScale", c.WeightScale)
            w.WriteNumber("reg", c.Reg)
            w.WriteNumber("seed", c.Seed)
        | FullyConnectedNet c ->
            ints "hiddenDims" c.HiddenDims
            w.WriteNumber("inputDim", c.InputDim)
            w.WriteNumber("numClasses", c.NumClasses)
            w.WriteNumber("weightScale", c.WeightScale)
            w.WriteNumber("reg", c.Reg)
            w.WriteString("normalization", normalizationName c.Normalization)
            w.WriteNumber("normEps", c.Norm.Eps)
            w.WriteNumber("batchNormMomentum", c.Norm.Momentum)
            w.WriteNumber("dropoutKeepProbability", c.DropoutKeepProbability)
            w.WriteNumber("seed", c.Seed)
        | ThreeLayerConvNet c ->
            let channels, height, width = c.InputDims
            ints "inputDims" [ channels; height; width ]
            w.WriteNumber("numFilters", c.NumFilters)
            w.WriteNumber("filterSize", c.FilterSize)
            w.WriteNumber("hiddenDim", c.HiddenDim)
            w.WriteNumber("numClasses", c.NumClasses)
            w.WriteNumber("weightScale", c.WeightScale)
            w.WriteNumber("reg", c.Reg)
            w.WriteNumber("seed", c.Seed)

        w.WriteEndObject()

    let private meta (config: ModelConfig) (name: string) =
        use ms = new MemoryStream()

        do
            use w = new Utf8JsonWriter(ms, JsonWriterOptions(Indented = true))
            w.WriteStartObject()
            w.WriteString("format", Format)
            w.WriteNumber("version", Version)
            w.WriteString("kind", kind config)
            w.WriteString("name", name)
            writeConfig w config
            w.WriteEndObject()

        ms.ToArray()

    /// The first difference between the tensors a model expects in a group (params or state) and the ones given:
    /// a missing, null, extra or differently shaped entry.
    let private mismatch
        (group: string)
        (modelName: string)
        (expected: Map<string, Tensor>)
        (given: Map<string, Tensor>)
        =
        let names (m: Map<string, Tensor>) =
            if m.IsEmpty then
                "none"
            else
                m |> Map.keys |> String.concat ", "

        seq {
            for kv in expected do
                match given.TryFind kv.Key with
                | None -> yield $"{group}/{kv.Key} is missing ({modelName} has {group} {names expected})"
                | Some t when isNull (box t) -> yield $"{group}/{kv.Key} is null"
                | Some t when t.Dims <> kv.Value.Dims ->
                    yield
                        $"{group}/{kv.Key} has shape {Guard.shapeText t.Dims}, the configuration ({modelName}) gives {Guard.shapeText kv.Value.Dims}"
                | Some _ -> ()

            for kv in given do
                if not (expected.ContainsKey kv.Key) then
                    yield $"{group}/{kv.Key} is not one of the {group} of {modelName} ({names expected})"
        }
        |> Seq.tryHead

    /// <summary>
    /// Writes a model file at path, atomically (a temporary file in the same folder, flushed, then renamed over path;
    /// on failure an existing file is left as it was): the configuration, and the parameters and state to use with
    /// it (e.g. a training result's best ones). Values are stored bit for bit. Raises an ArgumentException when the
    /// configuration is invalid (naming its factory and field), or when a parameter or state tensor is missing,
    /// extra, null or of another shape than the configuration gives (naming the entry, expected and actual shape),
    /// or when the path is empty or its folder does not exist; an IOException when the file cannot be written.
    /// </summary>
    let save (path: string) (config: ModelConfig) (parameters: Map<string, Tensor>) (state: Map<string, Tensor>) =
        let fn = "Model.save"
        Guard.notNull fn "config" config
        Guard.notNull fn "parameters" parameters
        Guard.notNull fn "state" state
        let model = ofConfig config

        match mismatch "params" model.Name model.Params parameters with
        | Some problem -> Guard.fail fn "parameters" $"{problem}."
        | None -> ()

        match mismatch "state" model.Name model.State state with
        | Some problem -> Guard.fail fn "state" $"{problem}."
        | None -> ()

        let entries = [
            yield MetaEntry, meta config model.Name
            for kv in parameters -> $"params/{kv.Key}.npy", Npy.toBytes kv.Value
            for kv in state -> $"state/{kv.Key}.npy", Npy.toBytes kv.Value
        ]

        Npz.writeEntries fn path entries

    // ---- reading ----

    let private failure (path: string) (message: string) =
        CheckpointException($"Model.load: '{path}' {message}", path, null) :> exn

    let private fail (path: string) (message: string) : 'a = raise (failure path message)

    let private corruption (path: string) (message: string) =
        CheckpointException($"Model.load: '{path}' has a corrupted {MetaEntry}: {message}", path, null) :> exn

    let private corrupt (path: string) (message: string) : 'a = raise (corruption path message)

    let private json path = JsonFields.reader (corruption path)

    let private configOf (path: string) (kindName: string) (c: JsonElement) : ModelConfig =
        let i = (json path).Int c
        let f = (json path).Float c

        match kindName with
        | "two-layer-net" ->
            TwoLayerNet {
                InputDim = i "inputDim"
                HiddenDim = i "hiddenDim"
                NumClasses = i "numClasses"
                WeightScale = f "weightScale"
                Reg = f "reg"
                Seed = (json path).Int64 c "seed"
            }
        | "fully-connected-net" ->
            FullyConnectedNet {
                HiddenDims = (json path).Ints c "hiddenDims"
                InputDim = i "inputDim"
                NumClasses = i "numClasses"
                WeightScale = f "weightScale"
                Reg = f "reg"
                Normalization =
                    match (json path).String c "normalization" with
                    | "none" -> Normalization.None
                    | "batch" -> Normalization.Batch
                    | "layer" -> Normalization.Layer
                    | other -> corrupt path $"'normalization' must be none, batch or layer, got '{other}'."
                Norm = {
                    Eps = f "normEps"
                    Momentum = f "batchNormMomentum"
                }
                DropoutKeepProbability = f "dropoutKeepProbability"
                Seed = (json path).Int64 c "seed"
            }
        | "three-layer-convnet" ->
            let dims =
                match (json path).Ints c "inputDims" with
                | [ channels; height; width ] -> channels, height, width
                | other -> corrupt path $"'inputDims' must be [C, H, W], got {List.length other} numbers."

            ThreeLayerConvNet {
                InputDims = dims
                NumFilters = i "numFilters"
                FilterSize = i "filterSize"
                HiddenDim = i "hiddenDim"
                NumClasses = i "numClasses"
                WeightScale = f "weightScale"
                Reg = f "reg"
                Seed = (json path).Int64 c "seed"
            }
        | other ->
            fail
                path
                $"holds a model of unknown kind '{other}' (this library knows two-layer-net, fully-connected-net and three-layer-convnet)."

    let private parse (path: string) (entries: Map<string, byte[]>) : ModelConfig * Model =
        let metaBytes =
            match entries.TryFind MetaEntry, entries.ContainsKey Checkpoint.MetaEntry with
            | Some b, _ -> b
            | None, true ->
                fail
                    path
                    $"is a training checkpoint, not a model file (it has no {MetaEntry}): Checkpoint.load reads it; the app's train command writes the model beside it as model.npz, and Model.save writes one."
            | None, false ->
                fail
                    path
                    $"is not a Functional model file: the archive has no {MetaEntry} entry (a plain .npz? use Npz.load)."

        let doc, _ =
            JsonFields.header (failure path) (corruption path) "model file" MetaEntry Format Version metaBytes

        use doc = doc
        let root = doc.RootElement

        let config =
            configOf path ((json path).String root "kind") ((json path).Field root "config" JsonValueKind.Object)

        let model =
            try
                ofConfig config
            with :? ArgumentException as e ->
                raise (CheckpointException($"Model.load: '{path}' has an invalid configuration: {e.Message}", path, e))

        let group (prefix: string) =
            entries
            |> Map.toList
            |> List.choose (fun (name, bytes) ->
                if name.StartsWith(prefix + "/") && name.EndsWith ".npy" then
                    let key = name.Substring(prefix.Length + 1, name.Length - prefix.Length - 5)

                    let t =
                        try
                            Npy.parseWith true $"{path}[{name}]" bytes
                        with :? InvalidDataException as e ->
                            raise (
                                CheckpointException(
                                    $"Model.load: '{path}' has a corrupted array: {e.Message}",
                                    path,
                                    e
                                )
                            )

                    Some(key, t)
                else
                    None)
            |> Map.ofList

        let parameters = group "params"
        let state = group "state"

        for name in entries.Keys do
            let known =
                name = MetaEntry
                || (name.EndsWith ".npy" && (name.StartsWith "params/" || name.StartsWith "state/"))

            if not known then
                fail path $"holds an entry '{name}' that is not part of a model file."

        for groupName, expected, given in [ "params", model.Params, parameters; "state", model.State, state ] do
            match mismatch groupName model.Name expected given with
            | Some problem -> fail path $"does not match its configuration: {problem}."
            | None -> ()

        config,
        {
            model with
                Params = parameters
                State = state
        }

    /// <summary>
    /// Reads a model file written by <c>Model.save</c>: its configuration, and the model it describes with the saved
    /// parameters and state as its own (<c>Params</c>, <c>State</c>), ready for <c>Scores</c> (test mode) and
    /// <c>Loss</c>. A missing file raises <see cref="T:System.IO.FileNotFoundException"/>; a truncated, corrupted or
    /// foreign file, a training checkpoint, a newer or invalid version, an unknown model kind, an invalid
    /// configuration, or arrays that do not match the configuration (missing, extra, or of another shape: the entry,
    /// the expected and the actual shape are named) raise a <see cref="T:Functional.CheckpointException"/> naming the
    /// file and the problem. Every array must be float64, as <c>save</c> writes it.
    /// </summary>
    let load (path: string) : ModelConfig * Model =
        if String.IsNullOrWhiteSpace path then
            Guard.fail "Model.load" "path" "the path must not be null or empty."

        let entries =
            try
                Npz.readEntries path
            with :? InvalidDataException as e ->
                let detail =
                    if e.Message.StartsWith(path + ": ") then
                        e.Message.Substring(path.Length + 2)
                    else
                        e.Message

                raise (CheckpointException($"Model.load: '{path}' is not a readable model file: {detail}", path, e))

        parse path entries
