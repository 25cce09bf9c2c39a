namespace Functional.Kernels

#nowarn "9" // native pointers in the ReLU loops

open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop

/// Branch-free ReLU loops (Vector256, then a scalar tail): with inputs of random sign a branch per element is
/// mispredicted half the time, which made the ReLU of a conv layer cost as much as its GEMM. The mask is
/// "not (keep ≤ 0)", so NaN passes through as in NumPy and PyTorch (<c>torch.relu(nan) = nan</c>; its backward,
/// <c>threshold_backward</c>, lets the gradient through where x is NaN) and −0 maps to +0. The same two instructions
/// per vector as a "keep &gt; 0" compare-and-AND: a compare and an AND-NOT.
module internal ReluKernels =
    /// dst[off + i] = src[off + i] unless keep[off + i] ≤ 0 (so where it is NaN too), else 0, for i < n (src and dst
    /// may be the same array).
    let maskedAt (off: int) (n: int) (keep: float[]) (src: float[]) (dst: float[]) =
        // The unchecked loops below read and write n elements of each from off: checked once per call, not per
        // element.
        let fits (a: float[]) =
            off >= 0 && int64 off + int64 n <= int64 a.Length

        if n < 0 || not (fits keep && fits src && fits dst) then
            invalidOp
                $"internal: ReluKernels.masked over {n} elements from {off} of arrays of {keep.Length}, {src.Length}, {dst.Length}"

        if n > 0 then
            use pk0 = fixed keep
            use ps0 = fixed src
            use pd0 = fixed dst
            let pk, ps, pd = NativePtr.add pk0 off, NativePtr.add ps0 off, NativePtr.add pd0 off
            let mutable i = 0

            if Vector256.IsHardwareAccelerated then
                while i + 4 <= n do
                    let zeroOut =
                        Vector256.LessThanOrEqual(Vector256.Load(NativePtr.add pk i), Vector256<float>.Zero)

                    Vector256.Store(Vector256.AndNot(Vector256.Load(NativePtr.add ps i), zeroOut), NativePtr.add pd i)
                    i <- i + 4

            while i < n do
                NativePtr.set
                    pd
                    i
                    (if NativePtr.get pk i <= 0.0 then
                         0.0
                     else
                         NativePtr.get ps i)

                i <- i + 1

    /// dst[i] = src[i] unless keep[i] ≤ 0, else 0, for i < n.
    let masked (n: int) (keep: float[]) (src: float[]) (dst: float[]) = maskedAt 0 n keep src dst

    /// Rectifies a[off .. off + n − 1] in place: the epilogue of a fused layer, applied to a buffer before it is
    /// wrapped in a tensor.
    let rectify (a: float[]) (off: int) (n: int) = maskedAt off n a a a
