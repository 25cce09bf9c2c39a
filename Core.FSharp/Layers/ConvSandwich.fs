namespace Functional

/// <summary>What the convolution → ReLU sandwich keeps (opaque).</summary>
type ConvReluCache = internal {
    Conv: ConvCache
    Relu: ReluCache
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the convolution → ReLU → max-pool sandwich keeps (opaque).</summary>
type ConvReluPoolCache = internal {
    Conv: ConvCache
    Relu: ReluCache
    Pool: MaxPoolCache
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open Functional
open Functional.Kernels

/// <summary>The convolution → ReLU sandwich layer (fast convolution).</summary>
[<RequireQualifiedAccess>]
module ConvRelu =
    /// <summary>
    /// Forward pass. x: (N, C, H, W); w: (F, C/groups, HH, WW); b: (F,). Returns out (N, F, H', W') and the cache.
    /// </summary>
    let forward (cfg: ConvConfig) (x: Tensor) (w: Tensor) (b: Tensor) : Tensor * ConvReluCache =
        // The ReLU is the convolution's epilogue: each image's output is rectified before the tensor is wrapped. The
        // cache keeps the rectified values, whose sign pattern (> 0) is the convolution output's.
        let out, cc = Conv.forwardWith "Conv.forward" ReluKernels.rectify cfg x w b
        out, { Conv = cc; Relu = { X = out } }

    /// <summary>Backward pass. dout: (N, F, H', W'). Returns dx (N, C, H, W), dw (F, C/groups, HH, WW), db (F,).</summary>
    let backward (dout: Tensor) (cache: ConvReluCache) : ConvGrads =
        Guard.notNull "ConvRelu.backward" "cache" cache

        Conv.backward (Relu.backward dout cache.Relu) cache.Conv

/// <summary>The convolution → ReLU → max-pool sandwich layer (fast convolution and pooling).</summary>
[<RequireQualifiedAccess>]
module ConvReluPool =
    /// <summary>
    /// Forward pass. x: (N, C, H, W); w: (F, C/groups, HH, WW); b: (F,). The convolution output (N, F, H', W') is
    /// pooled to (N, F, H'', W''). Returns that and the cache.
    /// </summary>
    let forward (conv: ConvConfig) (pool: PoolConfig) (x: Tensor) (w: Tensor) (b: Tensor) : Tensor * ConvReluPoolCache =
        // The ReLU is the convolution's epilogue (see ConvRelu.forward); the rectified tensor is then pooled.
        let r, cc = Conv.forwardWith "Conv.forward" ReluKernels.rectify conv x w b
        let out, pc = MaxPool.forward pool r

        out,
        {
            Conv = cc
            Relu = { X = r }
            Pool = pc
        }

    /// <summary>
    /// Backward pass. dout: (N, F, H'', W''). Returns dx (N, C, H, W), dw (F, C/groups, HH, WW), db (F,).
    /// </summary>
    let backward (dout: Tensor) (cache: ConvReluPoolCache) : ConvGrads =
        Guard.notNull "ConvReluPool.backward" "cache" cache

        // The ReLU's backward is the pooling backward's epilogue: each image's gradient is masked where the
        // convolution output was ≤ 0, before the tensor is wrapped.
        let kept = cache.Relu.X.Data

        let da =
            MaxPool.backwardWith
                "MaxPool.backward"
                (fun dx off len -> ReluKernels.maskedAt off len kept dx dx)
                dout
                cache.Pool

        Conv.backward da cache.Conv
