namespace Functional

open System.Runtime.InteropServices

/// <summary>
/// The configuration of a 2-D convolution, as torch.nn.Conv2d offers it: stride and zero padding for height and
/// width separately, dilation, and groups. The output size along the height is
/// H' = ⌊(H + 2·PadH − Dilation·(HH − 1) − 1) / StrideH⌋ + 1 (PyTorch's rule), likewise along the width.
/// </summary>
[<NoComparison>]
type ConvConfig = {
    /// <summary>Vertical stride, ≥ 1.</summary>
    StrideH: int
    /// <summary>Horizontal stride, ≥ 1.</summary>
    StrideW: int
    /// <summary>Zero padding added above and below, ≥ 0.</summary>
    PadH: int
    /// <summary>Zero padding added left and right, ≥ 0.</summary>
    PadW: int
    /// <summary>Spacing between kernel taps, ≥ 1 (1 is an ordinary convolution).</summary>
    Dilation: int
    /// <summary>Number of groups, ≥ 1: C and F must be divisible by it; w is then (F, C/Groups, HH, WW).</summary>
    Groups: int
} with

    /// <summary>A configuration with the same stride and padding for height and width.</summary>
    static member Create
        (
            stride: int,
            pad: int,
            [<Optional; DefaultParameterValue(1)>] dilation: int,
            [<Optional; DefaultParameterValue(1)>] groups: int
        ) = {
        StrideH = stride
        StrideW = stride
        PadH = pad
        PadW = pad
        Dilation = dilation
        Groups = groups
    }

    /// <summary>Stride 1, no padding, no dilation, one group.</summary>
    static member Default = ConvConfig.Create(1, 0)

    /// <summary>"stride (sh, sw), pad (ph, pw), dilation d, groups g".</summary>
    override c.ToString() =
        $"stride ({c.StrideH}, {c.StrideW}), pad ({c.PadH}, {c.PadW}), dilation {c.Dilation}, groups {c.Groups}"

/// <summary>
/// What the convolution forward pass keeps for its backward pass (opaque): the input, the filters and the
/// configuration. (The fast backward pass rebuilds the im2col columns image by image rather than keeping them: they
/// are C·HH·WW times the output's size.)
/// </summary>
type ConvCache = internal {
    X: Tensor
    W: Tensor
    Config: ConvConfig
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>Gradients of a convolution: <c>Dx</c> (N, C, H, W), <c>Dw</c> (F, C/groups, HH, WW), <c>Db</c> (F,).</summary>
type ConvGrads = {
    /// <summary>Gradient with respect to the input, shape (N, C, H, W) (no padding left in it).</summary>
    Dx: Tensor
    /// <summary>Gradient with respect to the filters, shape (F, C/groups, HH, WW).</summary>
    Dw: Tensor
    /// <summary>Gradient with respect to the bias, shape (F,).</summary>
    Db: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open System
open System.Buffers
open System.Numerics.Tensors
open Functional
open Functional.Kernels

/// <summary>
/// 2-D convolution (cross-correlation, as in the course and torch) over x (N, C, H, W) with filters
/// w (F, C/groups, HH, WW) and bias b (F,). Output (N, F, H', W') with
/// H' = ⌊(H + 2·padH − dilation·(HH − 1) − 1) / strideH⌋ + 1 and likewise W'. Output rows and columns that the
/// stride leaves uncovered at the bottom/right of the input get zero gradient.
/// The naive functions are the readable loops (the oracle); <c>forward</c>/<c>backward</c> are im2col + GEMM.
/// </summary>
[<RequireQualifiedAccess>]
module Conv =
    /// The sizes of one convolution, checked.
    [<Struct>]
    type internal Geometry = {
        N: int
        C: int
        H: int
        W: int
        F: int
        HH: int
        WW: int
        Ho: int
        Wo: int
        /// Input channels per group.
        Cg: int
        /// Filters per group.
        Fg: int
        G: int
    } with

        member g.Window(cfg: ConvConfig) : Window = {
            C = g.C
            H = g.H
            W = g.W
            KH = g.HH
            KW = g.WW
            SH = cfg.StrideH
            SW = cfg.StrideW
            PH = cfg.PadH
            PW = cfg.PadW
            D = cfg.Dilation
            Ho = g.Ho
            Wo = g.Wo
        }

    let internal checkConfig (fn: string) (cfg: ConvConfig) =
        Guard.notNull fn "config" cfg

        if cfg.StrideH < 1 || cfg.StrideW < 1 then
            Guard.fail fn "stride" $"stride must be >= 1, got (strideH, strideW) = ({cfg.StrideH}, {cfg.StrideW})."

        if cfg.PadH < 0 || cfg.PadW < 0 then
            Guard.fail fn "pad" $"pad must be >= 0, got (padH, padW) = ({cfg.PadH}, {cfg.PadW})."

        if cfg.Dilation < 1 then
            Guard.fail fn "dilation" $"dilation must be >= 1, got {cfg.Dilation}."

        if cfg.Groups < 1 then
            Guard.fail fn "groups" $"groups must be >= 1, got {cfg.Groups}."

    /// Checks the configuration and the shapes of x and w (and of b when given); returns the sizes.
    let internal geometryOf (fn: string) (cfg: ConvConfig) (xShape: int[]) (wShape: int[]) (b: Tensor option) =
        checkConfig fn cfg

        if xShape.Length <> 4 then
            Guard.fail fn "x" $"x must be (N, C, H, W), got shape {Guard.shapeText xShape}."

        if wShape.Length <> 4 then
            Guard.fail fn "w" $"w must be (F, C/groups, HH, WW), got shape {Guard.shapeText wShape}."

        let n, c, h, w = xShape.[0], xShape.[1], xShape.[2], xShape.[3]
        let f, cw, hh, ww = wShape.[0], wShape.[1], wShape.[2], wShape.[3]
        let g = cfg.Groups

        if c % g <> 0 then
            Guard.fail
                fn
                "groups"
                $"the C = {c} channels of x {Guard.shapeText xShape} are not divisible by groups = {g}."

        if f % g <> 0 then
            Guard.fail
                fn
                "groups"
                $"the F = {f} filters of w {Guard.shapeText wShape} are not divisible by groups = {g}."

        if cw <> c / g then
            Guard.fail
                fn
                "w"
                $"channel mismatch: x {Guard.shapeText xShape} has C = {c} channels, so w must be (F, C/groups = {c / g}, HH, WW) with groups = {g}, got w {Guard.shapeText wShape}."

        if hh < 1 || ww < 1 then
            Guard.fail fn "w" $"the kernel must be at least 1×1, got w {Guard.shapeText wShape}."

        match b with
        | Some b when b.Dims <> [| f |] ->
            Guard.fail
                fn
                "b"
                $"b must have shape ({f},) to match w {Guard.shapeText wShape}, got {Guard.shapeText b.Dims}."
        | _ -> ()

        // 64-bit: a huge dilation or pad must not wrap around into a small (wrong) output size.
        let eh = int64 cfg.Dilation * int64 (hh - 1) + 1L
        let ew = int64 cfg.Dilation * int64 (ww - 1) + 1L
        let hp = int64 h + 2L * int64 cfg.PadH
        let wp = int64 w + 2L * int64 cfg.PadW

        // Every tap coordinate i·stride − pad + k·dilation lies in [−pad, padded size): with the padded size within
        // int32, the loops' int arithmetic cannot wrap (a wrapped tap would read a wrong element, or past the array).
        if hp > int64 Int32.MaxValue || wp > int64 Int32.MaxValue then
            Guard.fail
                fn
                "pad"
                $"the padded input {hp}×{wp} (x {Guard.shapeText xShape}, pad ({cfg.PadH}, {cfg.PadW})) has a side longer than {Int32.MaxValue}."

        if eh > hp || ew > wp then
            Guard.fail
                fn
                "w"
                $"the kernel {hh}×{ww} (dilated extent {eh}×{ew}, dilation {cfg.Dilation}) is larger than the padded input {hp}×{wp} (x {Guard.shapeText xShape}, pad ({cfg.PadH}, {cfg.PadW}))."

        let ho = (hp - eh) / int64 cfg.StrideH + 1L
        let wo = (wp - ew) / int64 cfg.StrideW + 1L
        let shapes = $"x {Guard.shapeText xShape}, w {Guard.shapeText wShape}, {cfg}"
        // Every buffer the naive and fast paths allocate, checked here once: the output and the im2col block of one
        // image (C·HH·WW rows of H'·W'; padding is implicit, never allocated). Every index the loops compute is then
        // below one of these sizes or x's or w's, so int32 arithmetic is safe after this point.
        Guard.fits
            fn
            "x"
            $"the output (N, F, H', W') = ({n}, {f}, {ho}, {wo}) of {shapes}"
            (Guard.product64 [ int64 n; int64 f; ho; wo ])
        |> ignore

        Guard.fits
            fn
            "w"
            $"the im2col block (C·HH·WW, H'·W') = ({int64 c * int64 hh * int64 ww}, {ho * wo}) of {shapes}"
            (Guard.product64 [ int64 c; int64 hh; int64 ww; ho; wo ])
        |> ignore

        {
            N = n
            C = c
            H = h
            W = w
            F = f
            HH = hh
            WW = ww
            Ho = int ho
            Wo = int wo
            Cg = c / g
            Fg = f / g
            G = g
        }

    let internal geometry (fn: string) (cfg: ConvConfig) (x: Tensor) (w: Tensor) (b: Tensor) =
        Guard.notNull fn "x" x

        Guard.notNull fn "w" w

        Guard.notNull fn "b" b

        geometryOf fn cfg x.Dims w.Dims (Some b)

    /// <summary>
    /// The output shape (N, F, H', W') of a convolution of an input of shape xShape (N, C, H, W) with filters of
    /// shape wShape (F, C/groups, HH, WW); raises the same errors as <c>forward</c> for a bad configuration.
    /// </summary>
    let outputShape (cfg: ConvConfig) (xShape: int[]) (wShape: int[]) : int[] =
        Guard.notNull "Conv.outputShape" "xShape" xShape

        Guard.notNull "Conv.outputShape" "wShape" wShape

        let g = geometryOf "Conv.outputShape" cfg xShape wShape None
        [| g.N; g.F; g.Ho; g.Wo |]

    let internal checkDout (fn: string) (g: Geometry) (dout: Tensor) =
        Guard.notNull fn "dout" dout

        Guard.upstream fn [| g.N; g.F; g.Ho; g.Wo |] dout.Dims

    let internal cacheGeometry (fn: string) (cache: ConvCache) =
        Guard.notNull fn "cache" cache

        geometryOf fn cache.Config cache.X.Dims cache.W.Dims None

    // ---------------------------------------------------------------------------------------------------------
    // Naive: the course's readable loops. Zero padding is implicit: taps outside the input contribute nothing.
    // ---------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Naive forward pass (the readable loops). x: (N, C, H, W); w: (F, C/groups, HH, WW); b: (F,).
    /// Returns out (N, F, H', W') and the cache.
    /// </summary>
    let forwardNaive (cfg: ConvConfig) (x: Tensor) (w: Tensor) (b: Tensor) : Tensor * ConvCache =
        let g = geometry "Conv.forwardNaive" cfg x w b
        let xd, wd, bd = x.Data, w.Data, b.Data
        let sh, sw, ph, pw, d = cfg.StrideH, cfg.StrideW, cfg.PadH, cfg.PadW, cfg.Dilation
        let out = Array.zeroCreate (g.N * g.F * g.Ho * g.Wo)

        for n in 0 .. g.N - 1 do
            for f in 0 .. g.F - 1 do
                let group = f / g.Fg

                for i in 0 .. g.Ho - 1 do
                    for j in 0 .. g.Wo - 1 do
                        let mutable s = bd.[f]

                        for c in 0 .. g.Cg - 1 do
                            let cx = group * g.Cg + c // the input channel that filter channel c reads

                            for ki in 0 .. g.HH - 1 do
                                let h = i * sh - ph + ki * d

                                if h >= 0 && h < g.H then
                                    for kj in 0 .. g.WW - 1 do
                                        let v = j * sw - pw + kj * d

                                        if v >= 0 && v < g.W then
                                            s <-
                                                s
                                                + xd.[((n * g.C + cx) * g.H + h) * g.W + v]
                                                  * wd.[((f * g.Cg + c) * g.HH + ki) * g.WW + kj]

                        out.[((n * g.F + f) * g.Ho + i) * g.Wo + j] <- s

        Tensor.Wrap([| g.N; g.F; g.Ho; g.Wo |], out), { X = x; W = w; Config = cfg }

    /// <summary>
    /// Naive backward pass (the readable loops). dout: (N, F, H', W'). Returns dx (N, C, H, W),
    /// dw (F, C/groups, HH, WW), db (F,). Works with a cache from either forward pass.
    /// </summary>
    let backwardNaive (dout: Tensor) (cache: ConvCache) : ConvGrads =
        let g = cacheGeometry "Conv.backwardNaive" cache
        checkDout "Conv.backwardNaive" g dout
        let cfg = cache.Config
        let xd, wd, dd = cache.X.Data, cache.W.Data, dout.Data
        let sh, sw, ph, pw, d = cfg.StrideH, cfg.StrideW, cfg.PadH, cfg.PadW, cfg.Dilation
        let dx = Array.zeroCreate xd.Length
        let dw = Array.zeroCreate wd.Length
        let db = Array.zeroCreate g.F

        for n in 0 .. g.N - 1 do
            for f in 0 .. g.F - 1 do
                let group = f / g.Fg

                for i in 0 .. g.Ho - 1 do
                    for j in 0 .. g.Wo - 1 do
                        let up = dd.[((n * g.F + f) * g.Ho + i) * g.Wo + j]
                        db.[f] <- db.[f] + up

                        for c in 0 .. g.Cg - 1 do
                            let cx = group * g.Cg + c

                            for ki in 0 .. g.HH - 1 do
                                let h = i * sh - ph + ki * d

                                if h >= 0 && h < g.H then
                                    for kj in 0 .. g.WW - 1 do
                                        let v = j * sw - pw + kj * d

                                        if v >= 0 && v < g.W then
                                            let xi = ((n * g.C + cx) * g.H + h) * g.W + v
                                            let wi = ((f * g.Cg + c) * g.HH + ki) * g.WW + kj
                                            dx.[xi] <- dx.[xi] + up * wd.[wi]
                                            dw.[wi] <- dw.[wi] + up * xd.[xi]

        {
            Dx = Tensor.Wrap(Array.copy cache.X.Dims, dx)
            Dw = Tensor.Wrap(Array.copy cache.W.Dims, dw)
            Db = Tensor.Wrap([| g.F |], db)
        }

    // ---------------------------------------------------------------------------------------------------------
    // Fast: im2col + GEMM image by image into a scratch block of columns, col2im for dx; images split across cores
    // when the work is large enough.
    // ---------------------------------------------------------------------------------------------------------

    /// Multiply-adds above which images are spread across cores: about a millisecond of work, so that handing work
    /// to other threads (tens of microseconds on an idle machine, milliseconds on a busy one) stays a small cost.
    let internal parallelWork = 1L <<< 20

    let internal work (g: Geometry) =
        int64 g.N * int64 g.F * int64 (g.Ho * g.Wo) * int64 (g.Cg * g.HH * g.WW)

    /// Images in parallel when the whole job is large, there are several images, and one image's GEMM is too small
    /// to be split by Gemm itself (which would otherwise nest parallel loops).
    let internal parallelImages (g: Geometry) =
        let perImageWork = if g.N > 0 then work g / int64 g.N else 0L
        g.N > 1 && work g >= parallelWork && perImageWork < Gemm.parallelBlockedWork

    /// Images per chunk: a fixed split of the batch (not the machine's core count), so that sums over images (dw)
    /// are the same bit for bit on every machine and whether or not they run in parallel.
    [<Literal>]
    let internal Chunks = 8

    /// The number of chunks the batch is split into: Chunks, or one per image for smaller batches.
    let internal chunkCount (g: Geometry) = max 1 (min g.N Chunks)

    /// Runs body over the chunks of images [n0, n1), in parallel when `inParallel`, each chunk with its own scratch
    /// arrays of the given lengths (rented from the shared pool and returned: one image's columns fit in the cache,
    /// where a whole batch's would not, and nothing large is allocated per call).
    let internal chunked
        (g: Geometry)
        (inParallel: bool)
        (scratch: int list)
        (body: int -> int -> int -> float[] list -> unit)
        =
        let chunks = chunkCount g

        let run (ch: int) =
            let bufs = scratch |> List.map (fun len -> ArrayPool<float>.Shared.Rent len)

            try
                body ch (ch * g.N / chunks) ((ch + 1) * g.N / chunks) bufs
            finally
                for b in bufs do
                    ArrayPool<float>.Shared.Return b

        ParallelPolicy.forEach (if inParallel then ParallelPolicy.threads () else 1) chunks run

    /// The fast forward pass with an epilogue: epilogue out off len runs on each image's output (off, len) once its
    /// products are in, while it is still in the cache, and before the output is wrapped in a tensor (a fused
    /// sandwich's activation).
    let internal forwardWith
        (fn: string)
        (epilogue: float[] -> int -> int -> unit)
        (cfg: ConvConfig)
        (x: Tensor)
        (w: Tensor)
        (b: Tensor)
        : Tensor * ConvCache =
        let g = geometry fn cfg x w b
        let win = g.Window cfg
        let l = g.Ho * g.Wo
        let k = g.Cg * g.HH * g.WW // one group's rows of the columns
        let block = g.C * g.HH * g.WW * l
        let image = g.C * g.H * g.W
        // Every element is written: the bias first, then the products added onto it.
        let out = GC.AllocateUninitializedArray(g.N * g.F * l)
        let xd, wd, bd = x.Data, w.Data, b.Data

        chunked g (parallelImages g) [ block ] (fun _ n0 n1 bufs ->
            let cols = List.head bufs

            for n in n0 .. n1 - 1 do
                Im2col.im2col win l xd (n * image) cols 0
                let o = n * g.F * l

                for f in 0 .. g.F - 1 do
                    Span<float>(out, o + f * l, l).Fill(bd.[f])

                for grp in 0 .. g.G - 1 do
                    Gemm.run false false g.Fg l k wd (grp * g.Fg * k) cols (grp * k * l) out (o + grp * g.Fg * l) true

                epilogue out o (g.F * l))

        Tensor.Wrap([| g.N; g.F; g.Ho; g.Wo |], out), { X = x; W = w; Config = cfg }

    /// <summary>
    /// Fast forward pass: im2col + GEMM (one product per image and group, images in parallel when large).
    /// x: (N, C, H, W); w: (F, C/groups, HH, WW); b: (F,). Returns out (N, F, H', W') and the cache.
    /// </summary>
    let forward (cfg: ConvConfig) (x: Tensor) (w: Tensor) (b: Tensor) : Tensor * ConvCache =
        forwardWith "Conv.forward" (fun _ _ _ -> ()) cfg x w b

    /// <summary>
    /// Fast backward pass, image by image: the columns rebuilt by im2col, dw += dout · colsᵀ, the columns' gradient
    /// wᵀ · dout folded back onto dx by col2im; chunks of images in parallel when large. dout: (N, F, H', W').
    /// Returns dx (N, C, H, W), dw (F, C/groups, HH, WW), db (F,). Works with a cache from either forward pass.
    /// </summary>
    let backward (dout: Tensor) (cache: ConvCache) : ConvGrads =
        let g = cacheGeometry "Conv.backward" cache
        checkDout "Conv.backward" g dout
        let win = g.Window cache.Config
        let l = g.Ho * g.Wo
        let k = g.Cg * g.HH * g.WW
        let block = g.C * g.HH * g.WW * l
        let image = g.C * g.H * g.W
        let xd, wd, dd = cache.X.Data, cache.W.Data, dout.Data

        // db: the sum of dout over images and positions.
        let db = Array.zeroCreate g.F

        for n in 0 .. g.N - 1 do
            for f in 0 .. g.F - 1 do
                db.[f] <- db.[f] + TensorPrimitives.Sum(ReadOnlySpan<float>(dd, (n * g.F + f) * l, l))

        // Per chunk of images: its own partial dw (summed in chunk order below), dx written image by image.
        let chunks = chunkCount g
        let partial = Array.init chunks (fun _ -> Array.zeroCreate wd.Length)
        let dx = Array.zeroCreate (g.N * image)

        let wT = Array.zeroCreate wd.Length

        for grp in 0 .. g.G - 1 do
            for f in 0 .. g.Fg - 1 do
                for r in 0 .. k - 1 do
                    wT.[grp * k * g.Fg + r * g.Fg + f] <- wd.[(grp * g.Fg + f) * k + r]

        chunked g (parallelImages g) [ block; block ] (fun ch n0 n1 bufs ->
            let cols, dcols = bufs.[0], bufs.[1]
            let acc = partial.[ch]

            for n in n0 .. n1 - 1 do
                Im2col.im2col win l xd (n * image) cols 0

                for grp in 0 .. g.G - 1 do
                    let dOff = (n * g.F + grp * g.Fg) * l
                    // dw_g += dout_g (Fg × L) · cols_gᵀ (L × K)
                    Gemm.run false true g.Fg k l dd dOff cols (grp * k * l) acc (grp * g.Fg * k) true
                    // dcols_g = w_gᵀ (K × Fg) · dout_g (Fg × L)
                    Gemm.run false false k l g.Fg wT (grp * k * g.Fg) dd dOff dcols (grp * k * l) false

                Im2col.col2im win l dcols 0 dx (n * image))

        let dw = partial.[0]

        for p in 1 .. chunks - 1 do
            TensorPrimitives.Add(ReadOnlySpan<float>(dw), ReadOnlySpan<float>(partial.[p]), Span<float>(dw))

        {
            Dx = Tensor.Wrap(Array.copy cache.X.Dims, dx)
            Dw = Tensor.Wrap(Array.copy cache.W.Dims, dw)
            Db = Tensor.Wrap([| g.F |], db)
        }
