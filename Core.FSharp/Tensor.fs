namespace Functional

open System
open System.Collections.Generic
open System.Numerics.Tensors

/// <summary>
/// An immutable n-dimensional array of 64-bit floats, stored row-major. Every operation checks shapes and
/// raises an <see cref="T:System.ArgumentException"/> naming the operation and the shapes involved.
/// </summary>
/// <remarks>F# code uses the functions of the <c>Functional.FSharp.Tensor</c> module; C# code uses the members here.</remarks>
[<Sealed; AllowNullLiteral(false)>]
type Tensor internal (shape: int[], data: float[]) =
    static let odometerStep (dims: int[]) (idx: int[]) =
        let mutable d = dims.Length - 1
        let mutable go = true

        while go && d >= 0 do
            idx.[d] <- idx.[d] + 1

            if idx.[d] = dims.[d] then
                idx.[d] <- 0
                d <- d - 1
            else
                go <- false

    /// Broadcast strides of a shape aligned right against a target rank: 0 where the dimension is 1.
    static let broadcastStrides (s: int[]) (rank: int) =
        let st = Guard.rowMajorStrides s
        let out = Array.zeroCreate rank

        for i in 0 .. s.Length - 1 do
            out.[rank - s.Length + i] <- if s.[i] = 1 then 0 else st.[i]

        out

    static let broadcastShape (fn: string) (a: int[]) (b: int[]) =
        let r = max a.Length b.Length

        Array.init r (fun i ->
            let da =
                if i - (r - a.Length) >= 0 then
                    a.[i - (r - a.Length)]
                else
                    1

            let db =
                if i - (r - b.Length) >= 0 then
                    b.[i - (r - b.Length)]
                else
                    1

            if da = db || db = 1 then
                da
            elif da = 1 then
                db
            else
                Guard.fail fn "b" $"shapes {Guard.shapeText a} and {Guard.shapeText b} cannot be broadcast together.")

    /// The dimensions (internal, not copied).
    member internal _.Dims = shape
    /// The storage (internal, not copied; never mutated after construction).
    member internal _.Data = data

    /// <summary>The shape, one entry per axis.</summary>
    member _.Shape: IReadOnlyList<int> = Array.AsReadOnly(Array.copy shape)

    /// <summary>The number of axes.</summary>
    member _.Rank = shape.Length

    /// <summary>The number of elements (the product of the shape).</summary>
    member _.Count = data.Length

    /// <summary>The element at a multi-index, one index per axis (negative indices are not allowed).</summary>
    member _.Item
        with get ([<ParamArray>] index: int[]) =
            if isNull (box index) || index.Length <> shape.Length then
                let n = if isNull (box index) then 0 else index.Length

                Guard.fail
                    "Tensor.Item"
                    "index"
                    $"expected {shape.Length} indices for shape {Guard.shapeText shape}, got {n}."

            let mutable off = 0

            for i in 0 .. shape.Length - 1 do
                if index.[i] < 0 || index.[i] >= shape.[i] then
                    Guard.fail
                        "Tensor.Item"
                        "index"
                        $"index {index.[i]} is out of range for axis {i} of shape {Guard.shapeText shape}."

                off <- off * shape.[i] + index.[i]

            data.[off]

    /// <summary>A copy of the elements in row-major order.</summary>
    member _.ToArray() = Array.copy data

    /// <summary>The value of a tensor with exactly one element.</summary>
    member _.Item0 =
        if data.Length <> 1 then
            Guard.fail "Tensor.Item0" "this" $"expected a single element, got shape {Guard.shapeText shape}."

        data.[0]

    override _.ToString() =
        let preview =
            data
            |> Seq.truncate 8
            |> Seq.map (fun v -> v.ToString("G6"))
            |> String.concat ", "

        let more = if data.Length > 8 then ", ..." else ""
        $"Tensor{Guard.shapeText shape} [{preview}{more}]"

    // ---- construction ----

    /// Wraps a shape and a buffer the caller has just allocated and will not touch again.
    static member internal Wrap(shape: int[], data: float[]) =
        if Guard.count64 shape <> int64 data.Length then
            invalidOp $"internal: shape {Guard.shapeText shape} does not fit {data.Length} elements"

        Tensor(shape, data)

    /// <summary>A tensor of the given shape holding a copy of <paramref name="data"/> (row-major).</summary>
    static member FromArray(data: float[], [<ParamArray>] shape: int[]) =
        Guard.checkShape "Tensor.FromArray" "shape" shape

        Guard.notNull "Tensor.FromArray" "data" data

        if Guard.size shape <> data.Length then
            Guard.fail
                "Tensor.FromArray"
                "shape"
                $"shape {Guard.shapeText shape} holds {Guard.size shape} elements but data has {data.Length}."

        Tensor(Array.copy shape, Array.copy data)

    static member private Filled (fn: string) (value: float) (shape: int[]) =
        Guard.checkShape fn "shape" shape
        let data = Guard.allocate fn (Guard.size shape)

        if value <> 0.0 then
            Array.Fill(data, value)

        Tensor(Array.copy shape, data)

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    /// <exception cref="T:System.ArgumentException">A dimension is negative, or the shape holds more elements than an
    /// array can (Array.MaxLength).</exception>
    /// <exception cref="T:System.OutOfMemoryException">The memory for the elements (8 bytes each) is not available; the
    /// message states the bytes wanted.</exception>
    static member Full(value: float, [<ParamArray>] shape: int[]) = Tensor.Filled "Tensor.Full" value shape

    /// <summary>A tensor of zeros (errors as <see cref="M:Functional.Tensor.Full(System.Double,System.Int32[])"/>).</summary>
    static member Zeros([<ParamArray>] shape: int[]) = Tensor.Filled "Tensor.Zeros" 0.0 shape

    /// <summary>A tensor of ones (errors as <see cref="M:Functional.Tensor.Full(System.Double,System.Int32[])"/>).</summary>
    static member Ones([<ParamArray>] shape: int[]) = Tensor.Filled "Tensor.Ones" 1.0 shape

    /// <summary>A scalar (rank-0) tensor.</summary>
    static member Scalar(value: float) = Tensor([||], [| value |])

    /// <summary>
    /// <c>Count</c> evenly spaced values from <paramref name="start"/> to <paramref name="stop"/> inclusive
    /// (numpy's <c>linspace</c> over the total size), laid out row-major in the given shape.
    /// </summary>
    static member Linspace(start: float, stop: float, [<ParamArray>] shape: int[]) =
        Guard.checkShape "Tensor.Linspace" "shape" shape
        let n = Guard.size shape

        let step = if n > 1 then (stop - start) / float (n - 1) else 0.0

        Tensor(Array.copy shape, Array.init n (fun i -> if i = n - 1 && n > 1 then stop else start + float i * step))

    /// <summary>Standard normal values from <paramref name="rng"/>, multiplied by <paramref name="scale"/>.</summary>
    static member RandomNormal(rng: Rng, scale: float, [<ParamArray>] shape: int[]) =
        Guard.checkShape "Tensor.RandomNormal" "shape" shape
        Guard.finiteScalar "Tensor.RandomNormal" "scale" scale

        Guard.notNull "Tensor.RandomNormal" "rng" rng

        Tensor(Array.copy shape, rng.Normals(Guard.size shape) |> Array.map (fun v -> v * scale))

    /// <summary>Uniform values in [low, high) from <paramref name="rng"/>.</summary>
    static member RandomUniform(rng: Rng, low: float, high: float, [<ParamArray>] shape: int[]) =
        Guard.checkShape "Tensor.RandomUniform" "shape" shape

        Guard.notNull "Tensor.RandomUniform" "rng" rng

        Guard.finiteScalar "Tensor.RandomUniform" "low" low
        Guard.finiteScalar "Tensor.RandomUniform" "high" high

        if not (low <= high) then
            Guard.fail "Tensor.RandomUniform" "high" $"expected low <= high, got low = {low}, high = {high}."

        Tensor(Array.copy shape, rng.Uniforms(Guard.size shape) |> Array.map (fun u -> low + (high - low) * u))

    // ---- elementwise ----

    /// <summary>Applies <paramref name="f"/> to every element.</summary>
    member _.Map(f: Func<float, float>) =
        Guard.notNull "Tensor.Map" "f" f

        Tensor(shape, Array.map f.Invoke data)

    static member internal MapRaw (f: float -> float) (t: Tensor) = Tensor(t.Dims, Array.map f t.Data)

    /// The operand of an operator, checked: an ArgumentNullException-style message naming the operator, not a
    /// NullReferenceException from inside it.
    static member internal Operand (fn: string) (name: string) (t: Tensor) =
        Guard.notNull fn name t

        t

    /// Elementwise binary operation with numpy broadcasting.
    static member internal Broadcast2 (fn: string) (f: float -> float -> float) (a: Tensor) (b: Tensor) =
        let a = Tensor.Operand fn "a" a
        let b = Tensor.Operand fn "b" b
        let sa = a.Dims
        let sb = b.Dims

        if sa = sb then
            Tensor(sa, Array.map2 f a.Data b.Data)
        elif b.Data.Length = 1 && sb.Length <= sa.Length then
            let v = b.Data.[0]
            let outShape = broadcastShape fn sa sb
            Tensor(outShape, Array.map (fun x -> f x v) a.Data)
        elif a.Data.Length = 1 && sa.Length <= sb.Length then
            let v = a.Data.[0]
            let outShape = broadcastShape fn sa sb
            Tensor(outShape, Array.map (fun y -> f v y) b.Data)
        else
            let outShape = broadcastShape fn sa sb
            let r = outShape.Length
            let stA = broadcastStrides sa r
            let stB = broadcastStrides sb r
            let n = Guard.elements fn "b" outShape
            let res = Array.zeroCreate n
            let idx = Array.zeroCreate r
            let ad = a.Data
            let bd = b.Data

            for k in 0 .. n - 1 do
                let mutable oa = 0
                let mutable ob = 0

                for d in 0 .. r - 1 do
                    oa <- oa + idx.[d] * stA.[d]
                    ob <- ob + idx.[d] * stB.[d]

                res.[k] <- f ad.[oa] bd.[ob]
                odometerStep outShape idx

            Tensor(outShape, res)

    /// True when both are non-null tensors of the same shape: the vectorized path (TensorPrimitives computes each
    /// element with the same single IEEE operation as the scalar loop, so the bits are the same).
    static member internal SameShape(a: Tensor, b: Tensor) =
        not (isNull (box a)) && not (isNull (box b)) && a.Dims = b.Dims

    /// <summary>Elementwise sum with numpy broadcasting.</summary>
    static member (+)(a: Tensor, b: Tensor) =
        if Tensor.SameShape(a, b) then
            let r = GC.AllocateUninitializedArray a.Data.Length
            TensorPrimitives.Add(ReadOnlySpan a.Data, ReadOnlySpan b.Data, Span r)
            Tensor(a.Dims, r)
        else
            Tensor.Broadcast2 "Tensor.Add" (+) a b

    /// <summary>Elementwise difference with numpy broadcasting.</summary>
    static member (-)(a: Tensor, b: Tensor) =
        if Tensor.SameShape(a, b) then
            let r = GC.AllocateUninitializedArray a.Data.Length
            TensorPrimitives.Subtract(ReadOnlySpan a.Data, ReadOnlySpan b.Data, Span r)
            Tensor(a.Dims, r)
        else
            Tensor.Broadcast2 "Tensor.Subtract" (-) a b

    /// <summary>Elementwise product with numpy broadcasting.</summary>
    static member (*)(a: Tensor, b: Tensor) =
        if Tensor.SameShape(a, b) then
            let r = GC.AllocateUninitializedArray a.Data.Length
            TensorPrimitives.Multiply(ReadOnlySpan a.Data, ReadOnlySpan b.Data, Span r)
            Tensor(a.Dims, r)
        else
            Tensor.Broadcast2 "Tensor.Multiply" (*) a b

    /// <summary>Elementwise quotient with numpy broadcasting.</summary>
    static member (/)(a: Tensor, b: Tensor) =
        Tensor.Broadcast2 "Tensor.Divide" (/) a b

    /// <summary>Adds a scalar to every element.</summary>
    static member (+)(a: Tensor, s: float) =
        let a = Tensor.Operand "Tensor.Add" "a" a
        let r = GC.AllocateUninitializedArray a.Data.Length
        TensorPrimitives.Add(ReadOnlySpan a.Data, s, Span r)
        Tensor(a.Dims, r)

    /// <summary>Subtracts a scalar from every element.</summary>
    static member (-)(a: Tensor, s: float) =
        Tensor.MapRaw (fun x -> x - s) (Tensor.Operand "Tensor.Subtract" "a" a)

    /// <summary>Multiplies every element by a scalar.</summary>
    static member (*)(a: Tensor, s: float) =
        let a = Tensor.Operand "Tensor.Multiply" "a" a
        let r = GC.AllocateUninitializedArray a.Data.Length
        TensorPrimitives.Multiply(ReadOnlySpan a.Data, s, Span r)
        Tensor(a.Dims, r)

    /// <summary>Divides every element by a scalar.</summary>
    static member (/)(a: Tensor, s: float) =
        Tensor.MapRaw (fun x -> x / s) (Tensor.Operand "Tensor.Divide" "a" a)

    /// <summary>Adds a scalar to every element.</summary>
    static member (+)(s: float, a: Tensor) = a + s

    /// <summary>Subtracts every element from a scalar.</summary>
    static member (-)(s: float, a: Tensor) =
        Tensor.MapRaw (fun x -> s - x) (Tensor.Operand "Tensor.Subtract" "a" a)

    /// <summary>Multiplies every element by a scalar.</summary>
    static member (*)(s: float, a: Tensor) = a * s

    /// <summary>Divides a scalar by every element.</summary>
    static member (/)(s: float, a: Tensor) =
        Tensor.MapRaw (fun x -> s / x) (Tensor.Operand "Tensor.Divide" "a" a)

    /// <summary>Negates every element.</summary>
    static member (~-)(a: Tensor) =
        Tensor.MapRaw (fun x -> -x) (Tensor.Operand "Tensor.Negate" "a" a)

    /// <summary>Elementwise maximum with numpy broadcasting; NaN where either holds NaN (NumPy's <c>maximum</c>).</summary>
    static member Maximum(a: Tensor, b: Tensor) =
        Tensor.Broadcast2 "Tensor.Maximum" max a b

    /// <summary>Elementwise e^x.</summary>
    member this.Exp() = Tensor.MapRaw exp this
    /// <summary>Elementwise natural logarithm.</summary>
    member this.Log() = Tensor.MapRaw log this
    /// <summary>Elementwise square root.</summary>
    member this.Sqrt() = Tensor.MapRaw sqrt this
    /// <summary>Elementwise absolute value.</summary>
    member this.Abs() = Tensor.MapRaw abs this

    // ---- shape operations ----

    /// <summary>The same elements in a new shape of equal size; one dimension may be -1 (inferred).</summary>
    member _.Reshape([<ParamArray>] newShape: int[]) =
        Guard.notNull "Tensor.Reshape" "shape" newShape

        let inferred = newShape |> Array.filter (fun d -> d = -1) |> Array.length

        if inferred > 1 || newShape |> Array.exists (fun d -> d < -1) then
            Guard.fail "Tensor.Reshape" "shape" $"invalid target shape {Guard.shapeText newShape}."

        // 64-bit: a product that wraps around in int32 could otherwise match the element count.
        let known = newShape |> Array.filter (fun d -> d <> -1) |> Guard.count64

        let target =
            if inferred = 1 then
                if known = 0L || int64 data.Length % known <> 0L then
                    Guard.fail
                        "Tensor.Reshape"
                        "shape"
                        $"cannot reshape {Guard.shapeText shape} ({data.Length} elements) to {Guard.shapeText newShape}."

                newShape
                |> Array.map (fun d -> if d = -1 then int (int64 data.Length / known) else d)
            else
                Array.copy newShape

        if Guard.count64 target <> int64 data.Length then
            let n = Guard.count64 target
            let count = if n = Int64.MaxValue then "more than 9.2e18" else $"{n}"

            Guard.fail
                "Tensor.Reshape"
                "shape"
                $"cannot reshape {Guard.shapeText shape} ({data.Length} elements) to {Guard.shapeText newShape} ({count} elements)."

        Tensor(target, data)

    /// <summary>The axes permuted: axis i of the result is axis <c>axes[i]</c> of this tensor. With no axes, reverses them.</summary>
    member this.Transpose([<ParamArray>] axes: int[]) =
        let r = shape.Length

        let axes =
            if isNull (box axes) || axes.Length = 0 then
                Array.init r (fun i -> r - 1 - i)
            else
                axes |> Array.map (fun a -> if a < 0 then a + r else a)

        if axes.Length <> r || (Array.sort axes) <> Array.init r id then
            Guard.fail
                "Tensor.Transpose"
                "axes"
                $"axes {Guard.shapeText axes} are not a permutation of the {r} axes of shape {Guard.shapeText shape}."

        if axes = Array.init r id then
            this
        else
            let outShape = axes |> Array.map (fun a -> shape.[a])
            let st = Guard.rowMajorStrides shape
            let srcStride = axes |> Array.map (fun a -> st.[a])
            let n = data.Length
            let res = Array.zeroCreate n
            let idx = Array.zeroCreate r

            for k in 0 .. n - 1 do
                let mutable off = 0

                for d in 0 .. r - 1 do
                    off <- off + idx.[d] * srcStride.[d]

                res.[k] <- data.[off]
                odometerStep outShape idx

            Tensor(outShape, res)

    /// <summary>Zero padding: <c>before[i]</c> and <c>after[i]</c> zeros are added on each side of axis i.</summary>
    member _.Pad(before: int[], after: int[]) =
        let r = shape.Length

        if
            isNull (box before)
            || isNull (box after)
            || before.Length <> r
            || after.Length <> r
        then
            Guard.fail "Tensor.Pad" "before" $"expected {r} pad widths on each side for shape {Guard.shapeText shape}."

        if Array.exists (fun p -> p < 0) before || Array.exists (fun p -> p < 0) after then
            Guard.fail
                "Tensor.Pad"
                "before"
                $"pad widths must be >= 0, got before {Guard.shapeText before}, after {Guard.shapeText after}."

        let wide =
            Array.init r (fun i -> int64 shape.[i] + int64 before.[i] + int64 after.[i])

        if Array.exists (fun d -> d > int64 Int32.MaxValue) wide then
            Guard.fail
                "Tensor.Pad"
                "after"
                $"padding {Guard.shapeText shape} by before {Guard.shapeText before}, after {Guard.shapeText after} gives a dimension of more than {Int32.MaxValue}."

        let outShape = Array.map int wide
        let outSt = Guard.rowMajorStrides outShape
        let res = Guard.allocate "Tensor.Pad" (Guard.elements "Tensor.Pad" "after" outShape)
        let idx = Array.zeroCreate r

        for k in 0 .. data.Length - 1 do
            let mutable off = 0

            for d in 0 .. r - 1 do
                off <- off + (idx.[d] + before.[d]) * outSt.[d]

            res.[off] <- data.[k]
            odometerStep shape idx

        Tensor(outShape, res)

    /// <summary>The elements with index in [start, stop) along <paramref name="axis"/>.</summary>
    member _.Slice(axis: int, start: int, stop: int) =
        let a = Guard.normAxis "Tensor.Slice" shape.Length axis

        if start < 0 || stop > shape.[a] || start > stop then
            Guard.fail
                "Tensor.Slice"
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

        Tensor(outShape, res)

    /// <summary>The rows (indices along axis 0) named by <paramref name="indices"/>, in that order.</summary>
    member _.Take(indices: int[]) =
        if shape.Length = 0 then
            Guard.fail "Tensor.Take" "this" "cannot take rows of a scalar."

        Guard.notNull "Tensor.Take" "indices" indices

        let inner = Guard.size shape.[1..]

        let res =
            Guard.allocate
                "Tensor.Take"
                (Guard.fits
                    "Tensor.Take"
                    "indices"
                    $"taking {indices.Length} rows of {Guard.shapeText shape}"
                    (int64 indices.Length * int64 inner))

        indices
        |> Array.iteri (fun j i ->
            if i < 0 || i >= shape.[0] then
                Guard.fail "Tensor.Take" "indices" $"row index {i} is out of range for shape {Guard.shapeText shape}."

            Array.blit data (i * inner) res (j * inner) inner)

        let outShape = Array.copy shape
        outShape.[0] <- indices.Length
        Tensor(outShape, res)

    /// <summary>The matrix product of an (m, k) and a (k, n) tensor: shape (m, n).</summary>
    static member MatMul(a: Tensor, b: Tensor) =
        let a = Tensor.Operand "Tensor.MatMul" "a" a
        let b = Tensor.Operand "Tensor.MatMul" "b" b
        Guard.rank "Tensor.MatMul" "a" 2 a.Dims
        Guard.rank "Tensor.MatMul" "b" 2 b.Dims

        if a.Dims.[1] <> b.Dims.[0] then
            Guard.fail
                "Tensor.MatMul"
                "b"
                $"inner dimensions differ: a is {Guard.shapeText a.Dims}, b is {Guard.shapeText b.Dims}."

        let m, k, n = a.Dims.[0], a.Dims.[1], b.Dims.[1]

        let c =
            Guard.allocate "Tensor.MatMul" (Guard.elements "Tensor.MatMul" "b" [| m; n |])

        Functional.Kernels.Gemm.run false false m n k a.Data 0 b.Data 0 c 0 false
        Tensor([| m; n |], c)

    // ---- reductions ----

    member internal _.Reduce
        (fn: string, axes: int[], keepDims: bool, init: float, step: float -> float -> float)
        : int[] * int[] * float[] =
        let r = shape.Length

        let axes =
            if isNull (box axes) || axes.Length = 0 then
                Array.init r id
            else
                axes |> Array.map (Guard.normAxis fn r) |> Array.distinct

        let reduced = Array.init r (fun i -> Array.contains i axes)
        let keptShape = Array.init r (fun i -> if reduced.[i] then 1 else shape.[i])
        let kst = Guard.rowMajorStrides keptShape
        let outSt = Array.init r (fun i -> if reduced.[i] then 0 else kst.[i])
        let res = Array.create (Guard.size keptShape) init
        let idx = Array.zeroCreate r

        for k in 0 .. data.Length - 1 do
            let mutable off = 0

            for d in 0 .. r - 1 do
                off <- off + idx.[d] * outSt.[d]

            res.[off] <- step res.[off] data.[k]
            odometerStep shape idx

        let outShape =
            if keepDims then
                keptShape
            else
                [|
                    for i in 0 .. r - 1 do
                        if not reduced.[i] then
                            shape.[i]
                |]

        outShape, axes, res

    /// <summary>Sum over the given axes (all axes when none are given); <paramref name="keepDims"/> keeps them with size 1.</summary>
    member this.Sum(axes: int[], keepDims: bool) =
        let s, _, res = this.Reduce("Tensor.Sum", axes, keepDims, 0.0, (+))
        Tensor(s, res)

    /// <summary>Mean over the given axes (all axes when none are given).</summary>
    member this.Mean(axes: int[], keepDims: bool) =
        let s, ax, res = this.Reduce("Tensor.Mean", axes, keepDims, 0.0, (+))
        let count = ax |> Array.fold (fun acc a -> acc * shape.[a]) 1

        if count = 0 then
            Guard.fail "Tensor.Mean" "axes" $"mean over an empty axis of shape {Guard.shapeText shape}."

        Tensor(s, res |> Array.map (fun v -> v / float count))

    /// <summary>Maximum over the given axes (all axes when none are given); NaN when the reduced elements hold one
    /// (NumPy's <c>max</c>).</summary>
    member this.Max(axes: int[], keepDims: bool) =
        let s, ax, res =
            this.Reduce("Tensor.Max", axes, keepDims, Double.NegativeInfinity, max)

        if ax |> Array.exists (fun a -> shape.[a] = 0) then
            Guard.fail "Tensor.Max" "axes" $"maximum over an empty axis of shape {Guard.shapeText shape}."

        Tensor(s, res)

    /// <summary>The sum of all elements.</summary>
    member _.SumAll() = Array.sum data

    /// <summary>
    /// Index of the maximum along <paramref name="axis"/> (the first one on ties), for every position of the other
    /// axes in row-major order. For an (N, C) score matrix and axis 1, the predicted class of each row. NaN counts as
    /// the maximum: the first NaN along the axis is returned (NumPy's <c>argmax</c>).
    /// </summary>
    member _.ArgMax(axis: int) : int[] =
        let a = Guard.normAxis "Tensor.ArgMax" shape.Length axis

        if shape.[a] = 0 then
            Guard.fail "Tensor.ArgMax" "axis" $"argmax over an empty axis of shape {Guard.shapeText shape}."

        let outer = Guard.size shape.[.. a - 1]
        let inner = Guard.size shape.[a + 1 ..]
        let len = shape.[a]

        Array.init (outer * inner) (fun j ->
            let o = j / inner
            let i = j % inner
            let mutable best = 0
            let mutable bv = data.[o * len * inner + i]

            for c in 1 .. len - 1 do
                let v = data.[(o * len + c) * inner + i]

                if v > bv || (Double.IsNaN v && not (Double.IsNaN bv)) then
                    bv <- v
                    best <- c

            best)

    /// <summary>
    /// True when the shapes are equal and every |a − b| ≤ atol + rtol·|b| (numpy's <c>allclose</c>).
    /// </summary>
    member _.AllClose(other: Tensor, rtol: float, atol: float) =
        let other = Tensor.Operand "Tensor.AllClose" "other" other

        shape = other.Dims
        && Array.forall2 (fun (x: float) (y: float) -> abs (x - y) <= atol + rtol * abs y) data other.Data

namespace Functional.FSharp

open System
open Functional

/// Pure functions over tensors, for F# code. Shapes are given as int arrays.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Tensor =
    /// A tensor of the given shape holding a copy of the data (row-major).
    let ofArray (shape: int[]) (data: float[]) = Tensor.FromArray(data, shape)

    /// A 2-D tensor from rows of equal length.
    let ofRows (rows: float[][]) =
        if isNull (box rows) || Array.exists (fun r -> isNull (box r)) rows then
            Guard.fail "Tensor.ofRows" "rows" "rows (and every row) must not be null."

        if rows.Length = 0 then
            Guard.fail "Tensor.ofRows" "rows" "expected at least one row."

        let w = rows.[0].Length

        rows
        |> Array.iteri (fun i r ->
            if r.Length <> w then
                Guard.fail "Tensor.ofRows" "rows" $"row {i} has length {r.Length}, expected {w}.")

        Guard.elements "Tensor.ofRows" "rows" [| rows.Length; w |] |> ignore
        Tensor.Wrap([| rows.Length; w |], Array.concat rows)

    /// A scalar tensor.
    let scalar (v: float) = Tensor.Scalar v
    /// Zeros of the given shape.
    let zeros (shape: int[]) = Tensor.Zeros shape
    /// Ones of the given shape.
    let ones (shape: int[]) = Tensor.Ones shape
    /// A constant tensor.
    let full (shape: int[]) (value: float) = Tensor.Full(value, shape)

    /// A tensor whose element at each multi-index is f index.
    let init (shape: int[]) (f: int[] -> float) =
        Guard.checkShape "Tensor.init" "shape" shape
        let n = Guard.size shape
        let st = Guard.rowMajorStrides shape

        Tensor.Wrap(
            Array.copy shape,
            Array.init n (fun k -> f (Array.init shape.Length (fun d -> (k / st.[d]) % shape.[d])))
        )

    /// numpy's linspace over the total size, reshaped row-major: how the course builds its fixed test inputs.
    let linspace (start: float) (stop: float) (shape: int[]) = Tensor.Linspace(start, stop, shape)
    /// Standard normal values times scale.
    let randn (rng: Rng) (scale: float) (shape: int[]) = Tensor.RandomNormal(rng, scale, shape)

    /// Uniform values in [low, high).
    let rand (rng: Rng) (low: float) (high: float) (shape: int[]) =
        Tensor.RandomUniform(rng, low, high, shape)

    /// The shape (a copy).
    let shape (t: Tensor) = Array.copy t.Dims
    /// The number of axes.
    let rank (t: Tensor) = t.Rank
    /// The number of elements.
    let size (t: Tensor) = t.Count
    /// The elements, row-major (a copy).
    let toArray (t: Tensor) = t.ToArray()
    /// The element at a multi-index.
    let get (index: int[]) (t: Tensor) = t.Item index
    /// The only element of a one-element tensor.
    let item (t: Tensor) = t.Item0

    /// Reshape (size checked; one dimension may be -1).
    let reshape (shape: int[]) (t: Tensor) = t.Reshape shape
    /// Permute the axes: axis i of the result is axis axes.[i] of t.
    let permute (axes: int[]) (t: Tensor) = t.Transpose axes
    /// Reverse the axes (the matrix transpose for rank 2).
    let transpose (t: Tensor) = t.Transpose [||]

    /// Zero padding with per-axis (before, after) widths.
    let pad (widths: (int * int)[]) (t: Tensor) =
        t.Pad(Array.map fst widths, Array.map snd widths)

    /// Elements with index in [start, stop) along an axis.
    let slice (axis: int) (start: int) (stop: int) (t: Tensor) = t.Slice(axis, start, stop)
    /// The rows (axis 0) at the given indices.
    let take (indices: int[]) (t: Tensor) = t.Take indices

    /// Elementwise function.
    let map (f: float -> float) (t: Tensor) =
        Tensor.MapRaw f (Tensor.Operand "Tensor.map" "t" t)

    /// Elementwise binary function with numpy broadcasting.
    let map2 (f: float -> float -> float) (a: Tensor) (b: Tensor) = Tensor.Broadcast2 "Tensor.map2" f a b
    /// Elementwise e^x.
    let exp (t: Tensor) = t.Exp()
    /// Elementwise natural logarithm.
    let log (t: Tensor) = t.Log()
    /// Elementwise square root.
    let sqrt (t: Tensor) = t.Sqrt()
    /// Elementwise absolute value.
    let abs (t: Tensor) = t.Abs()
    /// Elementwise maximum with broadcasting.
    let maximum (a: Tensor) (b: Tensor) = Tensor.Maximum(a, b)
    /// Multiply every element by a scalar.
    let scale (s: float) (t: Tensor) = t * s

    /// Sum over axes (all when empty), optionally keeping them with size 1.
    let sum (axes: int[]) (keepDims: bool) (t: Tensor) = t.Sum(axes, keepDims)
    /// Mean over axes (all when empty).
    let mean (axes: int[]) (keepDims: bool) (t: Tensor) = t.Mean(axes, keepDims)
    /// Maximum over axes (all when empty).
    let max (axes: int[]) (keepDims: bool) (t: Tensor) = t.Max(axes, keepDims)
    /// Sum of all elements.
    let sumAll (t: Tensor) = t.SumAll()
    /// Index of the maximum along an axis for each position of the other axes (first on ties).
    let argmax (axis: int) (t: Tensor) = t.ArgMax axis

    /// Matrix product of (m, k) and (k, n): (m, n).
    let matmul (a: Tensor) (b: Tensor) = Tensor.MatMul(a, b)
