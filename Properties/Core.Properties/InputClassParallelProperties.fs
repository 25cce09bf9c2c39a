/// Parallel paths actually taken: cases above each kernel's threshold for splitting work across threads, with
/// channel and row counts that are not multiples of the thread count (and more than 256 channels where the
/// normalization loops block by 256), against the naive references. On a one-processor machine (or with
/// FUNCTIONAL_THREADS=1) the same cases run the serial paths, which they check too.
module Functional.Properties.InputClassParallelProperties

open System
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Kernels
open Functional.Properties.Generators
open Functional.Properties.InputClass

/// Normalization splits by channels from 65,536 elements (NormKernels.parallelElements), one range per thread,
/// blocks of 256 channels within a range.
[<Property(MaxTest = 4)>]
let ``batchnorm above the parallel threshold with an odd number of channels above 256 equals the textbook`` () =
    Prop.forAll (casesWhere [ "D", 257, 700 ] (fun c -> c.["D"] % 2 = 1)) (fun c ->
        let d = c.["D"]
        let n = int NormKernels.parallelElements / d + 1
        Prop.ensure (int64 n * int64 d >= NormKernels.parallelElements) (fun () -> $"{c}: below the threshold")
        InputClassLanesProperties.checkBatchNorm $"{c} N={n}" (key c 0) n d 1)

[<Property(MaxTest = 4)>]
let ``spatial batchnorm above the parallel threshold with an odd number of channels equals the textbook`` () =
    Prop.forAll (casesWhere [ "C", 3, 301; "S", 2, 64 ] (fun c -> c.["C"] % 2 = 1)) (fun c ->
        let ch, s = c.["C"], c.["S"]
        let n = int NormKernels.parallelElements / (ch * s) + 1
        InputClassLanesProperties.checkBatchNorm $"{c} N={n}" (key c 0) n ch s)

/// The temporal softmax loss splits its N·T rows across threads from N·T·V ≥ 2^18 (Gemm.parallelRowsWork).
[<Property(MaxTest = 3)>]
let ``temporal softmax above the parallel threshold with an odd number of rows equals the row-by-row formula`` () =
    Prop.forAll (casesWhere [ "N", 1, 3; "T", 3, 9 ] (fun c -> (c.["N"] * c.["T"]) % 2 = 1)) (fun c ->
        let n, t = c.["N"], c.["T"]
        let v = int (Gemm.parallelRowsWork / int64 (n * t)) + 7
        let s = normal (key c 0) [| n; t; v |]
        let y = labels (key c 1) (n * t) v
        let mask = (key c 2).Uniforms(n * t) |> Array.map (fun u -> u < 0.8)

        let r =
            TemporalSoftmax.loss s (Indices.FromArray(y, n, t)) (Mask.FromArray(mask, n, t))

        let sd = s.ToArray()
        let d = Array.zeroCreate (n * t * v)
        let mutable loss = 0.0

        for row in 0 .. n * t - 1 do
            if mask.[row] then
                let xs = sd.[row * v .. row * v + v - 1]
                let m = Array.max xs
                let z = xs |> Array.sumBy (fun x -> exp (x - m))
                loss <- loss + (log z - (xs.[y.[row]] - m))

                for j in 0 .. v - 1 do
                    d.[row * v + j] <- exp (xs.[j] - m) / z / float n

                d.[row * v + y.[row]] <- d.[row * v + y.[row]] - 1.0 / float n

        within $"{c} V={v} loss" 1e-12 0.0 [| loss / float n |] [| r.Loss |]
        within $"{c} V={v} dscores" 1e-10 1e-16 d (Tensor.toArray r.Dscores))

/// Pooling runs images in parallel from 2^20 input elements (Pooling.parallelElements): an odd number of images.
[<Fact>]
let ``max and average pooling above the parallel threshold equal the naive loops`` () =
    let n, ch, h, w = 3, 3, 2 * 172, 2 * 173
    Prop.ensure (n * ch * h * w >= Pooling.parallelElements) (fun () -> "below the threshold")
    let rng = Rng.create 17L
    let x = normal (rng.Derive 0) [| n; ch; h; w |]

    for cfg in
        [
            {
                PoolHeight = 2
                PoolWidth = 2
                StrideH = 2
                StrideW = 2
            } // the 2×2 kernel
            {
                PoolHeight = 3
                PoolWidth = 3
                StrideH = 2
                StrideW = 2
            } // general windows
        ] do
        let out, cache = MaxPool.forward cfg x
        let outN, cacheN = MaxPool.forwardNaive cfg x
        let dout = normal (rng.Derive 1) (Tensor.shape out)
        within $"max pool {cfg} out" 0.0 0.0 (Tensor.toArray outN) (Tensor.toArray out)

        within
            $"max pool {cfg} dx"
            0.0
            0.0
            (Tensor.toArray (MaxPool.backwardNaive dout cacheN))
            (Tensor.toArray (MaxPool.backward dout cache))

    // Average pooling 2×2 stride 2 by the explicit loop.
    let cfg = {
        PoolHeight = 2
        PoolWidth = 2
        StrideH = 2
        StrideW = 2
    }

    let out, cache = AvgPool.forward cfg x
    let dout = normal (rng.Derive 2) (Tensor.shape out)
    let dx = AvgPool.backward dout cache
    let xd, dd = x.ToArray(), dout.ToArray()
    let ho, wo = h / 2, w / 2
    let expOut = Array.zeroCreate (n * ch * ho * wo)
    let expDx = Array.zeroCreate xd.Length

    for p in 0 .. n * ch - 1 do
        for i in 0 .. ho - 1 do
            for j in 0 .. wo - 1 do
                let o = (p * ho + i) * wo + j

                let at = [
                    for a in 0..1 do
                        for b in 0..1 -> (p * h + 2 * i + a) * w + 2 * j + b
                ]

                expOut.[o] <- (at |> List.sumBy (fun q -> xd.[q])) * 0.25

                for q in at do
                    expDx.[q] <- dd.[o] * 0.25

    within "avg pool out" 1e-15 0.0 expOut (Tensor.toArray out)
    within "avg pool dx" 0.0 0.0 expDx (Tensor.toArray dx)

/// Convolution runs chunks of images in parallel when the work reaches 2^20 multiply-adds (Conv.parallelWork) and one
/// image's product is too small for Gemm's own split; the batch is cut into 8 fixed chunks, so N = 9…15 also gives
/// chunks of unequal sizes.
[<Property(MaxTest = 3)>]
let ``convolution above the parallel threshold with 9 to 15 images equals the naive loops`` () =
    Prop.forAll (casesWhere [ "N", 9, 15 ] (fun c -> c.["N"] % 8 <> 0)) (fun c ->
        let n, f, ch, hw = c.["N"], 8, 3, 24

        let cfg = {
            StrideH = 1
            StrideW = 1
            PadH = 1
            PadW = 1
            Dilation = 1
            Groups = 1
        }

        let x = normal (key c 0) [| n; ch; hw; hw |]
        let w = normal (key c 1) [| f; ch; 3; 3 |]
        let b = normal (key c 2) [| f |]
        let out, cache = Conv.forward cfg x w b
        let outN, cacheN = Conv.forwardNaive cfg x w b
        let dout = normal (key c 3) (Tensor.shape out)
        let gN = Conv.backwardNaive dout cacheN
        within $"{c} out" 1e-12 1e-12 (Tensor.toArray outN) (Tensor.toArray out)

        // Several times: a race between the chunks (two threads adding into one dw) loses updates only when the
        // threads really run at the same moment, which a busy machine makes rarer.
        for rep in 1..8 do
            let g = Conv.backward dout cache
            within $"{c} dx (run {rep})" 1e-12 1e-12 (Tensor.toArray gN.Dx) (Tensor.toArray g.Dx)
            within $"{c} dw (run {rep})" 1e-11 1e-11 (Tensor.toArray gN.Dw) (Tensor.toArray g.Dw)
            within $"{c} db (run {rep})" 1e-12 1e-12 (Tensor.toArray gN.Db) (Tensor.toArray g.Db))

/// The blocked GEMM packs B's panels in parallel when kc·nc ≥ 65,536 and there are at least two panels per thread:
/// kc = nc = 256 with k, n from 257 (a second, partial slice and panel) and 2 or 3 threads.
[<Property(MaxTest = 4)>]
let ``the blocked GEMM with B's panels packed in parallel equals the naive product`` () =
    let kernels = [ Avx512; Avx2 ] |> List.filter Gemm.supports

    Prop.forAll (cases [ "m", 1, 9; "n", 257, 300; "k", 257, 300; "threads", 2, 3 ]) (fun c ->
        let m, n, k, threads = c.["m"], c.["n"], c.["k"], c.["threads"]
        let a = (normal (key c 0) [| m; k |]).ToArray()
        let b = (normal (key c 1) [| k; n |]).ToArray()
        let expected = Array.zeroCreate (m * n)
        Gemm.naive false false m n k a 0 k b 0 n expected 0 n false

        for kernel in kernels do
            let actual = Array.create (m * n) nan
            Gemm.blockedWith (256, 48, 256) kernel threads false false m n k a 0 k b 0 n actual 0 n false
            within $"{c} {kernel}" 1e-12 1e-12 expected actual)
