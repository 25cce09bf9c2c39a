namespace Functional

/// <summary>
/// The configuration of a 2-D pooling layer: windows PoolHeight × PoolWidth moved by StrideH / StrideW, no padding.
/// The output size is H' = ⌊(H − PoolHeight) / StrideH⌋ + 1 and W' = ⌊(W − PoolWidth) / StrideW⌋ + 1.
/// </summary>
[<NoComparison>]
type PoolConfig = {
    /// <summary>Window height, ≥ 1.</summary>
    PoolHeight: int
    /// <summary>Window width, ≥ 1.</summary>
    PoolWidth: int
    /// <summary>Vertical stride, ≥ 1.</summary>
    StrideH: int
    /// <summary>Horizontal stride, ≥ 1.</summary>
    StrideW: int
} with

    /// <summary>Windows poolHeight × poolWidth with the same stride along both axes.</summary>
    static member Create(poolHeight: int, poolWidth: int, stride: int) = {
        PoolHeight = poolHeight
        PoolWidth = poolWidth
        StrideH = stride
        StrideW = stride
    }

    /// <summary>"pool ph×pw, stride (sh, sw)".</summary>
    override c.ToString() =
        $"pool {c.PoolHeight}×{c.PoolWidth}, stride ({c.StrideH}, {c.StrideW})"

/// <summary>
/// What the max-pooling forward pass keeps (opaque): the input, the configuration and, on the fast path (windows of
/// at most 256 elements), where each window's maximum is.
/// </summary>
type MaxPoolCache = internal {
    X: Tensor
    Config: PoolConfig
    ArgMax: byte[] option
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the average-pooling forward pass keeps (opaque): the input's shape and the configuration.</summary>
[<NoComparison>]
type AvgPoolCache = internal {
    XShape: int[]
    Config: PoolConfig
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open System
open Functional
open Functional.Kernels

/// Shape checks and geometry shared by the pooling layers.
module internal Pooling =
    let geometry (fn: string) (cfg: PoolConfig) (xShape: int[]) : Window =
        Guard.notNull fn "config" cfg

        if cfg.PoolHeight < 1 || cfg.PoolWidth < 1 then
            Guard.fail fn "poolHeight" $"the pool window must be at least 1×1, got {cfg.PoolHeight}×{cfg.PoolWidth}."

        if cfg.StrideH < 1 || cfg.StrideW < 1 then
            Guard.fail fn "stride" $"stride must be >= 1, got (strideH, strideW) = ({cfg.StrideH}, {cfg.StrideW})."

        if xShape.Length <> 4 then
            Guard.fail fn "x" $"x must be (N, C, H, W), got shape {Guard.shapeText xShape}."

        let h, w = xShape.[2], xShape.[3]

        if cfg.PoolHeight > h || cfg.PoolWidth > w then
            Guard.fail
                fn
                "poolHeight"
                $"the pool window {cfg.PoolHeight}×{cfg.PoolWidth} is larger than the input {h}×{w} (x {Guard.shapeText xShape})."

        {
            C = xShape.[1]
            H = h
            W = w
            KH = cfg.PoolHeight
            KW = cfg.PoolWidth
            SH = cfg.StrideH
            SW = cfg.StrideW
            PH = 0
            PW = 0
            D = 1
            Ho = (h - cfg.PoolHeight) / cfg.StrideH + 1
            Wo = (w - cfg.PoolWidth) / cfg.StrideW + 1
        }

    let ofTensor (fn: string) (cfg: PoolConfig) (x: Tensor) =
        Guard.notNull fn "x" x

        geometry fn cfg x.Dims

    let outShape (n: int) (g: Window) = [| n; g.C; g.Ho; g.Wo |]

    let checkDout (fn: string) (expected: int[]) (dout: Tensor) =
        Guard.notNull fn "dout" dout
        Guard.upstream fn expected dout.Dims

    /// Input elements above which images are processed in parallel: about a millisecond of work, so that handing
    /// work to other threads stays a small cost.
    let parallelElements = 1 <<< 20

    let perImage (n: int) (elements: int) (body: int -> unit) =
        ParallelPolicy.forEach
            (if elements >= parallelElements then
                 ParallelPolicy.threads ()
             else
                 1)
            n
            body

/// <summary>
/// Max pooling over x (N, C, H, W): out (N, C, H', W') holds the maximum of each window. The backward pass routes
/// each upstream gradient to the arg-max of its window: the first maximal element in row-major window order when
/// several are equal (ties), so exactly one input per window receives it; overlapping windows add up. NaN
/// propagates as in PyTorch (<c>max_pool2d</c>: <c>val &gt; maxval || isnan(val)</c>) and NumPy: a window holding NaN
/// gives NaN, and its arg-max (which receives the gradient) is the window's last NaN; +∞ and −∞ are ordinary values.
/// </summary>
[<RequireQualifiedAccess>]
module MaxPool =
    /// <summary>Naive forward pass (the readable loops). x: (N, C, H, W). Returns out (N, C, H', W') and the cache.</summary>
    let forwardNaive (cfg: PoolConfig) (x: Tensor) : Tensor * MaxPoolCache =
        let g = Pooling.ofTensor "MaxPool.forwardNaive" cfg x
        let n = x.Dims.[0]
        let xd = x.Data
        let out = Array.zeroCreate (n * g.C * g.Ho * g.Wo)

        for b in 0 .. n - 1 do
            for c in 0 .. g.C - 1 do
                let plane = (b * g.C + c) * g.H * g.W

                for i in 0 .. g.Ho - 1 do
                    for j in 0 .. g.Wo - 1 do
                        let mutable best = xd.[plane + (i * g.SH) * g.W + j * g.SW]

                        for ki in 0 .. g.KH - 1 do
                            for kj in 0 .. g.KW - 1 do
                                let v = xd.[plane + (i * g.SH + ki) * g.W + j * g.SW + kj]

                                if PoolKernels.replaces v best then
                                    best <- v

                        out.[((b * g.C + c) * g.Ho + i) * g.Wo + j] <- best

        Tensor.Wrap(Pooling.outShape n g, out), { X = x; Config = cfg; ArgMax = None }

    /// The naive backward loops over checked arguments: dx (x's length) with each upstream gradient added at its
    /// window's arg-max.
    let private backwardLoops (g: Window) (dout: Tensor) (cache: MaxPoolCache) =
        let x = cache.X
        let n = x.Dims.[0]
        let xd, dd = x.Data, dout.Data
        let dx = Array.zeroCreate xd.Length

        for b in 0 .. n - 1 do
            for c in 0 .. g.C - 1 do
                let plane = (b * g.C + c) * g.H * g.W

                for i in 0 .. g.Ho - 1 do
                    for j in 0 .. g.Wo - 1 do
                        let mutable at = plane + (i * g.SH) * g.W + j * g.SW

                        for ki in 0 .. g.KH - 1 do
                            for kj in 0 .. g.KW - 1 do
                                let p = plane + (i * g.SH + ki) * g.W + j * g.SW + kj

                                if PoolKernels.replaces xd.[p] xd.[at] then
                                    at <- p

                        dx.[at] <- dx.[at] + dd.[((b * g.C + c) * g.Ho + i) * g.Wo + j]

        dx

    /// <summary>
    /// Naive backward pass. dout: (N, C, H', W'). Returns dx (N, C, H, W): each dout goes to the first maximal
    /// element of its window. Works with a cache from either forward pass.
    /// </summary>
    let backwardNaive (dout: Tensor) (cache: MaxPoolCache) : Tensor =
        let fn = "MaxPool.backwardNaive"
        Guard.notNull fn "cache" cache
        let x = cache.X
        let g = Pooling.geometry fn cache.Config x.Dims
        Pooling.checkDout fn (Pooling.outShape x.Dims.[0] g) dout
        Tensor.Wrap(Array.copy x.Dims, backwardLoops g dout cache)

    /// True when the windows tile the input exactly: stride = window and H, W multiples of it.
    let internal tiles (g: Window) =
        g.SH = g.KH && g.SW = g.KW && g.H % g.KH = 0 && g.W % g.KW = 0

    /// <summary>
    /// Fast forward pass: the reshape trick when the windows tile the input exactly, a window kernel otherwise;
    /// images in parallel when large. Equal to <c>forwardNaive</c> bit for bit. x: (N, C, H, W). Returns
    /// out (N, C, H', W') and the cache, which keeps every window's arg-max (for windows of at most 256 elements;
    /// larger windows fall back to the naive loops).
    /// </summary>
    let forward (cfg: PoolConfig) (x: Tensor) : Tensor * MaxPoolCache =
        let g = Pooling.ofTensor "MaxPool.forward" cfg x

        if g.KH * g.KW > PoolKernels.MaxArgWindow then
            forwardNaive cfg x
        else
            let n = x.Dims.[0]
            let xd = x.Data
            let planeIn = g.H * g.W
            let planeOut = g.Ho * g.Wo
            let out = Array.zeroCreate (n * g.C * planeOut)
            let arg = Array.zeroCreate out.Length

            let kernel =
                if PoolKernels.isTiled2x2 g then PoolKernels.max2x2
                elif tiles g then PoolKernels.maxTiled
                else PoolKernels.maxWindows

            Pooling.perImage n xd.Length (fun b ->
                for c in 0 .. g.C - 1 do
                    let p = b * g.C + c
                    kernel g xd (p * planeIn) out arg (p * planeOut))

            Tensor.Wrap(Pooling.outShape n g, out),
            {
                X = x
                Config = cfg
                ArgMax = Some arg
            }

    /// The fast backward pass with an epilogue: epilogue dx off len runs on each image's gradient (off, len) once it
    /// is complete, before dx is wrapped in a tensor (a fused sandwich's activation gradient).
    let internal backwardWith
        (fn: string)
        (epilogue: float[] -> int -> int -> unit)
        (dout: Tensor)
        (cache: MaxPoolCache)
        : Tensor =
        Guard.notNull fn "cache" cache
        let x = cache.X
        let n = x.Dims.[0]
        let g = Pooling.geometry fn cache.Config x.Dims
        Pooling.checkDout fn (Pooling.outShape n g) dout
        let image = g.C * g.H * g.W

        match cache.ArgMax with
        | None ->
            let dx = backwardLoops g dout cache

            for b in 0 .. n - 1 do
                epilogue dx (b * image) image

            Tensor.Wrap(Array.copy x.Dims, dx)
        | Some arg ->
            // The 2×2 kernel writes every element of dx; the general scatter adds onto zeros.
            let tiled2x2 = PoolKernels.isTiled2x2 g

            let dx =
                if tiled2x2 then
                    GC.AllocateUninitializedArray x.Data.Length
                else
                    Array.zeroCreate x.Data.Length

            let planeIn = g.H * g.W
            let planeOut = g.Ho * g.Wo

            let kernel =
                if tiled2x2 then
                    PoolKernels.scatter2x2
                else
                    PoolKernels.scatter

            // Each plane's windows lie in that plane, so images never write the same element.
            Pooling.perImage n x.Data.Length (fun b ->
                for c in 0 .. g.C - 1 do
                    let p = b * g.C + c
                    kernel g dout.Data arg (p * planeOut) dx (p * planeIn)

                epilogue dx (b * image) image)

            Tensor.Wrap(Array.copy x.Dims, dx)

    /// <summary>
    /// Fast backward pass: scatters dout to the arg-maxes kept by <c>forward</c> (the naive loops for a cache without
    /// them); equal to <c>backwardNaive</c> bit for bit. dout: (N, C, H', W'). Returns dx (N, C, H, W).
    /// </summary>
    let backward (dout: Tensor) (cache: MaxPoolCache) : Tensor =
        backwardWith "MaxPool.backward" (fun _ _ _ -> ()) dout cache

/// <summary>Average pooling over x (N, C, H, W): out (N, C, H', W') holds the mean of each window.</summary>
[<RequireQualifiedAccess>]
module AvgPool =
    /// <summary>Forward pass. x: (N, C, H, W). Returns out (N, C, H', W') and the cache.</summary>
    let forward (cfg: PoolConfig) (x: Tensor) : Tensor * AvgPoolCache =
        let g = Pooling.ofTensor "AvgPool.forward" cfg x
        let n = x.Dims.[0]
        let xd = x.Data
        let scale = 1.0 / float (g.KH * g.KW)
        let out = Array.zeroCreate (n * g.C * g.Ho * g.Wo)

        Pooling.perImage n xd.Length (fun b ->
            for c in 0 .. g.C - 1 do
                let plane = (b * g.C + c) * g.H * g.W

                for i in 0 .. g.Ho - 1 do
                    for j in 0 .. g.Wo - 1 do
                        let mutable s = 0.0

                        for ki in 0 .. g.KH - 1 do
                            for kj in 0 .. g.KW - 1 do
                                s <- s + xd.[plane + (i * g.SH + ki) * g.W + j * g.SW + kj]

                        out.[((b * g.C + c) * g.Ho + i) * g.Wo + j] <- s * scale)

        Tensor.Wrap(Pooling.outShape n g, out),
        {
            XShape = Array.copy x.Dims
            Config = cfg
        }

    /// <summary>Backward pass: each dout is shared equally by the PoolHeight·PoolWidth inputs of its window.
    /// dout: (N, C, H', W'). Returns dx (N, C, H, W).</summary>
    let backward (dout: Tensor) (cache: AvgPoolCache) : Tensor =
        Guard.notNull "AvgPool.backward" "cache" cache
        let xs = cache.XShape
        let n = xs.[0]
        let g = Pooling.geometry "AvgPool.backward" cache.Config xs
        Pooling.checkDout "AvgPool.backward" (Pooling.outShape n g) dout
        let dd = dout.Data
        let scale = 1.0 / float (g.KH * g.KW)
        let dx = Array.zeroCreate (Guard.size xs)

        Pooling.perImage n dx.Length (fun b ->
            for c in 0 .. g.C - 1 do
                let plane = (b * g.C + c) * g.H * g.W

                for i in 0 .. g.Ho - 1 do
                    for j in 0 .. g.Wo - 1 do
                        let share = dd.[((b * g.C + c) * g.Ho + i) * g.Wo + j] * scale

                        for ki in 0 .. g.KH - 1 do
                            for kj in 0 .. g.KW - 1 do
                                let p = plane + (i * g.SH + ki) * g.W + j * g.SW + kj
                                dx.[p] <- dx.[p] + share)

        Tensor.Wrap(Array.copy xs, dx)
