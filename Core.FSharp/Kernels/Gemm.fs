namespace Functional.Kernels

// The micro-kernels read packed panels and write C through pointers into pinned arrays: unverifiable IL (FS0009),
// confined to this file and OpenBlas.fs. Every pointer is derived from an offset checked by Gemm.runLd.
#nowarn "9"

open System
open Functional
open System.Collections.Concurrent
open System.Numerics
open System.Numerics.Tensors
open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open System.Threading
open System.Threading.Tasks
open Microsoft.FSharp.NativeInterop

/// Which implementation runs the products above the small-size cut-off.
type internal GemmBackend =
    /// The managed, cache-blocked, packed, register-tiled kernel of this file.
    | Managed
    /// cblas_dgemm from libopenblas.so.0.
    | OpenBlas

/// The managed micro-kernel (register tile) and the instruction set it needs.
type internal MicroKernel =
    /// 8×24 tile of Vector512 FMAs (needs accelerated Vector512, e.g. AVX-512F).
    | Avx512
    /// 6×8 tile of Vector256 FMAs (needs AVX2 and FMA).
    | Avx2
    /// No register tile: rows of TensorPrimitives multiply-adds (any hardware).
    | Portable

/// <summary>
/// The one internal GEMM entry point: every matrix product in the library (matmul, affine, im2col
/// convolution) goes through <c>Gemm.run</c> (or <c>Gemm.runLd</c> with explicit leading dimensions).
/// Small products run a simple serial kernel; larger ones run the active backend: OpenBLAS's cblas_dgemm when
/// libopenblas.so.0 can be loaded, else the managed blocked kernel; FUNCTIONAL_BLAS=managed|openblas overrides
/// the automatic choice; the thread count is ParallelPolicy's (FUNCTIONAL_THREADS).
/// </summary>
module internal Gemm =
    /// The environment variable that forces a backend: managed, openblas (or auto / unset).
    [<Literal>]
    let BackendVariable = "FUNCTIONAL_BLAS"

    /// Products with fewer multiply-adds (m·n·k) than this (about 40³) run a simple serial kernel without packing
    /// on every backend (faster there than both the blocked kernel and OpenBLAS).
    let smallWork = 65536L

    /// Work (m·n·k) above which the row loop (portable kernel) and the direct kernel (skinny products) split across
    /// cores.
    let parallelRowsWork = 1L <<< 18

    /// Work (m·n·k, about 320³) above which the blocked kernel splits across cores: below it, waking the other
    /// threads (and waiting for one that another process holds) cost more than they bring on a shared machine.
    let parallelBlockedWork = 1L <<< 25

    // ---- configuration ----

    /// OpenBLAS, loaded on first use with its thread count set to match; None when it cannot be loaded.
    /// OpenBLAS runs single-threaded inside each call; products large enough to split are split here (below), the
    /// same way for both backends. Its own thread pool, shared by the whole process, serializes concurrent calls,
    /// and the layers call GEMM from several threads at once (images in parallel): W5 took 117 ms that way, 19 ms
    /// with the managed kernel.
    let openBlas = lazy (OpenBlas.load 1)

    /// The backend for a FUNCTIONAL_BLAS value; openBlasLoads is asked only when OpenBLAS may be chosen.
    /// preferManaged: the managed kernel is the faster one here (an AVX-512 machine, where the 8×24 Vector512
    /// kernel measured 1.5–1.7× Debian OpenBLAS 0.3.21, which has no AVX-512 kernels for recent CPUs and falls back to
    /// Haswell's); the automatic choice then takes it even when OpenBLAS loads.
    let resolveBackend (value: string | null) (preferManaged: bool) (openBlasLoads: unit -> bool) =
        let v =
            match value with
            | null -> ""
            | value -> value.Trim().ToLowerInvariant()

        match v with
        | ""
        | "auto" ->
            if not preferManaged && openBlasLoads () then
                OpenBlas
            else
                Managed
        | "managed" -> Managed
        | "openblas" ->
            if openBlasLoads () then
                OpenBlas
            else
                let names = String.Join(", ", OpenBlas.candidates)

                raise (
                    InvalidOperationException(
                        $"{BackendVariable}=openblas asks for OpenBLAS, but none of {names} could be loaded: install the Debian package libopenblas0, or set {BackendVariable}=managed (or unset it) to use the managed GEMM."
                    )
                )
        | _ ->
            raise (
                InvalidOperationException(
                    $"{BackendVariable}={value} is not a GEMM backend: use managed or openblas, or unset it for the automatic choice (OpenBLAS when libopenblas.so.0 loads, else managed)."
                )
            )

    /// The process-wide backend: FUNCTIONAL_BLAS, else managed on AVX-512 machines, else OpenBLAS when it loads,
    /// else managed. An invalid setting
    /// raises at first use, naming the variable (and raises the same way at every later use).
    let defaultBackend =
        lazy
            (resolveBackend
                (Environment.GetEnvironmentVariable BackendVariable)
                (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
                (fun () -> openBlas.Value.IsSome))

    let private backendOverride = AsyncLocal<GemmBackend voption>()

    /// The backend products run on here: the one set by withBackend around this call, else the default. Every
    /// product asks, so both variables are validated by the first one (not by the first large one, which a small
    /// net may reach only after a whole run, or never).
    let activeBackend () =
        ParallelPolicy.configured.Force() |> ignore

        match backendOverride.Value with
        | ValueSome b -> b
        | ValueNone -> defaultBackend.Value

    /// Runs f with the products on this logical thread (and the tasks it starts) going to the given backend.
    let withBackend (backend: GemmBackend) (f: unit -> 'a) : 'a =
        if backend = OpenBlas && openBlas.Value.IsNone then
            raise (InvalidOperationException "Gemm.withBackend: OpenBLAS (libopenblas.so.0) is not loadable here.")

        let previous = backendOverride.Value
        backendOverride.Value <- ValueSome backend

        try
            f ()
        finally
            backendOverride.Value <- previous

    /// The fastest micro-kernel this machine's JIT accelerates.
    let bestKernel =
        if Vector512.IsHardwareAccelerated && Avx512F.IsSupported then
            Avx512
        elif Avx2.IsSupported && Fma.IsSupported then
            Avx2
        else
            Portable

    /// Whether this machine can run the kernel.
    let supports (kernel: MicroKernel) =
        match kernel with
        | Avx512 -> Avx512F.IsSupported && Vector512.IsHardwareAccelerated
        | Avx2 -> Avx2.IsSupported && Fma.IsSupported
        | Portable -> true

    /// Whether the small products run the Vector256 FMA kernel without packing (else the TensorPrimitives rows).
    let smallDirect = Avx2.IsSupported && Fma.IsSupported

    // ---- operand checks ----

    /// An operand is rows×cols row-major with leading dimension ld at off; it must lie inside the array, since
    /// the kernels do not check bounds.
    let private checkOperand (name: string) (arr: float[]) (off: int) (rows: int) (cols: int) (ld: int) =
        if rows > 0 && cols > 0 then
            if isNull (box arr) then
                Guard.fail "Gemm.run" name $"{name} must not be null."

            if ld < cols then
                Guard.fail
                    "Gemm.run"
                    name
                    $"the leading dimension of {name} must be at least its {cols} columns, got {ld}."

            let last = int64 off + int64 (rows - 1) * int64 ld + int64 cols

            if off < 0 || last > int64 arr.Length then
                Guard.fail
                    "Gemm.run"
                    name
                    $"{name} ({rows}×{cols}, leading dimension {ld}) at offset {off} needs {last} elements, the array has {arr.Length}."

    // ---- the reference and the simple path ----

    /// The readable triple loop, the oracle of the properties: C ← op(A)·op(B) [+ C], leading dimensions given.
    let naive
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (k: int)
        (a: float[])
        (aOff: int)
        (lda: int)
        (b: float[])
        (bOff: int)
        (ldb: int)
        (c: float[])
        (cOff: int)
        (ldc: int)
        (accumulate: bool)
        =
        for i in 0 .. m - 1 do
            for j in 0 .. n - 1 do
                let mutable s = 0.0

                for q in 0 .. k - 1 do
                    let aiq =
                        if transA then
                            a.[aOff + q * lda + i]
                        else
                            a.[aOff + i * lda + q]

                    let bqj =
                        if transB then
                            b.[bOff + j * ldb + q]
                        else
                            b.[bOff + q * ldb + j]

                    s <- s + aiq * bqj

                c.[cOff + i * ldc + j] <- (if accumulate then c.[cOff + i * ldc + j] + s else s)

    /// The simple path: each row of C is built from rows of B with TensorPrimitives (dot products when transB).
    /// Rows are split across `threads` when the work is large. Needs m, n, k ≥ 1 and checked operands.
    let rows
        (threads: int)
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (k: int)
        (a: float[])
        (aOff: int)
        (lda: int)
        (b: float[])
        (bOff: int)
        (ldb: int)
        (c: float[])
        (cOff: int)
        (ldc: int)
        (accumulate: bool)
        =
        // A^T·B^T: bring B to k×n first (only small or portable products get here).
        let transB, b, bOff, ldb =
            if transA && transB then
                let t = Array.zeroCreate (k * n)

                for j in 0 .. n - 1 do
                    for q in 0 .. k - 1 do
                        t.[q * n + j] <- b.[bOff + j * ldb + q]

                false, t, 0, n
            else
                transB, b, bOff, ldb

        let rowKernel (i: int) =
            let ci = Span<float>(c, cOff + i * ldc, n)

            if not accumulate then
                ci.Clear()

            if transB then
                let ai = ReadOnlySpan<float>(a, aOff + i * lda, k)

                for j in 0 .. n - 1 do
                    ci.[j] <- ci.[j] + TensorPrimitives.Dot(ai, ReadOnlySpan<float>(b, bOff + j * ldb, k))
            else
                for q in 0 .. k - 1 do
                    let s =
                        if transA then
                            a.[aOff + q * lda + i]
                        else
                            a.[aOff + i * lda + q]

                    TensorPrimitives.MultiplyAdd(ReadOnlySpan<float>(b, bOff + q * ldb, n), s, ci, ci)

        let split = m > 1 && int64 m * int64 n * int64 k >= parallelRowsWork
        ParallelPolicy.forEach (if split then threads else 1) m rowKernel

    // ---- the small-product kernel ----

    /// Makes the JIT compile the calling method fully optimized at its first call: a method with loops and a
    /// stackalloc gets no tier-0 code (on-stack replacement cannot handle stackalloc). F# drops
    /// MethodImplOptions.AggressiveOptimization, and tier-0 or instrumented code of these loops is 10× slower and
    /// was seen to linger for seconds (small products ran at 4 instead of 47 GFLOP/s).
    let inline private optimizeNow () = NativePtr.stackalloc<byte> 1 |> ignore


    let inline private put256 (accumulate: bool) (p: nativeptr<float>) (v: Vector256<float>) =
        if accumulate then
            Vector256.Store(v + Vector256.Load p, p)
        else
            Vector256.Store(v, p)

    let inline private put (accumulate: bool) (p: nativeptr<float>) (i: int) (v: float) =
        NativePtr.set p i (if accumulate then NativePtr.get p i + v else v)

    /// Small products without packing: blocks of 4 rows × 8 (then 4, then 1) columns of C in Vector256 FMA
    /// accumulators, reading the rows of op(B) in place. A(i, q) = pa[i·sI + q·sQ], B(q, j) = pb[q·ldb + j],
    /// C(i, j) = pc[i·ldc + j].
    let private directCore
        (m: int)
        (n: int)
        (k: int)
        (pa: nativeptr<float>)
        (sI: int)
        (sQ: int)
        (pb: nativeptr<float>)
        (ldb: int)
        (pc: nativeptr<float>)
        (ldc: int)
        (accumulate: bool)
        =
        optimizeNow ()
        let mutable i = 0

        while i + 4 <= m do
            let a0 = NativePtr.add pa (i * sI)
            let a1 = NativePtr.add a0 sI
            let a2 = NativePtr.add a1 sI
            let a3 = NativePtr.add a2 sI
            let c0 = NativePtr.add pc (i * ldc)
            let c1 = NativePtr.add c0 ldc
            let c2 = NativePtr.add c1 ldc
            let c3 = NativePtr.add c2 ldc
            let mutable j = 0

            while j + 8 <= n do
                let mutable x00 = Vector256<float>.Zero
                let mutable x01 = Vector256<float>.Zero
                let mutable x10 = Vector256<float>.Zero
                let mutable x11 = Vector256<float>.Zero
                let mutable x20 = Vector256<float>.Zero
                let mutable x21 = Vector256<float>.Zero
                let mutable x30 = Vector256<float>.Zero
                let mutable x31 = Vector256<float>.Zero

                for q in 0 .. k - 1 do
                    let bq = NativePtr.add pb (q * ldb + j)
                    let b0 = Vector256.Load bq
                    let b1 = Vector256.Load(NativePtr.add bq 4)
                    let s0 = Vector256.Create(NativePtr.get a0 (q * sQ))
                    x00 <- Vector256.FusedMultiplyAdd(s0, b0, x00)
                    x01 <- Vector256.FusedMultiplyAdd(s0, b1, x01)
                    let s1 = Vector256.Create(NativePtr.get a1 (q * sQ))
                    x10 <- Vector256.FusedMultiplyAdd(s1, b0, x10)
                    x11 <- Vector256.FusedMultiplyAdd(s1, b1, x11)
                    let s2 = Vector256.Create(NativePtr.get a2 (q * sQ))
                    x20 <- Vector256.FusedMultiplyAdd(s2, b0, x20)
                    x21 <- Vector256.FusedMultiplyAdd(s2, b1, x21)
                    let s3 = Vector256.Create(NativePtr.get a3 (q * sQ))
                    x30 <- Vector256.FusedMultiplyAdd(s3, b0, x30)
                    x31 <- Vector256.FusedMultiplyAdd(s3, b1, x31)

                put256 accumulate (NativePtr.add c0 j) x00
                put256 accumulate (NativePtr.add c0 (j + 4)) x01
                put256 accumulate (NativePtr.add c1 j) x10
                put256 accumulate (NativePtr.add c1 (j + 4)) x11
                put256 accumulate (NativePtr.add c2 j) x20
                put256 accumulate (NativePtr.add c2 (j + 4)) x21
                put256 accumulate (NativePtr.add c3 j) x30
                put256 accumulate (NativePtr.add c3 (j + 4)) x31
                j <- j + 8

            if j + 4 <= n then
                let mutable x0 = Vector256<float>.Zero
                let mutable x1 = Vector256<float>.Zero
                let mutable x2 = Vector256<float>.Zero
                let mutable x3 = Vector256<float>.Zero

                for q in 0 .. k - 1 do
                    let b0 = Vector256.Load(NativePtr.add pb (q * ldb + j))
                    x0 <- Vector256.FusedMultiplyAdd(Vector256.Create(NativePtr.get a0 (q * sQ)), b0, x0)
                    x1 <- Vector256.FusedMultiplyAdd(Vector256.Create(NativePtr.get a1 (q * sQ)), b0, x1)
                    x2 <- Vector256.FusedMultiplyAdd(Vector256.Create(NativePtr.get a2 (q * sQ)), b0, x2)
                    x3 <- Vector256.FusedMultiplyAdd(Vector256.Create(NativePtr.get a3 (q * sQ)), b0, x3)

                put256 accumulate (NativePtr.add c0 j) x0
                put256 accumulate (NativePtr.add c1 j) x1
                put256 accumulate (NativePtr.add c2 j) x2
                put256 accumulate (NativePtr.add c3 j) x3
                j <- j + 4

            while j < n do
                let mutable x0 = 0.0
                let mutable x1 = 0.0
                let mutable x2 = 0.0
                let mutable x3 = 0.0

                for q in 0 .. k - 1 do
                    let bqj = NativePtr.get pb (q * ldb + j)
                    x0 <- Math.FusedMultiplyAdd(NativePtr.get a0 (q * sQ), bqj, x0)
                    x1 <- Math.FusedMultiplyAdd(NativePtr.get a1 (q * sQ), bqj, x1)
                    x2 <- Math.FusedMultiplyAdd(NativePtr.get a2 (q * sQ), bqj, x2)
                    x3 <- Math.FusedMultiplyAdd(NativePtr.get a3 (q * sQ), bqj, x3)

                put accumulate c0 j x0
                put accumulate c1 j x1
                put accumulate c2 j x2
                put accumulate c3 j x3
                j <- j + 1

            i <- i + 4

        while i < m do
            let a0 = NativePtr.add pa (i * sI)
            let c0 = NativePtr.add pc (i * ldc)
            let mutable j = 0

            while j + 4 <= n do
                let mutable x0 = Vector256<float>.Zero

                for q in 0 .. k - 1 do
                    let b0 = Vector256.Load(NativePtr.add pb (q * ldb + j))
                    x0 <- Vector256.FusedMultiplyAdd(Vector256.Create(NativePtr.get a0 (q * sQ)), b0, x0)

                put256 accumulate (NativePtr.add c0 j) x0
                j <- j + 4

            while j < n do
                let mutable x0 = 0.0

                for q in 0 .. k - 1 do
                    x0 <- Math.FusedMultiplyAdd(NativePtr.get a0 (q * sQ), NativePtr.get pb (q * ldb + j), x0)

                put accumulate c0 j x0
                j <- j + 1

            i <- i + 1

    /// Small products without packing (directCore); when transB, op(B) is first copied to a k×n buffer (on the
    /// stack when small). Needs FMA (see supports Avx2), m, n, k ≥ 1 and checked operands.
    let direct
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (k: int)
        (a: float[])
        (aOff: int)
        (lda: int)
        (b: float[])
        (bOff: int)
        (ldb: int)
        (c: float[])
        (cOff: int)
        (ldc: int)
        (accumulate: bool)
        =
        use pa = fixed a
        use pb = fixed b
        use pc = fixed c
        let sI, sQ = if transA then 1, lda else lda, 1
        let pa = NativePtr.add pa aOff
        let pb = NativePtr.add pb bOff
        let pc = NativePtr.add pc cOff

        if transB then
            let size = k * n

            let pooled =
                if size <= 2048 then
                    ValueNone
                else
                    ValueSome(GC.AllocateUninitializedArray<float>(size, pinned = true))

            let t =
                match pooled with
                | ValueNone -> NativePtr.stackalloc<float>(max 1 size)
                | ValueSome arr -> NativePtr.ofNativeInt (Marshal.UnsafeAddrOfPinnedArrayElement(arr, 0))

            for j in 0 .. n - 1 do
                let src = NativePtr.add pb (j * ldb)

                for q in 0 .. k - 1 do
                    NativePtr.set t (q * n + j) (NativePtr.get src q)

            directCore m n k pa sI sQ t n pc ldc accumulate
            GC.KeepAlive pooled
        else
            directCore m n k pa sI sQ pb ldb pc ldc accumulate

    /// Runs band over bands of C split across threads: bands of rows (a multiple of rowAlign each) when m ≥ n, else
    /// bands of columns (a multiple of colAlign each). band rows cols aAt bAt cAt gets the band's size and the
    /// offsets of its part of op(A), op(B) and C (the leading dimensions stay those of the whole product).
    let private inBands
        (threads: int)
        (rowAlign: int)
        (colAlign: int)
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (aOff: int)
        (lda: int)
        (bOff: int)
        (ldb: int)
        (cOff: int)
        (ldc: int)
        (band: int -> int -> int -> int -> int -> unit)
        =
        if m >= n then
            let per = ((m + threads - 1) / threads + rowAlign - 1) / rowAlign * rowAlign

            ParallelPolicy.forEach threads ((m + per - 1) / per) (fun t ->
                let i0 = t * per
                let aAt = if transA then aOff + i0 else aOff + i0 * lda
                band (min per (m - i0)) n aAt bOff (cOff + i0 * ldc)
                () // not a tail call (see runLd)
            )
        else
            let per = ((n + threads - 1) / threads + colAlign - 1) / colAlign * colAlign

            ParallelPolicy.forEach threads ((n + per - 1) / per) (fun t ->
                let j0 = t * per
                let bAt = if transB then bOff + j0 * ldb else bOff + j0
                band m (min per (n - j0)) aOff bAt (cOff + j0)
                ())

    /// The direct kernel split across threads by rows (or by columns when there are more of them) once the work
    /// (m·n·k) reaches minWork: for skinny products (few rows or columns), where register tiles would be mostly
    /// padding.
    let directSplit
        (minWork: int64)
        (threads: int)
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (k: int)
        (a: float[])
        (aOff: int)
        (lda: int)
        (b: float[])
        (bOff: int)
        (ldb: int)
        (c: float[])
        (cOff: int)
        (ldc: int)
        (accumulate: bool)
        =
        if threads = 1 || int64 m * int64 n * int64 k < minWork || (m < 8 && n < 16) then
            direct transA transB m n k a aOff lda b bOff ldb c cOff ldc accumulate
        else
            inBands threads 4 8 transA transB m n aOff lda bOff ldb cOff ldc (fun rows cols aAt bAt cAt ->
                direct transA transB rows cols k a aAt lda b bAt ldb c cAt ldc accumulate
                ())

    // ---- the blocked kernel ----

    /// A pool of pinned scratch arrays for packed panels, reused across calls (one per concurrent user); sizes are
    /// powers of two, so a pool settles after a few calls whatever the shapes.
    type private ScratchPool() =
        let pool = ConcurrentBag<float[]>()

        /// A pinned array with room for len doubles from a 64-byte boundary.
        member _.Rent(len: int) =
            match pool.TryTake() with
            | true, arr when arr.Length >= len + 8 -> arr
            | _ ->
                GC.AllocateUninitializedArray<float>(
                    int (BitOperations.RoundUpToPowerOf2(uint32 (len + 8))),
                    pinned = true
                )

        member _.Give(arr: float[]) = pool.Add arr

        /// The first 64-byte-aligned element of a pinned array.
        static member Aligned(arr: float[]) : nativeptr<float> =
            let p = Marshal.UnsafeAddrOfPinnedArrayElement(arr, 0)
            let mis = int (int64 p &&& 63L)
            NativePtr.ofNativeInt (if mis = 0 then p else p + nativeint (64 - mis))

    /// Packed blocks of A (one per task) and packed panels of B (one per call): separate pools, so that a small A
    /// buffer never takes the place of a large B one.
    let private packedA = ScratchPool()

    let private packedB = ScratchPool()

    let inline private store512 (overwrite: bool) (p: nativeptr<float>) (v: Vector512<float>) =
        if overwrite then
            Vector512.Store(v, p)
        else
            Vector512.Store(v + Vector512.Load p, p)

    let inline private store256 (overwrite: bool) (p: nativeptr<float>) (v: Vector256<float>) =
        if overwrite then
            Vector256.Store(v, p)
        else
            Vector256.Store(v + Vector256.Load p, p)

    /// The AVX-512 micro-kernel: an 8×24 tile of C in 24 Vector512 accumulators, one FMA per accumulator per k.
    /// pa: kc×8 packed A (MR values per k), pb: kc×24 packed B (NR values per k), c: the 8×24 tile (ldc).
    let inline private kernel8x24
        (kc: int)
        (pa: nativeptr<float>)
        (pb: nativeptr<float>)
        (c: nativeptr<float>)
        (ldc: int)
        (overwrite: bool)
        =
        let mutable c00 = Vector512<float>.Zero
        let mutable c01 = Vector512<float>.Zero
        let mutable c02 = Vector512<float>.Zero
        let mutable c10 = Vector512<float>.Zero
        let mutable c11 = Vector512<float>.Zero
        let mutable c12 = Vector512<float>.Zero
        let mutable c20 = Vector512<float>.Zero
        let mutable c21 = Vector512<float>.Zero
        let mutable c22 = Vector512<float>.Zero
        let mutable c30 = Vector512<float>.Zero
        let mutable c31 = Vector512<float>.Zero
        let mutable c32 = Vector512<float>.Zero
        let mutable c40 = Vector512<float>.Zero
        let mutable c41 = Vector512<float>.Zero
        let mutable c42 = Vector512<float>.Zero
        let mutable c50 = Vector512<float>.Zero
        let mutable c51 = Vector512<float>.Zero
        let mutable c52 = Vector512<float>.Zero
        let mutable c60 = Vector512<float>.Zero
        let mutable c61 = Vector512<float>.Zero
        let mutable c62 = Vector512<float>.Zero
        let mutable c70 = Vector512<float>.Zero
        let mutable c71 = Vector512<float>.Zero
        let mutable c72 = Vector512<float>.Zero
        let mutable a = pa
        let mutable b = pb

        for _ in 1..kc do
            let b0 = Vector512.Load b
            let b1 = Vector512.Load(NativePtr.add b 8)
            let b2 = Vector512.Load(NativePtr.add b 16)
            let a0 = Vector512.Create(NativePtr.get a 0)
            c00 <- Vector512.FusedMultiplyAdd(a0, b0, c00)
            c01 <- Vector512.FusedMultiplyAdd(a0, b1, c01)
            c02 <- Vector512.FusedMultiplyAdd(a0, b2, c02)
            let a1 = Vector512.Create(NativePtr.get a 1)
            c10 <- Vector512.FusedMultiplyAdd(a1, b0, c10)
            c11 <- Vector512.FusedMultiplyAdd(a1, b1, c11)
            c12 <- Vector512.FusedMultiplyAdd(a1, b2, c12)
            let a2 = Vector512.Create(NativePtr.get a 2)
            c20 <- Vector512.FusedMultiplyAdd(a2, b0, c20)
            c21 <- Vector512.FusedMultiplyAdd(a2, b1, c21)
            c22 <- Vector512.FusedMultiplyAdd(a2, b2, c22)
            let a3 = Vector512.Create(NativePtr.get a 3)
            c30 <- Vector512.FusedMultiplyAdd(a3, b0, c30)
            c31 <- Vector512.FusedMultiplyAdd(a3, b1, c31)
            c32 <- Vector512.FusedMultiplyAdd(a3, b2, c32)
            let a4 = Vector512.Create(NativePtr.get a 4)
            c40 <- Vector512.FusedMultiplyAdd(a4, b0, c40)
            c41 <- Vector512.FusedMultiplyAdd(a4, b1, c41)
            c42 <- Vector512.FusedMultiplyAdd(a4, b2, c42)
            let a5 = Vector512.Create(NativePtr.get a 5)
            c50 <- Vector512.FusedMultiplyAdd(a5, b0, c50)
            c51 <- Vector512.FusedMultiplyAdd(a5, b1, c51)
            c52 <- Vector512.FusedMultiplyAdd(a5, b2, c52)
            let a6 = Vector512.Create(NativePtr.get a 6)
            c60 <- Vector512.FusedMultiplyAdd(a6, b0, c60)
            c61 <- Vector512.FusedMultiplyAdd(a6, b1, c61)
            c62 <- Vector512.FusedMultiplyAdd(a6, b2, c62)
            let a7 = Vector512.Create(NativePtr.get a 7)
            c70 <- Vector512.FusedMultiplyAdd(a7, b0, c70)
            c71 <- Vector512.FusedMultiplyAdd(a7, b1, c71)
            c72 <- Vector512.FusedMultiplyAdd(a7, b2, c72)
            a <- NativePtr.add a 8
            b <- NativePtr.add b 24

        store512 overwrite c c00
        store512 overwrite (NativePtr.add c 8) c01
        store512 overwrite (NativePtr.add c 16) c02
        store512 overwrite (NativePtr.add c (1 * ldc)) c10
        store512 overwrite (NativePtr.add c (1 * ldc + 8)) c11
        store512 overwrite (NativePtr.add c (1 * ldc + 16)) c12
        store512 overwrite (NativePtr.add c (2 * ldc)) c20
        store512 overwrite (NativePtr.add c (2 * ldc + 8)) c21
        store512 overwrite (NativePtr.add c (2 * ldc + 16)) c22
        store512 overwrite (NativePtr.add c (3 * ldc)) c30
        store512 overwrite (NativePtr.add c (3 * ldc + 8)) c31
        store512 overwrite (NativePtr.add c (3 * ldc + 16)) c32
        store512 overwrite (NativePtr.add c (4 * ldc)) c40
        store512 overwrite (NativePtr.add c (4 * ldc + 8)) c41
        store512 overwrite (NativePtr.add c (4 * ldc + 16)) c42
        store512 overwrite (NativePtr.add c (5 * ldc)) c50
        store512 overwrite (NativePtr.add c (5 * ldc + 8)) c51
        store512 overwrite (NativePtr.add c (5 * ldc + 16)) c52
        store512 overwrite (NativePtr.add c (6 * ldc)) c60
        store512 overwrite (NativePtr.add c (6 * ldc + 8)) c61
        store512 overwrite (NativePtr.add c (6 * ldc + 16)) c62
        store512 overwrite (NativePtr.add c (7 * ldc)) c70
        store512 overwrite (NativePtr.add c (7 * ldc + 8)) c71
        store512 overwrite (NativePtr.add c (7 * ldc + 16)) c72

    /// The AVX2/FMA micro-kernel: a 6×8 tile of C in 12 Vector256 accumulators, one FMA per accumulator per k.
    /// pa: kc×6 packed A (MR values per k), pb: kc×8 packed B (NR values per k), c: the 6×8 tile (ldc).
    let inline private kernel6x8
        (kc: int)
        (pa: nativeptr<float>)
        (pb: nativeptr<float>)
        (c: nativeptr<float>)
        (ldc: int)
        (overwrite: bool)
        =
        let mutable c00 = Vector256<float>.Zero
        let mutable c01 = Vector256<float>.Zero
        let mutable c10 = Vector256<float>.Zero
        let mutable c11 = Vector256<float>.Zero
        let mutable c20 = Vector256<float>.Zero
        let mutable c21 = Vector256<float>.Zero
        let mutable c30 = Vector256<float>.Zero
        let mutable c31 = Vector256<float>.Zero
        let mutable c40 = Vector256<float>.Zero
        let mutable c41 = Vector256<float>.Zero
        let mutable c50 = Vector256<float>.Zero
        let mutable c51 = Vector256<float>.Zero
        let mutable a = pa
        let mutable b = pb

        for _ in 1..kc do
            let b0 = Vector256.Load b
            let b1 = Vector256.Load(NativePtr.add b 4)
            let a0 = Vector256.Create(NativePtr.get a 0)
            c00 <- Vector256.FusedMultiplyAdd(a0, b0, c00)
            c01 <- Vector256.FusedMultiplyAdd(a0, b1, c01)
            let a1 = Vector256.Create(NativePtr.get a 1)
            c10 <- Vector256.FusedMultiplyAdd(a1, b0, c10)
            c11 <- Vector256.FusedMultiplyAdd(a1, b1, c11)
            let a2 = Vector256.Create(NativePtr.get a 2)
            c20 <- Vector256.FusedMultiplyAdd(a2, b0, c20)
            c21 <- Vector256.FusedMultiplyAdd(a2, b1, c21)
            let a3 = Vector256.Create(NativePtr.get a 3)
            c30 <- Vector256.FusedMultiplyAdd(a3, b0, c30)
            c31 <- Vector256.FusedMultiplyAdd(a3, b1, c31)
            let a4 = Vector256.Create(NativePtr.get a 4)
            c40 <- Vector256.FusedMultiplyAdd(a4, b0, c40)
            c41 <- Vector256.FusedMultiplyAdd(a4, b1, c41)
            let a5 = Vector256.Create(NativePtr.get a 5)
            c50 <- Vector256.FusedMultiplyAdd(a5, b0, c50)
            c51 <- Vector256.FusedMultiplyAdd(a5, b1, c51)
            a <- NativePtr.add a 6
            b <- NativePtr.add b 8

        store256 overwrite c c00
        store256 overwrite (NativePtr.add c 4) c01
        store256 overwrite (NativePtr.add c (1 * ldc)) c10
        store256 overwrite (NativePtr.add c (1 * ldc + 4)) c11
        store256 overwrite (NativePtr.add c (2 * ldc)) c20
        store256 overwrite (NativePtr.add c (2 * ldc + 4)) c21
        store256 overwrite (NativePtr.add c (3 * ldc)) c30
        store256 overwrite (NativePtr.add c (3 * ldc + 4)) c31
        store256 overwrite (NativePtr.add c (4 * ldc)) c40
        store256 overwrite (NativePtr.add c (4 * ldc + 4)) c41
        store256 overwrite (NativePtr.add c (5 * ldc)) c50
        store256 overwrite (NativePtr.add c (5 * ldc + 4)) c51

    /// The register tile (rows × columns of C) of a blocked kernel.
    let tileOf (kernel: MicroKernel) =
        match kernel with
        | Avx512 -> 8, 24
        | Avx2 -> 6, 8
        | Portable -> 1, 1

    /// Cache blocking (kc, mc, nc): a kc×nr panel of packed B stays in L1 while the mc×kc block of packed A is
    /// read from L2; the kc×nc panel of packed B is shared by the threads (L3).
    let blocksOf (kernel: MicroKernel) =
        match kernel with
        | Avx512 -> 256, 192, 3072
        | Avx2 -> 256, 96, 4096
        | Portable -> 1, 1, 1

    /// Packs rows i0 .. i0+mc-1, columns p0 .. p0+kc-1 of op(A) into micro-panels of mr rows: panel ip holds, for
    /// each p, the mr values A[i0 + ip·mr + r, p0 + p] (zeros past row mc).
    let private packA
        (transA: bool)
        (a: nativeptr<float>)
        (lda: int)
        (i0: int)
        (mc: int)
        (p0: int)
        (kc: int)
        (mr: int)
        (dst: nativeptr<float>)
        =
        optimizeNow ()

        for ip in 0 .. (mc + mr - 1) / mr - 1 do
            let r0 = i0 + ip * mr
            let count = min mr (mc - ip * mr)
            let d = NativePtr.add dst (ip * mr * kc)

            if transA then
                for p in 0 .. kc - 1 do
                    let src = NativePtr.add a ((p0 + p) * lda + r0)
                    let dp = NativePtr.add d (p * mr)

                    for r in 0 .. count - 1 do
                        NativePtr.set dp r (NativePtr.get src r)

                    for r in count .. mr - 1 do
                        NativePtr.set dp r 0.0
            else
                for r in 0 .. count - 1 do
                    let src = NativePtr.add a ((r0 + r) * lda + p0)

                    for p in 0 .. kc - 1 do
                        NativePtr.set d (p * mr + r) (NativePtr.get src p)

                for r in count .. mr - 1 do
                    for p in 0 .. kc - 1 do
                        NativePtr.set d (p * mr + r) 0.0

    /// Packs micro-panels jpFrom .. jpTo-1 of rows p0 .. p0+kc-1, columns j0 .. j0+nc-1 of op(B): panel jp holds,
    /// for each p, the nr values B[p0 + p, j0 + jp·nr + j] (zeros past column nc).
    let private packB
        (transB: bool)
        (b: nativeptr<float>)
        (ldb: int)
        (p0: int)
        (kc: int)
        (j0: int)
        (nc: int)
        (nr: int)
        (dst: nativeptr<float>)
        (jpFrom: int)
        (jpTo: int)
        =
        optimizeNow ()

        for jp in jpFrom .. jpTo - 1 do
            let c0 = j0 + jp * nr
            let count = min nr (nc - jp * nr)
            let d = NativePtr.add dst (jp * nr * kc)

            if transB then
                for j in 0 .. count - 1 do
                    let src = NativePtr.add b ((c0 + j) * ldb + p0)

                    for p in 0 .. kc - 1 do
                        NativePtr.set d (p * nr + j) (NativePtr.get src p)

                for j in count .. nr - 1 do
                    for p in 0 .. kc - 1 do
                        NativePtr.set d (p * nr + j) 0.0
            else
                for p in 0 .. kc - 1 do
                    let src = NativePtr.add b ((p0 + p) * ldb + c0)
                    let dp = NativePtr.add d (p * nr)
                    Span<float>(NativePtr.toVoidPtr src, count).CopyTo(Span<float>(NativePtr.toVoidPtr dp, count))

                    for j in count .. nr - 1 do
                        NativePtr.set dp j 0.0

    /// The tiles of one task: micro-panels jpFrom .. jpTo-1 of packed B (nc columns) times the packed A block
    /// (rows × kc), into the C block at cBlock, with the micro-kernel inlined; edge tiles go through a buffer.
    let inline private macroWith
        ([<InlineIfLambda>] micro:
            int -> nativeptr<float> -> nativeptr<float> -> nativeptr<float> -> int -> bool -> unit)
        (mr: int)
        (nr: int)
        (kc: int)
        (rows: int)
        (nc: int)
        (jpFrom: int)
        (jpTo: int)
        (pA: nativeptr<float>)
        (pB: nativeptr<float>)
        (cBlock: nativeptr<float>)
        (ldc: int)
        (overwrite: bool)
        =
        // (The stackalloc also compiles the method fully optimized at its first call, see optimizeNow.)
        let tile = NativePtr.stackalloc<float>(mr * nr)

        for jp in jpFrom .. jpTo - 1 do
            let cols = min nr (nc - jp * nr)
            let pbp = NativePtr.add pB (jp * nr * kc)

            for ip in 0 .. (rows + mr - 1) / mr - 1 do
                let rws = min mr (rows - ip * mr)
                let pap = NativePtr.add pA (ip * mr * kc)
                let cp = NativePtr.add cBlock (ip * mr * ldc + jp * nr)
                let full = rws = mr && cols = nr
                micro kc pap pbp (if full then cp else tile) (if full then ldc else nr) (overwrite || not full)

                if not full then
                    for r in 0 .. rws - 1 do
                        for j in 0 .. cols - 1 do
                            let v = NativePtr.get tile (r * nr + j)
                            let at = r * ldc + j
                            NativePtr.set cp at (if overwrite then v else NativePtr.get cp at + v)

    /// macroWith the 8×24 AVX-512 micro-kernel.
    let private macro8x24 kc rows nc jpFrom jpTo pA pB cBlock ldc overwrite =
        macroWith kernel8x24 8 24 kc rows nc jpFrom jpTo pA pB cBlock ldc overwrite

    /// macroWith the 6×8 AVX2 micro-kernel.
    let private macro6x8 kc rows nc jpFrom jpTo pA pB cBlock ldc overwrite =
        macroWith kernel6x8 6 8 kc rows nc jpFrom jpTo pA pB cBlock ldc overwrite

    /// The managed blocked GEMM (BLIS loop order): for each nc-wide column panel and kc-deep slice, pack op(B)
    /// once (shared), then split the mc-row blocks (and, when there are few, column ranges) of C across threads;
    /// each task packs its block of op(A) and runs the micro-kernel over its tiles, edge tiles through a buffer.
    /// Block sizes (kc, mc, nc) are given (the properties use tiny ones to cross every block edge). Needs m, n, k ≥ 1,
    /// a blocked kernel this machine supports, and checked operands.
    let blockedWith
        (kcMax: int, mcMax: int, ncMax: int)
        (kernel: MicroKernel)
        (threads: int)
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (k: int)
        (a: float[])
        (aOff: int)
        (lda: int)
        (b: float[])
        (bOff: int)
        (ldb: int)
        (c: float[])
        (cOff: int)
        (ldc: int)
        (accumulate: bool)
        =
        if kernel = Portable || not (supports kernel) then
            Guard.fail "Gemm.blocked" (nameof kernel) $"the {kernel} kernel cannot run on this machine."

        let mr, nr = tileOf kernel
        use pa0 = fixed a
        use pb0 = fixed b
        use pc0 = fixed c
        let aAt = NativePtr.toNativeInt (NativePtr.add pa0 aOff)
        let bAt = NativePtr.toNativeInt (NativePtr.add pb0 bOff)
        let cAt = NativePtr.toNativeInt (NativePtr.add pc0 cOff)
        let nPanelsMax = (min n ncMax + nr - 1) / nr
        let bBuf = packedB.Rent(min k kcMax * nPanelsMax * nr)
        let pB = NativePtr.toNativeInt (ScratchPool.Aligned bBuf)
        // Row blocks of (nearly) equal height, a multiple of mr, at least 4 per thread while they keep 4 tiles (so
        // that a thread slowed by other processes is balanced by the others); split columns too when they are few.
        let mBlocks =
            if threads = 1 then
                (m + mcMax - 1) / mcMax
            else
                max ((m + mcMax - 1) / mcMax) (min (4 * threads) (m / (4 * mr)))

        let mc = ((m + mBlocks - 1) / mBlocks + mr - 1) / mr * mr
        let mBlocks = (m + mc - 1) / mc

        try
            for jb in 0 .. (n + ncMax - 1) / ncMax - 1 do
                let jc = jb * ncMax
                let nc = min ncMax (n - jc)
                let nPanels = (nc + nr - 1) / nr

                let nSplit =
                    if threads = 1 then
                        1
                    else
                        max 1 (min nPanels ((2 * threads + mBlocks - 1) / mBlocks))

                let tasks = mBlocks * nSplit

                for pb in 0 .. (k + kcMax - 1) / kcMax - 1 do
                    let pc = pb * kcMax
                    let kc = min kcMax (k - pc)
                    let overwrite = not accumulate && pc = 0

                    let pack (t: int) (chunks: int) =
                        packB
                            transB
                            (NativePtr.ofNativeInt bAt)
                            ldb
                            pc
                            kc
                            jc
                            nc
                            nr
                            (NativePtr.ofNativeInt pB)
                            (t * nPanels / chunks)
                            ((t + 1) * nPanels / chunks)

                    if threads > 1 && nPanels >= 2 * threads && int64 kc * int64 nc >= 65536L then
                        let chunks = min nPanels (4 * threads)
                        ParallelPolicy.forEach threads chunks (fun t -> pack t chunks)
                    else
                        pack 0 1

                    let task (t: int) =
                        let i0 = t / nSplit * mc
                        let rowsT = min mc (m - i0)
                        let jpFrom = t % nSplit * nPanels / nSplit
                        let jpTo = (t % nSplit + 1) * nPanels / nSplit

                        if jpTo > jpFrom then
                            let aBuf = packedA.Rent(mc * kc)

                            try
                                let pA = ScratchPool.Aligned aBuf
                                packA transA (NativePtr.ofNativeInt aAt) lda i0 rowsT pc kc mr pA

                                let cBlock: nativeptr<float> =
                                    NativePtr.add (NativePtr.ofNativeInt cAt) (i0 * ldc + jc)

                                let pB = NativePtr.ofNativeInt pB

                                if kernel = Avx512 then
                                    macro8x24 kc rowsT nc jpFrom jpTo pA pB cBlock ldc overwrite
                                else
                                    macro6x8 kc rowsT nc jpFrom jpTo pA pB cBlock ldc overwrite
                            finally
                                packedA.Give aBuf

                    ParallelPolicy.forEach threads tasks task
        finally
            packedB.Give bBuf

    /// The managed blocked GEMM with the kernel's own block sizes.
    let blocked
        (kernel: MicroKernel)
        (threads: int)
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (k: int)
        (a: float[])
        (aOff: int)
        (lda: int)
        (b: float[])
        (bOff: int)
        (ldb: int)
        (c: float[])
        (cOff: int)
        (ldc: int)
        (accumulate: bool)
        =
        blockedWith (blocksOf kernel) kernel threads transA transB m n k a aOff lda b bOff ldb c cOff ldc accumulate

    /// The managed GEMM with a given kernel: the blocked kernel, or the row loop for the portable one.
    let managedWith
        (kernel: MicroKernel)
        (threads: int)
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (k: int)
        (a: float[])
        (aOff: int)
        (lda: int)
        (b: float[])
        (bOff: int)
        (ldb: int)
        (c: float[])
        (cOff: int)
        (ldc: int)
        (accumulate: bool)
        =
        match kernel with
        | Portable -> rows threads transA transB m n k a aOff lda b bOff ldb c cOff ldc accumulate
        | _ -> blocked kernel threads transA transB m n k a aOff lda b bOff ldb c cOff ldc accumulate

    // ---- the entry points ----

    /// Checks sizes, leading dimensions and offsets against the arrays (ArgumentException naming the operand).
    let check
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (k: int)
        (a: float[])
        (aOff: int)
        (lda: int)
        (b: float[])
        (bOff: int)
        (ldb: int)
        (c: float[])
        (cOff: int)
        (ldc: int)
        =
        if m < 0 || n < 0 || k < 0 then
            Guard.fail "Gemm.run" "m" $"sizes must be >= 0, got m={m}, n={n}, k={k}."

        checkOperand "c" c cOff m n ldc

        if m > 0 && n > 0 then
            checkOperand "a" a aOff (if transA then k else m) (if transA then m else k) lda
            checkOperand "b" b bOff (if transB then n else k) (if transB then k else n) ldb

    /// C (m×n at cOff, leading dimension ldc) ← op(A)·op(B) [+ C when accumulate], row-major. op(A) is m×k: A is
    /// m×k (lda ≥ k), or k×m when transA (lda ≥ m); op(B) is k×n: B is k×n (ldb ≥ n), or n×k when transB (ldb ≥ k).
    /// Without accumulate, C is overwritten (never read). Small products run the serial direct kernel; the rest run the
    /// active backend.
    let runLd
        (transA: bool)
        (transB: bool)
        (m: int)
        (n: int)
        (k: int)
        (a: float[])
        (aOff: int)
        (lda: int)
        (b: float[])
        (bOff: int)
        (ldb: int)
        (c: float[])
        (cOff: int)
        (ldc: int)
        (accumulate: bool)
        =
        check transA transB m n k a aOff lda b bOff ldb c cOff ldc

        if m > 0 && n > 0 then
            let backend = activeBackend ()

            if k = 0 then
                if not accumulate then
                    for i in 0 .. m - 1 do
                        Array.Clear(c, cOff + i * ldc, n)
            elif int64 m * int64 n * int64 k < smallWork then
                if smallDirect then
                    direct transA transB m n k a aOff lda b bOff ldb c cOff ldc accumulate
                else
                    rows 1 transA transB m n k a aOff lda b bOff ldb c cOff ldc accumulate
            else
                match backend, openBlas.Value with
                | OpenBlas, Some lib ->
                    let parts =
                        if int64 m * int64 n * int64 k >= parallelBlockedWork then
                            ParallelPolicy.threads ()
                        else
                            1

                    // One band (one call) when parts = 1.
                    inBands parts 1 1 transA transB m n aOff lda bOff ldb cOff ldc (fun rows cols aAt bAt cAt ->
                        OpenBlas.dgemm lib transA transB rows cols k a aAt lda b bAt ldb c cAt ldc accumulate
                        ())
                | _ when smallDirect && (m < 8 || n < 16) ->
                    directSplit
                        parallelRowsWork
                        (ParallelPolicy.threads ())
                        transA
                        transB
                        m
                        n
                        k
                        a
                        aOff
                        lda
                        b
                        bOff
                        ldb
                        c
                        cOff
                        ldc
                        accumulate
                | _ ->
                    let threads =
                        if int64 m * int64 n * int64 k >= parallelBlockedWork then
                            ParallelPolicy.threads ()
                        else
                            1

                    managedWith bestKernel threads transA transB m n k a aOff lda b bOff ldb c cOff ldc accumulate

            // Not a tail call: a tail call with more stack arguments than the caller goes through the runtime's
            // slow tail-call helper (microseconds per call, felt by the many tiny products of the layers).
            ()

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
        runLd transA transB m n k a aOff (if transA then m else k) b bOff (if transB then k else n) c cOff n accumulate
        () // not a tail call (see runLd)
