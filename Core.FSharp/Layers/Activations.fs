namespace Functional

/// <summary>What the ReLU forward pass keeps (opaque): the input.</summary>
type ReluCache = internal {
    X: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the leaky ReLU forward pass keeps (opaque): the input and the slope.</summary>
type LeakyReluCache = internal {
    X: Tensor
    Slope: float
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the sigmoid forward pass keeps (opaque): the output.</summary>
type SigmoidCache = internal {
    Out: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the tanh forward pass keeps (opaque): the output.</summary>
type TanhCache = internal {
    Out: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open System
open Functional
open Functional.Kernels

module internal Elementwise =
    let backward (fn: string) (dout: Tensor) (kept: Tensor) (f: float -> float -> float) =
        Guard.sameShape fn "cache" kept.Dims "dout" dout.Dims
        Tensor.Wrap(kept.Dims, Array.map2 f dout.Data kept.Data)

/// <summary>
/// Rectified linear unit: out = max(0, x), any shape. NaN propagates (relu(NaN) = NaN, as in NumPy's
/// <c>np.maximum(0, x)</c> and PyTorch's <c>torch.relu</c>); −0 gives +0.
/// </summary>
[<RequireQualifiedAccess>]
module Relu =
    /// <summary>Forward pass: out has x's shape.</summary>
    let forward (x: Tensor) : Tensor * ReluCache =
        Guard.notNull "Relu.forward" "x" x

        let d = x.Data
        let out = GC.AllocateUninitializedArray d.Length
        ReluKernels.masked d.Length d d out
        Tensor.Wrap(x.Dims, out), { X = x }

    /// <summary>
    /// Backward pass: dx = 0 where x ≤ 0 (the subgradient at 0 is 0), else dout, so where x is NaN the gradient
    /// passes through (PyTorch's <c>threshold_backward</c>).
    /// </summary>
    let backward (dout: Tensor) (cache: ReluCache) : Tensor =
        Guard.notNull "Relu.backward" "dout" dout

        Guard.notNull "Relu.backward" "cache" cache

        Guard.sameShape "Relu.backward" "cache" cache.X.Dims "dout" dout.Dims
        let g = dout.Data
        let dx = GC.AllocateUninitializedArray g.Length
        ReluKernels.masked g.Length cache.X.Data g dx
        Tensor.Wrap(dout.Dims, dx)

/// <summary>Leaky ReLU: out = x where x &gt; 0, slope·x elsewhere (so NaN gives NaN).</summary>
[<RequireQualifiedAccess>]
module LeakyRelu =
    /// <summary>Forward pass with the given negative slope (e.g. 0.01): out has x's shape.</summary>
    let forward (slope: float) (x: Tensor) : Tensor * LeakyReluCache =
        Guard.finiteScalar "LeakyRelu.forward" "slope" slope
        Tensor.MapRaw (fun v -> if v > 0.0 then v else slope * v) x, { X = x; Slope = slope }

    /// <summary>Backward pass: dx = dout where x &gt; 0, slope·dout elsewhere.</summary>
    let backward (dout: Tensor) (cache: LeakyReluCache) : Tensor =
        let s = cache.Slope
        Elementwise.backward "LeakyRelu.backward" dout cache.X (fun g v -> if v > 0.0 then g else s * g)

/// <summary>Logistic sigmoid: out = 1 / (1 + e^-x), computed without overflow for large |x|.</summary>
[<RequireQualifiedAccess>]
module Sigmoid =
    /// The sigmoid of one value, stable for large |x|.
    let value (v: float) =
        if v >= 0.0 then
            1.0 / (1.0 + Math.Exp(-v))
        else
            let e = Math.Exp v
            e / (1.0 + e)

    /// <summary>Forward pass: out has x's shape.</summary>
    let forward (x: Tensor) : Tensor * SigmoidCache =
        let out = Tensor.MapRaw value x
        out, { Out = out }

    /// <summary>Backward pass: dx = dout · s · (1 − s).</summary>
    let backward (dout: Tensor) (cache: SigmoidCache) : Tensor =
        Elementwise.backward "Sigmoid.backward" dout cache.Out (fun g s -> g * s * (1.0 - s))

/// <summary>Hyperbolic tangent.</summary>
[<RequireQualifiedAccess>]
module Tanh =
    /// <summary>Forward pass: out has x's shape.</summary>
    let forward (x: Tensor) : Tensor * TanhCache =
        let out = Tensor.MapRaw Math.Tanh x
        out, { Out = out }

    /// <summary>Backward pass: dx = dout · (1 − t²).</summary>
    let backward (dout: Tensor) (cache: TanhCache) : Tensor =
        Elementwise.backward "Tanh.backward" dout cache.Out (fun g t -> g * (1.0 - t * t))
