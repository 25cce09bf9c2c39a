/// The GEMM entry point and its implementations (managed blocked kernels, the portable row loop, OpenBLAS) against
/// the naive triple loop and against each other, over random sizes (1–70, not multiples of the tiles), all four
/// transpose combinations, offsets, padded leading dimensions and accumulate on/off.
module Functional.Properties.GemmProperties

open System
open System.IO
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.Kernels
open Functional.Properties.Generators

/// The bound on the scaled relative error |x − y| / (Σ_q |A_iq·B_qj| + |C0_ij|) of every element.
[<Literal>]
let Tolerance = 1e-12

/// A GEMM problem drawn from a case: operands embedded in larger arrays at offsets, with padded leading dimensions.
type Problem = {
    TransA: bool
    TransB: bool
    M: int
    N: int
    K: int
    A: float[]
    AOff: int
    Lda: int
    B: float[]
    BOff: int
    Ldb: int
    C0: float[]
    COff: int
    Ldc: int
    Accumulate: bool
}

let private problem (c: Case) =
    let m, n, k = c.["m"], c.["n"], c.["k"]
    let transA, transB = c.["tA"] = 1, c.["tB"] = 1
    let off = c.["off"]
    // Cases without "pad" have dense operands (leading dimension = columns).
    let pad =
        c.Sizes
        |> List.tryPick (fun (name, v) -> if name = "pad" then Some v else None)
        |> Option.defaultValue 0

    let rnd = Random(c.Seed)
    let lda = (if transA then m else k) + pad
    let ldb = (if transB then k else n) + pad
    let ldc = n + pad

    let arr rowsTimesLd =
        Array.init (off + rowsTimesLd + 3) (fun _ -> rnd.NextDouble() * 2.0 - 1.0)

    {
        TransA = transA
        TransB = transB
        M = m
        N = n
        K = k
        A = arr ((if transA then k else m) * lda)
        AOff = off
        Lda = lda
        B = arr ((if transB then n else k) * ldb)
        BOff = off
        Ldb = ldb
        C0 = arr (m * ldc)
        COff = off
        Ldc = ldc
        Accumulate = c.["acc"] = 1
    }

type private GemmFn =
    bool
        -> bool
        -> int
        -> int
        -> int
        -> float[]
        -> int
        -> int
        -> float[]
        -> int
        -> int
        -> float[]
        -> int
        -> int
        -> bool
        -> unit

/// Runs an implementation on a copy of C0 (prefilled with NaN inside the product when not accumulating: C must
/// then be overwritten, never read).
let private apply (gemm: GemmFn) (p: Problem) =
    let c = Array.copy p.C0

    if not p.Accumulate then
        for i in 0 .. p.M - 1 do
            Array.Fill(c, nan, p.COff + i * p.Ldc, p.N)

    gemm p.TransA p.TransB p.M p.N p.K p.A p.AOff p.Lda p.B p.BOff p.Ldb c p.COff p.Ldc p.Accumulate
    c

let private naive (p: Problem) = apply Gemm.naive p

/// The scale of every element of C: Σ_q |A_iq·B_qj| (+ |C0_ij| when accumulating), computed by the oracle.
let private scaleOf (oracle: GemmFn) (p: Problem) =
    apply oracle {
        p with
            A = Array.map abs p.A
            B = Array.map abs p.B
            C0 = Array.map abs p.C0
    }

/// Asserts that actual equals expected to the scaled relative tolerance inside C, and bit for bit outside it
/// (the padding and the elements around C must be untouched). Returns the worst scaled error.
let private agreeScaled (scale: float[]) (label: string) (p: Problem) (expected: float[]) (actual: float[]) =
    let inside idx =
        let r = idx - p.COff
        r >= 0 && r / p.Ldc < p.M && r % p.Ldc < p.N

    let mutable worst = 0.0

    let case () =
        $"{label}: m={p.M} n={p.N} k={p.K} transA={p.TransA} transB={p.TransB} off={p.AOff} ldc={p.Ldc} accumulate={p.Accumulate}"

    for idx in 0 .. expected.Length - 1 do
        if inside idx then
            let err = abs (actual.[idx] - expected.[idx]) / max scale.[idx] Double.Epsilon
            worst <- max worst err

            Prop.ensure (err <= Tolerance) (fun () ->
                let i, j = (idx - p.COff) / p.Ldc, (idx - p.COff) % p.Ldc
                $"{case ()}: C[{i},{j}] = {actual.[idx]}, expected {expected.[idx]} (scaled error {err:E2} > {Tolerance})")
        else
            Prop.ensure
                (BitConverter.DoubleToInt64Bits actual.[idx] = BitConverter.DoubleToInt64Bits p.C0.[idx])
                (fun () -> $"{case ()}: element {idx} outside C was changed")

    worst

let private agree label p expected actual =
    agreeScaled (scaleOf Gemm.naive p) label p expected actual

let private sizes = [
    "m", 1, 70
    "n", 1, 70
    "k", 1, 70
    "tA", 0, 1
    "tB", 0, 1
    "acc", 0, 1
    "off", 0, 3
    "pad", 0, 3
]

let private blockedKernels = [ Avx512; Avx2 ] |> List.filter Gemm.supports

/// Tiny random block sizes (kc, mc, nc) so that 70×70×70 crosses several kc slices, mc blocks and nc panels.
let private tinyBlocks (c: Case) (kernel: MicroKernel) =
    let mr, nr = Gemm.tileOf kernel
    c.["kc"], c.["mcTiles"] * mr, c.["nc"] + nr / 2

[<Property(MaxTest = 150)>]
let ``the managed blocked kernels equal the naive triple loop`` () =
    // Every x64 machine with AVX2 and FMA has at least one blocked kernel: the property must not pass vacuously
    // there. Elsewhere (ARM64, or AVX2 switched off with DOTNET_EnableAVX2=0) the portable kernel is what runs, and
    // the property below and the other Gemm properties cover it.
    if
        System.Runtime.Intrinsics.X86.Avx2.IsSupported
        && System.Runtime.Intrinsics.X86.Fma.IsSupported
    then
        Assert.NotEmpty blockedKernels

    Prop.forAll (cases (sizes @ [ "threads", 1, 3 ])) (fun c ->
        let p = problem c

        for kernel in blockedKernels do
            let expected = naive p

            apply (Gemm.blocked kernel c.["threads"]) p
            |> agree $"{kernel}" p expected
            |> ignore)

[<Property(MaxTest = 150)>]
let ``the blocked kernels with tiny blocks (every block edge crossed) equal the naive triple loop`` () =
    let ranges = sizes @ [ "threads", 1, 3; "kc", 1, 24; "mcTiles", 1, 3; "nc", 1, 40 ]

    Prop.forAll (cases ranges) (fun c ->
        let p = problem c

        for kernel in blockedKernels do
            let expected = naive p

            apply (Gemm.blockedWith (tinyBlocks c kernel) kernel c.["threads"]) p
            |> agree $"{kernel} blocks {tinyBlocks c kernel}" p expected
            |> ignore)

[<Property(MaxTest = 150)>]
let ``the small-product kernel (no packing) equals the naive triple loop`` () =
    if Gemm.smallDirect then
        Prop.forAll (cases sizes) (fun c ->
            let p = problem c
            apply Gemm.direct p |> agree "direct" p (naive p) |> ignore)
    else
        Prop.ofTestable true

[<Property(MaxTest = 150)>]
let ``the small-product kernel split across threads (by rows or columns) equals the naive triple loop`` () =
    if Gemm.smallDirect then
        Prop.forAll (cases (sizes @ [ "threads", 1, 3 ])) (fun c ->
            let p = problem c

            apply (Gemm.directSplit 0L c.["threads"]) p
            |> agree "direct split" p (naive p)
            |> ignore)
    else
        Prop.ofTestable true

[<Property(MaxTest = 150)>]
let ``the portable row loop equals the naive triple loop`` () =
    Prop.forAll (cases (sizes @ [ "threads", 1, 2 ])) (fun c ->
        let p = problem c
        apply (Gemm.rows c.["threads"]) p |> agree "rows" p (naive p) |> ignore)

[<Property(MaxTest = 150)>]
let ``OpenBLAS equals the naive triple loop (when libopenblas.so.0 loads)`` () =
    match Gemm.openBlas.Value with
    | None -> Prop.ofTestable true
    | Some lib ->
        Prop.forAll (cases sizes) (fun c ->
            let p = problem c
            apply (OpenBlas.dgemm lib) p |> agree "openblas" p (naive p) |> ignore)

[<Property(MaxTest = 150)>]
let ``Gemm.run on the managed and the OpenBLAS backends agree with each other and with the naive loop`` () =
    let backends =
        if Gemm.openBlas.Value.IsSome then
            [ Managed; OpenBlas ]
        else
            [ Managed ]

    let dense = sizes |> List.filter (fun (name, _, _) -> name <> "pad")

    Prop.forAll (cases dense) (fun c ->
        // Gemm.run has no leading dimensions: the operands are dense at their offsets.
        let p = problem c

        let viaRun (tA: bool) tB m n k a aOff (_: int) b bOff (_: int) cc cOff (_: int) acc =
            Gemm.run tA tB m n k a aOff b bOff cc cOff acc

        let results =
            backends
            |> List.map (fun be -> be, Gemm.withBackend be (fun () -> apply viaRun p))

        let expected = naive p

        for be, r in results do
            agree $"run on {be}" p expected r |> ignore

        match results with
        | [ (_, managed); (_, openblas) ] -> agree "managed vs openblas" p managed openblas |> ignore
        | _ -> ())

[<Property(MaxTest = 2)>]
let ``products large enough to be split across threads agree on both backends, by rows and by columns`` () =
    // At least 2^25 multiply-adds: Gemm.runLd splits C into bands of rows (m >= n) or of columns (m < n), one
    // single-threaded OpenBLAS call or managed kernel per band, with offsets, padded leading dimensions and
    // transposes carried into each band.
    let backends =
        if Gemm.openBlas.Value.IsSome then
            [ Managed; OpenBlas ]
        else
            [ Managed ]

    let large =
        casesWhere
            [
                "m", 200, 420
                "n", 200, 420
                "k", 400, 600
                "acc", 0, 1
                "off", 0, 5
                "pad", 0, 3
            ]
            (fun c ->
                c.["m"] <> c.["n"]
                && int64 c.["m"] * int64 c.["n"] * int64 c.["k"] >= Gemm.parallelBlockedWork)

    Prop.forAll large (fun c ->
        // Every transpose combination, split by rows (m > n) and by columns (the same sizes swapped).
        for tA in 0..1 do
            for tB in 0..1 do
                for byColumns in [ false; true ] do
                    let m, n = max c.["m"] c.["n"], min c.["m"] c.["n"]
                    let m, n = if byColumns then n, m else m, n

                    let set name v =
                        List.map (fun (k, x) -> if k = name then k, v else k, x)

                    let sizes = ("tA", tA) :: ("tB", tB) :: c.Sizes |> set "m" m |> set "n" n

                    let p = problem { c with Sizes = sizes }
                    let expected = naive p

                    for be in backends do
                        Gemm.withBackend be (fun () -> apply Gemm.runLd p)
                        |> agree $"runLd on {be}" p expected
                        |> ignore)

[<Fact>]
let ``a large product (crossing the real kc, mc and nc blocks) equals the naive triple loop on every path`` () =
    let rnd = Random(7)
    let m, n, k = 197, 4100, 270
    let a = Array.init (k * m) (fun _ -> rnd.NextDouble() - 0.5)
    let b = Array.init (k * n) (fun _ -> rnd.NextDouble() - 0.5)

    let p = {
        TransA = true
        TransB = false
        M = m
        N = n
        K = k
        A = a
        AOff = 0
        Lda = m
        B = b
        BOff = 0
        Ldb = n
        C0 = Array.init (m * n) (fun _ -> rnd.NextDouble())
        COff = 0
        Ldc = n
        Accumulate = true
    }

    let paths: (string * GemmFn) list = [
        for kernel in blockedKernels -> $"{kernel}", Gemm.blocked kernel 2
        if blockedKernels.IsEmpty then
            yield "portable", Gemm.managedWith Portable 2

        match Gemm.openBlas.Value with
        | Some lib -> yield "openblas", OpenBlas.dgemm lib
        | None -> ()
    ]

    let results = paths |> List.map (fun (name, gemm) -> name, apply gemm p)
    let firstName, first = results.Head

    // The first path against the naive sum at 3000 random elements (the full naive loop is too slow here) ...
    for _ in 1..3000 do
        let i, j = rnd.Next m, rnd.Next n
        let mutable sum = p.C0.[i * n + j]
        let mutable scale = abs sum

        for q in 0 .. k - 1 do
            sum <- sum + a.[q * m + i] * b.[q * n + j]
            scale <- scale + abs (a.[q * m + i] * b.[q * n + j])

        let err = abs (first.[i * n + j] - sum) / scale
        Prop.ensure (err <= Tolerance) (fun () -> $"{firstName}: C[{i},{j}] = {first.[i * n + j]}, expected {sum}")

    // ... and every path against the first one at every element.
    let scale = scaleOf (snd paths.Head) p

    for name, r in results.Tail do
        agreeScaled scale $"{name} vs {firstName}" p first r |> ignore

[<Fact>]
let ``empty products: k = 0 clears C (or keeps it when accumulating), m = 0 or n = 0 touch nothing`` () =
    for backend in
        (if Gemm.openBlas.Value.IsSome then
             [ Managed; OpenBlas ]
         else
             [ Managed ]) do
        Gemm.withBackend backend (fun () ->
            let c = Array.create 6 5.0
            Gemm.run false false 2 3 0 [||] 0 [||] 0 c 0 false
            Prop.ensure (c = Array.zeroCreate 6) (fun () -> $"{backend}: k = 0 must clear C")
            let c = Array.create 6 5.0
            Gemm.run true true 2 3 0 [||] 0 [||] 0 c 0 true
            Prop.ensure (c = Array.create 6 5.0) (fun () -> $"{backend}: k = 0 with accumulate must keep C")
            let c = Array.create 6 5.0
            Gemm.run false false 0 3 4 [||] 0 (Array.zeroCreate 12) 0 c 0 false
            Gemm.run false false 2 0 4 (Array.zeroCreate 8) 0 [||] 0 c 0 false
            Prop.ensure (c = Array.create 6 5.0) (fun () -> $"{backend}: m = 0 or n = 0 must not touch C"))

[<Fact>]
let ``operands outside their arrays are rejected, naming the operand`` () =
    let z n = Array.zeroCreate<float> n

    Prop.throwsWith [ "Gemm.run"; "a (2×3"; "needs 7"; "has 6" ] (fun () ->
        Gemm.run false false 2 2 3 (z 6) 1 (z 6) 0 (z 4) 0 false)

    Prop.throwsWith [ "Gemm.run"; "b (2×3"; "has 5" ] (fun () ->
        Gemm.run false true 2 2 3 (z 6) 0 (z 5) 0 (z 4) 0 false)

    Prop.throwsWith [ "Gemm.run"; "c (2×2"; "has 3" ] (fun () ->
        Gemm.run false false 2 2 3 (z 6) 0 (z 6) 0 (z 3) 0 true)

    Prop.throwsWith [ "Gemm.run"; "leading dimension of a"; "3 columns, got 2" ] (fun () ->
        Gemm.runLd false false 2 2 3 (z 6) 0 2 (z 6) 0 2 (z 4) 0 2 false)

    Prop.throwsWith [ "Gemm.run"; "sizes must be >= 0"; "k=-1" ] (fun () ->
        Gemm.run false false 2 2 -1 (z 6) 0 (z 6) 0 (z 4) 0 false)

    Prop.throwsWith [ "Gemm.run"; "a must not be null" ] (fun () ->
        Gemm.run false false 2 2 3 null 0 (z 6) 0 (z 4) 0 false)

let private throwsInvalid (fragments: string list) (f: unit -> 'a) =
    let e = Assert.Throws<InvalidOperationException>(fun () -> f () |> ignore)

    for frag in fragments do
        Prop.ensure (e.Message.Contains frag) (fun () -> $"the message \"{e.Message}\" does not mention \"{frag}\"")

[<Fact>]
let ``FUNCTIONAL_BLAS chooses the backend: automatic, forced, or a clear error naming the variable`` () =
    let never () =
        failwith "OpenBLAS must not be loaded when FUNCTIONAL_BLAS=managed"

    Assert.Equal(OpenBlas, Gemm.resolveBackend null false (fun () -> true))
    Assert.Equal(Managed, Gemm.resolveBackend null false (fun () -> false))
    Assert.Equal(OpenBlas, Gemm.resolveBackend " Auto " false (fun () -> true))
    Assert.Equal(Managed, Gemm.resolveBackend "" false (fun () -> false))
    // On an AVX-512 machine the managed kernel is the faster one: the automatic choice takes it.
    Assert.Equal(Managed, Gemm.resolveBackend null true (fun () -> true))
    Assert.Equal(OpenBlas, Gemm.resolveBackend "openblas" true (fun () -> true))
    Assert.Equal(Managed, Gemm.resolveBackend "managed" false never)
    Assert.Equal(Managed, Gemm.resolveBackend "MANAGED" false never)
    Assert.Equal(OpenBlas, Gemm.resolveBackend "openblas" false (fun () -> true))

    throwsInvalid
        [
            "FUNCTIONAL_BLAS=openblas"
            "libopenblas.so.0"
            "libopenblas0"
            "FUNCTIONAL_BLAS=managed"
        ]
        (fun () -> Gemm.resolveBackend "openblas" false (fun () -> false))

    throwsInvalid [ "FUNCTIONAL_BLAS=mkl"; "managed or openblas" ] (fun () ->
        Gemm.resolveBackend "mkl" false (fun () -> true))

[<Fact>]
let ``FUNCTIONAL_THREADS sets the thread count (default: the processor count)`` () =
    Assert.Equal(Environment.ProcessorCount, ParallelPolicy.parseThreads null)
    Assert.Equal(Environment.ProcessorCount, ParallelPolicy.parseThreads " ")
    Assert.Equal(3, ParallelPolicy.parseThreads "3")
    Assert.Equal(ParallelPolicy.MaxThreads, ParallelPolicy.parseThreads (string ParallelPolicy.MaxThreads))

    for bad in
        [
            "0"
            "-1"
            "two"
            "1.5"
            "1e3"
            "+4"
            "2147483647"
            "99999999999"
            "1025"
            "NaN"
        ] do
        throwsInvalid [ $"FUNCTIONAL_THREADS={bad}"; "an integer from 1 to 1024" ] (fun () ->
            ParallelPolicy.parseThreads bad)

[<Fact>]
let ``Blas.Active reports the backend in force, and withBackend switches it for the enclosed calls`` () =
    let expected =
        match Environment.GetEnvironmentVariable Gemm.BackendVariable with
        | null
        | "" ->
            let avx512 =
                Runtime.Intrinsics.Vector512.IsHardwareAccelerated
                && Runtime.Intrinsics.X86.Avx512F.IsSupported

            if Blas.OpenBlasAvailable && not avx512 then
                "openblas"
            else
                "managed"
        | v -> v.Trim().ToLowerInvariant()

    Assert.Equal(expected, Blas.Active)
    Assert.StartsWith(expected + ":", Blas.Description)
    Assert.True(Blas.Threads >= 1)
    Assert.Equal("managed", Gemm.withBackend Managed (fun () -> Blas.Active))

    if Blas.OpenBlasAvailable then
        Assert.Equal("openblas", Gemm.withBackend OpenBlas (fun () -> Blas.Active))
        Assert.Contains("OpenBLAS", Gemm.withBackend OpenBlas (fun () -> Blas.Description))
    else
        Assert.Throws<InvalidOperationException>(fun () -> Gemm.withBackend OpenBlas ignore)
        |> ignore

[<Fact>]
let ``OpenBLAS loads wherever libopenblas.so.0 is installed`` () =
    let installed =
        [
            "/usr/lib/x86_64-linux-gnu"
            "/usr/lib/aarch64-linux-gnu"
            "/usr/lib64"
            "/usr/lib"
        ]
        |> List.exists (fun d -> File.Exists(Path.Combine(d, "libopenblas.so.0")))

    if installed then
        Prop.ensure Blas.OpenBlasAvailable (fun () -> "libopenblas.so.0 is installed but could not be loaded")
