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

#nowarn "9" // native pointers in the fused (N, D) batchnorm loops

open System
open System.Numerics.Tensors
open System.Runtime.Intrinsics
open System.Threading.Tasks
open Microsoft.FSharp.NativeInterop
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

    let mode (fn: string) (m: Mode) =
        if m <> Mode.Train && m <> Mode.Test then
            Guard.fail fn "mode" $"mode must be Mode.Train or Mode.Test, got {int m}."

    let notNull (fn: string) (arg: string) (v: objnull) =
        if isNull v then
            Guard.fail fn arg $"{arg} must not be null."

    let nonEmpty (fn: string) (arg: string) (t: Tensor) =
        if t.Dims |> Array.exists (fun d -> d < 1) then
            Guard.fail fn arg $"every dimension of {arg} must be >= 1, got shape {Guard.shapeText t.Dims}."

    /// gamma and beta must both have shape (d,); `what` says what d counts ("D" or "C").
    let affine (fn: string) (what: string) (d: int) (gamma: Tensor) (beta: Tensor) =
        notNull fn "gamma" (box gamma)
        notNull fn "beta" (box beta)

        for name, t in [ "gamma", gamma; "beta", beta ] do
            if t.Dims <> [| d |] then
                Guard.fail fn name $"{name} must have shape ({what},) = ({d},), got {Guard.shapeText t.Dims}."

    let state (fn: string) (d: int) (s: BatchNormState) =
        notNull fn "state" (box s)
        notNull fn "state" (box s.RunningMean)
        notNull fn "state" (box s.RunningVar)

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
        notNull fn "cfg" (box cfg)
        eps fn cfg.Eps
        momentum fn cfg.Momentum
        mode fn m
        notNull fn "x" (box x)
        Guard.rank fn "x" rank x.Dims
        nonEmpty fn "x" x
        let n, c = x.Dims.[0], x.Dims.[1]
        affine fn what c gamma beta
        state fn c st
        n, c, Array.fold (*) 1 x.Dims.[2..]

    let dout (fn: string) (expected: int[]) (dout: Tensor) =
        notNull fn "dout" (box dout)

        if dout.Dims <> expected then
            Guard.fail
                fn
                "dout"
                $"dout must have the forward output's shape {Guard.shapeText expected}, got {Guard.shapeText dout.Dims}."

/// <summary>
/// The fused loops behind every normalization layer, over two layouts of the data:
/// the channel layout (N, C, S), statistics of each channel c over (n, s) (batch and spatial batch normalization);
/// the row layout (R, L), statistics of each contiguous row of L values (layer, group and instance normalization),
/// with the per-channel affine parameters of row r at offset j indexed by channelOf r j.
/// A large common offset must not cancel the variance away: the row layout computes it in two passes (mean, then
/// squared deviations), the channel layout in one pass over data shifted by one of its own values (statsRange).
/// </summary>
module internal NormKernels =
    let inline private seg (a: float[]) (off: int) (len: int) = Span<float>(a, off, len)
    let inline private ro (a: float[]) (off: int) (len: int) = ReadOnlySpan<float>(a, off, len)

    /// Elements (n·c·s) from which a pass is split across threads by ranges of channels: ~30 µs of work and more.
    let parallelElements = 1L <<< 16

    /// The most channels one call of a row loop covers.
    [<Literal>]
    let ChannelBlock = 256

    /// Runs body c0 c1 over ranges of channels covering 0 .. c − 1: one range for small data, one per thread
    /// (FUNCTIONAL_THREADS) otherwise. Each channel is computed by one call, in the same order either way, so the
    /// results do not depend on the split.
    let private overChannels (n: int) (c: int) (s: int) (body: int -> int -> unit) =
        let parts =
            if int64 n * int64 c * int64 s >= parallelElements then
                min c Gemm.threads.Value
            else
                1

        // Within a part, blocks of at most ChannelBlock channels: the per-channel arrays a row loop reads (mean, 1/σ,
        // gamma, …, 2 KB each) then stay in the L1 cache while it runs down the rows.
        let blocks c0 c1 =
            let mutable b = c0

            while b < c1 do
                let e = min c1 (b + ChannelBlock)
                body b e
                b <- e

        if parts <= 1 then
            blocks 0 c
        else
            Parallel.For(0, parts, (fun p -> blocks (p * c / parts) ((p + 1) * c / parts)))
            |> ignore

    // Fused element-wise loops over one row slice of the (N, D) layout (s = 1): one pass where TensorPrimitives
    // would take three or four, and xhat = (x − mu) · is recomputed where it is needed rather than stored. Vector256
    // (AVX2 and up; Zen 4's AVX-512 splits 512-bit operations in two anyway), then a scalar tail. Offsets and
    // lengths come from the callers' checked shapes.

    /// Runs vector k for k = 0, 4, 8, … while four lanes fit (when Vector256 is accelerated), then scalar k for the
    /// remaining k < w.
    let inline private lanes
        (w: int)
        ([<InlineIfLambda>] vector: int -> unit)
        ([<InlineIfLambda>] scalar: int -> unit)
        =
        let mutable k = 0

        if Vector256.IsHardwareAccelerated then
            while k + 4 <= w do
                vector k
                k <- k + 4

        while k < w do
            scalar k
            k <- k + 1

    let inline private ld (p: nativeptr<float>) (k: int) = Vector256.Load(NativePtr.add p k)
    let inline private st (p: nativeptr<float>) (k: int) (v: Vector256<float>) = Vector256.Store(v, NativePtr.add p k)
    let inline private get (p: nativeptr<float>) (k: int) = NativePtr.get p k

    /// out[k] = (x[k] − mu[k]) · is[k] · g[k] + b[k], for k < w.
    let private applyRow w x mu is g b (out: nativeptr<float>) =
        lanes w (fun k -> st out k ((ld x k - ld mu k) * ld is k * ld g k + ld b k)) (fun k ->
            NativePtr.set out k ((get x k - get mu k) * get is k * get g k + get b k))

    /// db[k] += d[k]; dg[k] += d[k] · (x[k] − mu[k]) (dgamma before the common factor 1/σ), for k < w.
    let private sumsRow w d x mu (db: nativeptr<float>) (dg: nativeptr<float>) =
        lanes
            w
            (fun k ->
                st db k (ld db k + ld d k)
                st dg k (ld dg k + ld d k * (ld x k - ld mu k)))
            (fun k ->
                NativePtr.set db k (get db k + get d k)
                NativePtr.set dg k (get dg k + get d k * (get x k - get mu k)))

    /// dx[k] = sc[k] · (d[k] − mdb[k] − (x[k] − mu[k]) · a[k]), for k < w, with a = mdg / σ (so that
    /// (x − mu) · a = xhat · mdg).
    let private dxRow w d x mu a mdb sc (dx: nativeptr<float>) =
        lanes w (fun k -> st dx k (ld sc k * (ld d k - ld mdb k - (ld x k - ld mu k) * ld a k))) (fun k ->
            NativePtr.set dx k (get sc k * (get d k - get mdb k - (get x k - get mu k) * get a k)))

    /// 1 / sqrt(var + eps) per channel.
    let invStdOf (var: float[]) (eps: float) =
        Array.init var.Length (fun ch -> 1.0 / sqrt (var.[ch] + eps))

    /// sum[k] += x[k] − shift[k]; sq[k] += (x[k] − shift[k])², for k < w.
    let private shiftedSumsRow w x shift (sum: nativeptr<float>) (sq: nativeptr<float>) =
        lanes
            w
            (fun k ->
                let d = ld x k - ld shift k
                st sum k (ld sum k + d)
                st sq k (ld sq k + d * d))
            (fun k ->
                let d = get x k - get shift k
                NativePtr.set sum k (get sum k + d)
                NativePtr.set sq k (get sq k + d * d))

    /// Accumulates, for the channels c0 .. c1 − 1 of x viewed as (n, c, s), the mean and biased variance over (n, s)
    /// into mean and var (zero on entry), in one pass over x: the sums
    /// of d = x − K and d², with K the channel's first value (shifted data), then var = mean(d²) − mean(d)². A large
    /// common offset, the failure of the textbook one-pass formula, cancels in d; and since K is one of the m values,
    /// (mean − K)² ≤ (m − 1)·var (Samuelson's inequality), so the final subtraction loses at most about log10(m)
    /// digits. With s = 1 (the (N, D) layout) the sums run row by
    /// row, vectorized across the channels; otherwise along each channel's contiguous run of s values.
    let private statsRange (n: int) (c: int) (s: int) (x: float[]) (mean: float[]) (var: float[]) (c0: int) (c1: int) =
        let w = c1 - c0
        let m = float (n * s)
        // The first value of each channel c0 + j: x[0, c0 + j] (s = 1) or x[0, c0 + j, 0].
        let shift = Array.init w (fun j -> x.[(c0 + j) * s])

        if s = 1 then
            use px = fixed x
            use pk = fixed shift
            use psum = fixed mean
            use psq = fixed var

            for i in 0 .. n - 1 do
                shiftedSumsRow w (NativePtr.add px (i * c + c0)) pk (NativePtr.add psum c0) (NativePtr.add psq c0)
        else
            let dev = Array.zeroCreate s

            for i in 0 .. n - 1 do
                for ch in c0 .. c1 - 1 do
                    TensorPrimitives.Subtract(ro x ((i * c + ch) * s) s, shift.[ch - c0], Span dev)
                    mean.[ch] <- mean.[ch] + TensorPrimitives.Sum(ReadOnlySpan dev)
                    var.[ch] <- var.[ch] + TensorPrimitives.SumOfSquares(ReadOnlySpan dev)

        // mean and var hold Σd and Σd² so far.
        for ch in c0 .. c1 - 1 do
            let md = mean.[ch] / m
            mean.[ch] <- shift.[ch - c0] + md
            var.[ch] <- max 0.0 (var.[ch] / m - md * md)

    /// out = gamma · (x − mean) · invStd + beta for the channels c0 .. c1 − 1.
    let private applyRange
        (n: int)
        (c: int)
        (s: int)
        (x: float[])
        (mean: float[])
        (invStd: float[])
        (gamma: float[])
        (beta: float[])
        (out: float[])
        (c0: int)
        (c1: int)
        =
        let w = c1 - c0

        if s = 1 then
            use px = fixed x
            use pm = fixed mean
            use pis = fixed invStd
            use pg = fixed gamma
            use pb = fixed beta
            use po = fixed out
            let at (p: nativeptr<float>) i = NativePtr.add p i

            for i in 0 .. n - 1 do
                let r = i * c + c0
                applyRow w (at px r) (at pm c0) (at pis c0) (at pg c0) (at pb c0) (at po r)
        else
            for i in 0 .. n - 1 do
                for ch in c0 .. c1 - 1 do
                    let off = (i * c + ch) * s
                    let o = seg out off s
                    TensorPrimitives.Subtract(ro x off s, mean.[ch], o)
                    TensorPrimitives.Multiply(Span.op_Implicit o, invStd.[ch] * gamma.[ch], o)
                    TensorPrimitives.Add(Span.op_Implicit o, beta.[ch], o)

    /// The forward pass of batch normalization in the channel layout: out = gamma[c] · (x − mean[c]) /
    /// sqrt(var[c] + eps) + beta[c], with the batch's statistics (stats = None: training; returned) or given ones
    /// (Some (mean, var): the running statistics in test mode). Each range of channels is computed start to finish by
    /// one thread (statistics, then the output), while its slice of x is still in that core's cache.
    let channelForward
        (n: int)
        (c: int)
        (s: int)
        (x: float[])
        (stats: (float[] * float[]) option)
        (eps: float)
        (gamma: float[])
        (beta: float[])
        =
        let mean, var =
            match stats with
            | Some(mean, var) -> mean, var
            | None -> Array.zeroCreate c, Array.zeroCreate c

        let invStd = Array.zeroCreate c
        let out = GC.AllocateUninitializedArray x.Length

        overChannels n c s (fun c0 c1 ->
            if stats.IsNone then
                statsRange n c s x mean var c0 c1

            for ch in c0 .. c1 - 1 do
                invStd.[ch] <- 1.0 / sqrt (var.[ch] + eps)

            applyRange n c s x mean invStd gamma beta out c0 c1)

        mean, var, out

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

        let mean, var, out = channelForward n c s x given cfg.Eps gamma beta

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

    /// Closed-form backward, channel layout, from the input x and the statistics used (mean, var): dgamma, dbeta
    /// and dx, with xhat = (x − mean) / √(var + eps) recomputed and the statistics treated as functions of x (train)
    /// or as constants (test): dx = γ/σ · (dout − mean(dout) − xhat · mean(dout · xhat)) in training mode,
    /// γ/σ · dout in test mode.
    let channelBackward
        (n: int)
        (c: int)
        (s: int)
        (dout: float[])
        (x: float[])
        (mean: float[])
        (var: float[])
        (eps: float)
        (gamma: float[])
        (train: bool)
        =
        let dgamma = Array.zeroCreate c
        let dbeta = Array.zeroCreate c
        let dx = GC.AllocateUninitializedArray dout.Length
        let m = float (n * s)
        let invStd = invStdOf var eps
        let scale = Array.init c (fun ch -> gamma.[ch] * invStd.[ch])
        // Per channel: the mean of dout and the mean of dout · xhat, subtracted in training mode only.
        let mdb = Array.zeroCreate c
        let mdg = Array.zeroCreate c

        overChannels n c s (fun c0 c1 ->
            let w = c1 - c0
            use pd = fixed dout
            use px = fixed x
            use pm = fixed mean
            use pdb = fixed dbeta
            use pdg = fixed dgamma
            use pmb = fixed mdb
            use pmg = fixed mdg
            use psc = fixed scale
            use pdx = fixed dx
            let at (p: nativeptr<float>) i = NativePtr.add p i
            // One channel run's xhat, for s > 1.
            let h = if s = 1 then [||] else Array.zeroCreate s

            let xhatRun off ch =
                TensorPrimitives.Subtract(ro x off s, mean.[ch], Span h)
                TensorPrimitives.Multiply(ReadOnlySpan h, invStd.[ch], Span h)

            for i in 0 .. n - 1 do
                if s = 1 then
                    let r = i * c + c0
                    sumsRow w (at pd r) (at px r) (at pm c0) (at pdb c0) (at pdg c0)
                else
                    for ch in c0 .. c1 - 1 do
                        let off = (i * c + ch) * s
                        xhatRun off ch
                        dbeta.[ch] <- dbeta.[ch] + TensorPrimitives.Sum(ro dout off s)
                        dgamma.[ch] <- dgamma.[ch] + TensorPrimitives.Dot(ro dout off s, ReadOnlySpan h)

            if s = 1 then
                // The row loops summed dout · (x − mean): scale by 1/σ once per channel.
                for ch in c0 .. c1 - 1 do
                    dgamma.[ch] <- dgamma.[ch] * invStd.[ch]

            if train then
                for ch in c0 .. c1 - 1 do
                    mdb.[ch] <- dbeta.[ch] / m
                    mdg.[ch] <- dgamma.[ch] / m

            // For the row loops: mdg / σ per channel, the coefficient of (x − mean).
            if s = 1 then
                for ch in c0 .. c1 - 1 do
                    mdg.[ch] <- mdg.[ch] * invStd.[ch]

            for i in 0 .. n - 1 do
                if s = 1 then
                    let r = i * c + c0
                    dxRow w (at pd r) (at px r) (at pm c0) (at pmg c0) (at pmb c0) (at psc c0) (at pdx r)
                else
                    for ch in c0 .. c1 - 1 do
                        let off = (i * c + ch) * s
                        let d = seg dx off s
                        xhatRun off ch
                        TensorPrimitives.Multiply(ReadOnlySpan h, mdg.[ch], d)
                        TensorPrimitives.Subtract(ro dout off s, Span.op_Implicit d, d)
                        TensorPrimitives.Subtract(Span.op_Implicit d, mdb.[ch], d)
                        TensorPrimitives.Multiply(Span.op_Implicit d, scale.[ch], d))

        dx, dgamma, dbeta

    /// Mean and biased variance of each of the r contiguous rows of length l.
    let rowStats (r: int) (l: int) (x: float[]) =
        let mean = Array.zeroCreate r
        let var = Array.zeroCreate r

        for row in 0 .. r - 1 do
            let off = row * l
            let mutable acc = 0.0

            for k in off .. off + l - 1 do
                acc <- acc + x.[k]

            let mu = acc / float l
            let mutable sq = 0.0

            for k in off .. off + l - 1 do
                let dv = x.[k] - mu
                sq <- sq + dv * dv

            mean.[row] <- mu
            var.[row] <- sq / float l

        mean, var

    /// Row layout forward: per-row statistics, per-channel affine (channelOf row offsetInRow). Returns xhat, out and
    /// the per-row 1 / sqrt(var + eps).
    let rowForward (r: int) (l: int) (channelOf: int -> int -> int) (x: float[]) eps (gamma: float[]) (beta: float[]) =
        let mean, var = rowStats r l x
        let invStd = Array.init r (fun row -> 1.0 / sqrt (var.[row] + eps))
        let xhat = Array.zeroCreate x.Length
        let out = Array.zeroCreate x.Length

        for row in 0 .. r - 1 do
            let off = row * l
            let mu, is = mean.[row], invStd.[row]

            for j in 0 .. l - 1 do
                let ch = channelOf row j
                let h = (x.[off + j] - mu) * is
                xhat.[off + j] <- h
                out.[off + j] <- gamma.[ch] * h + beta.[ch]

        xhat, out, invStd

    /// Row layout closed-form backward: dx per row, dgamma and dbeta per channel (nc channels).
    let rowBackward
        (r: int)
        (l: int)
        (nc: int)
        (channelOf: int -> int -> int)
        (dout: float[])
        (xhat: float[])
        (invStd: float[])
        (gamma: float[])
        =
        let dgamma = Array.zeroCreate nc
        let dbeta = Array.zeroCreate nc
        let dx = Array.zeroCreate dout.Length
        let dxhat = Array.zeroCreate l

        for row in 0 .. r - 1 do
            let off = row * l
            let mutable sum = 0.0
            let mutable sumX = 0.0

            for j in 0 .. l - 1 do
                let ch = channelOf row j
                let g = dout.[off + j]
                let h = xhat.[off + j]
                dbeta.[ch] <- dbeta.[ch] + g
                dgamma.[ch] <- dgamma.[ch] + g * h
                let dh = g * gamma.[ch]
                dxhat.[j] <- dh
                sum <- sum + dh
                sumX <- sumX + dh * h

            // dx = 1/σ · (dxhat − mean(dxhat) − xhat · mean(dxhat · xhat))
            let mean, meanX, is = sum / float l, sumX / float l, invStd.[row]

            for j in 0 .. l - 1 do
                dx.[off + j] <- is * (dxhat.[j] - mean - xhat.[off + j] * meanX)

        dx, dgamma, dbeta

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
            NormKernels.batchForward cfg mode state n d 1 x.Data gamma.Data beta.Data

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
        NormCheck.notNull "BatchNorm.backward" "cache" (box cache)
        let x = cache.X
        NormCheck.dout "BatchNorm.backward" x.Dims dout
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
        NormCheck.notNull "BatchNorm.backwardAlt" "cache" (box cache)
        let dims = cache.X.Dims
        NormCheck.dout "BatchNorm.backwardAlt" dims dout
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
        NormCheck.notNull fn "x" (box x)
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
        NormCheck.notNull "LayerNorm.backward" "cache" (box cache)
        NormCheck.dout "LayerNorm.backward" cache.Shape dout
        let n, d = cache.Shape.[0], cache.Shape.[1]

        let dx, dgamma, dbeta =
            NormKernels.rowBackward n d d (fun _ j -> j) dout.Data cache.Xhat cache.InvStd cache.Gamma.Data

        {
            Dx = Tensor.Wrap([| n; d |], dx)
            Dgamma = Tensor.Wrap([| d |], dgamma)
            Dbeta = Tensor.Wrap([| d |], dbeta)
        }
