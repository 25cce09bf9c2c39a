namespace Functional.Kernels

#nowarn "9" // native pointers in the 2×2 pooling kernels

open System
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open Microsoft.FSharp.NativeInterop

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
