/// Files are read defensively: sizes and shapes are checked before anything of that size is allocated, and arrays
/// are converted to float64 only where the conversion is exact.
module Functional.Properties.FileLimitProperties

open System
open System.IO
open System.Text
open Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators
open Functional.Properties.SolverProperties

let private throwsData (fragments: string list) (f: unit -> 'a) =
    let ex = Assert.Throws<InvalidDataException>(fun () -> f () |> ignore)

    for frag in fragments do
        Prop.ensure (ex.Message.Contains(frag: string)) (fun () ->
            $"the message \"{ex.Message}\" does not mention \"{frag}\"")

/// .npy version 1.0 bytes with the given header dict and data.
let private npy (header: string) (data: byte[]) =
    let total = (10 + header.Length + 1 + 63) / 64 * 64
    let h = header.PadRight(total - 11) + "\n"

    Array.concat [
        [| 0x93uy |]
        Encoding.ASCII.GetBytes "NUMPY"
        [| 1uy; 0uy |]
        BitConverter.GetBytes(uint16 h.Length)
        Encoding.ASCII.GetBytes h
        data
    ]

let private toHalf (v: float) : Half = Half.op_Explicit v

/// Bytes allocated on this thread while f runs (and f's result or exception).
let private allocatedBy (f: unit -> 'a) =
    let before = GC.GetAllocatedBytesForCurrentThread()

    let result =
        try
            Ok(f ())
        with e ->
            Error e

    GC.GetAllocatedBytesForCurrentThread() - before, result

[<Fact>]
let ``int64 and uint64 arrays convert where exact and are rejected, naming dtype and value, where not`` () =
    let i8 (values: int64[]) =
        npy
            $"{{'descr': '<i8', 'fortran_order': False, 'shape': ({values.Length},), }}"
            (values |> Array.collect BitConverter.GetBytes)

    let exact = [|
        0L
        -1L
        1L <<< 53
        -(1L <<< 53)
        (1L <<< 53) + 2L
        Int64.MinValue
        1L <<< 62
    |]

    Assert.Equal<float[]>(Array.map float exact, Tensor.toArray (Npy.ofBytes (i8 exact)))

    for v in [ (1L <<< 53) + 1L; Int64.MaxValue; -(1L <<< 53) - 1L; (1L <<< 62) + 1L ] do
        throwsData [ "'<i8'"; string v; "no exact float64" ] (fun () -> Npy.ofBytes (i8 [| 0L; v |]))

    let u8 (v: uint64) =
        npy "{'descr': '>u8', 'fortran_order': False, 'shape': (1,), }" (BitConverter.GetBytes v |> Array.rev)

    Assert.Equal(float (1UL <<< 63), Tensor.item (Npy.ofBytes (u8 (1UL <<< 63))))
    throwsData [ "'>u8'"; string UInt64.MaxValue ] (fun () -> Npy.ofBytes (u8 UInt64.MaxValue))

[<Fact>]
let ``an npy header declaring a huge shape is rejected before anything that size is allocated`` () =
    for shape, fragment in
        [
            "(100000, 100000)", "more elements than an array can hold"
            "(3000000000,)", "dimension larger than"
            "(2000000000,)", "truncated .npy data"
            "(46341, 46341)", "more elements than an array can hold"
        ] do
        let bytes =
            npy $"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}" (Array.zeroCreate 64)

        let allocated, result = allocatedBy (fun () -> Npy.ofBytes bytes)

        match result with
        | Error(:? InvalidDataException as e) ->
            Prop.ensure (e.Message.Contains fragment) (fun () -> $"{shape}: \"{e.Message}\" lacks \"{fragment}\"")
        | Error e -> raise e
        | Ok t -> failwith $"{shape}: loaded {t}"

        Prop.ensure (allocated < (1L <<< 20)) (fun () -> $"{shape}: {allocated} bytes allocated before the rejection")

/// The offsets of an entry's uncompressed-size fields in a zip: in its local header and its central directory record.
let private sizeFields (zip: byte[]) (name: string) =
    let n = Encoding.ASCII.GetBytes name

    let matches (at: int) (signature: uint32) (nameAt: int) =
        BitConverter.ToUInt32(zip, at) = signature
        && at + nameAt + n.Length <= zip.Length
        && zip.[at + nameAt .. at + nameAt + n.Length - 1] = n

    [
        for at in 0 .. zip.Length - 50 do
            if matches at 0x04034b50u 30 then
                yield at + 22
            elif matches at 0x02014b50u 46 then
                yield at + 24
    ]

/// The name of the first parameter entry of a checkpoint.
let private firstParam (path: string) =
    Npz.readEntries path
    |> Map.toSeq
    |> Seq.map fst
    |> Seq.find (fun k -> k.StartsWith "params/")

[<Fact>]
let ``an archive entry declaring a huge size is rejected before its buffer is allocated`` () =
    let _, good = CheckpointProperties.savedBytes.Force()

    Prop.withTempDir (fun dir ->
        let path = Path.Combine(dir, "huge.npz")
        File.WriteAllBytes(path, good)
        let entry = firstParam path
        let fields = sizeFields good entry
        Assert.Equal(2, fields.Length)

        for declared in [ UInt32.MaxValue - 1u; 0x7FFFFFF0u; 100_000_000u; 4096u ] do
            let b = Array.copy good

            for f in fields do
                BitConverter.TryWriteBytes(Span(b, f, 4), declared) |> ignore

            File.WriteAllBytes(path, b)
            let allocated, result = allocatedBy (fun () -> Checkpoint.load path)

            match result with
            | Error(:? CheckpointException as e) ->
                Prop.ensure (e.Message.Contains entry) (fun () -> $"{declared}: \"{e.Message}\"")
            | Error e -> failwith $"{declared}: {e.GetType().Name}: {e.Message}"
            | Ok _ -> failwith $"{declared}: loaded"

            // The file itself is read whole; nothing near the declared size may be allocated.
            Prop.ensure (allocated < 8L * int64 good.Length + (4L <<< 20)) (fun () ->
                $"declared {declared}: {allocated} bytes allocated for a {good.Length}-byte file"))

[<Fact>]
let ``a checkpoint array stored as float32, float16 or int64 is rejected naming the entry and the dtype`` () =
    let _, good = CheckpointProperties.savedBytes.Force()

    Prop.withTempDir (fun dir ->
        let source = Path.Combine(dir, "good.npz")
        File.WriteAllBytes(source, good)
        let entries = Npz.readEntries source
        let entry = firstParam source
        let w1 = Npy.ofBytes entries.[entry]
        let n = Tensor.size w1

        let shape =
            "("
            + String.Join(", ", Tensor.shape w1)
            + (if Tensor.rank w1 = 1 then ",)" else ")")

        for descr, data in
            [
                "<f4", Tensor.toArray w1 |> Array.collect (fun v -> BitConverter.GetBytes(float32 v))
                "<f2", Tensor.toArray w1 |> Array.collect (fun v -> BitConverter.GetBytes(toHalf v))
                "<i8", Array.zeroCreate (8 * n)
            ] do
            let replaced =
                entries
                |> Map.add entry (npy $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}" data)
                |> Map.toList

            let path = Path.Combine(dir, $"c{descr.[1..]}.npz")
            Npz.writeEntries "test" path replaced
            let e = Assert.Throws<CheckpointException>(fun () -> Checkpoint.load path |> ignore)

            for frag in [ entry; $"'{descr}'"; "float64" ] do
                Prop.ensure (e.Message.Contains frag) (fun () -> $"\"{e.Message}\" lacks \"{frag}\""))
