module Functional.Properties.DataProperties

open System
open System.IO
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

// ---------------------------------------------------------------------------------------------------------------
// Stratified split

/// N labels over C classes, a validation size V and a test size T with V + T <= N.
let private splitCases =
    casesWhere [ "N", 1, 60; "C", 1, 6; "V", 0, 30; "T", 0, 30 ] (fun c -> c.["V"] + c.["T"] <= c.["N"])

/// A dataset whose image i is filled with the value i, so every row says where it came from.
let private indexedDataset (y: int[]) (classes: int) =
    let n = y.Length
    let x = Tensor.init [| n; 1; 2; 1 |] (fun idx -> float idx.[0])
    Dataset.create x y (Array.init classes string)

[<Property(MaxTest = 200)>]
let ``stratified split: exact sizes, proportional classes, disjoint and covering, deterministic`` () =
    Prop.forAll splitCases (fun c ->
        let n, k, v, t = c.["N"], c.["C"], c.["V"], c.["T"]
        let y = labels (key c 0) n k
        let d = indexedDataset y k
        let rng = key c 1
        let s = Dataset.splitStratified rng v t d
        let case = string c
        Prop.ensure (s.Val.Count = v && s.Test.Count = t && s.Train.Count = n - v - t) (fun () -> $"{case}: sizes")

        // Every row is an original example with its own label; together they are each example exactly once.
        let rows (ds: Dataset) =
            ds.X |> Tensor.toArray |> Array.chunkBySize 2 |> Array.map (fun r -> int r.[0])

        for ds in [ s.Train; s.Val; s.Test ] do
            Prop.ensure (rows ds |> Array.map (fun i -> y.[i]) = ds.Y) (fun () -> $"{case}: a row lost its label")

        let all = Array.concat [ rows s.Train; rows s.Val; rows s.Test ] |> Array.sort
        Prop.ensure (all = Array.init n id) (fun () -> $"{case}: the sets are not a partition")

        // Each class's share is its proportional share, rounded one way or the other.
        let counts = Dataset.classCounts d
        let vc, tc = Dataset.classCounts s.Val, Dataset.classCounts s.Test

        for cl in 0 .. k - 1 do
            let exactV = float counts.[cl] * float v / float n

            Prop.ensure (abs (float vc.[cl] - exactV) < 1.0) (fun () ->
                $"{case}: class {cl} has {vc.[cl]} in val, quota {exactV}")

            if n > v then
                let exactT = float (counts.[cl] - vc.[cl]) * float t / float (n - v)

                Prop.ensure (abs (float tc.[cl] - exactT) < 1.0) (fun () ->
                    $"{case}: class {cl} has {tc.[cl]} in test, quota {exactT}")

        let again = Dataset.splitStratified (key c 1) v t d

        Prop.ensure (again.Train.Y = s.Train.Y && again.Val.Y = s.Val.Y && again.Test.Y = s.Test.Y) (fun () ->
            $"{case}: not deterministic"))

[<Fact>]
let ``stratified split and dataset helpers validate their arguments`` () =
    let d = indexedDataset [| 0; 1; 1; 0 |] 2

    Prop.throwsWith [ "Dataset.splitStratified"; "N = 4"; "validation = 3"; "test = 2" ] (fun () ->
        Dataset.splitStratified (Rng.create 1L) 3 2 d)

    Prop.throwsWith [ "Dataset.splitStratified"; "validation = -1" ] (fun () ->
        Dataset.splitStratified (Rng.create 1L) -1 0 d)

    Prop.throwsWith [ "Dataset.create"; "y[1] = 2"; "[0, 2)" ] (fun () ->
        Dataset.create d.X [| 0; 2; 0; 0 |] [| "a"; "b" |])

    Prop.throwsWith [ "Dataset.create"; "expected 4 labels"; "got 3" ] (fun () ->
        Dataset.create d.X [| 0; 1; 0 |] [| "a"; "b" |])

    Prop.throwsWith [ "Dataset.create"; "(N, C, H, W)"; "(4, 2)" ] (fun () ->
        Dataset.create (Tensor.zeros [| 4; 2 |]) [| 0; 1; 0; 0 |] [| "a"; "b" |])

    Prop.throwsWith [ "Dataset.take"; "indices[1] = 4" ] (fun () -> Dataset.take [| 0; 4 |] d)
    Prop.throwsWith [ "Dataset.head"; "[0, 4]"; "got 5" ] (fun () -> Dataset.head 5 d)
    Assert.Equal<int[]>([| 0; 1 |], (Dataset.head 2 d).Y)
    Assert.Equal<int[]>([| 2; 2 |], Dataset.classCounts d)

// ---------------------------------------------------------------------------------------------------------------
// The embedded digits

/// Fast equality of two big float arrays (xunit's collection comparer is slow on millions of elements).
let private sameValues (expected: Tensor) (actual: Tensor) =
    Tensor.shape expected = Tensor.shape actual
    && ReadOnlySpan(expected.Data).SequenceEqual(ReadOnlySpan(actual.Data))

[<Fact>]
let ``digits: 8,000/1,000/1,000 stratified, images in [0, 1] on the 1/255 grid, deterministic`` () =
    let s = Digits.load ()
    Assert.Equal<int[]>([| 8000; 1; 28; 28 |], Tensor.shape s.Train.X)
    Assert.Equal<int[]>([| 1000; 1; 28; 28 |], Tensor.shape s.Val.X)
    Assert.Equal<int[]>([| 1000; 1; 28; 28 |], Tensor.shape s.Test.X)
    Assert.Equal<string[]>(Array.init 10 string, s.Train.Classes)
    // The package's class sizes are 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978.
    Assert.Equal<int[]>([| 100; 113; 99; 103; 98; 86; 102; 107; 94; 98 |], Dataset.classCounts s.Val)
    Assert.Equal<int[]>([| 100; 113; 99; 103; 98; 86; 101; 107; 95; 98 |], Dataset.classCounts s.Test)
    Assert.Equal<int[]>([| 801; 901; 793; 826; 784; 691; 811; 856; 755; 782 |], Dataset.classCounts s.Train)

    for ds in [ s.Train; s.Val; s.Test ] do
        let onGrid (v: float) =
            let k = v * 255.0
            v >= 0.0 && v <= 1.0 && abs (k - round k) < 1e-9

        let values = ds.X.Data
        Prop.ensure (Array.forall onGrid values) (fun () -> $"pixel {Array.find (onGrid >> not) values} is not k/255")

    // Classes are interleaved, not sorted: the first 100 training images hold every digit.
    Assert.Equal(10, s.Train.Y.[..99] |> Array.distinct |> Array.length)
    let again = Digits.load ()
    Assert.Equal<int[]>(s.Train.Y, again.Train.Y)
    Assert.True(sameValues s.Test.X again.Test.X)

[<Fact>]
let ``digits: load is the documented split of all, and the three sets partition the 10,000`` () =
    let a = Digits.all ()
    Assert.Equal<int[]>([| 10000; 1; 28; 28 |], Tensor.shape a.X)
    Assert.Equal<int[]>([| 1001; 1127; 991; 1032; 980; 863; 1014; 1070; 944; 978 |], Dataset.classCounts a)
    let s = Digits.load ()
    let r = Dataset.splitStratified (Rng.create Digits.SplitSeed) 1000 1000 a

    for x, y in [ s.Train, r.Train; s.Val, r.Val; s.Test, r.Test ] do
        Assert.Equal<int[]>(y.Y, x.Y)
        Assert.True(sameValues y.X x.X)

    let tr, v, t =
        Dataset.stratifiedIndices (Rng.create Digits.SplitSeed) 1000 1000 a.Y 10

    Assert.Equal<int[]>(Array.init 10000 id, Array.concat [ tr; v; t ] |> Array.sort)
    // Mean intensity of MNIST digits is about 0.13; a scrambled decoding would not give that.
    let mean = Array.average a.X.Data
    Assert.InRange(mean, 0.11, 0.15)

// ---------------------------------------------------------------------------------------------------------------
// CIFAR-10 binary files

/// Records of the binary format: label byte then 3,072 pixel bytes, from a key.
let private records (rng: Rng) (n: int) : byte[] * int[] =
    let u = rng.Uniforms(n * Cifar10.RecordSize)
    let y = Array.init n (fun i -> min 9 (int (u.[i * Cifar10.RecordSize] * 10.0)))

    let bytes =
        Array.init (n * Cifar10.RecordSize) (fun k ->
            if k % Cifar10.RecordSize = 0 then
                byte y.[k / Cifar10.RecordSize]
            else
                byte (min 255 (int (u.[k] * 256.0))))

    bytes, y

/// The pixels of records as floats in record order (the expected X).
let private pixelsOf (bytes: byte[]) =
    bytes
    |> Array.chunkBySize Cifar10.RecordSize
    |> Array.collect (fun r -> r.[1..] |> Array.map float)

/// Writes data_batch_1..5.bin and test_batch.bin with the given record counts; returns the records of each file.
let private writeCifar (dir: string) (rng: Rng) (counts: int[]) =
    let names =
        [| for i in 1..5 -> $"data_batch_{i}.bin" |] |> Array.append
        <| [| "test_batch.bin" |]

    Array.map2
        (fun (name: string) (i, n) ->
            let bytes, y = records (rng.Derive i) n
            File.WriteAllBytes(Path.Combine(dir, name), bytes)
            bytes, y)
        names
        (Array.indexed counts)

let private cifarCases =
    casesWhere
        [
            "b1", 1, 3
            "b2", 1, 3
            "b3", 1, 3
            "b4", 1, 3
            "b5", 1, 3
            "test", 1, 3
            "val", 0, 14
        ]
        (fun c -> c.["val"] < c.["b1"] + c.["b2"] + c.["b3"] + c.["b4"] + c.["b5"])

[<Property(MaxTest = 100)>]
let ``cifar10: load reads the batches in order, the last validationSize training records are validation`` () =
    Prop.forAll cifarCases (fun c ->
        Prop.withTempDir (fun dir ->
            let counts = [| c.["b1"]; c.["b2"]; c.["b3"]; c.["b4"]; c.["b5"]; c.["test"] |]
            let files = writeCifar dir c.Rng counts
            let trainBytes = files.[0..4] |> Array.map fst |> Array.concat
            let trainY = files.[0..4] |> Array.collect snd
            let total = trainY.Length
            let v = c.["val"]
            let s = Cifar10.loadWith v dir
            let case = string c
            let xs = pixelsOf trainBytes
            let nTrain = total - v
            Prop.ensure (Tensor.shape s.Train.X = [| nTrain; 3; 32; 32 |]) (fun () -> $"{case}: train shape")
            Prop.ensure (Tensor.shape s.Val.X = [| v; 3; 32; 32 |]) (fun () -> $"{case}: val shape")
            Prop.ensure (Tensor.shape s.Test.X = [| counts.[5]; 3; 32; 32 |]) (fun () -> $"{case}: test shape")

            Prop.ensure (s.Train.Y = trainY.[.. nTrain - 1] && s.Val.Y = trainY.[nTrain..]) (fun () ->
                $"{case}: labels")

            Prop.ensure (Tensor.toArray s.Train.X = xs.[.. nTrain * 3072 - 1]) (fun () -> $"{case}: train pixels")
            Prop.ensure (Tensor.toArray s.Val.X = xs.[nTrain * 3072 ..]) (fun () -> $"{case}: val pixels")

            Prop.ensure (Tensor.toArray s.Test.X = pixelsOf (fst files.[5]) && s.Test.Y = snd files.[5]) (fun () ->
                $"{case}: test")
            // Channel-major: pixel (c, h, w) of record r is byte 1 + c·1024 + h·32 + w.
            let r0 = fst files.[0]

            Prop.ensure (Tensor.get [| 0; 2; 31; 5 |] s.Train.X = float r0.[1 + 2 * 1024 + 31 * 32 + 5]) (fun () ->
                $"{case}: layout")

            let b = Cifar10.loadBatch (Path.Combine(dir, "test_batch.bin"))

            Prop.ensure (Tensor.toArray b.X = Tensor.toArray s.Test.X && b.Y = s.Test.Y) (fun () ->
                $"{case}: loadBatch")))

[<Fact>]
let ``cifar10: clear errors for a missing folder or file, a wrong size, a bad label and the pickle version`` () =
    Prop.throwsWith [ "Cifar10.load"; "folder not found"; "cifar-10-binary.tar.gz" ] (fun () ->
        Cifar10.load "/no/such/folder")

    Prop.withTempDir (fun dir ->
        writeCifar dir (Rng.create 5L) [| 2; 2; 2; 2; 2; 2 |] |> ignore
        // The default validation size is larger than these 10 training records.
        Prop.throwsWith [ "Cifar10.load"; "validationSize"; "[0, 10)"; "got 1000" ] (fun () -> Cifar10.load dir)
        Prop.throwsWith [ "validationSize"; "got -1" ] (fun () -> Cifar10.loadWith -1 dir)
        // A folder that contains cifar-10-batches-bin is accepted too.
        let nested = Path.Combine(dir, "outer")

        Directory.CreateDirectory(Path.Combine(nested, "cifar-10-batches-bin"))
        |> ignore

        for f in Directory.GetFiles dir do
            File.Copy(f, Path.Combine(nested, "cifar-10-batches-bin", FileInfo(f).Name))

        Assert.Equal(8, (Cifar10.loadWith 2 nested).Train.Count)

        let b3 = Path.Combine(dir, "data_batch_3.bin")
        let good = File.ReadAllBytes b3
        File.WriteAllBytes(b3, Array.append good [| 0uy |])

        Prop.throwsWith
            [
                "Cifar10.load"
                "data_batch_3.bin"
                "6147 bytes"
                "multiple of the record size 3073"
            ]
            (fun () -> Cifar10.loadWith 1 dir)

        Prop.throwsWith [ "Cifar10.loadBatch"; "6147 bytes" ] (fun () -> Cifar10.loadBatch b3)
        let bad = Array.copy good
        bad.[Cifar10.RecordSize] <- 10uy
        File.WriteAllBytes(b3, bad)

        Prop.throwsWith [ "data_batch_3.bin"; "record 1 has label byte 10"; "0 ... 9" ] (fun () ->
            Cifar10.loadWith 1 dir)

        File.WriteAllBytes(b3, [||])
        Prop.throwsWith [ "data_batch_3.bin"; "is empty" ] (fun () -> Cifar10.loadWith 1 dir)
        File.Delete b3
        Prop.throwsWith [ "Cifar10.load"; "data_batch_3.bin is missing" ] (fun () -> Cifar10.loadWith 1 dir)
        Prop.throwsWith [ "Cifar10.loadBatch"; "file not found" ] (fun () -> Cifar10.loadBatch b3)
        Prop.throwsWith [ "Cifar10.loadBatch"; "is a folder" ] (fun () -> Cifar10.loadBatch dir))

    // The python version: files without .bin, pickled (they start with the pickle protocol bytes 0x80 0x02).
    Prop.withTempDir (fun dir ->
        let pickled = Array.append [| 0x80uy; 0x02uy |] (Array.zeroCreate 3071)

        for name in [ "data_batch_1"; "data_batch_2"; "test_batch"; "batches.meta" ] do
            File.WriteAllBytes(Path.Combine(dir, name), pickled)

        Prop.throwsWith
            [
                "Cifar10.load"
                "python (pickle) version"
                "binary version"
                "cifar-10-binary.tar.gz"
            ]
            (fun () -> Cifar10.load dir)

        Prop.throwsWith [ "Cifar10.loadBatch"; "python (pickle) version" ] (fun () ->
            Cifar10.loadBatch (Path.Combine(dir, "data_batch_1"))))

// ---------------------------------------------------------------------------------------------------------------
// Preprocessing

let private preprocessCases = cases [ "N", 1, 5; "C", 1, 4; "H", 1, 3; "W", 1, 3 ]

/// A preprocessing case (preprocessCases). The argument of the properties below (DataArbitraries).
type PreprocessCase = PreprocessCase of Case

/// The Arbitrary instances of this file's cases, for [<Property(Arbitrary = [| typeof<DataArbitraries> |])>].
type DataArbitraries =
    static member Preprocess() =
        preprocessCases |> Arb.convert PreprocessCase (fun (PreprocessCase c) -> c)

/// A split of random images (values around 100 with spread 30, like raw pixels) and labels.
let private randomSplit (c: Case) =
    let shape n = [| n; c.["C"]; c.["H"]; c.["W"] |]

    let ds i n =
        Dataset.create (Tensor.randn (key c i) 30.0 (shape n) + 100.0) (labels (key c (i + 10)) n 3) [| "a"; "b"; "c" |]

    {
        Train = ds 0 (c.["N"] + 1)
        Val = ds 1 c.["N"]
        Test = ds 2 2
    }

[<Property(MaxTest = 100, Arbitrary = [| typeof<DataArbitraries> |])>]
let ``subtractMean: the training mean becomes 0 and the same image is subtracted from every set`` (PreprocessCase c) =
    let s = randomSplit c
    let s', mean = Preprocess.subtractMean s
    let case = string c
    Prop.close case 1e-12 (Tensor.mean [| 0 |] false s.Train.X) mean
    let m' = Preprocess.meanImage s'.Train.X |> Tensor.toArray
    Prop.ensure (m' |> Array.forall (fun v -> abs v < 1e-11)) (fun () -> $"{case}: train mean after = {m'}")
    Prop.close case 1e-12 (s.Val.X - mean) s'.Val.X
    Prop.close case 1e-12 (s.Test.X - mean) s'.Test.X
    Prop.ensure (s'.Val.Y = s.Val.Y && s'.Train.Classes = s.Train.Classes) (fun () -> $"{case}: labels changed")

[<Property(MaxTest = 100, Arbitrary = [| typeof<DataArbitraries> |])>]
let ``normalizePerChannel: every training channel gets mean 0 and std 1, val and test use the training statistics``
    (PreprocessCase c)
    =
    let s = randomSplit c
    let s', stats = Preprocess.normalizePerChannel s
    let case = string c
    let x = s'.Train.X
    let axes = [| 0; 2; 3 |]
    let mean = Tensor.mean axes false x
    let std = Tensor.mean axes false (x * x) - mean * mean |> Tensor.sqrt

    Prop.ensure (Tensor.toArray mean |> Array.forall (fun v -> abs v < 1e-10)) (fun () -> $"{case}: means {mean}")

    Prop.ensure (Tensor.toArray std |> Array.forall (fun v -> abs (v - 1.0) < 1e-10)) (fun () -> $"{case}: stds {std}")

    let m = Tensor.ofArray [| 1; c.["C"]; 1; 1 |] stats.Mean
    let sd = Tensor.ofArray [| 1; c.["C"]; 1; 1 |] stats.Std
    Prop.close case 1e-12 ((s.Val.X - m) / sd) s'.Val.X
    Prop.close case 1e-12 ((s.Test.X - m) / sd) s'.Test.X

[<Fact>]
let ``preprocessing: bytes to floats, constant channels, and clear errors`` () =
    let bytes = [| 0uy; 51uy; 255uy; 7uy |]
    Assert.Equal<float[]>([| 0.0; 51.0; 255.0; 7.0 |], Preprocess.toFloat [| 2; 2 |] bytes |> Tensor.toArray)
    Assert.Equal<float[]>([| 0.0; 0.2; 1.0; 7.0 / 255.0 |], Preprocess.toUnitFloat [| 4 |] bytes |> Tensor.toArray)
    Prop.throwsWith [ "Preprocess.toFloat"; "(3,)"; "4 bytes" ] (fun () -> Preprocess.toFloat [| 3 |] bytes)
    // A constant channel is centred, not divided by 0.
    let x =
        Tensor.init [| 2; 2; 1; 2 |] (fun i -> if i.[1] = 0 then 5.0 else float (i.[0] + i.[3]))

    let stats = Preprocess.channelStats x
    Assert.Equal<float[]>([| 5.0; 1.0 |], stats.Mean)
    Assert.Equal(0.0, stats.Std.[0])
    let y = Preprocess.applyChannelStats stats x |> Tensor.toArray
    Assert.True(y |> Array.forall Double.IsFinite)
    Assert.Equal<float[]>([| 0.0; 0.0; 0.0; 0.0 |], [| y.[0]; y.[1]; y.[4]; y.[5] |])

    Prop.throwsWith [ "Preprocess.applyChannelStats"; "3 channels"; "2 means" ] (fun () ->
        Preprocess.applyChannelStats stats (Tensor.zeros [| 1; 3; 1; 1 |]))

    Prop.throwsWith [ "Preprocess.subtractImage"; "(2, 1, 2)"; "(3,)" ] (fun () ->
        Preprocess.subtractImage (Tensor.zeros [| 3 |]) x)

    Prop.throwsWith [ "Preprocess.meanImage"; "empty batch" ] (fun () -> Preprocess.meanImage (Tensor.zeros [| 0; 2 |]))

    Prop.throwsWith [ "Preprocess.channelStats"; "(N, d1, ..., dk)" ] (fun () ->
        Preprocess.channelStats (Tensor.zeros [| 4 |]))
