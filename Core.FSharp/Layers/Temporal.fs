namespace Functional

open System
open System.Collections.Generic

/// Shape checks and element access shared by the integer and boolean grids (Indices, Mask).
module internal Grid =
    let checkData (fn: string) (data: 'a[]) (shape: int[]) =
        Guard.checkShape fn "shape" shape

        Guard.notNull fn "data" data

        if Guard.size shape <> data.Length then
            Guard.fail
                fn
                "shape"
                $"shape {Guard.shapeText shape} holds {Guard.size shape} elements but data has {data.Length}."

    let offset (fn: string) (shape: int[]) (index: int[]) =
        if isNull (box index) || index.Length <> shape.Length then
            let n = if isNull (box index) then 0 else index.Length
            Guard.fail fn "index" $"expected {shape.Length} indices for shape {Guard.shapeText shape}, got {n}."

        let mutable off = 0

        for i in 0 .. shape.Length - 1 do
            if index.[i] < 0 || index.[i] >= shape.[i] then
                Guard.fail
                    fn
                    "index"
                    $"index {index.[i]} is out of range for axis {i} of shape {Guard.shapeText shape}."

            off <- off * shape.[i] + index.[i]

        off

    /// The elements with index in [start, stop) along an axis, and the new shape.
    let slice (fn: string) (shape: int[]) (data: 'a[]) (axis: int) (start: int) (stop: int) =
        let a = Guard.normAxis fn shape.Length axis

        if start < 0 || stop > shape.[a] || start > stop then
            Guard.fail
                fn
                "start"
                $"range [{start}, {stop}) is out of bounds for axis {a} of shape {Guard.shapeText shape}."

        let outer = Guard.size shape.[.. a - 1]
        let inner = Guard.size shape.[a + 1 ..]
        let len = stop - start
        let outShape = Array.copy shape
        outShape.[a] <- len
        let res = Array.zeroCreate (outer * len * inner)

        for o in 0 .. outer - 1 do
            Array.blit data ((o * shape.[a] + start) * inner) res (o * len * inner) (len * inner)

        outShape, res

/// <summary>
/// An immutable n-dimensional array of booleans, row-major: the mask of the temporal softmax loss, (N, T), true
/// where a step counts.
/// </summary>
[<Sealed; AllowNullLiteral(false)>]
type Mask internal (shape: int[], data: bool[]) =
    member internal _.Dims = shape
    member internal _.Data = data

    /// <summary>The shape, one entry per axis.</summary>
    member _.Shape: IReadOnlyList<int> = Array.AsReadOnly(Array.copy shape)

    /// <summary>The number of axes.</summary>
    member _.Rank = shape.Length

    /// <summary>The number of elements.</summary>
    member _.Count = data.Length

    /// <summary>The number of true elements.</summary>
    member _.CountTrue = data |> Array.sumBy (fun v -> if v then 1 else 0)

    /// <summary>The element at a multi-index, one index per axis.</summary>
    member _.Item
        with get ([<ParamArray>] index: int[]) = data.[Grid.offset "Mask.Item" shape index]

    /// <summary>A copy of the elements in row-major order.</summary>
    member _.ToArray() = Array.copy data

    /// <summary>The elements with index in [start, stop) along <paramref name="axis"/>.</summary>
    member _.Slice(axis: int, start: int, stop: int) =
        Mask(Grid.slice "Mask.Slice" shape data axis start stop)

    override _.ToString() =
        $"Mask{Guard.shapeText shape} ({data |> Array.sumBy (fun v -> if v then 1 else 0)} true)"

    /// <summary>A mask of the given shape holding a copy of <paramref name="data"/> (row-major).</summary>
    /// <exception cref="System.ArgumentException">The shape does not hold data's length, or a dimension is negative.</exception>
    static member FromArray(data: bool[], [<ParamArray>] shape: int[]) =
        Grid.checkData "Mask.FromArray" data shape
        Mask(Array.copy shape, Array.copy data)

    /// <summary>A mask of the given shape filled with <paramref name="value"/>.</summary>
    static member Full(value: bool, [<ParamArray>] shape: int[]) =
        Guard.checkShape "Mask.Full" "shape" shape
        Mask(Array.copy shape, Array.create (Guard.size shape) value)

/// <summary>
/// An immutable n-dimensional array of integer indices, row-major: word indices (N, T) of the word embedding,
/// targets (N, T) of the temporal softmax loss, captions. The layers check each index against their range
/// (e.g. [0, V)) and name the first one out of it.
/// </summary>
[<Sealed; AllowNullLiteral(false)>]
type Indices internal (shape: int[], data: int[]) =
    member internal _.Dims = shape
    member internal _.Data = data

    /// <summary>The shape, one entry per axis.</summary>
    member _.Shape: IReadOnlyList<int> = Array.AsReadOnly(Array.copy shape)

    /// <summary>The number of axes.</summary>
    member _.Rank = shape.Length

    /// <summary>The number of elements.</summary>
    member _.Count = data.Length

    /// <summary>The element at a multi-index, one index per axis.</summary>
    member _.Item
        with get ([<ParamArray>] index: int[]) = data.[Grid.offset "Indices.Item" shape index]

    /// <summary>A copy of the elements in row-major order.</summary>
    member _.ToArray() = Array.copy data

    /// <summary>The elements with index in [start, stop) along <paramref name="axis"/> (e.g. captions[:, :-1]).</summary>
    member _.Slice(axis: int, start: int, stop: int) =
        Indices(Grid.slice "Indices.Slice" shape data axis start stop)

    /// <summary>The mask, of this shape, that is true where the element differs from <paramref name="value"/>
    /// (e.g. captions_out ≠ &lt;NULL&gt;).</summary>
    member _.NotEqual(value: int) =
        Mask(Array.copy shape, data |> Array.map (fun v -> v <> value))

    override _.ToString() =
        let preview = data |> Seq.truncate 8 |> Seq.map string |> String.concat ", "
        let more = if data.Length > 8 then ", ..." else ""
        $"Indices{Guard.shapeText shape} [{preview}{more}]"

    /// <summary>Indices of the given shape holding a copy of <paramref name="data"/> (row-major).</summary>
    /// <exception cref="System.ArgumentException">The shape does not hold data's length, or a dimension is negative.</exception>
    static member FromArray(data: int[], [<ParamArray>] shape: int[]) =
        Grid.checkData "Indices.FromArray" data shape
        Indices(Array.copy shape, Array.copy data)

    /// <summary>Checks rank 2 and every index in [0, bound), naming fn and arg; returns (N, T).</summary>
    member internal _.CheckRange(fn: string, arg: string, bound: int, boundName: string) =
        Guard.rank fn arg 2 shape

        data
        |> Array.iteri (fun k v ->
            if v < 0 || v >= bound then
                let t = shape.[1]

                Guard.fail fn arg $"{arg}[{k / t}, {k % t}] = {v} is out of range [0, {boundName}) = [0, {bound}).")

        shape.[0], shape.[1]

/// <summary>What the word embedding forward pass keeps (opaque): the indices and the vocabulary size.</summary>
type WordEmbeddingCache = internal {
    X: Indices
    V: int
    D: int
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the temporal affine forward pass keeps (opaque).</summary>
type TemporalAffineCache = internal {
    X: Tensor
    W: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open System
open System.Numerics.Tensors
open Functional
open Functional.Kernels

/// <summary>
/// Word embedding (cs231n assignment 3, <c>word_embedding_forward</c>): x (N, T) of word indices in [0, V) and
/// W (V, D) → out (N, T, D) with out[n, t] = W[x[n, t]].
/// </summary>
[<RequireQualifiedAccess>]
module WordEmbedding =
    /// <summary>Forward pass: x (N, T) indices in [0, V), w (V, D) → out (N, T, D) and the cache.</summary>
    /// <exception cref="System.ArgumentException">x is not (N, T), w is not (V, D), or an index is outside [0, V).</exception>
    let forward (x: Indices) (w: Tensor) : Tensor * WordEmbeddingCache =
        let fn = "WordEmbedding.forward"
        Guard.notNull fn "x" x
        Guard.notNull fn "w" w
        Guard.rank fn "w" 2 w.Dims
        let v, d = w.Dims.[0], w.Dims.[1]
        let n, t = x.CheckRange(fn, "x", v, "V")
        let out = GC.AllocateUninitializedArray(Guard.elements fn "w" [| n; t; d |])

        x.Data |> Array.iteri (fun k i -> Array.Copy(w.Data, i * d, out, k * d, d))

        Tensor.Wrap([| n; t; d |], out), { X = x; V = v; D = d }

    /// <summary>
    /// Backward pass: dout (N, T, D) → dW (V, D), where row v sums dout[n, t] over every (n, t) with x[n, t] = v
    /// (repeated indices accumulate, numpy's <c>np.add.at</c>).
    /// </summary>
    let backward (dout: Tensor) (cache: WordEmbeddingCache) : Tensor =
        let fn = "WordEmbedding.backward"
        let n, t, d = cache.X.Dims.[0], cache.X.Dims.[1], cache.D
        RecurrentKernels.expectShape fn "dout" "(N, T, D)" [| n; t; d |] dout
        let dw = Array.zeroCreate (cache.V * d)

        cache.X.Data
        |> Array.iteri (fun k i ->
            TensorPrimitives.Add(ReadOnlySpan(dw, i * d, d), ReadOnlySpan(dout.Data, k * d, d), Span(dw, i * d, d)))

        Tensor.Wrap([| cache.V; d |], dw)

/// <summary>
/// Temporal affine (cs231n's <c>temporal_affine_forward</c>): the same affine map at every step,
/// x (N, T, D), w (D, M), b (M,) → out (N, T, M) = x·w + b, computed as one (N·T, D)·(D, M) product.
/// </summary>
[<RequireQualifiedAccess>]
module TemporalAffine =
    /// <summary>Forward pass: x (N, T, D), w (D, M), b (M,) → out (N, T, M) and the cache.</summary>
    /// <exception cref="System.ArgumentException">A rank or a size does not fit (N, T, D, M).</exception>
    let forward (x: Tensor) (w: Tensor) (b: Tensor) : Tensor * TemporalAffineCache =
        let fn = "TemporalAffine.forward"
        Guard.notNull fn "x" x
        Guard.notNull fn "w" w
        Guard.rank fn "x" 3 x.Dims
        Guard.rank fn "w" 2 w.Dims
        let n, t, d = x.Dims.[0], x.Dims.[1], x.Dims.[2]
        let m = w.Dims.[1]

        if w.Dims.[0] <> d then
            Guard.fail
                fn
                "w"
                $"w must have shape (D, M) with D = {d} (the last axis of x {Guard.shapeText x.Dims}), got {Guard.shapeText w.Dims}."

        RecurrentKernels.expectShape fn "b" "(M,)" [| m |] b
        Guard.elements fn "w" [| n; t; m |] |> ignore
        let out = RecurrentKernels.inputProjection x.Data (n * t) d w.Data b.Data m
        Tensor.Wrap([| n; t; m |], out), { X = x; W = w }

    /// <summary>Backward pass: dout (N, T, M) → dx (N, T, D), dw (D, M), db (M,).</summary>
    let backward (dout: Tensor) (cache: TemporalAffineCache) : AffineGrads =
        let x, w = cache.X, cache.W
        let n, t, d, m = x.Dims.[0], x.Dims.[1], x.Dims.[2], w.Dims.[1]
        RecurrentKernels.expectShape "TemporalAffine.backward" "dout" "(N, T, M)" [| n; t; m |] dout
        let dx, dw = RecurrentKernels.inputGrads x.Data (n * t) d m w.Data dout.Data

        {
            Dx = Tensor.Wrap(Array.copy x.Dims, dx)
            Dw = Tensor.Wrap([| d; m |], dw)
            Db = Tensor.Wrap([| m |], RecurrentKernels.columnSums dout.Data (n * t) m)
        }

/// <summary>
/// The temporal softmax loss (cs231n's <c>temporal_softmax_loss</c>): scores (N, T, V), targets y (N, T) in
/// [0, V), mask (N, T). loss = (1/N) Σ_{n,t: mask[n,t]} −log softmax(scores[n, t])[y[n, t]] — summed over the
/// unmasked steps and divided by N, not by the number of unmasked steps (the course's convention). The gradient
/// is (softmax − onehot(y)) / N at unmasked steps and exactly 0 at masked ones; every target is range-checked,
/// masked or not. Each row is shifted by its maximum (log-sum-exp), so logits far
/// from 0 (e.g. all ≤ −1e3, or ±1e4) give finite results; NaN in the scores propagates to the loss.
/// </summary>
[<RequireQualifiedAccess>]
module TemporalSoftmax =
    /// <summary>The loss and Dscores (N, T, V).</summary>
    /// <exception cref="System.ArgumentException">scores is not rank 3 with N ≥ 1, y is not (N, T), a target is
    /// outside [0, V), or mask is not (N, T).</exception>
    let loss (scores: Tensor) (y: Indices) (mask: Mask) : LossResult =
        let fn = "TemporalSoftmax.loss"
        Guard.notNull fn "scores" scores
        Guard.notNull fn "y" y
        Guard.notNull fn "mask" mask
        Guard.rank fn "scores" 3 scores.Dims
        let n, t, v = scores.Dims.[0], scores.Dims.[1], scores.Dims.[2]

        if n = 0 then
            Guard.fail fn "scores" "expected at least one example (N >= 1), got N = 0."

        if y.Dims <> [| n; t |] then
            Guard.fail
                fn
                "y"
                $"y must have shape (N, T) = {Guard.shapeText [| n; t |]} to match scores {Guard.shapeText scores.Dims}, got {Guard.shapeText y.Dims}."

        if mask.Dims <> [| n; t |] then
            Guard.fail
                fn
                "mask"
                $"mask must have shape (N, T) = {Guard.shapeText [| n; t |]} to match scores {Guard.shapeText scores.Dims}, got {Guard.shapeText mask.Dims}."

        y.CheckRange(fn, "y", v, "V") |> ignore
        let s = scores.Data
        let d = Array.zeroCreate (n * t * v)
        let rowLoss = Array.zeroCreate (n * t)
        let invN = 1.0 / float n

        // Each step's row is computed alone and the loss summed in row order afterwards: the same bits for any
        // split of the rows across threads.
        let rows (r0: int) (r1: int) =
            for r in r0 .. r1 - 1 do
                if mask.Data.[r] then
                    let o = r * v
                    let m = TensorPrimitives.Max(ReadOnlySpan(s, o, v))
                    TensorPrimitives.Subtract(ReadOnlySpan(s, o, v), m, Span(d, o, v))
                    TensorPrimitives.Exp(ReadOnlySpan(d, o, v), Span(d, o, v))
                    let z = TensorPrimitives.Sum(ReadOnlySpan(d, o, v))
                    let target = o + y.Data.[r]
                    rowLoss.[r] <- Math.Log z - (s.[target] - m)
                    TensorPrimitives.Multiply(ReadOnlySpan(d, o, v), invN / z, Span(d, o, v))
                    d.[target] <- d.[target] - invN

        let count = n * t

        let parts =
            if int64 count * int64 v >= Gemm.parallelRowsWork then
                min (ParallelPolicy.threads ()) count
            else
                1

        ParallelPolicy.forEach parts parts (fun p -> rows (p * count / parts) ((p + 1) * count / parts))

        {
            Loss = Array.sum rowLoss * invN
            Dscores = Tensor.Wrap([| n; t; v |], d)
        }
