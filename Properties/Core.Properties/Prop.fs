/// The assertions the properties share (FsCheck.Xunit runs the properties: `[<Property(MaxTest = n)>]`, a failure
/// prints the seed to replay; see docs/ARCHITECTURE.md, Testing). What the package lacks and is kept here: assertions
/// on tensors and gradients that name the case (gradClose, close, throwsWith, bitsEqual), a temporary folder per case,
/// fixed edge cases run once per test run besides the random ones (once, withEdges: FsCheck.Xunit calls a property's
/// method once per case and has no per-property setup), and the worst-gradient-error report, which the package cannot
/// write after a property's last case (no per-property teardown either) and so appends on every new worst.
module Functional.Properties.Prop

open System
open FsCheck.Xunit
open Functional
open Functional.FSharp

// Every property in the assembly is quiet on success ("Ok, passed 100 tests" would be written for each of them).
[<assembly: Properties(QuietOnSuccess = true)>]
do ()

/// Fails with a message when cond is false.
let ensure (cond: bool) (message: unit -> string) =
    if not cond then
        failwith (message ())

/// The bound on analytic-vs-numeric relative error used by the gradient properties: the library's one rule,
/// Tolerance.Gradient (1e-7; see Core.FSharp/Verification/Tolerance.fs for the reason).
[<Literal>]
let GradTolerance = Tolerance.Gradient

/// The floor of the relative error's denominator in the gradient properties: the library's Tolerance.Floor (1e-2).
[<Literal>]
let GradFloor = Tolerance.Floor

/// Asserts that an analytic gradient matches the numeric one under the library's rule (Tolerance.gradient); the
/// failure message names the case.
let gradClose (case: string) (name: string) (analytic: Tensor) (numeric: Tensor) =
    let r = Tolerance.gradient name analytic numeric

    if not r.Passed then
        failwith $"{case}: {r}"

/// Asserts that two tensors agree to a relative error bound (same shape).
let close (case: string) (tol: float) (expected: Tensor) (actual: Tensor) =
    if Tensor.shape expected <> Tensor.shape actual then
        failwith
            $"{case}: shape {Guard.shapeText (Tensor.shape expected)} expected, got {Guard.shapeText (Tensor.shape actual)}"

    // A tolerance of 0 asks for equality (GradCheck's tolerances must be > 0).
    if tol = 0.0 then
        if Tensor.toArray expected <> Tensor.toArray actual then
            failwith $"{case}: expected {expected}, got {actual} (exactly)"
    else
        let r = GradCheck.compareWith 1.0 "values" tol actual expected

        if not r.Passed then
            failwith $"{case}: {r}"

/// Asserts that f throws an ArgumentException whose message contains every fragment, marked as the core's own
/// (Guard.CoreErrorKey: the C# facade renames only marked errors to the member the user called).
let throwsWith (fragments: string list) (f: unit -> 'a) =
    let ex =
        try
            f () |> ignore
            None
        with :? ArgumentException as e ->
            Some e

    match ex with
    | None -> failwith $"expected an ArgumentException mentioning {fragments}, but nothing was thrown"
    | Some e ->
        for frag in fragments do
            if not (e.Message.Contains(frag: string)) then
                failwith $"the message \"{e.Message}\" does not mention \"{frag}\""

        if e.Data.[Guard.CoreErrorKey] <> box true then
            failwith
                $"the error \"{e.Message}\" is not marked as the core's (Guard.CoreErrorKey): raise it through Guard.fail"

/// Equal bit for bit: the same sequence of float64 values, element by element (NaN payloads and the sign of zero
/// included).
let floatsEqual (a: seq<float>) (b: seq<float>) =
    let a, b = Seq.toArray a, Seq.toArray b

    a.Length = b.Length
    && Array.forall2 (fun (x: float) y -> BitConverter.DoubleToInt64Bits x = BitConverter.DoubleToInt64Bits y) a b

/// Two tensors of the same shape, equal bit for bit.
let bitsEqual (a: Tensor) (b: Tensor) =
    Tensor.shape a = Tensor.shape b
    && floatsEqual (Tensor.toArray a) (Tensor.toArray b)

let private ran = Collections.Concurrent.ConcurrentDictionary<string, Lazy<unit>>()

/// Runs f once in the test run under the given key; later calls return at once, or rethrow f's exception. For the
/// fixed cases a property checks besides its random ones: FsCheck.Xunit calls a property's method once per case and
/// has no per-property setup.
let once (key: string) (f: unit -> unit) =
    ran.GetOrAdd(key, (fun _ -> lazy (f ()))).Force()

/// body on the case, after body on the fixed edge cases once in the test run (under the given name: once).
let withEdges (name: string) (edges: 'a list) (c: 'a) (body: 'a -> unit) =
    once name (fun () ->
        for e in edges do
            body e)

    body c

/// The zip archive's bytes with its text entry `entry` rewritten through editText, then the entries in remove deleted
/// and those in add written (for the checkpoint and model-file tests' damaged files).
let editArchive
    (bytes: byte[])
    (entry: string)
    (editText: string -> string)
    (remove: string list)
    (add: (string * byte[]) list)
    =
    use ms = new IO.MemoryStream()
    ms.Write(bytes, 0, bytes.Length)

    do
        use zip =
            new IO.Compression.ZipArchive(ms, IO.Compression.ZipArchiveMode.Update, true)

        let e =
            match zip.GetEntry entry with
            | null -> failwith $"no {entry}"
            | e -> e

        let text =
            use r = new IO.StreamReader(e.Open())
            r.ReadToEnd()

        e.Delete()

        do
            use w = new IO.StreamWriter(zip.CreateEntry(entry).Open())
            w.Write(editText text)

        for name in remove do
            match zip.GetEntry name with
            | null -> failwith $"no entry {name}"
            | e -> e.Delete()

        for name, content in add do
            use s = zip.CreateEntry(name).Open()
            s.Write(content, 0, content.Length)

    ms.ToArray()

/// Runs f in a fresh temporary folder, deleted afterwards.
let withTempDir (f: string -> 'a) =
    let dir =
        IO.Path.Combine(IO.Path.GetTempPath(), "functional-tests-" + Guid.NewGuid().ToString("N"))

    IO.Directory.CreateDirectory dir |> ignore

    try
        f dir
    finally
        IO.Directory.Delete(dir, true)

let private worst = Collections.Generic.Dictionary<string, float>()

/// Remembers a gradient comparison's relative error under a property's name; when FUNCTIONAL_GRAD_REPORT names a
/// file and the error is the worst the property has seen in this run, appends "property, error, case and result" (tab
/// separated) to it, so a property's last line in the file is its worst case.
let recordWorst (property: string) (case: string) (r: GradCheckReport) =
    match Environment.GetEnvironmentVariable "FUNCTIONAL_GRAD_REPORT" with
    | null
    | "" -> ()
    | path ->
        let e = r.MaxRelativeError

        lock worst (fun () ->
            match worst.TryGetValue property with
            | true, w when w >= e -> ()
            | _ ->
                worst.[property] <- e
                IO.File.AppendAllText(path, $"{property}\t{e:E2}\t{case} {r}\n"))
