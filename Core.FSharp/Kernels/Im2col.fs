namespace Functional.Kernels

open System
open System.Numerics.Tensors

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

    /// Writes the columns of the image at x[xOff ..] into cols[colsOff ..], rows rowStride apart. The destination
    /// must be zero on entry: only the taps that fall inside the input are written.
    let im2col (g: Window) (rowStride: int) (x: float[]) (xOff: int) (cols: float[]) (colsOff: int) =

        for c in 0 .. g.C - 1 do
            for ki in 0 .. g.KH - 1 do
                for kj in 0 .. g.KW - 1 do
                    let row = colsOff + ((c * g.KH + ki) * g.KW + kj) * rowStride
                    let struct (off, j0, j1) = validCols g kj

                    if j1 > j0 then
                        for i in 0 .. g.Ho - 1 do
                            let h = i * g.SH - g.PH + ki * g.D

                            if h >= 0 && h < g.H then
                                let src = xOff + (c * g.H + h) * g.W + off
                                let dst = row + i * g.Wo

                                if g.SW = 1 then
                                    Array.Copy(x, src + j0, cols, dst + j0, j1 - j0)
                                else
                                    for j in j0 .. j1 - 1 do
                                        cols.[dst + j] <- x.[src + j * g.SW]

    /// Adds the columns cols[colsOff ..] (rows rowStride apart) back onto the image dx[dxOff ..], the adjoint of
    /// im2col: every tap's value is summed into the input element it was read from; taps in the padding are dropped.
    let col2im (g: Window) (rowStride: int) (cols: float[]) (colsOff: int) (dx: float[]) (dxOff: int) =

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
                                    for j in j0 .. j1 - 1 do
                                        dx.[dst + j * g.SW] <- dx.[dst + j * g.SW] + cols.[src + j]

/// <summary>
/// Max-pooling window kernels over one H × W plane. Both record, for every output element, where its window's maximum
/// is, as the offset ki·KW + kj inside the window (a byte: the fast path keeps arg-maxes only for windows of at most
/// 256 elements): the first maximum in row-major window order on ties, exactly as the naive loops choose it (a later
/// element wins only when strictly greater).
/// </summary>
module internal PoolKernels =
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

                        if v > best then
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
                        if x.[s + kj] > best then
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
                        if x.[s + kj] > best then
                            best <- x.[s + kj]
                            at <- kj

                    if at >= 0 then
                        out.[o0 + j] <- best
                        arg.[o0 + j] <- byte (ki * g.KW + at)

    /// Adds every upstream gradient of one plane, dout[outOff ..], to dx[xOff ..] at its window's recorded arg-max.
    let scatter (g: Window) (dout: float[]) (arg: byte[]) (outOff: int) (dx: float[]) (xOff: int) =
        for i in 0 .. g.Ho - 1 do
            for j in 0 .. g.Wo - 1 do
                let o = outOff + i * g.Wo + j
                let a = int arg.[o]
                let p = xOff + (i * g.SH + a / g.KW) * g.W + j * g.SW + a % g.KW
                dx.[p] <- dx.[p] + dout.[o]
