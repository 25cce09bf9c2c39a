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

/// <summary>The convolution → ReLU sandwich layer (fast convolution).</summary>
[<RequireQualifiedAccess>]
module ConvRelu =
    /// <summary>
    /// Forward pass. x: (N, C, H, W); w: (F, C/groups, HH, WW); b: (F,). Returns out (N, F, H', W') and the cache.
    /// </summary>
    let forward (cfg: ConvConfig) (x: Tensor) (w: Tensor) (b: Tensor) : Tensor * ConvReluCache =
        let a, cc = Conv.forward cfg x w b
        // a is fresh and private: rectify it in place (fused).
        let out, rc = Relu.forwardOwned a
        out, { Conv = cc; Relu = rc }

    /// <summary>Backward pass. dout: (N, F, H', W'). Returns dx (N, C, H, W), dw (F, C/groups, HH, WW), db (F,).</summary>
    let backward (dout: Tensor) (cache: ConvReluCache) : ConvGrads =
        if isNull (box cache) then
            Guard.fail "ConvRelu.backward" "cache" "cache must not be null."

        Conv.backward (Relu.backward dout cache.Relu) cache.Conv

/// <summary>The convolution → ReLU → max-pool sandwich layer (fast convolution and pooling).</summary>
[<RequireQualifiedAccess>]
module ConvReluPool =
    /// <summary>
    /// Forward pass. x: (N, C, H, W); w: (F, C/groups, HH, WW); b: (F,). The convolution output (N, F, H', W') is
    /// pooled to (N, F, H'', W''). Returns that and the cache.
    /// </summary>
    let forward (conv: ConvConfig) (pool: PoolConfig) (x: Tensor) (w: Tensor) (b: Tensor) : Tensor * ConvReluPoolCache =
        let a, cc = Conv.forward conv x w b
        // a is fresh and private: rectify it in place (fused), then pool it.
        let r, rc = Relu.forwardOwned a
        let out, pc = MaxPool.forward pool r
        out, { Conv = cc; Relu = rc; Pool = pc }

    /// <summary>
    /// Backward pass. dout: (N, F, H'', W''). Returns dx (N, C, H, W), dw (F, C/groups, HH, WW), db (F,).
    /// </summary>
    let backward (dout: Tensor) (cache: ConvReluPoolCache) : ConvGrads =
        if isNull (box cache) then
            Guard.fail "ConvReluPool.backward" "cache" "cache must not be null."

        // The pooling gradient is fresh and private: mask it in place (fused).
        Conv.backward (Relu.backwardOwned (MaxPool.backward dout cache.Pool) cache.Relu) cache.Conv
