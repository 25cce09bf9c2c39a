namespace Functional

open System.IO

/// <summary>
/// Raised when a checkpoint (or a model file, <c>Model.load</c>) cannot be read: the file is truncated, corrupted, not
/// a zip archive, not a Functional checkpoint (model file), or written by a newer version. The message names the file
/// and the problem. Nothing is changed.
/// </summary>
type CheckpointException(message: string, path: string, inner: exn | null) =
    inherit IOException(message, inner)

    /// <summary>The file that could not be read.</summary>
    member _.Path = path

namespace Functional.FSharp

open System
open System.Collections.Immutable
open System.IO
open System.Text
open System.Text.Json
open Functional

/// Typed fields of a JSON object, for the readers of the checkpoint's and the model file's JSON entries: a missing
/// field, a field of another JSON kind or a value out of range raises the exception corrupt makes of a message that
/// names the field.
module internal JsonFields =
    /// The field name of kind kind.
    let field (corrupt: string -> exn) (o: JsonElement) (name: string) (kind: JsonValueKind) =
        match o.TryGetProperty(name: string) with
        | true, v when v.ValueKind = kind -> v
        | true, v -> raise (corrupt $"'{name}' is a {v.ValueKind}, expected a {kind}.")
        | _ -> raise (corrupt $"the field '{name}' is missing.")

    let private number corrupt o name (what: string) (tryGet: JsonElement -> bool * 'a) =
        match tryGet (field corrupt o name JsonValueKind.Number) with
        | true, v -> v
        | _ -> raise (corrupt $"'{name}' is not {what}.")

    /// The number field name as a 32-bit integer.
    let intOf corrupt o name =
        number corrupt o name "a 32-bit integer" (fun e -> e.TryGetInt32())

    /// The number field name as a 64-bit integer.
    let int64Of corrupt o name =
        number corrupt o name "a 64-bit integer" (fun e -> e.TryGetInt64())

    /// The number field name as a finite float64.
    let floatOf corrupt o name =
        number corrupt o name "a finite float64" (fun e -> e.TryGetDouble())

    /// The string field name, not null.
    let stringOf corrupt o name =
        match (field corrupt o name JsonValueKind.String).GetString() with
        | null -> raise (corrupt $"'{name}' is null.")
        | s -> s

    /// The array field name, each item read by item (None: "'name' must list what.").
    let private listOf corrupt o name (what: string) (item: JsonElement -> 'a option) = [
        for e in (field corrupt o name JsonValueKind.Array).EnumerateArray() ->
            match item e with
            | Some v -> v
            | None -> raise (corrupt $"'{name}' must list {what}.")
    ]

    /// The array field name of strings, none of them null.
    let stringsOf corrupt o name =
        listOf corrupt o name "names (strings, not null)" (fun e ->
            if e.ValueKind = JsonValueKind.String then
                Option.ofObj (e.GetString())
            else
                None)

    /// The array field name of 32-bit integers.
    let intsOf corrupt o name =
        listOf corrupt o name "32-bit integers" (fun e ->
            match e.ValueKind with
            | JsonValueKind.Number ->
                match e.TryGetInt32() with
                | true, v -> Some v
                | _ -> None
            | _ -> None)

    /// The readers of one file's JSON entry, bound to the exception its errors raise.
    type Reader = {
        Field: JsonElement -> string -> JsonValueKind -> JsonElement
        Int: JsonElement -> string -> int
        Int64: JsonElement -> string -> int64
        Float: JsonElement -> string -> float
        String: JsonElement -> string -> string
        Strings: JsonElement -> string -> string list
        Ints: JsonElement -> string -> int list
    }

    /// <summary>
    /// The header of the JSON entry (named entry) of a file this library writes: bytes parsed as a JSON object whose
    /// "format" is format and whose "version" is from 1 to newest. Returns the document (the caller disposes it) and
    /// the version; a file of another kind or version raises fail message ("is not a Functional {what}: …"), a
    /// damaged entry corrupt message.
    /// </summary>
    let header
        (fail: string -> exn)
        (corrupt: string -> exn)
        (what: string)
        (entry: string)
        (format: string)
        (newest: int)
        (bytes: byte[])
        =
        let doc =
            try
                JsonDocument.Parse(ReadOnlyMemory bytes)
            with :? JsonException as e ->
                raise (corrupt e.Message)

        try
            let root = doc.RootElement

            if root.ValueKind <> JsonValueKind.Object then
                raise (corrupt "expected a JSON object.")

            match root.TryGetProperty "format" with
            | true, f when f.ValueKind = JsonValueKind.String && f.GetString() = format -> ()
            | _ -> raise (fail $"is not a Functional {what}: {entry} does not say format \"{format}\".")

            let version = intOf corrupt root "version"

            if version > newest then
                raise (
                    fail
                        $"was written by a newer version of the library ({what} version {version}); this one reads versions up to {newest}."
                )

            if version < 1 then
                raise (fail $"has an invalid {what} version {version}.")

            doc, version
        with _ ->
            doc.Dispose()
            reraise ()

    /// The readers whose errors raise corrupt message.
    let reader (corrupt: string -> exn) = {
        Field = field corrupt
        Int = intOf corrupt
        Int64 = int64Of corrupt
        Float = floatOf corrupt
        String = stringOf corrupt
        Strings = stringsOf corrupt
        Ints = intsOf corrupt
    }

/// <summary>
/// Checkpoints of a training run as numpy <c>.npz</c> archives: one <c>.npy</c> array per parameter
/// (<c>params/W1</c>), model-state tensor (<c>state/…</c>), optimizer slot (<c>optim/W1/m</c>), best parameter
/// (<c>best/…</c>, <c>best_state/…</c>) and history (<c>history/loss</c>, <c>history/train_metric</c>,
/// <c>history/val_metric</c>), plus a <c>checkpoint.json</c> entry with the rest (format, version, epoch, iteration,
/// learning rate, random key, setup, metric name). Version 1 (classifiers only) named the metric histories
/// <c>history/train_acc</c> and <c>history/val_acc</c> and had no metric name; it still loads, as metric "accuracy". numpy opens the file with <c>np.load</c>. Writes are atomic; reads verify
/// everything and raise a <see cref="T:Functional.CheckpointException"/> on any problem.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Checkpoint =
    /// <summary>The checkpoint format version this library writes (and the newest it reads).</summary>
    [<Literal>]
    let Version = 2

    /// <summary>The name of the JSON entry.</summary>
    [<Literal>]
    let MetaEntry = "checkpoint.json"

    [<Literal>]
    let private Format = "functional-checkpoint"

    let private history (xs: ImmutableList<float>) =
        Tensor.Wrap([| xs.Count |], Seq.toArray xs)

    let private writeConfig (w: Utf8JsonWriter) (c: OptimConfig) =
        w.WriteStartObject()
        w.WriteNumber("learningRate", c.LearningRate)
        w.WriteNumber("momentum", c.Momentum)
        w.WriteNumber("decayRate", c.DecayRate)
        w.WriteNumber("beta1", c.Beta1)
        w.WriteNumber("beta2", c.Beta2)
        w.WriteNumber("epsilon", c.Epsilon)
        w.WriteNumber("weightDecay", c.WeightDecay)
        w.WriteEndObject()

    let private names (w: Utf8JsonWriter) (prop: string) (m: Map<string, 'a>) =
        w.WriteStartArray prop

        for kv in m do
            w.WriteStringValue kv.Key

        w.WriteEndArray()

    let private meta (s: SolverState) =
        use ms = new MemoryStream()

        do
            use w = new Utf8JsonWriter(ms, JsonWriterOptions(Indented = true))
            w.WriteStartObject()
            w.WriteString("format", Format)
            w.WriteNumber("version", Version)
            w.WriteString("model", s.Setup.ModelName)
            w.WriteString("rule", s.Setup.RuleName)
            w.WritePropertyName "ruleConfig"
            writeConfig w s.Setup.RuleConfig
            w.WriteNumber("batchSize", s.Setup.BatchSize)
            w.WriteNumber("numTrain", s.Setup.NumTrain)
            w.WriteString("metric", s.Setup.Metric)
            w.WriteNumber("epoch", s.Epoch)
            w.WriteNumber("iteration", s.Iteration)
            w.WriteNumber("learningRate", s.LearningRate)
            // The exact bits too: the JSON number is for people, the bits are what resuming uses.
            w.WriteString("learningRateBits", BitConverter.DoubleToInt64Bits(s.LearningRate).ToString("X16"))
            w.WriteString("rngKey", s.Rng.Key.ToString("X16"))
            w.WriteNumber("bestValMetric", s.BestValMetric)
            w.WriteString("bestValMetricBits", BitConverter.DoubleToInt64Bits(s.BestValMetric).ToString("X16"))
            names w "params" s.Params
            names w "state" s.ModelState
            names w "bestParams" s.BestParams
            names w "bestState" s.BestModelState
            w.WriteStartObject "optim"

            for kv in s.OptimStates do
                w.WriteStartObject kv.Key
                w.WriteNumber("step", kv.Value.Step)
                names w "slots" kv.Value.SlotMap
                w.WriteEndObject()

            w.WriteEndObject()
            w.WriteEndObject()

        ms.ToArray()

    let private validateState (fn: string) (s: SolverState) =
        Guard.notNull fn "state" s

        let check (what: string) (m: Map<string, Tensor>) =
            for kv in m do
                Npz.checkName fn (what + "/" + kv.Key)

        check "params" s.Params
        check "state" s.ModelState
        check "best" s.BestParams
        check "best_state" s.BestModelState

        for kv in s.OptimStates do
            check ("optim/" + kv.Key) kv.Value.SlotMap

    /// <summary>
    /// Checks, before a run starts, that a checkpoint can be written at path: it names no folder, its folder exists,
    /// and a small probe file can be created, flushed to disk and deleted there (this catches read-only folders,
    /// full disks and paths below a file). Fails with an ArgumentException naming <paramref name="fn"/>, the
    /// argument <paramref name="arg"/> and the reason.
    /// </summary>
    let checkWritable (fn: string) (arg: string) (path: string) =
        if String.IsNullOrWhiteSpace path then
            Guard.fail fn arg $"{arg} must not be empty."

        let full = Path.GetFullPath path

        if Directory.Exists full then
            let example = Path.Combine(path, "checkpoint.npz")
            Guard.fail fn arg $"{arg} '{path}' names a folder; it must name a file (e.g. '{example}')."

        let dir = Path.GetDirectoryName full

        if not (Directory.Exists dir) then
            Guard.fail fn arg $"the folder of {arg} '{path}' does not exist (checkpoints are written after each epoch)."

        let probe = full + ".tmp-probe-" + Guid.NewGuid().ToString("N")

        try
            try
                use fs = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None)
                fs.Write(Array.zeroCreate<byte> 4096, 0, 4096)
                fs.Flush true
            finally
                try
                    File.Delete probe
                with _ ->
                    ()
        with
        | :? IOException
        | :? UnauthorizedAccessException as e -> Guard.fail fn arg $"{arg} '{path}' cannot be written: {e.Message}"

    /// Deletes temporary files of this target that no writer holds open: what a save killed mid-write (kill -9,
    /// power loss) leaves behind. A live writer holds its temporary file with an exclusive lock (FileShare.None,
    /// an advisory lock on Unix), so its file is skipped.
    let private removeStale (path: string) =
        let full = Path.GetFullPath path

        match Path.GetDirectoryName full with
        | null -> ()
        | dir when not (Directory.Exists dir) -> ()
        | dir ->
            for tmp in Directory.EnumerateFiles(dir, string (Path.GetFileName full) + ".tmp-*") do
                try
                    do
                        use _ = new FileStream(tmp, FileMode.Open, FileAccess.ReadWrite, FileShare.None)
                        ()

                    File.Delete tmp
                with
                | :? IOException
                | :? UnauthorizedAccessException -> ()

    /// <summary>
    /// Writes a solver state to an <c>.npz</c> checkpoint at path, atomically: a temporary file in the same folder,
    /// flushed, then renamed over path. On failure the temporary file is removed and an existing file is untouched.
    /// Temporary files of the same target left by an earlier save that was killed (<c>path.tmp-*</c>, not held
    /// open by a writer) are deleted first. Two processes must not write the same checkpoint at the same time.
    /// </summary>
    let save (path: string) (state: SolverState) =
        validateState "Checkpoint.save" state

        if not (String.IsNullOrWhiteSpace path) then
            removeStale path

        let s = state

        let arrays = [
            for kv in s.Params -> $"params/{kv.Key}", kv.Value
            for kv in s.ModelState -> $"state/{kv.Key}", kv.Value
            for kv in s.BestParams -> $"best/{kv.Key}", kv.Value
            for kv in s.BestModelState -> $"best_state/{kv.Key}", kv.Value
            for p in s.OptimStates do
                for kv in p.Value.SlotMap -> $"optim/{p.Key}/{kv.Key}", kv.Value
            yield "history/loss", history s.LossHistory
            yield "history/train_metric", history s.TrainMetricHistory
            yield "history/val_metric", history s.ValMetricHistory
        ]

        let entries =
            (MetaEntry, meta s)
            :: (arrays |> List.map (fun (name, t) -> name + ".npy", Npy.toBytes t))

        Npz.writeEntries "Checkpoint.save" path entries

    // ---- reading ----

    let private failure (path: string) (message: string) =
        CheckpointException($"Checkpoint.load: '{path}' {message}", path, null) :> exn

    let private fail (path: string) (message: string) : 'a = raise (failure path message)

    let private corrupted (path: string) (message: string) =
        CheckpointException($"Checkpoint.load: '{path}' has a corrupted {MetaEntry}: {message}", path, null) :> exn

    let private json path = JsonFields.reader (corrupted path)

    let private hex64 path o name =
        match
            UInt64.TryParse(
                (json path).String o name,
                Globalization.NumberStyles.AllowHexSpecifier,
                Globalization.CultureInfo.InvariantCulture
            )
        with
        | true, v -> v
        | _ -> fail path $"has a corrupted checkpoint.json: '{name}' is not 16 hex digits."

    let private bitsOf path o name =
        BitConverter.Int64BitsToDouble(int64 (hex64 path o name))

    let private configOf path (o: JsonElement) : OptimConfig = {
        LearningRate = (json path).Float o "learningRate"
        Momentum = (json path).Float o "momentum"
        DecayRate = (json path).Float o "decayRate"
        Beta1 = (json path).Float o "beta1"
        Beta2 = (json path).Float o "beta2"
        Epsilon = (json path).Float o "epsilon"
        WeightDecay = (json path).Float o "weightDecay"
    }

    let private parse (path: string) (entries: Map<string, byte[]>) : SolverState =
        let metaBytes =
            match entries.TryFind MetaEntry with
            | Some b -> b
            | None ->
                fail
                    path
                    $"is not a Functional checkpoint: the archive has no {MetaEntry} entry (a plain .npz? use Npz.load)."

        let doc, version =
            JsonFields.header (failure path) (corrupted path) "checkpoint" MetaEntry Format Version metaBytes

        use doc = doc
        let root = doc.RootElement

        let arrays = Collections.Generic.Dictionary<string, Tensor>()

        let array (name: string) =
            match arrays.TryGetValue name with
            | true, t -> t
            | _ ->
                match entries.TryFind(name + ".npy") with
                | None -> fail path $"is incomplete: the array '{name}' listed in {MetaEntry} is missing."
                | Some bytes ->
                    let t =
                        try
                            Npy.parseWith true $"{path}[{name}.npy]" bytes
                        with :? InvalidDataException as e ->
                            raise (
                                CheckpointException(
                                    $"Checkpoint.load: '{path}' has a corrupted array: {e.Message}",
                                    path,
                                    e
                                )
                            )

                    arrays.[name] <- t
                    t

        let group (prefix: string) (listName: string) =
            (json path).Strings root listName
            |> List.map (fun n -> n, array $"{prefix}/{n}")
            |> Map.ofList

        let parameters = group "params" "params"
        let modelState = group "state" "state"
        let bestParams = group "best" "bestParams"
        let bestState = group "best_state" "bestState"
        let optim = (json path).Field root "optim" JsonValueKind.Object

        let optimStates =
            [
                for p in optim.EnumerateObject() ->
                    if p.Value.ValueKind <> JsonValueKind.Object then
                        fail path $"has a corrupted {MetaEntry}: optim.{p.Name} must be an object."

                    let step = (json path).Int p.Value "step"

                    if step < 0 then
                        fail path $"has a corrupted {MetaEntry}: optim.{p.Name}.step = {step} is negative."

                    let slots =
                        (json path).Strings p.Value "slots"
                        |> List.map (fun n -> n, array $"optim/{p.Name}/{n}")
                        |> Map.ofList

                    p.Name, OptimState.Create(slots, step)
            ]
            |> Map.ofList

        let vector name =
            let t = array name

            if t.Rank <> 1 then
                fail path $"has a corrupted history: '{name}' has shape {Guard.shapeText t.Dims}, expected a vector."

            ImmutableList.CreateRange t.Data

        // Version 1 wrote classifiers only: accuracy histories under other names.
        let metricEntry, bestEntry =
            if version = 1 then
                "acc", "bestValAccuracyBits"
            else
                "metric", "bestValMetricBits"

        let loss = vector "history/loss"
        let trainAcc = vector $"history/train_{metricEntry}"
        let valAcc = vector $"history/val_{metricEntry}"
        let epoch = (json path).Int root "epoch"
        let iteration = (json path).Int root "iteration"
        let batchSize = (json path).Int root "batchSize"
        let numTrain = (json path).Int root "numTrain"

        let check cond (message: string) =
            if not cond then
                fail path $"is inconsistent: {message}."

        check (epoch >= 0 && iteration >= 0) $"epoch {epoch} and iteration {iteration} must be >= 0"
        check (batchSize > 0 && numTrain > 0) $"batch size {batchSize} and training size {numTrain} must be > 0"

        check (loss.Count = iteration) $"the loss history has {loss.Count} entries for {iteration} iterations"

        check
            (trainAcc.Count = epoch + 1 && valAcc.Count = epoch + 1)
            $"the metric histories have {trainAcc.Count} and {valAcc.Count} entries for {epoch} epochs (expected {epoch + 1})"

        check
            (Set.ofSeq optimStates.Keys = Set.ofSeq parameters.Keys)
            "the optimizer states do not name the same parameters as params"

        check
            (Set.ofSeq bestParams.Keys = Set.ofSeq parameters.Keys)
            "the best parameters do not name the same parameters as params"

        for kv in parameters do
            check
                (bestParams.[kv.Key].Dims = kv.Value.Dims)
                $"best/{kv.Key} has shape {Guard.shapeText bestParams.[kv.Key].Dims}, params/{kv.Key} has {Guard.shapeText kv.Value.Dims}"

            for s in optimStates.[kv.Key].SlotMap do
                check
                    (s.Value.Dims = kv.Value.Dims)
                    $"optim/{kv.Key}/{s.Key} has shape {Guard.shapeText s.Value.Dims}, params/{kv.Key} has {Guard.shapeText kv.Value.Dims}"

        // Every array in the archive must be accounted for: a stray one means a foreign or tampered file.
        for name in entries.Keys do
            if
                name <> MetaEntry
                && not (arrays.ContainsKey(name.Substring(0, max 0 (name.Length - 4))))
            then
                fail path $"holds an entry '{name}' that {MetaEntry} does not list."

        {
            Setup = {
                ModelName = (json path).String root "model"
                RuleName = (json path).String root "rule"
                RuleConfig = configOf path ((json path).Field root "ruleConfig" JsonValueKind.Object)
                BatchSize = batchSize
                NumTrain = numTrain
                Metric =
                    if version = 1 then
                        "accuracy"
                    else
                        (json path).String root "metric"
            }
            Params = parameters
            ModelState = modelState
            OptimStates = optimStates
            LearningRate = bitsOf path root "learningRateBits"
            Rng = Rng.FromKey(hex64 path root "rngKey")
            Epoch = epoch
            Iteration = iteration
            LossHistory = loss
            TrainMetricHistory = trainAcc
            ValMetricHistory = valAcc
            BestValMetric = bitsOf path root bestEntry
            BestParams = bestParams
            BestModelState = bestState
        }

    /// <summary>
    /// Reads a checkpoint written by <c>Checkpoint.save</c>. A missing file raises
    /// <see cref="T:System.IO.FileNotFoundException"/>; a truncated, corrupted or foreign file, or one from a newer
    /// version, raises a <see cref="T:Functional.CheckpointException"/> naming the file and the problem. Sizes are
    /// checked before anything is allocated (an entry's declared size against its compressed size and its .npy
    /// header), and every array must be float64 as <c>save</c> writes it: a float32, float16 or integer array is
    /// rejected naming the entry and its dtype, never converted.
    /// </summary>
    let load (path: string) : SolverState =
        if String.IsNullOrWhiteSpace path then
            Guard.fail "Checkpoint.load" "path" "the path must not be null or empty."

        let entries =
            try
                Npz.readEntries path
            with :? InvalidDataException as e ->
                let detail =
                    if e.Message.StartsWith(path + ": ") then
                        e.Message.Substring(path.Length + 2)
                    else
                        e.Message

                raise (
                    CheckpointException($"Checkpoint.load: '{path}' is not a readable checkpoint: {detail}", path, e)
                )

        parse path entries
