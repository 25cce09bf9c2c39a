module Functional.Properties.PoolProperties

open System
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators
open Functional.Properties.ConvGenerators

// Tolerances. Gradients: Prop.gradClose (relative error with floor 1e-2, ≤ 1e-7). Max pooling fast vs naive: equal
// bit for bit. Average pooling vs the equivalent depthwise convolution: Prop.close ≤ 1e-12.

/// The centered-difference step: average pooling is linear and max pooling is linear away from ties (inputs here are
/// 0.1 apart), so a larger step only lowers the round-off.
let private h = 1e-4

let private bits (t: Tensor) =
    Tensor.toArray t |> Array.map BitConverter.DoubleToInt64Bits

/// Fails unless a and b are equal bit for bit, naming the first element that differs.
let private identical (case: string) (what: string) (a: Tensor) (b: Tensor) =
    let ba, bb = bits a, bits b

    match Array.tryFindIndex id (Array.map2 (<>) ba bb) with
    | None -> ()
    | Some i ->
        let st = Guard.rowMajorStrides a.Dims
        let index = Array.init st.Length (fun d -> (i / st.[d]) % a.Dims.[d])

        failwith
            $"{case}: {what} differs at {Guard.shapeText index}: naive {(Tensor.toArray a).[i]:R}, fast {(Tensor.toArray b).[i]:R}"

let private maxPoolGradients (c: Case) =
    let cfg, shape = poolSetup c
    // Distinct inputs at least 0.1 apart: no near-ties, so the numeric gradient is well defined.
    let x = distinct (key c 0) shape
    let out, cacheF = MaxPool.forward cfg x
    let _, cacheN = MaxPool.forwardNaive cfg x
    let dout = normal (key c 1) (Tensor.shape out)
    let numeric = numericOf h (fun t -> fst (MaxPool.forwardNaive cfg t)) x dout
    Prop.gradClose (describePool c) "naive dx" (MaxPool.backwardNaive dout cacheN) numeric
    Prop.gradClose (describePool c) "fast dx" (MaxPool.backward dout cacheF) numeric

[<Property(MaxTest = 100, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``max pool backward matches the numeric gradient`` (PoolCase c) = maxPoolGradients c

[<Property(MaxTest = 100, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``max pool backward matches the numeric gradient when windows tile the input`` (TilingPoolCase c) =
    maxPoolGradients c

let private fastEqualsNaive (c: Case) =
    let cfg, shape = poolSetup c
    // Many exact ties (and ±0): the fast kernels must pick the same (first) arg-max as the naive loops.
    let x = tied (key c 0) shape
    let outN, cacheN = MaxPool.forwardNaive cfg x
    let outF, cacheF = MaxPool.forward cfg x
    let case = describePool c
    identical case "out" outN outF
    let dout = normal (key c 1) (Tensor.shape outN)
    let dxN = MaxPool.backwardNaive dout cacheN

    for dxF in
        [
            MaxPool.backward dout cacheF
            MaxPool.backward dout cacheN
            MaxPool.backwardNaive dout cacheF
        ] do
        identical case "dx" dxN dxF

/// fastEqualsNaive over the cases of an arbitrary of the property's own.
let private fastEqualsNaiveOver (name: string) (arb: FsCheck.Arbitrary<Case>) =
    Prop.forAll arb fastEqualsNaive |> Prop.label name

[<Property(MaxTest = 200, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``max pool fast equals naive exactly, ties included`` (PoolCase c) = fastEqualsNaive c

[<Property(MaxTest = 100, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``max pool fast (reshape trick) equals naive exactly when windows tile the input`` (TilingPoolCase c) =
    fastEqualsNaive c

[<Property(MaxTest = 150)>]
let ``max pool 2x2 stride-2 kernel equals naive exactly, vector lanes and scalar tail`` () =
    // Widths from 1 to 13 windows: four windows per vector step plus every remainder, ties and ±0 included.
    fastEqualsNaiveOver
        "max pool fast = naive (2×2, stride 2)"
        (cases [ "N", 1, 3; "C", 1, 3; "Ho", 1, 5; "Wo", 1, 13; "PH", 2, 2; "PW", 2, 2 ])

[<Property(MaxTest = 5)>]
let ``max pool fast equals naive on inputs large enough for the parallel path`` () =
    // At least 2^20 input elements: images are processed in parallel.
    let large =
        casesWhere
            [
                "N", 16, 17
                "C", 4, 4
                "H", 128, 132
                "W", 128, 132
                "PH", 1, 4
                "PW", 1, 4
                "SH", 1, 3
                "SW", 1, 3
            ]
            (fun _ -> true)

    fastEqualsNaiveOver "max pool fast = naive (parallel)" large
    .&. fastEqualsNaiveOver
            "max pool fast = naive (parallel, tiling)"
            (cases [ "N", 16, 17; "C", 4, 4; "Ho", 64, 66; "Wo", 64, 66; "PH", 2, 2; "PW", 2, 2 ])

[<Fact>]
let ``max pool windows over 256 elements (no byte arg-max) agree with the naive loops`` () =
    let x = tied (Rng.create 7L) [| 2; 2; 20; 19 |]
    let cfg = PoolConfig.Create(17, 16, 2)
    let out, cache = MaxPool.forward cfg x
    let outN, cacheN = MaxPool.forwardNaive cfg x
    identical "17×16 windows" "out" outN out
    let dout = normal (Rng.create 8L) (Tensor.shape out)
    identical "17×16 windows" "dx" (MaxPool.backwardNaive dout cacheN) (MaxPool.backward dout cache)

[<Fact>]
let ``max pool routes the gradient to the first maximum of a window on ties`` () =
    // One 2×3 window holding 1 3 3 / 3 0 2: the first 3 (row-major) gets the gradient.
    let x = Tensor.ofArray [| 1; 1; 2; 3 |] [| 1.0; 3.0; 3.0; 3.0; 0.0; 2.0 |]
    let cfg = PoolConfig.Create(2, 3, 1)

    for forward, backward in
        [
            MaxPool.forward, MaxPool.backward
            MaxPool.forwardNaive, MaxPool.backwardNaive
        ] do
        let out, cache = forward cfg x
        Assert.Equal<float[]>([| 3.0 |], Tensor.toArray out)

        Assert.Equal<float[]>(
            [| 0.0; 5.0; 0.0; 0.0; 0.0; 0.0 |],
            Tensor.toArray (backward (Tensor.full [| 1; 1; 1; 1 |] 5.0) cache)
        )

    // Overlapping windows (stride 1) that share their maximum both send their gradient to it.
    let y = Tensor.ofArray [| 1; 1; 1; 3 |] [| 0.0; 9.0; 1.0 |]
    let _, cache = MaxPool.forward (PoolConfig.Create(1, 2, 1)) y

    Assert.Equal<float[]>(
        [| 0.0; 3.0; 0.0 |],
        Tensor.toArray (MaxPool.backward (Tensor.ofArray [| 1; 1; 1; 2 |] [| 1.0; 2.0 |]) cache)
    )

[<Property(MaxTest = 100, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``average pool backward matches the numeric gradient`` (PoolCase c) =
    let cfg, shape = poolSetup c
    let x = normal (key c 0) shape
    let out, cache = AvgPool.forward cfg x
    let dout = normal (key c 1) (Tensor.shape out)

    Prop.gradClose
        (describePool c)
        "dx"
        (AvgPool.backward dout cache)
        (numericOf h (fun t -> fst (AvgPool.forward cfg t)) x dout)

[<Property(MaxTest = 100, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``average pooling is a depthwise convolution with a constant kernel`` (PoolCase c) =
    let cfg, shape = poolSetup c
    let ch = shape.[1]
    let x = normal (key c 0) shape

    let w =
        Tensor.full [| ch; 1; cfg.PoolHeight; cfg.PoolWidth |] (1.0 / float (cfg.PoolHeight * cfg.PoolWidth))

    let conv = {
        StrideH = cfg.StrideH
        StrideW = cfg.StrideW
        PadH = 0
        PadW = 0
        Dilation = 1
        Groups = ch
    }

    let out, cache = AvgPool.forward cfg x
    let outC, cacheC = Conv.forward conv x w (Tensor.zeros [| ch |])
    Prop.close (describePool c) 1e-12 outC out
    let dout = normal (key c 1) (Tensor.shape out)
    Prop.close (describePool c) 1e-12 (Conv.backward dout cacheC).Dx (AvgPool.backward dout cache)

[<Property(MaxTest = 100, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``pooling rejects windows larger than the input, zero strides and a wrong dout`` (PoolCase c) =
    let cfg, shape = poolSetup c
    let x = normal (key c 0) shape
    let hw = $"{shape.[2]}×{shape.[3]}"

    for name, forward in
        [
            "MaxPool.forward", (fun p t -> fst (MaxPool.forward p t))
            "MaxPool.forwardNaive", (fun p t -> fst (MaxPool.forwardNaive p t))
            "AvgPool.forward", (fun p t -> fst (AvgPool.forward p t))
        ] do
        Prop.throwsWith [ name; "larger than the input"; $"{shape.[2] + 1}×{cfg.PoolWidth}"; hw ] (fun () ->
            forward { cfg with PoolHeight = shape.[2] + 1 } x)

        Prop.throwsWith [ name; "stride"; $"({cfg.StrideH}, 0)" ] (fun () -> forward { cfg with StrideW = 0 } x)

    let out, mc = MaxPool.forward cfg x
    let bad = Tensor.zeros [| shape.[0]; shape.[1]; out.Dims.[2] + 1; out.Dims.[3] |]

    Prop.throwsWith [ "MaxPool.backward"; Guard.shapeText out.Dims; Guard.shapeText bad.Dims ] (fun () ->
        MaxPool.backward bad mc)

    Prop.throwsWith [ "MaxPool.backwardNaive"; Guard.shapeText out.Dims ] (fun () -> MaxPool.backwardNaive bad mc)

    Prop.throwsWith [ "AvgPool.backward"; Guard.shapeText out.Dims ] (fun () ->
        AvgPool.backward bad (snd (AvgPool.forward cfg x)))

    Prop.throwsWith [ "MaxPool.forward"; "(N, C, H, W)"; "(4, 4)" ] (fun () ->
        MaxPool.forward (PoolConfig.Create(2, 2, 2)) (Tensor.zeros [| 4; 4 |]))

    Prop.throwsWith [ "at least 1×1"; "0×2" ] (fun () ->
        MaxPool.forward (PoolConfig.Create(0, 2, 2)) (Tensor.zeros [| 1; 1; 4; 4 |]))

[<Fact>]
let ``the course's max_pool_forward_naive check values`` () =
    // cs231n: x = linspace(-0.3, 0.4, (2, 3, 4, 4)), 2×2 windows, stride 2.
    let x = Tensor.linspace -0.3 0.4 [| 2; 3; 4; 4 |]

    let expected =
        Tensor.ofArray [| 2; 3; 2; 2 |] [|
            -0.26315789
            -0.24842105
            -0.20421053
            -0.18947368
            -0.14526316
            -0.13052632
            -0.08631579
            -0.07157895
            -0.02736842
            -0.01263158
            0.03157895
            0.04631579
            0.09052632
            0.10526316
            0.14947368
            0.16421053
            0.20842105
            0.22315789
            0.26736842
            0.28210526
            0.32631579
            0.34105263
            0.38526316
            0.4
        |]

    for forward in [ MaxPool.forwardNaive; MaxPool.forward ] do
        let out, _ = forward (PoolConfig.Create(2, 2, 2)) x
        Assert.True(GradCheck.relativeError out expected < 1e-7)
