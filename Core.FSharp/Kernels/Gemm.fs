namespace Functional.Kernels

open System
open System.Numerics.Tensors
open System.Threading.Tasks

/// <summary>
/// The one internal GEMM entry point: every matrix product in the library (matmul, affine, im2col
/// convolution) goes through <c>Gemm.run</c>, so a faster kernel lands in one place.
/// </summary>
module internal Gemm =
    /// Work (m·n·k multiply-adds) above which the rows are split across cores.
    let parallelThreshold = 1 <<< 18

    /// C (m×n, row-major, at cOff) ← op(A)·op(B) [+ C when accumulate].
    /// A is m×k row-major at aOff, or k×m when transA; B is k×n row-major at bOff, or n×k when transB.
    let run
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (k: int)
        (a: float[])
        (aOff: int)
        (b: float[])
        (bOff: int)
        (c: float[])
        (cOff: int)
        (accumulate: bool)
        =
        if m > 0 && n > 0 then
            if not accumulate then
                Array.Clear(c, cOff, m * n)

            if k > 0 then
                // Bring A to row-major m×k so that row i of A is contiguous.
                let aRows, aBase =
                    if transA then
                        let p = Array.zeroCreate (m * k)

                        for q in 0 .. k - 1 do
                            for i in 0 .. m - 1 do
                                p.[i * k + q] <- a.[aOff + q * m + i]

                        p, 0
                    else
                        a, aOff

                let rowKernel (i: int) =
                    let ci = Span<float>(c, cOff + i * n, n)

                    if transB then
                        let ai = ReadOnlySpan<float>(aRows, aBase + i * k, k)

                        for j in 0 .. n - 1 do
                            ci.[j] <- ci.[j] + TensorPrimitives.Dot(ai, ReadOnlySpan<float>(b, bOff + j * k, k))
                    else
                        for q in 0 .. k - 1 do
                            let s = aRows.[aBase + i * k + q]
                            TensorPrimitives.MultiplyAdd(ReadOnlySpan<float>(b, bOff + q * n, n), s, ci, ci)

                if int64 m * int64 n * int64 k >= int64 parallelThreshold && m > 1 then
                    Parallel.For(0, m, rowKernel) |> ignore
                else
                    for i in 0 .. m - 1 do
                        rowKernel i
