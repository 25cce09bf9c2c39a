module Functional.Properties.ParallelProperties

open System
open Xunit
open Functional
open Functional.FSharp
open Functional.Kernels

// The one parallel policy: every parallel loop of the library (GEMM, convolution, pooling, normalization, the
// temporal softmax) goes through ParallelPolicy.forEach, so a thread count of 1 (FUNCTIONAL_THREADS=1, here through
// withThreads) runs all of their chunks on the calling thread, and a count of t runs them on at most t threads with
// the same bits. Checked through the policy's thread observer, never by timing.

/// Workloads above every layer's parallel threshold, each returning its outputs as flat arrays.
let private workloads () : (string * (unit -> float[] list)) list =
    let rng = Rng.create 17L
    let rand (shape: int[]) = Tensor.randn rng 1.0 shape
    // GEMM: 400³ multiply-adds, above the blocked kernel's split threshold.
    let a, b = rand [| 400; 400 |], rand [| 400; 400 |]
    // Convolution: 3.5·10⁶ multiply-adds over 8 images, each too small for GEMM to split (images in parallel).
    let x, w, bias = rand [| 8; 3; 32; 32 |], rand [| 16; 3; 3; 3 |], rand [| 16 |]
    let conv = ConvConfig.Create(1, 1)
    // Max pooling: 1.2·10⁶ input elements.
    let xp = rand [| 8; 16; 96; 96 |]
    let pool = PoolConfig.Create(2, 2, 2)
    // Batch normalization: 256 × 512 elements.
    let xb = rand [| 256; 512 |]
    let gamma, beta = rand [| 512 |], rand [| 512 |]
    // Temporal softmax: 16 × 16 steps over 1,024 words.
    let scores = rand [| 16; 16; 1024 |]
    let words = Indices([| 16; 16 |], Array.init 256 (fun i -> i * 37 % 1024))
    let mask = Mask([| 16; 16 |], Array.init 256 (fun i -> i % 5 <> 0))
    let flat (t: Tensor) = Tensor.toArray t

    [
        "GEMM", (fun () -> [ flat (Tensor.matmul a b) ])
        "conv",
        (fun () ->
            let out, cache = Conv.forward conv x w bias
            let g = Conv.backward out cache
            [ flat out; flat g.Dx; flat g.Dw; flat g.Db ])
        "max pool",
        (fun () ->
            let out, cache = MaxPool.forward pool xp
            [ flat out; flat (MaxPool.backward out cache) ])
        "avg pool",
        (fun () ->
            let out, cache = AvgPool.forward pool xp
            [ flat out; flat (AvgPool.backward out cache) ])
        "batchnorm",
        (fun () ->
            let out, _, cache =
                BatchNorm.forward BatchNormConfig.Default Mode.Train (BatchNormState.Initial 512) gamma beta xb

            let g = BatchNorm.backwardAlt out cache
            [ flat out; flat g.Dx; flat g.Dgamma; flat g.Dbeta ])
        "temporal softmax",
        (fun () ->
            let r = TemporalSoftmax.loss scores words mask
            [ [| r.Loss |]; flat r.Dscores ])
    ]

let private bits (arrays: float[] list) =
    arrays |> List.map (Array.map BitConverter.DoubleToInt64Bits)

[<Fact>]
let ``with one thread every parallel loop runs its chunks on the calling thread`` () =
    for name, run in workloads () do
        let caller = Environment.CurrentManagedThreadId

        let _, seen =
            ParallelPolicy.withThreads 1 (fun () -> ParallelPolicy.observeThreads run)
        // The workload went through the policy (a loop that bypassed it would leave nothing here)...
        let threads = Map.keys seen.ChunksByThread |> List.ofSeq
        Assert.True(not threads.IsEmpty, $"{name}: no chunk ran through ParallelPolicy.forEach")
        // ...and only on the calling thread, one chunk at a time.
        Assert.True((threads = [ caller ]), $"{name}: chunks ran on threads {threads}, the caller is {caller}")
        Assert.Equal(1, seen.Peak)

[<Fact>]
let ``with t threads the loops use at most t threads and give the same bits as one`` () =
    for name, run in workloads () do
        let one = ParallelPolicy.withThreads 1 run |> bits

        for t in [ 2; 3 ] do
            let result, seen =
                ParallelPolicy.withThreads t (fun () -> ParallelPolicy.observeThreads run)

            Assert.True(seen.Peak <= t, $"{name}: {seen.Peak} chunks ran at once with a count of {t}")
            Assert.True((bits result = one), $"{name}: {t} threads gave other bits than one")

[<Fact>]
let ``withThreads rejects counts outside 1 .. MaxThreads`` () =
    for bad in [ 0; -1; ParallelPolicy.MaxThreads + 1 ] do
        Assert.Throws<ArgumentException>(fun () -> ParallelPolicy.withThreads bad id |> ignore)
        |> ignore
