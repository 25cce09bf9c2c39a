namespace Functional.Kernels

open System
open Functional
open System.Collections.Concurrent
open System.Threading
open System.Threading.Tasks

/// <summary>
/// The one parallel policy of the library: how many threads (FUNCTIONAL_THREADS, default the processor count),
/// and the one loop that spreads work over them (<c>ParallelPolicy.forEach</c>). GEMM, convolution, pooling,
/// normalization and the temporal softmax all split their work through it, so FUNCTIONAL_THREADS=1 runs
/// everything on the calling thread. Each caller fixes its chunks (images, channels, row bands) and their order;
/// the thread count only decides how many run at once, so every sum is formed the same way whatever the count.
/// </summary>
module internal ParallelPolicy =
    /// The environment variable that sets the number of threads.
    [<Literal>]
    let ThreadsVariable = "FUNCTIONAL_THREADS"

    /// The largest FUNCTIONAL_THREADS accepted: far above any machine's useful count, and small enough that the
    /// band arithmetic (m + threads − 1, threads · 4 chunks) cannot overflow.
    [<Literal>]
    let MaxThreads = 1024

    /// The thread count from the FUNCTIONAL_THREADS value (null or empty: the processor count): an integer from 1
    /// to MaxThreads, else an InvalidOperationException naming the variable, the value and what is accepted.
    let parseThreads (value: string | null) =
        match value with
        | null -> Environment.ProcessorCount
        | value when String.IsNullOrWhiteSpace value -> Environment.ProcessorCount
        | value ->
            match
                Int32.TryParse(
                    value.Trim(),
                    Globalization.NumberStyles.None,
                    Globalization.CultureInfo.InvariantCulture
                )
            with
            | true, t when t >= 1 && t <= MaxThreads -> t
            | _ ->
                raise (
                    InvalidOperationException(
                        $"{ThreadsVariable}={value} is not a thread count: use an integer from 1 to {MaxThreads}, or unset it to use all {Environment.ProcessorCount} processors."
                    )
                )

    /// The process-wide thread count (FUNCTIONAL_THREADS, default the processor count), read once. An invalid value
    /// raises at the first product of any size (see Gemm.activeBackend), and again at every later one.
    let configured =
        lazy (parseThreads (Environment.GetEnvironmentVariable ThreadsVariable))

    let private countOverride = AsyncLocal<int voption>()

    /// The thread count work started here is spread over: the one set by withThreads around this call, else
    /// FUNCTIONAL_THREADS.
    let threads () =
        match countOverride.Value with
        | ValueSome t -> t
        | ValueNone -> configured.Value

    /// Runs f with the work on this logical thread (and the tasks it starts) spread over at most `count` threads, as
    /// if FUNCTIONAL_THREADS were `count` (for the properties, which cannot set the variable of a running process).
    let withThreads (count: int) (f: unit -> 'a) : 'a =
        if count < 1 || count > MaxThreads then
            Guard.fail "ParallelPolicy.withThreads" (nameof count) $"count must be in 1 .. {MaxThreads}, got {count}."

        let previous = countOverride.Value
        countOverride.Value <- ValueSome count

        try
            f ()
        finally
            countOverride.Value <- previous

    // ---- the diagnostic: which threads ran the chunks ----

    /// What observeThreads saw: for each managed thread that ran a chunk, how many it ran; and the most threads that
    /// ran chunks at the same time (a chunk nested in another on the same thread counts once).
    type Observed = {
        ChunksByThread: Map<int, int>
        Peak: int
    }

    /// The observer's counts while it is active (local mutation, confined to one observeThreads call).
    type private Tally() =
        member val ByThread = ConcurrentDictionary<int, int>()
        member val Depth = ConcurrentDictionary<int, int>()
        member val Running = ref 0
        member val Peak = ref 0

    let private observer = AsyncLocal<Tally | null>()

    /// Runs f and returns its result with what forEach did inside it (the properties check the thread count this
    /// way, not by timing). Outside such a call forEach records nothing.
    let observeThreads (f: unit -> 'a) : 'a * Observed =
        let tally = Tally()
        let previous = observer.Value
        observer.Value <- tally

        let result =
            try
                f ()
            finally
                observer.Value <- previous

        result,
        {
            ChunksByThread = tally.ByThread |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq
            Peak = tally.Peak.Value
        }

    // ---- the loop ----

    /// Runs body 0 .. chunks − 1: in order on the calling thread when threads = 1 or there is one chunk, else through
    /// Parallel.For with at most `threads` running at once. The caller chooses the chunks (a fixed split of its work)
    /// and `threads` (usually threads (), or 1 below its size threshold).
    let forEach (threads: int) (chunks: int) (body: int -> unit) =
        let body =
            match observer.Value with
            | null -> body
            | tally ->
                fun i ->
                    let id = Environment.CurrentManagedThreadId
                    tally.ByThread.AddOrUpdate(id, 1, (fun _ k -> k + 1)) |> ignore

                    if tally.Depth.AddOrUpdate(id, 1, (fun _ d -> d + 1)) = 1 then
                        let running = Interlocked.Increment &tally.Running.contents
                        let mutable peak = tally.Peak.Value

                        while running > peak
                              && Interlocked.CompareExchange(&tally.Peak.contents, running, peak) <> peak do
                            peak <- tally.Peak.Value

                    try
                        body i
                    finally
                        if tally.Depth.AddOrUpdate(id, 0, (fun _ d -> d - 1)) = 0 then
                            Interlocked.Decrement &tally.Running.contents |> ignore

        if threads <= 1 || chunks <= 1 then
            for i in 0 .. chunks - 1 do
                body i
        else
            Parallel.For(0, chunks, ParallelOptions(MaxDegreeOfParallelism = threads), body)
            |> ignore
