/// NaN and infinity propagate through every layer as in NumPy and PyTorch: a NaN input never becomes a number.
module Functional.Properties.NanProperties

open System
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Kernels
open Functional.Properties.Generators
open Functional.Properties.ConvGenerators

/// A normal tensor with about 10 % of its elements NaN, 5 % +∞ and 5 % −∞ (positions drawn from the key).
let private poisoned (rng: Rng) (shape: int[]) =
    let x = Tensor.toArray (normal (Rng.derive 0 rng) shape)
    let u = (Rng.derive 1 rng).Uniforms x.Length

    x
    |> Array.mapi (fun i v ->
        if u.[i] < 0.1 then nan
        elif u.[i] < 0.15 then infinity
        elif u.[i] < 0.2 then -infinity
        else v)
    |> Tensor.ofArray shape

/// x with element 0 set to NaN.
let private oneNaN (x: Tensor) =
    let d = Tensor.toArray x
    d.[0] <- nan
    Tensor.ofArray (Tensor.shape x) d

let private hasNaN (t: Tensor) =
    Tensor.toArray t |> Array.exists Double.IsNaN

let private same (a: float) (b: float) =
    BitConverter.DoubleToInt64Bits a = BitConverter.DoubleToInt64Bits b

[<Property(MaxTest = 200)>]
let ``relu keeps NaN and infinities, forward and backward, on the vector path and its tail`` () =
    Prop.forAll (cases [ "N", 1, 41 ]) (fun c ->
        let x = poisoned (key c 0) [| c.["N"] |]
        let dout = normal (key c 1) [| c.["N"] |]
        let out, cache = Relu.forward x
        let dx = Relu.backward dout cache
        // The fused epilogues the sandwiches use (in place on a buffer not yet wrapped).
        let owned =
            let a = Tensor.toArray x
            ReluKernels.rectify a 0 a.Length
            Tensor.Wrap(x.Dims, a)

        let dxOwned =
            let g = Tensor.toArray dout
            ReluKernels.maskedAt 0 g.Length (Tensor.toArray owned) g g
            Tensor.Wrap(dout.Dims, g)

        let xs, os, gs, ds =
            Tensor.toArray x, Tensor.toArray out, Tensor.toArray dout, Tensor.toArray dx

        for i in 0 .. xs.Length - 1 do
            // NumPy's np.maximum(0, x) (with +0 for x ≤ 0) and PyTorch's threshold_backward.
            let expected = if xs.[i] <= 0.0 then 0.0 else xs.[i]
            let expectedDx = if xs.[i] <= 0.0 then 0.0 else gs.[i]

            Prop.ensure (same os.[i] expected && same (Tensor.toArray owned).[i] expected) (fun () ->
                $"{c}: relu({xs.[i]}) = {os.[i]} (owned {(Tensor.toArray owned).[i]}), expected {expected}")

            Prop.ensure (same ds.[i] expectedDx && same (Tensor.toArray dxOwned).[i] expectedDx) (fun () ->
                $"{c}: relu backward at x = {xs.[i]}, dout = {gs.[i]} gave {ds.[i]}, expected {expectedDx}"))

/// For every window: whether it holds a NaN.
let private nanWindows (cfg: PoolConfig) (x: Tensor) (outShape: int[]) =
    let xs = Tensor.shape x

    Array.init (Array.fold (*) 1 outShape) (fun o ->
        let j = o % outShape.[3]
        let i = (o / outShape.[3]) % outShape.[2]
        let plane = o / (outShape.[2] * outShape.[3])

        Seq.exists
            (fun (ki, kj) ->
                Double.IsNaN(
                    Tensor.get [| plane / xs.[1]; plane % xs.[1]; i * cfg.StrideH + ki; j * cfg.StrideW + kj |] x
                ))
            (Seq.allPairs [ 0 .. cfg.PoolHeight - 1 ] [ 0 .. cfg.PoolWidth - 1 ]))

let private maxPoolNaN (c: Case) =
    let cfg, shape = poolSetup c
    let x = poisoned (key c 0) shape
    let outN, cacheN = MaxPool.forwardNaive cfg x
    let outF, cacheF = MaxPool.forward cfg x
    let case = describePool c
    let windows = nanWindows cfg x (Tensor.shape outN)

    for out, path in [ outN, "naive"; outF, "fast" ] do
        Tensor.toArray out
        |> Array.iteri (fun o v ->
            Prop.ensure (Double.IsNaN v = windows.[o]) (fun () ->
                $"{case}: {path} output {o} is {v}, but its window holds NaN = {windows.[o]}"))

    Prop.ensure (Array.forall2 same (Tensor.toArray outN) (Tensor.toArray outF)) (fun () ->
        $"{case}: fast and naive outputs differ")

    // With dout = 1 every window's gradient goes to its arg-max: the windows holding NaN send theirs to a NaN.
    let ones = Tensor.ones (Tensor.shape outN)
    let nanCount = windows |> Array.filter id |> Array.length |> float
    let xd = Tensor.toArray x

    for dx, path in
        [
            MaxPool.backwardNaive ones cacheN, "naive"
            MaxPool.backward ones cacheF, "fast"
        ] do
        let atNaN =
            Array.fold2 (fun acc g v -> if Double.IsNaN v then acc + g else acc) 0.0 (Tensor.toArray dx) xd

        Prop.ensure (atNaN = nanCount) (fun () ->
            $"{case}: {path} backward sent {atNaN} window gradients to NaN elements, {nanCount} windows hold NaN")

[<Property(MaxTest = 200, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``max pool gives NaN for a window holding NaN and routes its gradient there`` (PoolCase c) = maxPoolNaN c

[<Property(MaxTest = 200, Arbitrary = [| typeof<ConvArbitraries> |])>]
let ``max pool gives NaN for a window holding NaN when windows tile the input (2x2 kernel)`` (TilingPoolCase c) =
    maxPoolNaN c

[<Fact>]
let ``max pool of the issue's example: [[1, NaN], [0, 0]] gives NaN in every lane of the 2x2 kernel`` () =
    // Four windows per AVX2 step, then a scalar tail: NaN in each position of each lane.
    for w in [ 2; 8; 10 ] do
        for p in 0 .. 2 * w - 1 do
            let d = Array.init (2 * w) (fun i -> float (i % 3))
            d.[p] <- nan
            let x = Tensor.ofArray [| 1; 1; 2; w |] d
            let cfg = PoolConfig.Create(2, 2, 2)

            for out, path in
                [
                    fst (MaxPool.forward cfg x), "fast"
                    fst (MaxPool.forwardNaive cfg x), "naive"
                ] do
                let o = Tensor.toArray out

                Prop.ensure (Double.IsNaN o.[(p % w) / 2]) (fun () ->
                    $"W = {w}, NaN at {p}: {path} output {(p % w) / 2} is {o.[(p % w) / 2]}")

[<Property(MaxTest = 100)>]
let ``losses are NaN when a score is NaN`` () =
    Prop.forAll (cases [ "N", 1, 5; "C", 2, 6; "I", 0, 29 ]) (fun c ->
        let n, k = c.["N"], c.["C"]
        let scores = Tensor.toArray (normal (key c 0) [| n; k |])
        let at = c.["I"] % (n * k)
        scores.[at] <- nan
        let s = Tensor.ofArray [| n; k |] scores
        let y = labels (key c 1) n k
        let svm = Losses.svm s y
        let softmax = Losses.softmax s y
        Prop.ensure (Double.IsNaN svm.Loss) (fun () -> $"{c}: svm loss {svm.Loss} with a NaN score at {at}")

        Prop.ensure (Double.IsNaN softmax.Loss) (fun () ->
            $"{c}: softmax loss {softmax.Loss} with a NaN score at {at}")

        Prop.ensure ((Tensor.argmax 1 s).[at / k] = at % k) (fun () -> $"{c}: argmax does not point at the NaN {at}"))

[<Fact>]
let ``every layer's output holds NaN when its input does`` () =
    let rng = Rng.create 11L
    let x2 = oneNaN (normal (Rng.derive 0 rng) [| 3; 4 |])
    let x4 = oneNaN (normal (Rng.derive 1 rng) [| 2; 2; 4; 4 |])
    let w2 = normal (Rng.derive 2 rng) [| 4; 3 |]
    let b3 = Tensor.zeros [| 3 |]
    let w4 = normal (Rng.derive 3 rng) [| 3; 2; 3; 3 |]
    let conv = ConvConfig.Create(1, 1)
    let pool = PoolConfig.Create(2, 2, 2)
    let bn = BatchNormConfig.Default
    let g4, b4 = Tensor.ones [| 4 |], Tensor.zeros [| 4 |]
    let g2, b2 = Tensor.ones [| 2 |], Tensor.zeros [| 2 |]

    let outputs = [
        "affine", fst (Affine.forward x2 w2 b3)
        "affine-relu", fst (AffineRelu.forward x2 w2 b3)
        "relu", fst (Relu.forward x2)
        "leaky relu", fst (LeakyRelu.forward 0.01 x2)
        "sigmoid", fst (Sigmoid.forward x2)
        "tanh", fst (Tanh.forward x2)
        "dropout", fst (Dropout.forward 0.5 Mode.Train rng x2)
        "batchnorm", (let o, _, _ = BatchNorm.forward bn Mode.Train (BatchNormState.Initial 4) g4 b4 x2 in o)
        "layernorm", fst (LayerNorm.forward 1e-5 g4 b4 x2)
        "conv naive", fst (Conv.forwardNaive conv x4 w4 b3)
        "conv", fst (Conv.forward conv x4 w4 b3)
        "conv-relu", fst (ConvRelu.forward conv x4 w4 b3)
        "conv-relu-pool", fst (ConvReluPool.forward conv pool x4 w4 b3)
        "max pool", fst (MaxPool.forward pool x4)
        "avg pool", fst (AvgPool.forward pool x4)
        "spatial batchnorm",
        (let o, _, _ =
            SpatialBatchNorm.forward bn Mode.Train (BatchNormState.Initial 2) g2 b2 x4

         o)
        "groupnorm", fst (GroupNorm.forward 1e-5 2 g2 b2 x4)
        "sum", Tensor.sum [| 1 |] false x2
        "max", Tensor.max [| 1 |] false x2
        "maximum", Tensor.maximum x2 (Tensor.zeros [| 3; 4 |])
    ]

    for name, out in outputs do
        Prop.ensure (hasNaN out) (fun () -> $"{name}: a NaN input gave a NaN-free output {out}")
