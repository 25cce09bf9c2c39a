namespace Functional.Kernels

#nowarn "9" // native pointers in the im2col / col2im row copies

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
