namespace Functional.Kernels

#nowarn "9" // native pointers in the 2×2 pooling kernels

open System
open System.Numerics.Tensors
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open Microsoft.FSharp.NativeInterop

/// <summary>
/// The geometry of one 2-D convolution or pooling window sweep over a single image: input planes of H × W,
/// kernel KH × KW with dilation D, strides SH/SW, zero padding PH/PW, output Ho × Wo.
/// </summary>
[<Struct>]
type internal Window = {
    C: int
    H: int
    W: int
    KH: int
    KW: int
    SH: int
    SW: int
    PH: int
    PW: int
    D: int
    Ho: int
    Wo: int
}

/// <summary>
/// im2col / col2im, one image at a time: the columns of an image form a (C·KH·KW) × (Ho·Wo) matrix whose row
/// (c, ki, kj) holds, for every output position (i, j), the input value under kernel tap (ki, kj) of channel c (zero
/// where the tap falls in the padding); rows are rowStride apart (Ho·Wo for one image's own block, N·Ho·Wo to lay a
/// batch side by side). Convolution is then one GEMM per group.
/// </summary>
module internal Im2col =
    /// The range [j0, j1) of output columns j whose tap column j·SW − PW + kj·D falls inside 0 .. W − 1.
    let inline private validCols (g: Window) (kj: int) =
        let off = kj * g.D - g.PW
        let j0 = if off >= 0 then 0 else (-off + g.SW - 1) / g.SW

        let j1 =
            if g.W - 1 - off < 0 then
                0
            else
                min g.Wo ((g.W - 1 - off) / g.SW + 1)

        struct (off, j0, max j0 j1)

    /// Writes the columns of the image at x[xOff ..] into cols[colsOff ..], rows rowStride apart: every element of
    /// the (C·KH·KW) × (Ho·Wo) block, zeros for the taps in the padding, so the destination may hold anything.
    /// The bounds the unchecked gathers and scatters rely on, checked once per image: the C × H × W image at xOff
    /// and the C·KH·KW rows of Ho·Wo columns (rowStride apart) at colsOff lie inside their arrays.
    let private checkBlock (g: Window) (rowStride: int) (xLength: int) (xOff: int) (colsLength: int) (colsOff: int) =
        let rows = int64 g.C * int64 g.KH * int64 g.KW

        if
            xOff < 0
            || colsOff < 0
            || int64 xOff + int64 g.C * int64 g.H * int64 g.W > int64 xLength
            || (rows > 0L
                && int64 colsOff + (rows - 1L) * int64 rowStride + int64 g.Ho * int64 g.Wo > int64 colsLength)
        then
            invalidOp $"internal: im2col block at {xOff} (of {xLength}) / {colsOff} (of {colsLength}) out of bounds"

    let im2col (g: Window) (rowStride: int) (x: float[]) (xOff: int) (cols: float[]) (colsOff: int) =
        checkBlock g rowStride x.Length xOff cols.Length colsOff
        use px = fixed x
        use pc = fixed cols

        for c in 0 .. g.C - 1 do
            for ki in 0 .. g.KH - 1 do
                for kj in 0 .. g.KW - 1 do
                    let row = colsOff + ((c * g.KH + ki) * g.KW + kj) * rowStride
                    let struct (off, j0, j1) = validCols g kj

                    for i in 0 .. g.Ho - 1 do
                        let h = i * g.SH - g.PH + ki * g.D
                        let dst = row + i * g.Wo

                        if h >= 0 && h < g.H && j1 > j0 then
                            let src = xOff + (c * g.H + h) * g.W + off

                            if j0 > 0 then
                                Span<float>(cols, dst, j0).Clear()

                            if g.SW = 1 then
                                Array.Copy(x, src + j0, cols, dst + j0, j1 - j0)
                            else
                                // Strided gather: checked above (0 ≤ h < H, j0 ≤ j < j1 inside the row), unchecked here.
                                let s = NativePtr.add px src
                                let d = NativePtr.add pc dst

                                for j in j0 .. j1 - 1 do
                                    NativePtr.set d j (NativePtr.get s (j * g.SW))

                            if j1 < g.Wo then
                                Span<float>(cols, dst + j1, g.Wo - j1).Clear()
                        else
                            Span<float>(cols, dst, g.Wo).Clear()

    /// Adds the columns cols[colsOff ..] (rows rowStride apart) back onto the image dx[dxOff ..], the adjoint of
    /// im2col: every tap's value is summed into the input element it was read from; taps in the padding are dropped.
    let col2im (g: Window) (rowStride: int) (cols: float[]) (colsOff: int) (dx: float[]) (dxOff: int) =
        checkBlock g rowStride dx.Length dxOff cols.Length colsOff
        use pc = fixed cols
        use px = fixed dx

        for c in 0 .. g.C - 1 do
            for ki in 0 .. g.KH - 1 do
                for kj in 0 .. g.KW - 1 do
                    let row = colsOff + ((c * g.KH + ki) * g.KW + kj) * rowStride
                    let struct (off, j0, j1) = validCols g kj

                    if j1 > j0 then
                        for i in 0 .. g.Ho - 1 do
                            let h = i * g.SH - g.PH + ki * g.D

                            if h >= 0 && h < g.H then
                                let dst = dxOff + (c * g.H + h) * g.W + off
                                let src = row + i * g.Wo

                                if g.SW = 1 then
                                    let target = Span<float>(dx, dst + j0, j1 - j0)
                                    TensorPrimitives.Add(ReadOnlySpan<float>(cols, src + j0, j1 - j0), target, target)
                                else
                                    let d = NativePtr.add px dst
                                    let s = NativePtr.add pc src

                                    for j in j0 .. j1 - 1 do
                                        NativePtr.set d (j * g.SW) (NativePtr.get d (j * g.SW) + NativePtr.get s j)

/// <summary>
/// Max-pooling window kernels over one H × W plane. Both record, for every output element, where its window's maximum
/// is, as the offset ki·KW + kj inside the window (a byte: the fast path keeps arg-maxes only for windows of at most
/// 256 elements): the first maximum in row-major window order on ties, exactly as the naive loops choose it (a later
/// element wins only when strictly greater, or when it is NaN: PyTorch's rule <c>val &gt; maxval || isnan(val)</c>,
/// so a window holding NaN gives NaN and its arg-max is the last NaN of the window).
/// </summary>
module internal PoolKernels =
    /// Whether v replaces the running maximum best: strictly greater, or NaN (which then stays, since nothing
    /// compares greater than NaN). The one rule of every max-pooling loop, naive and fast.
    let inline replaces (v: float) (best: float) = v > best || Double.IsNaN v

    /// The bounds the unchecked 2×2 kernels rely on, checked once per plane: the H × W plane at xOff and the
    /// Ho × Wo outputs at outOff lie inside their arrays.
    let checkPlane (g: Window) (xLength: int) (xOff: int) (outLength: int) (outOff: int) =
        if
            xOff < 0
            || outOff < 0
            || int64 xOff + int64 g.H * int64 g.W > int64 xLength
            || int64 outOff + int64 g.Ho * int64 g.Wo > int64 outLength
            || g.H < 2 * g.Ho
            || g.W < 2 * g.Wo
        then
            invalidOp $"internal: 2×2 pooling plane at {xOff} (of {xLength}) / {outOff} (of {outLength}) out of bounds"

    /// The largest window whose arg-maxes fit in a byte.
    [<Literal>]
    let MaxArgWindow = 256

    /// General windows (any stride, overlapping or not): a loop over each window.
    let maxWindows (g: Window) (x: float[]) (xOff: int) (out: float[]) (arg: byte[]) (outOff: int) =
        for i in 0 .. g.Ho - 1 do
            for j in 0 .. g.Wo - 1 do
                let start = xOff + i * g.SH * g.W + j * g.SW
                let mutable best = x.[start]
                let mutable at = 0

                for ki in 0 .. g.KH - 1 do
                    let row = start + ki * g.W

                    for kj in 0 .. g.KW - 1 do
                        let v = x.[row + kj]

                        if replaces v best then
                            best <- v
                            at <- ki * g.KW + kj

                out.[outOff + i * g.Wo + j] <- best
                arg.[outOff + i * g.Wo + j] <- byte at

    /// Windows that tile the plane exactly (stride = window, H and W multiples of it): the reshape trick. The plane
    /// is viewed as (Ho, KH, Wo, KW) and read once, row by row, each row folding into its output row's maxima.
    let maxTiled (g: Window) (x: float[]) (xOff: int) (out: float[]) (arg: byte[]) (outOff: int) =
        for h in 0 .. g.Ho * g.KH - 1 do
            let i = h / g.KH
            let ki = h % g.KH
            let row = xOff + h * g.W
            let o0 = outOff + i * g.Wo

            if ki = 0 then
                for j in 0 .. g.Wo - 1 do
                    let s = row + j * g.KW
                    let mutable best = x.[s]
                    let mutable at = 0

                    for kj in 1 .. g.KW - 1 do
                        if replaces x.[s + kj] best then
                            best <- x.[s + kj]
                            at <- kj

                    out.[o0 + j] <- best
                    arg.[o0 + j] <- byte at
            else
                for j in 0 .. g.Wo - 1 do
                    let s = row + j * g.KW
                    let mutable best = out.[o0 + j]
                    let mutable at = -1

                    for kj in 0 .. g.KW - 1 do
                        if replaces x.[s + kj] best then
                            best <- x.[s + kj]
                            at <- kj

                    if at >= 0 then
                        out.[o0 + j] <- best
                        arg.[o0 + j] <- byte (ki * g.KW + at)

    /// True for 2×2 windows with stride 2 that tile the plane exactly: the case the course and most nets use,
    /// served by max2x2 and scatter2x2.
    let isTiled2x2 (g: Window) =
        g.KH = 2 && g.KW = 2 && g.SH = 2 && g.SW = 2 && g.H % 2 = 0 && g.W % 2 = 0

    /// 2×2 windows with stride 2 tiling the plane (isTiled2x2): the same maxima and arg-maxes as maxWindows, without
    /// branches. Four windows at a time on AVX2: the two input rows are split into the windows' left and right
    /// columns (a, b above; c, d below), and each later element replaces the running maximum where strictly greater
    /// or NaN (replaces): the mask is GT(v, best) OR UNORD(v, v).
    let max2x2 (g: Window) (x: float[]) (xOff: int) (out: float[]) (arg: byte[]) (outOff: int) =
        checkPlane g x.Length xOff (min out.Length arg.Length) outOff
        let w, wo = g.W, g.Wo
        use px = fixed x
        use po = fixed out
        use pa = fixed arg

        for i in 0 .. g.Ho - 1 do
            let r0 = NativePtr.add px (xOff + 2 * i * w)
            let r1 = NativePtr.add r0 w
            let o = NativePtr.add po (outOff + i * wo)
            let a = NativePtr.add pa (outOff + i * wo)
            let mutable j = 0

            if Avx2.IsSupported then
                let one, two, three =
                    Vector256.Create 1.0, Vector256.Create 2.0, Vector256.Create 3.0

                while j + 4 <= wo do
                    let p0 = Avx.LoadVector256(NativePtr.add r0 (2 * j))
                    let p1 = Avx.LoadVector256(NativePtr.add r0 (2 * j + 4))
                    let q0 = Avx.LoadVector256(NativePtr.add r1 (2 * j))
                    let q1 = Avx.LoadVector256(NativePtr.add r1 (2 * j + 4))
                    // Lanes in window order 0, 2, 1, 3 (unpack works within 128-bit halves); undone by the permute.
                    let mutable best = Avx.UnpackLow(p0, p1)
                    let mutable at = Vector256<float>.Zero
                    let vb = Avx.UnpackHigh(p0, p1)
                    let m1 = Avx.Or(Avx.CompareGreaterThan(vb, best), Avx.CompareUnordered(vb, vb))
                    best <- Avx.BlendVariable(best, vb, m1)
                    at <- Avx.BlendVariable(at, one, m1)
                    let vc = Avx.UnpackLow(q0, q1)
                    let m2 = Avx.Or(Avx.CompareGreaterThan(vc, best), Avx.CompareUnordered(vc, vc))
                    best <- Avx.BlendVariable(best, vc, m2)
                    at <- Avx.BlendVariable(at, two, m2)
                    let vd = Avx.UnpackHigh(q0, q1)
                    let m3 = Avx.Or(Avx.CompareGreaterThan(vd, best), Avx.CompareUnordered(vd, vd))
                    best <- Avx.BlendVariable(best, vd, m3)
                    at <- Avx.BlendVariable(at, three, m3)
                    Avx.Store(NativePtr.add o j, Avx2.Permute4x64(best, 0b11011000uy))

                    let ai =
                        Avx.ConvertToVector128Int32WithTruncation(Avx2.Permute4x64(at, 0b11011000uy))

                    NativePtr.set a j (byte (ai.GetElement 0))
                    NativePtr.set a (j + 1) (byte (ai.GetElement 1))
                    NativePtr.set a (j + 2) (byte (ai.GetElement 2))
                    NativePtr.set a (j + 3) (byte (ai.GetElement 3))
                    j <- j + 4

            while j < wo do
                let mutable best = NativePtr.get r0 (2 * j)
                let mutable at = 0uy
                let vb = NativePtr.get r0 (2 * j + 1)

                if replaces vb best then
                    best <- vb
                    at <- 1uy

                let vc = NativePtr.get r1 (2 * j)

                if replaces vc best then
                    best <- vc
                    at <- 2uy

                let vd = NativePtr.get r1 (2 * j + 1)

                if replaces vd best then
                    best <- vd
                    at <- 3uy

                NativePtr.set o j best
                NativePtr.set a j at
                j <- j + 1

    /// The gradient of one plane for 2×2 windows with stride 2 tiling it (isTiled2x2): writes every element of the
    /// plane dx[xOff ..], dout at each window's arg-max and zero elsewhere, so dx needs no clearing beforehand.
    let scatter2x2 (g: Window) (dout: float[]) (arg: byte[]) (outOff: int) (dx: float[]) (xOff: int) =
        checkPlane g dx.Length xOff (min dout.Length arg.Length) outOff
        let w, wo = g.W, g.Wo
        use pd = fixed dout
        use pa = fixed arg
        use px = fixed dx

        for i in 0 .. g.Ho - 1 do
            let r0 = NativePtr.add px (xOff + 2 * i * w)
            let r1 = NativePtr.add r0 w
            let d = NativePtr.add pd (outOff + i * wo)
            let a = NativePtr.add pa (outOff + i * wo)
            let mutable j = 0

            if Avx2.IsSupported then
                let one, two, three =
                    Vector256.Create 1.0, Vector256.Create 2.0, Vector256.Create 3.0

                while j + 4 <= wo do
                    // Windows in lane order 0, 2, 1, 3, so that unpacking interleaves them back into input order.
                    let dv = Avx2.Permute4x64(Avx.LoadVector256(NativePtr.add d j), 0b11011000uy)

                    let ai =
                        Vector128.Create(
                            int (NativePtr.get a j),
                            int (NativePtr.get a (j + 2)),
                            int (NativePtr.get a (j + 1)),
                            int (NativePtr.get a (j + 3))
                        )

                    let at = Avx.ConvertToVector256Double ai
                    let s0 = Avx.And(Avx.CompareEqual(at, Vector256<float>.Zero), dv)
                    let s1 = Avx.And(Avx.CompareEqual(at, one), dv)
                    let s2 = Avx.And(Avx.CompareEqual(at, two), dv)
                    let s3 = Avx.And(Avx.CompareEqual(at, three), dv)
                    Avx.Store(NativePtr.add r0 (2 * j), Avx.UnpackLow(s0, s1))
                    Avx.Store(NativePtr.add r0 (2 * j + 4), Avx.UnpackHigh(s0, s1))
                    Avx.Store(NativePtr.add r1 (2 * j), Avx.UnpackLow(s2, s3))
                    Avx.Store(NativePtr.add r1 (2 * j + 4), Avx.UnpackHigh(s2, s3))
                    j <- j + 4

            while j < wo do
                let v = NativePtr.get d j
                let at = NativePtr.get a j
                NativePtr.set r0 (2 * j) (if at = 0uy then v else 0.0)
                NativePtr.set r0 (2 * j + 1) (if at = 1uy then v else 0.0)
                NativePtr.set r1 (2 * j) (if at = 2uy then v else 0.0)
                NativePtr.set r1 (2 * j + 1) (if at = 3uy then v else 0.0)
                j <- j + 1

    /// Adds every upstream gradient of one plane, dout[outOff ..], to dx[xOff ..] at its window's recorded arg-max.
    let scatter (g: Window) (dout: float[]) (arg: byte[]) (outOff: int) (dx: float[]) (xOff: int) =
        for i in 0 .. g.Ho - 1 do
            for j in 0 .. g.Wo - 1 do
                let o = outOff + i * g.Wo + j
                let a = int arg.[o]
                let p = xOff + (i * g.SH + a / g.KW) * g.W + j * g.SW + a % g.KW
                dx.[p] <- dx.[p] + dout.[o]
