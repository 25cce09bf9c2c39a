namespace Functional

open System
open Functional.Kernels

/// <summary>
/// Which implementation runs the library's matrix products (every one goes through the same internal GEMM).
/// Automatic choice: the managed SIMD kernel on AVX-512 machines (measured 1.5–1.7× faster there than Debian's
/// OpenBLAS 0.3.21, which falls back to its Haswell kernels on recent CPUs), else OpenBLAS's <c>cblas_dgemm</c> when
/// <c>libopenblas.so.0</c> (Debian package <c>libopenblas0</c>) can be loaded, else the managed kernel. The environment variable
/// <c>FUNCTIONAL_BLAS=managed|openblas</c> forces one (openblas without the library fails at first use, naming the
/// variable); <c>FUNCTIONAL_THREADS</c> sets the thread count of both (default: the processor count).
/// Products smaller than about 32³ multiply-adds always run a simple serial loop.
/// </summary>
[<AbstractClass; Sealed>]
type Blas =
    /// <summary>The active GEMM backend: <c>"openblas"</c> or <c>"managed"</c>.</summary>
    /// <exception cref="System.InvalidOperationException">FUNCTIONAL_BLAS or FUNCTIONAL_THREADS is invalid, or
    /// asks for OpenBLAS when it cannot be loaded.</exception>
    static member Active: string =
        match Gemm.activeBackend () with
        | OpenBlas -> "openblas"
        | Managed -> "managed"

    /// <summary>Whether OpenBLAS (<c>libopenblas.so.0</c>) could be loaded on this machine.</summary>
    static member OpenBlasAvailable: bool = Gemm.openBlas.Value.IsSome

    /// <summary>The number of threads the library's parallel loops (GEMM, convolution, pooling, normalization) use:
    /// FUNCTIONAL_THREADS, default the processor count.</summary>
    static member Threads: int = ParallelPolicy.configured.Value

    /// <summary>
    /// A one-line description of the active backend, e.g.
    /// <c>"openblas: libopenblas.so.0 (OpenBLAS 0.3.21 … Haswell …), 2 threads"</c> or
    /// <c>"managed: 8×24 Vector512 FMA micro-kernel, 2 threads"</c>.
    /// </summary>
    static member Description: string =
        let threads = ParallelPolicy.configured.Value

        match Gemm.activeBackend (), Gemm.openBlas.Value with
        | OpenBlas, Some lib -> $"openblas: {lib.Name} ({lib.Config}), {threads} threads"
        | _ ->
            let kernel =
                match Gemm.bestKernel with
                | Avx512 -> "8×24 Vector512 FMA micro-kernel"
                | Avx2 -> "6×8 Vector256 FMA micro-kernel"
                | Portable -> "portable TensorPrimitives row loop"

            $"managed: {kernel}, {threads} threads"
