namespace Functional

/// <summary>What the affine forward pass keeps for its backward pass (opaque).</summary>
type AffineCache = internal {
    X: Tensor
    W: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>Gradients of the affine layer: <c>Dx</c> has x's shape (N, d1, …, dk), <c>Dw</c> (D, M), <c>Db</c> (M,).</summary>
type AffineGrads = {
    /// <summary>Gradient with respect to the input, shape (N, d1, …, dk).</summary>
    Dx: Tensor
    /// <summary>Gradient with respect to the weights, shape (D, M).</summary>
    Dw: Tensor
    /// <summary>Gradient with respect to the bias, shape (M,).</summary>
    Db: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open Functional
open Functional.Kernels

/// <summary>The fully connected (affine) layer: out = reshape(x, (N, D)) · w + b.</summary>
[<RequireQualifiedAccess>]
module Affine =
    let internal validate (fn: string) (x: Tensor) (w: Tensor) (b: Tensor) =
        if x.Rank < 1 then
            Guard.fail fn "x" $"x must have a batch axis (N, d1, ..., dk), got shape {Guard.shapeText x.Dims}."

        Guard.rank fn "w" 2 w.Dims
        let d = Guard.size x.Dims.[1..]

        if w.Dims.[0] <> d then
            Guard.fail
                fn
                "w"
                $"w must be (D, M) with D = {d} (the product of x's trailing dims {Guard.shapeText x.Dims}), got {Guard.shapeText w.Dims}."

        if b.Dims <> [| w.Dims.[1] |] then
            Guard.fail
                fn
                "b"
                $"b must have shape ({w.Dims.[1]},) to match w {Guard.shapeText w.Dims}, got {Guard.shapeText b.Dims}."

    /// <summary>
    /// Forward pass. x: (N, d1, …, dk), flattened to (N, D); w: (D, M); b: (M,). Returns out (N, M) and the cache.
    /// </summary>
    let forward (x: Tensor) (w: Tensor) (b: Tensor) : Tensor * AffineCache =
        validate "Affine.forward" x w b
        let n = x.Dims.[0]
        let d, m = w.Dims.[0], w.Dims.[1]
        let out = Array.zeroCreate (Guard.elements "Affine.forward" "w" [| n; m |])

        for i in 0 .. n - 1 do
            System.Array.Copy(b.Data, 0, out, i * m, m)

        Gemm.run false false n m d x.Data 0 w.Data 0 out 0 true
        Tensor.Wrap([| n; m |], out), { X = x; W = w }

    /// <summary>Backward pass. dout: (N, M). Returns dx (N, d1, …, dk), dw (D, M), db (M,).</summary>
    let backward (dout: Tensor) (cache: AffineCache) : AffineGrads =
        let x, w = cache.X, cache.W
        let n = x.Dims.[0]
        let d, m = w.Dims.[0], w.Dims.[1]

        if dout.Dims <> [| n; m |] then
            Guard.fail "Affine.backward" "dout" $"dout must have shape ({n}, {m}), got {Guard.shapeText dout.Dims}."

        // Both products overwrite their whole output (accumulate = false): no zeroing needed.
        let dx = System.GC.AllocateUninitializedArray(n * d)
        Gemm.run false true n d m dout.Data 0 w.Data 0 dx 0 false
        let dw = System.GC.AllocateUninitializedArray(d * m)
        Gemm.run true false d m n x.Data 0 dout.Data 0 dw 0 false
        let db = Array.zeroCreate m

        for i in 0 .. n - 1 do
            for j in 0 .. m - 1 do
                db.[j] <- db.[j] + dout.Data.[i * m + j]

        {
            Dx = Tensor.Wrap(Array.copy x.Dims, dx)
            Dw = Tensor.Wrap([| d; m |], dw)
            Db = Tensor.Wrap([| m |], db)
        }
