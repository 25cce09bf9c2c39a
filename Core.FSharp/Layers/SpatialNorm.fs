namespace Functional

/// <summary>What the spatial batch normalization forward pass keeps for its backward pass (opaque).</summary>
type SpatialBatchNormCache = internal {
    X: Tensor
    /// The statistics used: the batch's in training mode, the running ones in test mode.
    Mean: float[]
    Var: float[]
    Gamma: Tensor
    Eps: float
    Mode: Mode
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>
/// What the group normalization forward pass keeps for its backward pass (opaque); also the cache of instance
/// normalization and spatial layer normalization, which are group normalization with G = C and G = 1.
/// </summary>
type GroupNormCache = internal {
    Shape: int[]
    Groups: int
    Xhat: float[]
    InvStd: float[]
    Gamma: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open Functional
open Functional.Kernels

/// <summary>
/// Spatial (convolutional) batch normalization of x (N, C, H, W): each channel is normalized with statistics over
/// (N, H, W), then scaled by gamma[c] and shifted by beta[c] (gamma, beta: (C,)); running statistics (C,) as in
/// <c>BatchNorm</c>. Equal to batch normalization of x transposed to (N·H·W, C).
/// </summary>
/// <remarks>
/// Training mode needs N·H·W ≥ 2 values per channel (one value has variance 0): otherwise an ArgumentException.
/// </remarks>
[<RequireQualifiedAccess>]
module SpatialBatchNorm =
    /// <summary>
    /// Forward pass. x: (N, C, H, W); gamma, beta: (C,); state: running mean and variance, (C,) each. Returns out
    /// (N, C, H, W), the new state (the same state in test mode) and the cache.
    /// </summary>
    let forward
        (cfg: BatchNormConfig)
        (mode: Mode)
        (state: BatchNormState)
        (gamma: Tensor)
        (beta: Tensor)
        (x: Tensor)
        : Tensor * BatchNormState * SpatialBatchNormCache =
        let fn = "SpatialBatchNorm.forward"
        let n, c, s = NormCheck.batch fn cfg mode state gamma beta x 4 "C"

        if mode = Mode.Train && n * s < 2 then
            Guard.fail
                fn
                "x"
                $"training mode needs N*H*W >= 2 values per channel (the variance of one value is 0), got x of shape {Guard.shapeText x.Dims}; use Mode.Test for a single 1x1 sample."

        let out, state', mean, var =
            BatchNormStep.batchForward cfg mode state n c s x.Data gamma.Data beta.Data

        Tensor.Wrap(Array.copy x.Dims, out),
        state',
        {
            X = x
            Mean = mean
            Var = var
            Gamma = gamma
            Eps = cfg.Eps
            Mode = mode
        }

    /// <summary>Backward pass (closed form). dout: (N, C, H, W). Returns Dx (N, C, H, W), Dgamma (C,), Dbeta (C,).</summary>
    let backward (dout: Tensor) (cache: SpatialBatchNormCache) : NormGrads =
        Guard.notNull "SpatialBatchNorm.backward" "cache" cache
        let shape = cache.X.Dims
        Guard.notNull "SpatialBatchNorm.backward" "dout" dout
        Guard.upstream "SpatialBatchNorm.backward" shape dout.Dims
        let n, c, s = shape.[0], shape.[1], shape.[2] * shape.[3]

        let dx, dgamma, dbeta =
            NormKernels.channelBackward
                n
                c
                s
                dout.Data
                cache.X.Data
                cache.Mean
                cache.Var
                cache.Eps
                cache.Gamma.Data
                (cache.Mode = Mode.Train)

        {
            Dx = Tensor.Wrap(Array.copy shape, dx)
            Dgamma = Tensor.Wrap([| c |], dgamma)
            Dbeta = Tensor.Wrap([| c |], dbeta)
        }

/// <summary>
/// Spatial group normalization of x (N, C, H, W) with G groups: the C channels are split into G consecutive groups
/// of C/G channels; each sample's group is normalized with its own mean and biased variance over its C/G channels
/// and (H, W), then each channel is scaled by gamma[c] and shifted by beta[c].
/// </summary>
/// <remarks>
/// gamma and beta have shape (C,) or, as in the course, (1, C, 1, 1) (both the same); Dgamma and Dbeta come back
/// in gamma's shape. C must be divisible by G. The same computation in training and test mode (no mode, no state); N = 1 is fine. A group of a single value
/// (C/G·H·W = 1) has variance 0 and outputs beta. G = C is instance normalization
/// (<c>InstanceNorm</c>), G = 1 is layer normalization over (C, H, W)
/// (<c>SpatialLayerNorm</c>).
/// </remarks>
[<RequireQualifiedAccess>]
module GroupNorm =
    let internal run (fn: string) (eps: float) (groups: int) (gamma: Tensor) (beta: Tensor) (x: Tensor) =
        NormCheck.eps fn eps
        Guard.notNull fn "x" x
        Guard.rank fn "x" 4 x.Dims
        NormCheck.nonEmpty fn "x" x
        let n, c, s = x.Dims.[0], x.Dims.[1], x.Dims.[2] * x.Dims.[3]

        if groups < 1 then
            Guard.fail fn "groups" $"the number of groups G must be >= 1, got {groups}."

        if c % groups <> 0 then
            Guard.fail
                fn
                "groups"
                $"the C = {c} channels of x {Guard.shapeText x.Dims} cannot be split into G = {groups} equal groups (C must be divisible by G)."

        Guard.notNull fn "gamma" gamma
        Guard.notNull fn "beta" beta

        let course = [| 1; c; 1; 1 |]

        if (gamma.Dims = course || beta.Dims = course) && gamma.Dims <> beta.Dims then
            Guard.fail
                fn
                "beta"
                $"gamma and beta must have the same shape, (C,) or the course's (1, C, 1, 1); got {Guard.shapeText gamma.Dims} and {Guard.shapeText beta.Dims}."

        // The course's (1, C, 1, 1) parameters are read as (C,) (the same values in the same order); the gradients
        // come back in gamma's shape.
        let asVector (t: Tensor) =
            if t.Dims = course then Tensor.Wrap([| c |], t.Data) else t

        NormCheck.affine fn "C" c (asVector gamma) (asVector beta)
        let k = c / groups
        let l = k * s
        let channelOf row j = (row % groups) * k + j / s

        let xhat, out, invStd =
            NormKernels.rowForward (n * groups) l channelOf x.Data eps gamma.Data beta.Data

        Tensor.Wrap(Array.copy x.Dims, out),
        {
            Shape = Array.copy x.Dims
            Groups = groups
            Xhat = xhat
            InvStd = invStd
            Gamma = gamma
        }

    let internal runBackward (fn: string) (dout: Tensor) (cache: GroupNormCache) : NormGrads =
        Guard.notNull fn "cache" cache
        Guard.notNull fn "dout" dout
        Guard.upstream fn cache.Shape dout.Dims
        let n, c, s = cache.Shape.[0], cache.Shape.[1], cache.Shape.[2] * cache.Shape.[3]
        let groups = cache.Groups
        let k = c / groups
        let channelOf row j = (row % groups) * k + j / s

        let dx, dgamma, dbeta =
            NormKernels.rowBackward (n * groups) (k * s) c channelOf dout.Data cache.Xhat cache.InvStd cache.Gamma.Data

        {
            Dx = Tensor.Wrap(Array.copy cache.Shape, dx)
            Dgamma = Tensor.Wrap(Array.copy cache.Gamma.Dims, dgamma)
            Dbeta = Tensor.Wrap(Array.copy cache.Gamma.Dims, dbeta)
        }

    /// <summary>
    /// Forward pass. eps &gt; 0 (the course uses 1e-5); groups: G ≥ 1 dividing C; gamma, beta: (C,) or the course's
    /// (1, C, 1, 1), both the same;
    /// x: (N, C, H, W). Returns out (N, C, H, W) and the cache.
    /// </summary>
    let forward (eps: float) (groups: int) (gamma: Tensor) (beta: Tensor) (x: Tensor) : Tensor * GroupNormCache =
        run "GroupNorm.forward" eps groups gamma beta x

    /// <summary>Backward pass. dout: (N, C, H, W). Returns Dx (N, C, H, W), Dgamma (C,), Dbeta (C,).</summary>
    let backward (dout: Tensor) (cache: GroupNormCache) : NormGrads =
        runBackward "GroupNorm.backward" dout cache

/// <summary>
/// Instance normalization of x (N, C, H, W): each (sample, channel) plane is normalized over (H, W), then scaled by
/// gamma[c] and shifted by beta[c] (both (C,)). Group normalization with G = C.
/// </summary>
[<RequireQualifiedAccess>]
module InstanceNorm =
    /// <summary>Forward pass. eps &gt; 0; gamma, beta: (C,); x: (N, C, H, W). Returns out (N, C, H, W) and the cache.</summary>
    let forward (eps: float) (gamma: Tensor) (beta: Tensor) (x: Tensor) : Tensor * GroupNormCache =
        let c = if isNull (box x) || x.Rank <> 4 then 1 else x.Dims.[1]

        GroupNorm.run "InstanceNorm.forward" eps (max c 1) gamma beta x

    /// <summary>Backward pass. dout: (N, C, H, W). Returns Dx (N, C, H, W), Dgamma (C,), Dbeta (C,).</summary>
    let backward (dout: Tensor) (cache: GroupNormCache) : NormGrads =
        GroupNorm.runBackward "InstanceNorm.backward" dout cache

/// <summary>
/// Layer normalization of a spatial x (N, C, H, W): each sample is normalized over all of (C, H, W), then each
/// channel is scaled by gamma[c] and shifted by beta[c] (both (C,)). Group normalization with G = 1.
/// </summary>
[<RequireQualifiedAccess>]
module SpatialLayerNorm =
    /// <summary>Forward pass. eps &gt; 0; gamma, beta: (C,); x: (N, C, H, W). Returns out (N, C, H, W) and the cache.</summary>
    let forward (eps: float) (gamma: Tensor) (beta: Tensor) (x: Tensor) : Tensor * GroupNormCache =
        GroupNorm.run "SpatialLayerNorm.forward" eps 1 gamma beta x

    /// <summary>Backward pass. dout: (N, C, H, W). Returns Dx (N, C, H, W), Dgamma (C,), Dbeta (C,).</summary>
    let backward (dout: Tensor) (cache: GroupNormCache) : NormGrads =
        GroupNorm.runBackward "SpatialLayerNorm.backward" dout cache
