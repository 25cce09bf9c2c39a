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

#nowarn "9" // native pointers in the ReLU kernels

open System
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop
open Functional

/// Branch-free ReLU loops (Vector256, then a scalar tail): with inputs of random sign a branch per element is
/// mispredicted half the time, which made the ReLU of a conv layer cost as much as its GEMM. The mask is
/// "not (keep ≤ 0)", so NaN passes through as in NumPy and PyTorch (<c>torch.relu(nan) = nan</c>; its backward,
/// <c>threshold_backward</c>, lets the gradient through where x is NaN) and −0 maps to +0. The same two instructions
/// per vector as a "keep &gt; 0" compare-and-AND: a compare and an AND-NOT.
module internal ReluKernels =
    /// dst[i] = src[i] unless keep[i] ≤ 0 (so where keep[i] is NaN too), else 0, for i < n (src and dst may be the
    /// same array).
    let masked (n: int) (keep: float[]) (src: float[]) (dst: float[]) =
        // The unchecked loops below read and write n elements of each: checked once per call, not per element.
        if n > keep.Length || n > src.Length || n > dst.Length then
            invalidOp
                $"internal: ReluKernels.masked over {n} elements of arrays of {keep.Length}, {src.Length}, {dst.Length}"

        if n > 0 then
            use pk = fixed keep
            use ps = fixed src
            use pd = fixed dst
            let mutable i = 0

            if Vector256.IsHardwareAccelerated then
                while i + 4 <= n do
                    let zeroOut =
                        Vector256.LessThanOrEqual(Vector256.Load(NativePtr.add pk i), Vector256<float>.Zero)

                    Vector256.Store(Vector256.AndNot(Vector256.Load(NativePtr.add ps i), zeroOut), NativePtr.add pd i)
                    i <- i + 4

            while i < n do
                NativePtr.set
                    pd
                    i
                    (if NativePtr.get pk i <= 0.0 then
                         0.0
                     else
                         NativePtr.get ps i)

                i <- i + 1

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
        if isNull (box x) then
            Guard.fail "Relu.forward" "x" "x must not be null."

        let d = x.Data
        let out = GC.AllocateUninitializedArray d.Length
        ReluKernels.masked d.Length d d out
        Tensor.Wrap(x.Dims, out), { X = x }

    /// <summary>
    /// Backward pass: dx = 0 where x ≤ 0 (the subgradient at 0 is 0), else dout, so where x is NaN the gradient
    /// passes through (PyTorch's <c>threshold_backward</c>).
    /// </summary>
    let backward (dout: Tensor) (cache: ReluCache) : Tensor =
        if isNull (box dout) then
            Guard.fail "Relu.backward" "dout" "dout must not be null."

        if isNull (box cache) then
            Guard.fail "Relu.backward" "cache" "cache must not be null."

        Guard.sameShape "Relu.backward" "cache" cache.X.Dims "dout" dout.Dims
        let g = dout.Data
        let dx = GC.AllocateUninitializedArray g.Length
        ReluKernels.masked g.Length cache.X.Data g dx
        Tensor.Wrap(dout.Dims, dx)

    /// ReLU applied in place to a tensor the caller has just created and nobody else holds (a fused sandwich's
    /// intermediate): saves allocating (and page-faulting) a second buffer of the same size. The cache keeps the
    /// rectified values, whose sign pattern (> 0) is the input's.
    let internal forwardOwned (x: Tensor) : Tensor * ReluCache =
        let d = x.Data
        ReluKernels.masked d.Length d d d
        x, { X = x }

    /// ReLU backward in place on an upstream gradient the caller has just created and nobody else holds.
    let internal backwardOwned (dout: Tensor) (cache: ReluCache) : Tensor =
        Guard.sameShape "Relu.backward" "cache" cache.X.Dims "dout" dout.Dims
        let g = dout.Data
        ReluKernels.masked g.Length cache.X.Data g g
        dout

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
