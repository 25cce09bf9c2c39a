namespace Functional

/// <summary>What the affine → ReLU sandwich keeps (opaque).</summary>
type AffineReluCache = internal {
    Affine: AffineCache
    Relu: ReluCache
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open Functional

/// <summary>The affine → ReLU sandwich layer.</summary>
[<RequireQualifiedAccess>]
module AffineRelu =
    /// <summary>Forward pass. x: (N, d1, …, dk); w: (D, M); b: (M,). Returns out (N, M) and the cache.</summary>
    let forward (x: Tensor) (w: Tensor) (b: Tensor) : Tensor * AffineReluCache =
        let a, fc = Affine.forward x w b
        let out, rc = Relu.forward a
        out, { Affine = fc; Relu = rc }

    /// <summary>Backward pass. dout: (N, M). Returns dx (N, d1, …, dk), dw (D, M), db (M,).</summary>
    let backward (dout: Tensor) (cache: AffineReluCache) : AffineGrads =
        Affine.backward (Relu.backward dout cache.Relu) cache.Affine
