namespace Functional

/// <summary>
/// Batch normalization hyper-parameters (the course's <c>bn_param</c> without the mode and the running statistics,
/// which are explicit arguments and values here).
/// </summary>
[<NoComparison>]
type BatchNormConfig = {
    /// <summary>Added to the variance before the square root; finite and &gt; 0 (default 1e-5).</summary>
    Eps: float
    /// <summary>
    /// Weight of the old running statistics in the update running = momentum · running + (1 − momentum) · batch;
    /// in [0, 1] (default 0.9).
    /// </summary>
    Momentum: float
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

    /// <summary>The course's defaults: eps = 1e-5, momentum = 0.9.</summary>
    static member Default = { Eps = 1e-5; Momentum = 0.9 }

/// <summary>
/// The running statistics of a batch normalization layer, both of shape (D,) (or (C,) for the spatial variant):
/// a value passed into the forward pass and returned, updated, in training mode. Nothing is mutated.
/// </summary>
type BatchNormState = {
    /// <summary>Running mean of each feature (or channel), shape (D,).</summary>
    RunningMean: Tensor
    /// <summary>Running (biased) variance of each feature (or channel), shape (D,).</summary>
    RunningVar: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

    /// <summary>
    /// The initial state for <paramref name="d"/> features: running mean and running variance both zeros, as the
    /// course's <c>bn_param.get('running_var', np.zeros(D))</c>, so results line up with the course's numbers.
    /// </summary>
    static member Initial(d: int) : BatchNormState =
        if d < 1 then
            Guard.fail "BatchNormState.Initial" "d" $"the number of features must be >= 1, got {d}."

        {
            RunningMean = Tensor.Zeros [| d |]
            RunningVar = Tensor.Zeros [| d |]
        }

/// <summary>
/// Gradients of a normalization layer: <c>Dx</c> has the input's shape, <c>Dgamma</c> and <c>Dbeta</c> the shape
/// of gamma and beta ((D,) or (C,)).
/// </summary>
type NormGrads = {
    /// <summary>Gradient with respect to the input x (x's shape).</summary>
    Dx: Tensor
    /// <summary>Gradient with respect to the scale gamma (gamma's shape).</summary>
    Dgamma: Tensor
    /// <summary>Gradient with respect to the shift beta (beta's shape).</summary>
    Dbeta: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the batch normalization forward pass keeps for its backward passes (opaque).</summary>
type BatchNormCache = internal {
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

/// <summary>What the layer normalization forward pass keeps for its backward pass (opaque).</summary>
type LayerNormCache = internal {
    Shape: int[]
    Xhat: float[]
    InvStd: float[]
    Gamma: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open System
open Functional
open Functional.Kernels

/// Argument checks shared by the normalization layers.
module internal NormCheck =
    let eps (fn: string) (e: float) =
        if Double.IsNaN e || Double.IsInfinity e || e <= 0.0 then
            Guard.fail fn "eps" $"eps must be finite and > 0, got {e}."

    let momentum (fn: string) (m: float) =
        if Double.IsNaN m || m < 0.0 || m > 1.0 then
            Guard.fail fn "momentum" $"momentum must be in [0, 1], got {m}."

    let nonEmpty (fn: string) (arg: string) (t: Tensor) =
        if t.Dims |> Array.exists (fun d -> d < 1) then
            Guard.fail fn arg $"every dimension of {arg} must be >= 1, got shape {Guard.shapeText t.Dims}."

    /// gamma and beta must both have shape (d,); `what` says what d counts ("D" or "C").
    let affine (fn: string) (what: string) (d: int) (gamma: Tensor) (beta: Tensor) =
        Guard.notNull fn "gamma" gamma
        Guard.notNull fn "beta" beta

        for name, t in [ "gamma", gamma; "beta", beta ] do
            if t.Dims <> [| d |] then
                Guard.fail fn name $"{name} must have shape ({what},) = ({d},), got {Guard.shapeText t.Dims}."

    let state (fn: string) (d: int) (s: BatchNormState) =
        Guard.notNull fn "state" s
        Guard.notNull fn "state" s.RunningMean
        Guard.notNull fn "state" s.RunningVar

        for name, t in [ "RunningMean", s.RunningMean; "RunningVar", s.RunningVar ] do
            if t.Dims <> [| d |] then
                Guard.fail fn "state" $"state.{name} must have shape ({d},), got {Guard.shapeText t.Dims}."

    /// The checks of batch and spatial batch normalization's forward passes: configuration and mode, x of the given
    /// rank with every dimension >= 1, gamma, beta and the state of x's channel count (dimension 1, called `what`).
    /// Returns (N, C, S), S the product of x's dimensions after the channel's.
    let batch
        (fn: string)
        (cfg: BatchNormConfig)
        (m: Mode)
        (st: BatchNormState)
        (gamma: Tensor)
        (beta: Tensor)
        (x: Tensor)
        (rank: int)
        (what: string)
        =
        Guard.notNull fn "cfg" cfg
        eps fn cfg.Eps
        momentum fn cfg.Momentum
        Guard.mode fn m
        Guard.notNull fn "x" x
        Guard.rank fn "x" rank x.Dims
        nonEmpty fn "x" x
        let n, c = x.Dims.[0], x.Dims.[1]
        affine fn what c gamma beta
        state fn c st
        n, c, Array.fold (*) 1 x.Dims.[2..]


/// Batch normalization's forward pass with its running statistics, shared by the (N, D) and spatial layers.
module internal BatchNormStep =
    /// Batch normalization's forward pass over x viewed as (n, c, s), with its state: in training mode the batch's
    /// statistics, and the new running ones running = momentum · running + (1 − momentum) · batch; in test mode the
    /// running statistics, and the state unchanged. Returns out, the new state, and the mean and variance used.
    let batchForward
        (cfg: BatchNormConfig)
        (mode: Mode)
        (state: BatchNormState)
        (n: int)
        (c: int)
        (s: int)
        (x: float[])
        (gamma: float[])
        (beta: float[])
        =
        let train = mode = Mode.Train

        let given =
            if train then
                None
            else
                Some(state.RunningMean.Data, state.RunningVar.Data)

        let mean, var, out = NormKernels.channelForward n c s x given cfg.Eps gamma beta

        let state' =
            if train then
                let m = cfg.Momentum

                let ema (running: Tensor) (batch: float[]) =
                    Tensor.Wrap([| c |], Array.map2 (fun r b -> m * r + (1.0 - m) * b) running.Data batch)

                {
                    RunningMean = ema state.RunningMean mean
                    RunningVar = ema state.RunningVar var
                }
            else
                state

        out, state', mean, var

/// <summary>
/// Batch normalization over a minibatch x of shape (N, D): each feature is normalized with statistics over the
/// batch axis, then scaled by gamma and shifted by beta (both (D,)).
/// </summary>
/// <remarks>
/// Training mode normalizes with the batch mean and biased variance and returns the new running statistics
/// running = momentum · running + (1 − momentum) · batch (the biased batch variance, as in the course). Test mode
/// normalizes with the running statistics and returns the state unchanged. Nothing is mutated.
/// Training mode needs N ≥ 2: the variance of a single sample is 0, so every output would be beta whatever the
/// input; a batch of one raises an ArgumentException instead (test mode accepts N = 1).
/// </remarks>
[<RequireQualifiedAccess>]
module BatchNorm =
    let internal validate
        (fn: string)
        (cfg: BatchNormConfig)
        (mode: Mode)
        (state: BatchNormState)
        (gamma: Tensor)
        (beta: Tensor)
        (x: Tensor)
        =
        let n, d, _ = NormCheck.batch fn cfg mode state gamma beta x 2 "D"

        if mode = Mode.Train && n < 2 then
            Guard.fail
                fn
                "x"
                $"training mode needs a batch of N >= 2 samples (the batch variance of one sample is 0), got x of shape {Guard.shapeText x.Dims}; use Mode.Test for single samples."

        n, d

    /// <summary>
    /// Forward pass. x: (N, D); gamma, beta: (D,); state: running mean and variance, (D,) each. Returns out (N, D),
    /// the new state (the same state in test mode) and the cache for <c>backward</c> and
    /// <c>backwardAlt</c>.
    /// </summary>
    let forward
        (cfg: BatchNormConfig)
        (mode: Mode)
        (state: BatchNormState)
        (gamma: Tensor)
        (beta: Tensor)
        (x: Tensor)
        : Tensor * BatchNormState * BatchNormCache =
        let n, d = validate "BatchNorm.forward" cfg mode state gamma beta x

        let out, state', mean, var =
            BatchNormStep.batchForward cfg mode state n d 1 x.Data gamma.Data beta.Data

        Tensor.Wrap([| n; d |], out),
        state',
        {
            X = x
            Mean = mean
            Var = var
            Gamma = gamma
            Eps = cfg.Eps
            Mode = mode
        }

    /// <summary>
    /// Backward pass through the full computation graph, node by node as in the course's staged derivation:
    /// mu → xmu = x − mu → sq = xmu² → var = mean(sq) → sqrtvar = √(var + eps) → ivar = 1/sqrtvar → xhat = xmu · ivar
    /// → out = gamma · xhat + beta. dout: (N, D). Returns Dx (N, D), Dgamma (D,), Dbeta (D,). In test mode the
    /// running statistics are constants, so dx = dout · gamma · ivar.
    /// </summary>
    let backward (dout: Tensor) (cache: BatchNormCache) : NormGrads =
        Guard.notNull "BatchNorm.backward" "cache" cache
        let x = cache.X
        Guard.notNull "BatchNorm.backward" "dout" dout
        Guard.upstream "BatchNorm.backward" x.Dims dout.Dims
        let n, d = x.Dims.[0], x.Dims.[1]
        let mu = Tensor.Wrap([| d |], cache.Mean)
        let var = Tensor.Wrap([| d |], cache.Var)
        // The forward graph, recomputed from the cached statistics.
        let xmu = x - mu
        let sqrtvar = Tensor.sqrt (var + cache.Eps)
        let ivar = 1.0 / sqrtvar
        let xhat = xmu * ivar
        // out = gammax + beta, gammax = gamma · xhat
        let dbeta = Tensor.sum [| 0 |] false dout
        let dgamma = Tensor.sum [| 0 |] false (dout * xhat)
        let dxhat = dout * cache.Gamma

        let dx =
            if cache.Mode = Mode.Test then
                dxhat * ivar
            else
                // xhat = xmu · ivar
                let divar = Tensor.sum [| 0 |] false (dxhat * xmu)
                let dxmu1 = dxhat * ivar
                // ivar = 1 / sqrtvar; sqrtvar = √(var + eps)
                let dsqrtvar = -1.0 / (sqrtvar * sqrtvar) * divar
                let dvar = 0.5 / sqrtvar * dsqrtvar
                // var = (1/N) Σ_n sq; sq = xmu²
                let dsq = Tensor.ones [| n; d |] * (dvar / float n)
                let dxmu2 = 2.0 * xmu * dsq
                // xmu = x − mu; mu = (1/N) Σ_n x
                let dx1 = dxmu1 + dxmu2
                let dmu = -(Tensor.sum [| 0 |] false dx1)
                let dx2 = Tensor.ones [| n; d |] * (dmu / float n)
                dx1 + dx2

        {
            Dx = dx
            Dgamma = dgamma
            Dbeta = dbeta
        }

    /// <summary>
    /// Backward pass in the simplified closed form
    /// dx = gamma / √(var + eps) · (dout − mean_n(dout) − xhat · mean_n(dout · xhat)), one fused pass.
    /// dout: (N, D). Returns Dx (N, D), Dgamma (D,), Dbeta (D,); equal to <c>backward</c> up to round-off.
    /// </summary>
    let backwardAlt (dout: Tensor) (cache: BatchNormCache) : NormGrads =
        Guard.notNull "BatchNorm.backwardAlt" "cache" cache
        let dims = cache.X.Dims
        Guard.notNull "BatchNorm.backwardAlt" "dout" dout
        Guard.upstream "BatchNorm.backwardAlt" dims dout.Dims
        let n, d = dims.[0], dims.[1]

        let dx, dgamma, dbeta =
            NormKernels.channelBackward
                n
                d
                1
                dout.Data
                cache.X.Data
                cache.Mean
                cache.Var
                cache.Eps
                cache.Gamma.Data
                (cache.Mode = Mode.Train)

        {
            Dx = Tensor.Wrap([| n; d |], dx)
            Dgamma = Tensor.Wrap([| d |], dgamma)
            Dbeta = Tensor.Wrap([| d |], dbeta)
        }

/// <summary>
/// Layer normalization of x (N, D): each sample is normalized with its own mean and biased variance over the D
/// features, then scaled by gamma and shifted by beta (both (D,)). The same computation in training and test mode,
/// so there is no mode and no state; N = 1 is fine. With D = 1 the variance is 0 and the output is beta.
/// </summary>
[<RequireQualifiedAccess>]
module LayerNorm =
    /// <summary>
    /// Forward pass. eps &gt; 0 (the course uses 1e-5); gamma, beta: (D,); x: (N, D). Returns out (N, D) and the cache.
    /// </summary>
    let forward (eps: float) (gamma: Tensor) (beta: Tensor) (x: Tensor) : Tensor * LayerNormCache =
        let fn = "LayerNorm.forward"
        NormCheck.eps fn eps
        Guard.notNull fn "x" x
        Guard.rank fn "x" 2 x.Dims
        NormCheck.nonEmpty fn "x" x
        let n, d = x.Dims.[0], x.Dims.[1]
        NormCheck.affine fn "D" d gamma beta

        let xhat, out, invStd =
            NormKernels.rowForward n d (fun _ j -> j) x.Data eps gamma.Data beta.Data

        Tensor.Wrap([| n; d |], out),
        {
            Shape = [| n; d |]
            Xhat = xhat
            InvStd = invStd
            Gamma = gamma
        }

    /// <summary>Backward pass. dout: (N, D). Returns Dx (N, D), Dgamma (D,), Dbeta (D,).</summary>
    let backward (dout: Tensor) (cache: LayerNormCache) : NormGrads =
        Guard.notNull "LayerNorm.backward" "cache" cache
        Guard.notNull "LayerNorm.backward" "dout" dout
        Guard.upstream "LayerNorm.backward" cache.Shape dout.Dims
        let n, d = cache.Shape.[0], cache.Shape.[1]

        let dx, dgamma, dbeta =
            NormKernels.rowBackward n d d (fun _ j -> j) dout.Data cache.Xhat cache.InvStd cache.Gamma.Data

        {
            Dx = Tensor.Wrap([| n; d |], dx)
            Dgamma = Tensor.Wrap([| d |], dgamma)
            Dbeta = Tensor.Wrap([| d |], dbeta)
        }
