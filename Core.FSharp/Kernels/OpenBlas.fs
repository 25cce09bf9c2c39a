namespace Functional.Kernels

// NativePtr arithmetic on pinned arrays is unverifiable IL (FS0009); it is confined to this file and Gemm.fs.
#nowarn "9"

open System
open System.Runtime.InteropServices
open Microsoft.FSharp.NativeInterop

/// cblas_dgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc).
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type internal CblasDgemm =
    delegate of
        order: int *
        transA: int *
        transB: int *
        m: int *
        n: int *
        k: int *
        alpha: float *
        a: nativeint *
        lda: int *
        b: nativeint *
        ldb: int *
        beta: float *
        c: nativeint *
        ldc: int ->
            unit

/// openblas_set_num_threads(n).
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type internal OpenBlasSetNumThreads = delegate of n: int -> unit

/// openblas_get_config() : const char*.
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type internal OpenBlasGetConfig = delegate of unit -> nativeint

/// A loaded OpenBLAS: the library it came from, its configuration string, and cblas_dgemm.
type internal OpenBlasLibrary = {
    Name: string
    Config: string
    Dgemm: CblasDgemm
}

/// <summary>
/// OpenBLAS through P/Invoke: <c>libopenblas.so.0</c> (Debian package <c>libopenblas0</c>) is loaded with
/// <c>NativeLibrary.TryLoad</c> on first use, <c>cblas_dgemm</c> is resolved from it and called through a delegate
/// over its function pointer. Nothing here is required: when the library cannot be loaded, <c>library</c> is None
/// and the managed GEMM is used.
/// </summary>
module internal OpenBlas =
    [<Literal>]
    let CblasRowMajor = 101

    [<Literal>]
    let CblasNoTrans = 111

    [<Literal>]
    let CblasTrans = 112

    /// The library names tried, in order.
    let candidates = [
        "libopenblas.so.0"
        "libopenblas.so"
        "libopenblas.dylib"
        "libopenblas.dll"
        "openblas"
    ]

    let private export<'d when 'd :> Delegate> (handle: nativeint) (name: string) : 'd option =
        match NativeLibrary.TryGetExport(handle, name) with
        | true, p when p <> 0n -> Some(Marshal.GetDelegateForFunctionPointer<'d> p)
        | _ -> None

    /// Loads the first candidate that exports cblas_dgemm and sets its thread count.
    let load (threads: int) : OpenBlasLibrary option =
        candidates
        |> List.tryPick (fun name ->
            match NativeLibrary.TryLoad name with
            | true, handle when handle <> 0n ->
                match export<CblasDgemm> handle "cblas_dgemm" with
                | None -> None
                | Some dgemm ->
                    export<OpenBlasSetNumThreads> handle "openblas_set_num_threads"
                    |> Option.iter (fun f -> f.Invoke threads)

                    let config =
                        match export<OpenBlasGetConfig> handle "openblas_get_config" with
                        | Some f ->
                            let p = f.Invoke()

                            if p = 0n then
                                ""
                            else
                                match Marshal.PtrToStringAnsi p with
                                | null -> ""
                                | s -> s
                        | None -> ""

                    Some {
                        Name = name
                        Config = config.Trim()
                        Dgemm = dgemm
                    }
            | _ -> None)

    /// C (m×n, ldc, at cOff) ← op(A)·op(B) [+ C], row-major, through cblas_dgemm. Sizes and offsets must have been
    /// checked against the arrays (the native code does not check), and m, n, k ≥ 1.
    let dgemm
        (lib: OpenBlasLibrary)
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

        lib.Dgemm.Invoke(
            CblasRowMajor,
            (if transA then CblasTrans else CblasNoTrans),
            (if transB then CblasTrans else CblasNoTrans),
            m,
            n,
            k,
            1.0,
            NativePtr.toNativeInt (NativePtr.add pa aOff),
            lda,
            NativePtr.toNativeInt (NativePtr.add pb bOff),
            ldb,
            (if accumulate then 1.0 else 0.0),
            NativePtr.toNativeInt (NativePtr.add pc cOff),
            ldc
        )
