module Functional.Properties.CheckpointProperties

open System
open System.IO
open System.IO.Compression
open System.Text
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators
open Functional.Properties.SolverProperties

/// Values that must survive a round trip bit for bit: normals, and now and then NaN, ±∞, −0, subnormals, extremes.
let private awkward (rng: Rng) (shape: int[]) =
    let specials = [|
        nan
        infinity
        -infinity
        -0.0
        4.9e-324
        Double.MaxValue
        -Double.Epsilon
        1e-310
    |]

    let u = rng.Derive(1).Uniforms(Array.fold (*) 1 shape)
    let n = rng.Normals(u.Length)

    Tensor.ofArray shape (Array.init u.Length (fun i -> if u.[i] < 0.2 then specials.[int (u.[i] * 40.0)] else n.[i]))

let private shapeOf (c: Case) =
    Array.init c.["rank"] (fun i -> c.[$"d{i}"])

let private shapeCases =
    cases [ "rank", 0, 4; "d0", 0, 4; "d1", 1, 3; "d2", 0, 3; "d3", 1, 2 ]

[<Property(MaxTest = 100)>]
let ``npy round-trips every shape and value bit for bit`` () =
    Prop.forAll shapeCases (fun c ->
        let t = awkward c.Rng (shapeOf c)
        let bytes = Npy.toBytes t
        let back = Npy.ofBytes bytes
        Prop.ensure (Prop.bitsEqual t back) (fun () -> $"{c}: {t} came back as {back}")
        // The layout numpy expects: magic, version 1.0, a header padded to a multiple of 64 ending in '\n'.
        let headerLen = int bytes.[8] + 256 * int bytes.[9]
        let header = Encoding.ASCII.GetString(bytes, 10, headerLen)

        Prop.ensure (bytes.[0] = 0x93uy && Encoding.ASCII.GetString(bytes, 1, 5) = "NUMPY") (fun () -> $"{c}: magic")
        Prop.ensure (bytes.[6] = 1uy && bytes.[7] = 0uy) (fun () -> $"{c}: version {bytes.[6]}.{bytes.[7]}")

        Prop.ensure ((10 + headerLen) % 64 = 0 && header.EndsWith "\n") (fun () ->
            $"{c}: header of {headerLen} bytes: {header}")

        Prop.ensure (header.StartsWith "{'descr': '<f8', 'fortran_order': False, 'shape': (") (fun () ->
            $"{c}: {header}")

        Prop.ensure (bytes.Length = 10 + headerLen + 8 * Tensor.size t) (fun () -> $"{c}: length {bytes.Length}"))

[<Fact>]
let ``npy headers name the shape as numpy writes it`` () =
    let header (shape: int[]) =
        let b = Npy.toBytes (Tensor.zeros shape)
        Encoding.ASCII.GetString(b, 10, int b.[8] + 256 * int b.[9]).TrimEnd()

    Assert.Equal("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", header [| 2; 3 |])
    Assert.Equal("{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", header [| 5 |])
    Assert.Equal("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", header [||])

/// .npy bytes with a hand-written header (padded as numpy pads it) and data.
let private rawNpy (version: byte) (header: string) (data: byte[]) =
    let pre = if version = 1uy then 10 else 12
    let total = (pre + header.Length + 1 + 63) / 64 * 64
    let h = header.PadRight(total - pre - 1) + "\n"

    [|
        yield 0x93uy
        yield! Encoding.ASCII.GetBytes "NUMPY"
        yield version
        yield 0uy
        if version = 1uy then
            yield! BitConverter.GetBytes(uint16 h.Length)
        else
            yield! BitConverter.GetBytes(uint32 h.Length)
        yield! Encoding.ASCII.GetBytes h
        yield! data
    |]

[<Fact>]
let ``npy reads numpy's other dtypes, byte orders, Fortran order and versions`` () =
    let check name (expectedShape: int[]) (expected: float[]) (bytes: byte[]) =
        let t = Npy.ofBytes bytes

        Prop.ensure (Tensor.shape t = expectedShape && Tensor.toArray t = expected) (fun () ->
            $"{name}: got {t} with shape {Tensor.shape t}")

    let i32 = [| 1; -2; 3; 40000 |] |> Array.collect BitConverter.GetBytes

    check
        "<i4"
        [| 2; 2 |]
        [| 1.0; -2.0; 3.0; 40000.0 |]
        (rawNpy 1uy "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }" i32)

    let f32be =
        [| 1.5f; -0.25f |]
        |> Array.collect (fun f -> BitConverter.GetBytes f |> Array.rev)

    check ">f4" [| 2 |] [| 1.5; -0.25 |] (rawNpy 1uy "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }" f32be)

    check
        "|u1"
        [| 3 |]
        [| 0.0; 200.0; 255.0 |]
        (rawNpy 1uy "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }" [| 0uy; 200uy; 255uy |])

    check
        "|b1"
        [| 2 |]
        [| 1.0; 0.0 |]
        (rawNpy 1uy "{'shape': (2,), 'fortran_order': False, 'descr': '|b1'}" [| 1uy; 0uy |])

    let i64 = [| 7L; -9L |] |> Array.collect BitConverter.GetBytes
    check "<i8 v2" [| 2 |] [| 7.0; -9.0 |] (rawNpy 2uy "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }" i64)
    // Fortran order: the column-major data 1 4 2 5 3 6 is the 2×3 matrix [[1 2 3] [4 5 6]].
    let f64 = [| 1.0; 4.0; 2.0; 5.0; 3.0; 6.0 |] |> Array.collect BitConverter.GetBytes

    check
        "fortran"
        [| 2; 3 |]
        [| 1.0 .. 6.0 |]
        (rawNpy 1uy "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }" f64)

let private throwsData (fragments: string list) (f: unit -> 'a) =
    let ex = Assert.Throws<InvalidDataException>(fun () -> f () |> ignore)

    for frag in fragments do
        Prop.ensure (ex.Message.Contains(frag: string)) (fun () ->
            $"the message \"{ex.Message}\" does not mention \"{frag}\"")

[<Fact>]
let ``npy rejects bad magic, versions, dtypes, headers and data lengths`` () =
    let good = Npy.toBytes (Tensor.ones [| 2; 3 |])
    let hdr (h: string) (data: byte[]) () = Npy.ofBytes (rawNpy 1uy h data)
    throwsData [ "magic" ] (fun () -> Npy.ofBytes (Array.append [| 0x93uy; 0uy |] good.[2..]))
    throwsData [ "shorter than the smallest header" ] (fun () -> Npy.ofBytes good.[..5])
    throwsData [ "version 9.0" ] (fun () -> Npy.ofBytes (Array.concat [ good.[..5]; [| 9uy; 0uy |]; good.[8..] ]))

    throwsData [ "truncated .npy data"; "needs 48 bytes, 47 are present" ] (fun () ->
        Npy.ofBytes good.[.. good.Length - 2])

    throwsData [ "1 unexpected bytes after the data" ] (fun () -> Npy.ofBytes (Array.append good [| 0uy |]))
    throwsData [ "truncated .npy header" ] (fun () -> Npy.ofBytes good.[..30])

    throwsData
        [ "unsupported dtype '<c16'" ]
        (hdr "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }" (Array.zeroCreate 16))

    throwsData [ "no 'shape'" ] (hdr "{'descr': '<f8', 'fortran_order': False}" [||])
    throwsData [ "malformed header" ] (hdr "{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }" [||])

    throwsData
        [ "unexpected header key 'extra'" ]
        (hdr "{'descr': '<f8', 'fortran_order': False, 'shape': (), 'extra': 'x'}" [||])

    throwsData
        [ "'fortran_order' must be True or False" ]
        (hdr "{'descr': '<f8', 'fortran_order': 'no', 'shape': ()}" [||])

    Prop.throwsWith [ "Npy.ofBytes"; "must not be null" ] (fun () -> Npy.ofBytes Unchecked.defaultof<byte[]>)

[<Fact>]
let ``npz archives round-trip named tensors and open as zip files of .npy entries`` () =
    Prop.withTempDir (fun dir ->
        let path = Path.Combine(dir, "a.npz")
        let rng = Rng.create 5L

        let arrays =
            Map [
                "W1", Tensor.randn rng 1.0 [| 3; 4 |]
                "params/b1", Tensor.zeros [| 4 |]
                "s", Tensor.scalar 2.5
            ]

        Npz.save path arrays
        let back = Npz.load path
        Prop.ensure (mapsEqual arrays back) (fun () -> "npz round trip")
        use zip = ZipFile.OpenRead path
        let names = zip.Entries |> Seq.map (fun e -> e.FullName) |> Set.ofSeq
        Prop.ensure (names = set [ "W1.npy"; "params/b1.npy"; "s.npy" ]) (fun () -> $"entries {names}")

        Prop.ensure (Directory.GetFiles dir |> Array.forall (fun f -> not (f.Contains ".tmp-"))) (fun () ->
            "temp left")

        Prop.throwsWith [ "invalid array name '../x'" ] (fun () ->
            Npz.save path (Map [ "../x", Tensor.zeros [| 1 |] ]))

        Prop.throwsWith [ "Npz.save"; "does not exist" ] (fun () -> Npz.save (Path.Combine(dir, "no", "a.npz")) arrays)
        Npy.save (Path.Combine(dir, "t.npy")) arrays.["W1"]

        Prop.ensure (Prop.bitsEqual arrays.["W1"] (Npy.load (Path.Combine(dir, "t.npy")))) (fun () ->
            "npy file round trip"))

/// A trained state (with model state, optimizer slots and histories) from a small run.
let private trainedState (seed: int) (ruleIndex: int) =
    let rng = Rng.create (int64 seed)
    let data = blobs rng 12 6 3 3
    let model = TestModels.centered (rng.Derive 9) 3 3

    let config = {
        SolverConfig.Defaults with
            NumEpochs = 2
            BatchSize = 5
            LrDecay = 0.95
            Seed = int64 seed
    }

    (Solver.train rules.[ruleIndex] config model data).State

[<Property(MaxTest = 20)>]
let ``checkpoints round-trip the solver state bit for bit`` () =
    Prop.forAll (cases [ "rule", 0, 5 ]) (fun c ->
        let s = trainedState c.Seed c.["rule"]
        // Learning rates whose decimal form is long: the exact bits are stored.
        let s = {
            s with
                LearningRate = s.LearningRate * (1.0 + 1e-15 * float (c.Seed % 7))
        }

        Prop.withTempDir (fun dir ->
            let path = Path.Combine(dir, "c.npz")
            Checkpoint.save path s
            ensureSame (string c) s (Checkpoint.load path)
            // Saving again over the file replaces it atomically and leaves no temporary file.
            Checkpoint.save path { s with Epoch = s.Epoch }
            Prop.ensure (Directory.GetFiles dir = [| path |]) (fun () -> $"{c}: files {Directory.GetFiles dir}")))

let internal savedBytes =
    lazy
        (Prop.withTempDir (fun dir ->
            let path = Path.Combine(dir, "c.npz")
            let s = trainedState 42 4
            Checkpoint.save path s
            s, File.ReadAllBytes path))

let private loadBytes (dir: string) (bytes: byte[]) =
    let path = Path.Combine(dir, "x.npz")
    File.WriteAllBytes(path, bytes)

    let result =
        try
            Ok(Checkpoint.load path)
        with e ->
            Error e

    Prop.ensure (File.ReadAllBytes path = bytes) (fun () -> "loading changed the file")
    result

[<Property(MaxTest = 100)>]
let ``a truncated checkpoint is a clear error`` () =
    let _, bytes = savedBytes.Force()

    Prop.forAll (cases [ "cut", 0, 1000 ]) (fun c ->
        Prop.withTempDir (fun dir ->
            let keep = bytes.Length * c.["cut"] / 1001

            match loadBytes dir bytes.[.. keep - 1] with
            | Error(:? CheckpointException as e) ->
                Prop.ensure (e.Message.Contains "Checkpoint.load" && e.Message.Contains "x.npz") (fun () -> e.Message)
            | Error e ->
                failwith $"{c}: keeping {keep} of {bytes.Length} bytes raised {e.GetType().Name}: {e.Message}"
            | Ok _ -> failwith $"{c}: keeping {keep} of {bytes.Length} bytes loaded without error"))

[<Property(MaxTest = 200)>]
let ``a corrupted checkpoint is a clear error, or reads back exactly`` () =
    let s, bytes = savedBytes.Force()

    Prop.forAll (cases [ "at", 0, bytes.Length - 1; "bit", 0, 7 ]) (fun c ->
        Prop.withTempDir (fun dir ->
            let b = Array.copy bytes
            b.[c.["at"]] <- b.[c.["at"]] ^^^ (1uy <<< c.["bit"])

            // A flip in a field the reader does not use (a timestamp, say) is harmless; any other is detected.
            match loadBytes dir b with
            | Error(:? CheckpointException) -> ()
            | Error e -> failwith $"{c}: raised {e.GetType().Name}: {e.Message}"
            | Ok s' -> ensureSame $"{c}: a corrupted file read back differently" s s'))

[<Fact>]
let ``foreign files and newer versions are clear errors`` () =
    let s, good = savedBytes.Force()

    Prop.withTempDir (fun dir ->
        let expectError (fragments: string list) (bytes: byte[]) =
            match loadBytes dir bytes with
            | Error(:? CheckpointException as e) ->
                for f in fragments do
                    Prop.ensure (e.Message.Contains(f: string)) (fun () -> $"\"{e.Message}\" does not mention \"{f}\"")
            | Error e -> failwith $"raised {e.GetType().Name}: {e.Message}"
            | Ok _ -> failwith $"loaded a foreign file without error (expected {fragments})"

        expectError [ "not a zip" ] (Encoding.UTF8.GetBytes "hello, this is not a checkpoint")
        expectError [ "not a zip" ] [||]
        // A plain .npz archive: arrays but no checkpoint.json.
        let npz = Path.Combine(dir, "plain.npz")
        Npz.save npz (Map [ "W", Tensor.ones [| 2 |] ])
        expectError [ "not a Functional checkpoint"; "no checkpoint.json" ] (File.ReadAllBytes npz)

        /// The good archive with checkpoint.json rewritten.
        let rewrite (edit: string -> string) =
            Prop.editArchive good Checkpoint.MetaEntry edit [] []

        expectError
            [ "newer version"; "version 7" ]
            (rewrite (fun t -> t.Replace($"\"version\": {Checkpoint.Version}", "\"version\": 7")))

        expectError [ "not a Functional checkpoint" ] (rewrite (fun t -> t.Replace("functional-checkpoint", "other")))
        expectError [ "corrupted checkpoint.json" ] (rewrite (fun t -> t.Substring(0, t.Length / 2)))
        expectError [ "'epoch' is missing" ] (rewrite (fun t -> t.Replace("\"epoch\"", "\"epoque\"")))

        expectError
            [ "'params' must list names (strings, not null)" ]
            (rewrite (fun t -> t.Replace("\"params\": [", "\"params\": [null, ")))

        expectError
            [ "inconsistent"; "loss history" ]
            (rewrite (fun t -> t.Replace($"\"iteration\": {s.Iteration}", "\"iteration\": 1")))

        expectError [ "is missing" ] (rewrite (fun t -> t.Replace("\"W\"", "\"W9\"")))
        // The unchanged archive still loads.
        match loadBytes dir good with
        | Ok s' -> ensureSame "good file" s s'
        | Error e -> raise e)

[<Fact>]
let ``a failed save leaves no temporary file and the target untouched`` () =
    let s, _ = savedBytes.Force()

    Prop.withTempDir (fun dir ->
        // The target is a folder: the final rename fails.
        let target = Path.Combine(dir, "taken")
        Directory.CreateDirectory target |> ignore
        File.WriteAllText(Path.Combine(target, "keep.txt"), "keep")
        Assert.ThrowsAny<IOException>(fun () -> Checkpoint.save target s) |> ignore
        Prop.ensure (Directory.GetFiles dir |> Array.isEmpty) (fun () -> $"left behind: {Directory.GetFiles dir}")
        Prop.ensure (File.ReadAllText(Path.Combine(target, "keep.txt")) = "keep") (fun () -> "the target changed")
        // A missing folder is an argument error naming it.
        Prop.throwsWith [ "Checkpoint.save"; "does not exist" ] (fun () ->
            Checkpoint.save (Path.Combine(dir, "x", "c.npz")) s)
        // A bad parameter name is refused before anything is written.
        let bad = {
            s with
                Params = s.Params.Add("../evil", Tensor.zeros [| 1 |])
        }

        Prop.throwsWith [ "invalid array name" ] (fun () -> Checkpoint.save (Path.Combine(dir, "c.npz")) bad)
        Prop.ensure (Directory.GetFiles dir |> Array.isEmpty) (fun () -> "a file was written"))
