namespace Functional.FSharp

open System
open System.IO
open Functional

/// <summary>
/// The CIFAR-10 dataset in its binary format (cifar-10-binary.tar.gz, folder cifar-10-batches-bin):
/// data_batch_1.bin … data_batch_5.bin (training) and test_batch.bin, each a sequence of 3,073-byte records (one
/// label byte 0 … 9, then 3,072 pixel bytes: the 1,024 red values, then green, then blue, each 32×32 row-major).
/// Images load as X (N, 3, 32, 32) with the byte values 0 … 255 as floats, like the course's loader.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Cifar10 =
    /// <summary>The bytes of one record: 1 label byte and 3 × 32 × 32 pixel bytes.</summary>
    [<Literal>]
    let RecordSize = 3073

    /// <summary>The pixel bytes of one image (3 × 32 × 32).</summary>
    [<Literal>]
    let ImageSize = 3072

    /// <summary>The course's validation size: the last 1,000 training images.</summary>
    [<Literal>]
    let DefaultValidationSize = 1000

    /// <summary>Where the binary version can be downloaded.</summary>
    [<Literal>]
    let BinaryUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"

    /// <summary>The class names, label 0 … 9.</summary>
    let classes () = [|
        "airplane"
        "automobile"
        "bird"
        "cat"
        "deer"
        "dog"
        "frog"
        "horse"
        "ship"
        "truck"
    |]

    let private pickleMessage (where: string) =
        $"{where} holds the python (pickle) version of CIFAR-10; this loader reads the binary version: download {BinaryUrl} and give the folder cifar-10-batches-bin (data_batch_1.bin ... data_batch_5.bin, test_batch.bin)."

    /// Checks a batch's length, its format and its labels (path names it in the messages).
    let private checkBatch (fn: string) (path: string) (bytes: byte[]) : byte[] =
        if bytes.Length >= 2 && bytes.[0] = 0x80uy && bytes.[1] <= 5uy then
            Guard.fail fn "path" (pickleMessage path)

        if bytes.Length = 0 then
            Guard.fail fn "path" $"{path} is empty, expected records of {RecordSize} bytes."

        if bytes.Length % RecordSize <> 0 then
            Guard.fail
                fn
                "path"
                $"{path} has {bytes.Length} bytes, not a multiple of the record size {RecordSize} (1 label byte + {ImageSize} pixel bytes): not a CIFAR-10 binary batch, or a truncated one."

        for r in 0 .. bytes.Length / RecordSize - 1 do
            let label = bytes.[r * RecordSize]

            if label > 9uy then
                Guard.fail
                    fn
                    "path"
                    $"{path}: record {r} has label byte {label}, expected 0 ... 9 (CIFAR-10 binary format)."

        bytes

    /// Reads a batch file and checks it.
    let private readBatch (fn: string) (path: string) : byte[] =
        if not (File.Exists path) then
            if Directory.Exists path then
                Guard.fail fn "path" $"{path} is a folder, expected a CIFAR-10 batch file such as data_batch_1.bin."

            Guard.fail fn "path" $"file not found: {path}."

        checkBatch fn path (File.ReadAllBytes path)

    /// The six batch files of the binary version, training batches first.
    let private batchNames = [|
        for i in 1..5 -> $"data_batch_{i}.bin"
        yield "test_batch.bin"
    |]

    /// The largest batch the loader reads (the real ones hold 10,000 records, 30.7 MB): a larger entry in an
    /// archive is rejected before its bytes are allocated.
    let private maxBatchBytes = 2L * 10000L * int64 RecordSize

    /// The six batches from cifar-10-binary.tar.gz, read with the BCL's gzip and tar readers (entries of any folder
    /// whose file names are the batch names; other entries are skipped).
    let private readArchive (fn: string) (path: string) : byte[][] =
        let found = Collections.Generic.Dictionary<string, byte[]>()

        try
            use file = File.OpenRead path
            use gzip = new Compression.GZipStream(file, Compression.CompressionMode.Decompress)
            use tar = new Formats.Tar.TarReader(gzip)
            let mutable entry = tar.GetNextEntry()

            while not (isNull entry) do
                let e = nonNull entry
                let name = Path.GetFileName(e.Name.AsSpan()).ToString()

                if Array.contains name batchNames && not (isNull e.DataStream) then
                    if e.Length > maxBatchBytes then
                        Guard.fail
                            fn
                            "dir"
                            $"{path}: the entry {e.Name} declares {e.Length} bytes, more than a CIFAR-10 batch ({maxBatchBytes} at most)."

                    let bytes = Array.zeroCreate (int e.Length)
                    (nonNull e.DataStream).ReadExactly(bytes, 0, bytes.Length)
                    found.[name] <- checkBatch fn $"{path}:{e.Name}" bytes

                entry <- tar.GetNextEntry()
        with
        | :? InvalidDataException
        | :? EndOfStreamException
        | :? FormatException as e ->
            Guard.fail
                fn
                "dir"
                $"{path} is not a readable cifar-10-binary.tar.gz (a gzip-compressed tar archive): {e.Message}"

        for name in batchNames do
            if not (found.ContainsKey name) then
                Guard.fail
                    fn
                    "dir"
                    $"{name} is missing from the archive {path}; expected data_batch_1.bin ... data_batch_5.bin and test_batch.bin (the binary version, {BinaryUrl})."

        batchNames |> Array.map (fun n -> found.[n])

    /// Copies record r of a batch into slot k of the destination arrays.
    let private decodeRecord (src: byte[]) (r: int) (x: float[]) (y: int[]) (k: int) =
        let off = r * RecordSize
        y.[k] <- int src.[off]
        let dst = k * ImageSize

        for j in 0 .. ImageSize - 1 do
            x.[dst + j] <- float src.[off + 1 + j]

    let private dataset (x: float[]) (y: int[]) = {
        X = Tensor.Wrap([| y.Length; 3; 32; 32 |], x)
        Y = y
        Classes = classes ()
    }

    let private decodeBytes (bytes: byte[]) =
        let n = bytes.Length / RecordSize
        let x = Array.zeroCreate (n * ImageSize)
        let y = Array.zeroCreate n

        for r in 0 .. n - 1 do
            decodeRecord bytes r x y r

        dataset x y

    /// <summary>
    /// One batch file (e.g. data_batch_1.bin or test_batch.bin): X (N, 3, 32, 32) with values 0 … 255, Y (N,).
    /// Fails clearly for a missing file, a length that is not a multiple of 3,073, a label byte above 9, or a file
    /// of the python (pickle) version.
    /// </summary>
    let loadBatch (path: string) : Dataset =
        if isNull (box path) then
            Guard.fail "Cifar10.loadBatch" "path" "path must not be null."

        decodeBytes (readBatch "Cifar10.loadBatch" path)

    /// The six batches from a folder (cifar-10-batches-bin, or the folder that contains it).
    let private readFolder (fn: string) (dir: string) : byte[][] =
        if not (Directory.Exists dir) then
            Guard.fail
                fn
                "dir"
                $"folder not found: {dir}. Download {BinaryUrl}, extract it, and give the folder cifar-10-batches-bin."

        let dir =
            let nested = Path.Combine(dir, "cifar-10-batches-bin")

            if
                not (File.Exists(Path.Combine(dir, "data_batch_1.bin")))
                && Directory.Exists nested
            then
                nested
            else
                dir

        if
            not (File.Exists(Path.Combine(dir, "data_batch_1.bin")))
            && (File.Exists(Path.Combine(dir, "data_batch_1"))
                || Directory.Exists(Path.Combine(dir, "cifar-10-batches-py")))
        then
            Guard.fail fn "dir" (pickleMessage dir)

        for name in batchNames do
            if not (File.Exists(Path.Combine(dir, name))) then
                Guard.fail
                    fn
                    "dir"
                    $"{name} is missing from {dir}; expected data_batch_1.bin ... data_batch_5.bin and test_batch.bin (the binary version, {BinaryUrl})."

        batchNames |> Array.map (fun name -> readBatch fn (Path.Combine(dir, name)))

    /// <summary>
    /// Loads the binary CIFAR-10 from a folder or from the downloaded archive: training = data_batch_1.bin …
    /// data_batch_5.bin in that order, minus its last <paramref name="validationSize"/> images, which form the
    /// validation set (the course's <c>X_train[49000:50000]</c> for 1,000); test = test_batch.bin. <c>dir</c> is
    /// the folder cifar-10-batches-bin, the folder that contains it, or the file cifar-10-binary.tar.gz itself
    /// (read with the BCL's gzip and tar readers, nothing extracted to disk). X: (N, 3, 32, 32) with values
    /// 0 … 255. Needs 0 ≤ validationSize &lt; the number of training records.
    /// </summary>
    let loadWith (validationSize: int) (dir: string) : DataSplit =
        let fn = "Cifar10.load"

        if isNull (box dir) then
            Guard.fail fn "dir" "dir must not be null."

        let all =
            if File.Exists dir then
                readArchive fn dir
            else
                readFolder fn dir

        let batches = all.[0..4]

        let total = batches |> Array.sumBy (fun b -> b.Length / RecordSize)

        if validationSize < 0 || validationSize >= total then
            Guard.fail
                fn
                "validationSize"
                $"validationSize must be in [0, {total}) for {total} training images, got {validationSize}."

        let nTrain = total - validationSize
        let trainX, trainY = Array.zeroCreate (nTrain * ImageSize), Array.zeroCreate nTrain

        let valX, valY =
            Array.zeroCreate (validationSize * ImageSize), Array.zeroCreate validationSize

        let mutable g = 0

        for b in batches do
            for r in 0 .. b.Length / RecordSize - 1 do
                if g < nTrain then
                    decodeRecord b r trainX trainY g
                else
                    decodeRecord b r valX valY (g - nTrain)

                g <- g + 1

        {
            Train = dataset trainX trainY
            Val = dataset valX valY
            Test = decodeBytes all.[5]
        }

    /// <summary>
    /// <c>loadWith DefaultValidationSize dir</c>: training 49,000, validation 1,000 and test 10,000 images for the
    /// full dataset.
    /// </summary>
    let load (dir: string) : DataSplit = loadWith DefaultValidationSize dir
