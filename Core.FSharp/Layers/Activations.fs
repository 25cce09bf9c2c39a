namespace Functional

/// <summary>What the ReLU forward pass keeps (opaque): the input.</summary>
type ReluCache = internal { X: Tensor }

/// <summary>What the leaky ReLU forward pass keeps (opaque): the input and the slope.</summary>
type LeakyReluCache = internal { X: Tensor; Slope: float }

/// <summary>What the sigmoid forward pass keeps (opaque): the output.</summary>
type SigmoidCache = internal { Out: Tensor }

/// <summary>What the tanh forward pass keeps (opaque): the output.</summary>
type TanhCache = internal { Out: Tensor }

namespace Functional.FSharp

open System
open Functional

module internal Elementwise =
    let backward (fn: string) (dout: Tensor) (kept: Tensor) (f: float -> float -> float) =
        Guard.sameShape fn "cache" kept.Dims "dout" dout.Dims
        Tensor.Wrap(kept.Dims, Array.map2 f dout.Data kept.Data)

/// <summary>Rectified linear unit: out = max(0, x), any shape.</summary>
[<RequireQualifiedAccess>]
module Relu =
    /// <summary>Forward pass: out has x's shape.</summary>
    let forward (x: Tensor) : Tensor * ReluCache =
        Tensor.MapRaw (fun v -> if v > 0.0 then v else 0.0) x, { X = x }

    /// <summary>Backward pass: dx = dout where x &gt; 0, else 0 (the subgradient at 0 is 0).</summary>
    let backward (dout: Tensor) (cache: ReluCache) : Tensor =
        Elementwise.backward "Relu.backward" dout cache.X (fun g v -> if v > 0.0 then g else 0.0)

    /// ReLU applied in place to a tensor the caller has just created and nobody else holds (a fused sandwich's
    /// intermediate): saves allocating (and page-faulting) a second buffer of the same size. The cache keeps the
    /// rectified values, whose sign pattern (> 0) is the input's.
    let internal forwardOwned (x: Tensor) : Tensor * ReluCache =
        let d = x.Data

        for i in 0 .. d.Length - 1 do
            if not (d.[i] > 0.0) then
                d.[i] <- 0.0

        x, { X = x }

    /// ReLU backward in place on an upstream gradient the caller has just created and nobody else holds.
    let internal backwardOwned (dout: Tensor) (cache: ReluCache) : Tensor =
        Guard.sameShape "Relu.backward" "cache" cache.X.Dims "dout" dout.Dims
        let g = dout.Data
        let x = cache.X.Data

        for i in 0 .. g.Length - 1 do
            if not (x.[i] > 0.0) then
                g.[i] <- 0.0

        dout

/// <summary>Leaky ReLU: out = x where x &gt; 0, slope·x elsewhere.</summary>
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
