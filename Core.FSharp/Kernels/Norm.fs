namespace Functional.Kernels

#nowarn "9" // native pointers in the fused (N, D) batchnorm loops

open System
open System.Numerics.Tensors
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop

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

    /// Elements (n·c·s) from which a pass is split across threads (by ranges of channels or of rows): ~30 µs of work
    /// and more.
    let parallelElements = 1L <<< 16

    /// The most channels one call of overChannels' body covers.
    [<Literal>]
    let ChannelBlock = 256

    /// Runs body c0 c1 over ranges of channels covering 0 .. c − 1: one range for small data, one per thread
    /// (ParallelPolicy.threads) otherwise. Each channel is computed by one call, in the same order either way, so the
    /// results do not depend on the split.
    let private overChannels (n: int) (c: int) (s: int) (body: int -> int -> unit) =
        let parts =
            if int64 n * int64 c * int64 s >= parallelElements then
                min c (ParallelPolicy.threads ())
            else
                1

        // Within a part, blocks of at most ChannelBlock channels: the per-channel arrays a channel-run loop reads
        // (mean, 1/σ, gamma, …, 2 KB each) then stay in the L1 cache while it runs down the images.
        let blocks c0 c1 =
            let mutable b = c0

            while b < c1 do
                let e = min c1 (b + ChannelBlock)
                body b e
                b <- e

        ParallelPolicy.forEach parts parts (fun p -> blocks (p * c / parts) ((p + 1) * c / parts))

    /// Runs body r0 r1 over contiguous ranges of the n rows of the (N, D) layout (c values each): one range for small
    /// data, one per thread otherwise. For the element-wise output passes, whose values do not depend on the split:
    /// each thread writes one contiguous stretch of the output. A fresh output is in no cache, and the hardware
    /// prefetchers serve one long stream of writes best: two fresh 1 MB arrays filled in one stretch each took
    /// 0.20 ms, filled in 2 KB pieces 8 KB apart (a channel range's slice of every row) 0.34 ms.
    let private overRows (n: int) (c: int) (body: int -> int -> unit) =
        let parts =
            if int64 n * int64 c >= parallelElements then
                min n (ParallelPolicy.threads ())
            else
                1

        ParallelPolicy.forEach parts parts (fun p -> body (p * n / parts) ((p + 1) * n / parts))

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

    /// dx[k] = sc[k] · (d[k] − mdb[k] − (x[k] − mu[k]) · a[k]), for k < w, with a = mdg / σ (so that
    /// (x − mu) · a = xhat · mdg).
    let private dxRow w d x mu a mdb sc (dx: nativeptr<float>) =
        lanes w (fun k -> st dx k (ld sc k * (ld d k - ld mdb k - (ld x k - ld mu k) * ld a k))) (fun k ->
            NativePtr.set dx k (get sc k * (get d k - get mdb k - (get x k - get mu k) * get a k)))

    /// 1 / sqrt(var + eps) per channel.
    let invStdOf (var: float[]) (eps: float) =
        Array.init var.Length (fun ch -> 1.0 / sqrt (var.[ch] + eps))

    /// The column sums of the (N, D) layout, down all n rows (stride c) of w channels at once: for each channel k,
    /// acc1[k] += u and acc2[k] += v with (u, v) = terms a[k] b[k] m[k] from the row's values a, b (b is a's row for a
    /// one-input sum) and a per-channel constant m, in row order. The channels go in tiles of four Vector256
    /// (16 channels) whose eight accumulators stay in registers for the whole column (one load of each input per
    /// vector and row, where a row-by-row loop also loads and stores the accumulators), then single vectors, then
    /// scalars. Every accumulator sums the same terms in the same order as a row-by-row loop: the same bits.
    let inline private columnSums
        (n: int)
        (c: int)
        (w: int)
        (a: nativeptr<float>)
        (b: nativeptr<float>)
        (m: nativeptr<float>)
        (acc1: nativeptr<float>)
        (acc2: nativeptr<float>)
        ([<InlineIfLambda>] vterms:
            Vector256<float> -> Vector256<float> -> Vector256<float> -> struct (Vector256<float> * Vector256<float>))
        ([<InlineIfLambda>] terms: float -> float -> float -> struct (float * float))
        =
        let mutable k = 0

        if Vector256.IsHardwareAccelerated then
            while k + 16 <= w do
                let m0, m1, m2, m3 = ld m k, ld m (k + 4), ld m (k + 8), ld m (k + 12)

                let mutable s0, s1, s2, s3 =
                    ld acc1 k, ld acc1 (k + 4), ld acc1 (k + 8), ld acc1 (k + 12)

                let mutable q0, q1, q2, q3 =
                    ld acc2 k, ld acc2 (k + 4), ld acc2 (k + 8), ld acc2 (k + 12)

                let mutable pa = NativePtr.add a k
                let mutable pb = NativePtr.add b k

                for _ in 0 .. n - 1 do
                    let struct (u0, v0) = vterms (ld pa 0) (ld pb 0) m0
                    let struct (u1, v1) = vterms (ld pa 4) (ld pb 4) m1
                    let struct (u2, v2) = vterms (ld pa 8) (ld pb 8) m2
                    let struct (u3, v3) = vterms (ld pa 12) (ld pb 12) m3
                    s0 <- s0 + u0
                    s1 <- s1 + u1
                    s2 <- s2 + u2
                    s3 <- s3 + u3
                    q0 <- q0 + v0
                    q1 <- q1 + v1
                    q2 <- q2 + v2
                    q3 <- q3 + v3
                    pa <- NativePtr.add pa c
                    pb <- NativePtr.add pb c

                st acc1 k s0
                st acc1 (k + 4) s1
                st acc1 (k + 8) s2
                st acc1 (k + 12) s3
                st acc2 k q0
                st acc2 (k + 4) q1
                st acc2 (k + 8) q2
                st acc2 (k + 12) q3
                k <- k + 16

            while k + 4 <= w do
                let m0 = ld m k
                let mutable s0 = ld acc1 k
                let mutable q0 = ld acc2 k
                let mutable pa = NativePtr.add a k
                let mutable pb = NativePtr.add b k

                for _ in 0 .. n - 1 do
                    let struct (u0, v0) = vterms (ld pa 0) (ld pb 0) m0
                    s0 <- s0 + u0
                    q0 <- q0 + v0
                    pa <- NativePtr.add pa c
                    pb <- NativePtr.add pb c

                st acc1 k s0
                st acc2 k q0
                k <- k + 4

        while k < w do
            let mk = get m k
            let mutable s0 = get acc1 k
            let mutable q0 = get acc2 k

            for i in 0 .. n - 1 do
                let struct (u, v) = terms (get a (i * c + k)) (get b (i * c + k)) mk
                s0 <- s0 + u
                q0 <- q0 + v

            NativePtr.set acc1 k s0
            NativePtr.set acc2 k q0
            k <- k + 1

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

            let pxc = NativePtr.add px c0
            // Σ (x − K) and Σ (x − K)² down the rows.
            columnSums
                n
                c
                w
                pxc
                pxc
                pk
                (NativePtr.add psum c0)
                (NativePtr.add psq c0)
                (fun x _ k ->
                    let d = x - k
                    struct (d, d * d))
                (fun x _ k ->
                    let d = x - k
                    struct (d, d * d))
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

    /// out = gamma · (x − mean) · invStd + beta for the rows r0 .. r1 − 1 of the (N, D) layout (c channels).
    let private applyRows
        (c: int)
        (x: float[])
        (mean: float[])
        (invStd: float[])
        (gamma: float[])
        (beta: float[])
        (out: float[])
        (r0: int)
        (r1: int)
        =
        use px = fixed x
        use pm = fixed mean
        use pis = fixed invStd
        use pg = fixed gamma
        use pb = fixed beta
        use po = fixed out

        for i in r0 .. r1 - 1 do
            applyRow c (NativePtr.add px (i * c)) pm pis pg pb (NativePtr.add po (i * c))

    /// out = gamma · (x − mean) · invStd + beta for the channels c0 .. c1 − 1 of the (N, C, S) layout, S > 1.
    let private applyChannels
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
        for i in 0 .. n - 1 do
            for ch in c0 .. c1 - 1 do
                let off = (i * c + ch) * s
                let o = seg out off s
                TensorPrimitives.Subtract(ro x off s, mean.[ch], o)
                TensorPrimitives.Multiply(Span.op_Implicit o, invStd.[ch] * gamma.[ch], o)
                TensorPrimitives.Add(Span.op_Implicit o, beta.[ch], o)

    /// The forward pass of batch normalization in the channel layout: out = gamma[c] · (x − mean[c]) /
    /// sqrt(var[c] + eps) + beta[c], with the batch's statistics (stats = None: training; returned) or given ones
    /// (Some (mean, var): the running statistics in test mode). The statistics go by ranges of channels; the output by
    /// ranges of rows with S = 1 (overRows), by the same ranges of channels otherwise, in the same pass while the
    /// range's slice of x is still in that core's cache.
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

            if s > 1 then
                applyChannels n c s x mean invStd gamma beta out c0 c1)

        if s = 1 then
            overRows n c (applyRows c x mean invStd gamma beta out)

        mean, var, out

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
            let at (p: nativeptr<float>) i = NativePtr.add p i
            // One channel run's xhat, for s > 1.
            let h = if s = 1 then [||] else Array.zeroCreate s

            let xhatRun off ch =
                TensorPrimitives.Subtract(ro x off s, mean.[ch], Span h)
                TensorPrimitives.Multiply(ReadOnlySpan h, invStd.[ch], Span h)

            if s = 1 then
                // Σ dout and Σ dout · (x − mean) down the rows (dgamma before the common factor 1/σ).
                columnSums
                    n
                    c
                    w
                    (at pd c0)
                    (at px c0)
                    (at pm c0)
                    (at pdb c0)
                    (at pdg c0)
                    (fun d x mu -> struct (d, d * (x - mu)))
                    (fun d x mu -> struct (d, d * (x - mu)))
            else
                for i in 0 .. n - 1 do
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

            // dx: here for S > 1, by ranges of rows below for S = 1 (overRows).
            if s > 1 then
                for i in 0 .. n - 1 do
                    for ch in c0 .. c1 - 1 do
                        let off = (i * c + ch) * s
                        let d = seg dx off s
                        xhatRun off ch
                        TensorPrimitives.Multiply(ReadOnlySpan h, mdg.[ch], d)
                        TensorPrimitives.Subtract(ro dout off s, Span.op_Implicit d, d)
                        TensorPrimitives.Subtract(Span.op_Implicit d, mdb.[ch], d)
                        TensorPrimitives.Multiply(Span.op_Implicit d, scale.[ch], d))

        if s = 1 then
            overRows n c (fun r0 r1 ->
                use pd = fixed dout
                use px = fixed x
                use pm = fixed mean
                use pmb = fixed mdb
                use pmg = fixed mdg
                use psc = fixed scale
                use pdx = fixed dx

                for i in r0 .. r1 - 1 do
                    let r = i * c
                    dxRow c (NativePtr.add pd r) (NativePtr.add px r) pm pmg pmb psc (NativePtr.add pdx r))

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
