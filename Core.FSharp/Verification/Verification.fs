namespace Functional.FSharp

open Functional

/// <summary>What the engine needs to know about a function to verify: its name, its random cases (generator and
/// shrinker), how a case reads, and the known wrong formulas of it (for the hints).</summary>
[<NoComparison; NoEquality>]
type VerifySpec<'case> = {
    /// <summary>The function's name (e.g. "conv_backward_naive").</summary>
    Name: string
    /// <summary>The random cases and their shrinker.</summary>
    Arbitrary: FsCheck.Arbitrary<'case>
    /// <summary>A case's parameters and shapes, in the course's names.</summary>
    Describe: 'case -> CaseDescription
    /// <summary>The known wrong formulas (Variant.Hint names a catalogue entry of Hints.catalogue).</summary>
    Variants: Variant<'case> list
}

namespace Functional.FSharp

open System
open System.Diagnostics
open FsCheck.FSharp
open Functional

/// <summary>
/// The verification engine: runs a function over random cases, judges every output with the one tolerance rule
/// (<see cref="T:Functional.FSharp.Tolerance"/>), shrinks the first failure by re-running the function on ever
/// smaller cases (the spec's FsCheck shrinker), and reports with a hint from <see cref="T:Functional.FSharp.Hints"/>.
/// The Python <c>verify</c> verb and the <c>Verify</c> entry points both call <see cref="run"/>; they differ only
/// in the function that turns a case into an <see cref="T:Functional.Outcome"/>.
/// </summary>
[<RequireQualifiedAccess>]
module Verification =
    /// <summary>The bound of an oracle: Tolerance.Reference or Tolerance.Gradient.</summary>
    let bound (oracle: Oracle) =
        match oracle with
        | Oracle.Reference -> Tolerance.Reference
        | _ -> Tolerance.Gradient

    /// <summary>A judged comparison: worst relative error, where, the two values there, and the verdict.</summary>
    [<NoComparison>]
    type Judged = {
        Comparison: Comparison
        RelError: float
        Index: int[]
        Expected: float
        Actual: float
        Passed: bool
    }

    /// <summary>Judges one comparison under the rule; a shape mismatch fails with relative error +∞.</summary>
    let judge (c: Comparison) : Judged =
        if isNull (box c.Actual) || isNull (box c.Expected) then
            {
                Comparison = c
                RelError = infinity
                Index = [||]
                Expected = nan
                Actual = nan
                Passed = false
            }
        elif Tensor.shape c.Actual <> Tensor.shape c.Expected then
            {
                Comparison = c
                RelError = infinity
                Index = [||]
                Expected = nan
                Actual = nan
                Passed = false
            }
        else
            let r =
                GradCheck.compareWith Tolerance.Floor c.Output (bound c.Oracle) c.Actual c.Expected

            {
                Comparison = c
                RelError = r.MaxRelativeError
                Index = r.WorstIndex
                Expected = r.Numeric
                Actual = r.Analytic
                Passed = r.Passed
            }

    /// <summary>
    /// The numeric gradient of Σ f(x)·dout at x used as the Numeric oracle: centered differences taken output by
    /// output of f(x') − f(x) (outputs that do not move contribute exact zeros), Richardson-extrapolated:
    /// (4·n(h/2) − n(h)) / 3 with h = 1e-4. The extrapolation cancels the h² truncation term (which reached 1e-7
    /// relative on normalization layers over few rows without it), leaving O(h⁴). The step is then set by the
    /// round-off, about 3·ε·|f|·√M / h for M outputs (the extrapolation triples it): with h = 1e-5 it reached
    /// 1.3e-9 on group norm over 162 outputs (x (3, 6, 3, 3), G = 2; one case in ~74,000), above the 1e-9 the rule
    /// allows at its floor (Tolerance.Gradient · Tolerance.Floor). With h = 1e-4 that case errs by 1.3e-11 against
    /// the closed form evaluated in 28-digit decimals (1e-3: 2.9e-12; 1e-5: 1.3e-9).
    /// </summary>
    let numericGradient (f: Tensor -> Tensor) (x: Tensor) (dout: Tensor) =
        let baseline = f x

        let at h =
            GradCheck.numericGradientOf h (fun x' -> f x' - baseline) x dout

        (at 5e-5 * 4.0 - at 1e-4) / 3.0

    let private failedOutputs (judged: Judged list) =
        judged
        |> List.filter (fun j -> not j.Passed)
        |> List.map (fun j -> j.Comparison.Output)
        |> List.distinct

    let private safely (check: 'case -> Outcome) (c: 'case) =
        try
            check c
        with e ->
            Outcome.Error $"{e.GetType().Name}: {e.Message}"

    /// The worst failing comparison, a reference one when any fails: the counterexample then shows an element of the
    /// output against the library's value (the Python path's numeric oracle is a single directional derivative).
    let private worstFailing (judged: Judged list) =
        let failing = judged |> List.filter (fun j -> not j.Passed)

        let reference =
            failing |> List.filter (fun j -> j.Comparison.Oracle = Oracle.Reference)

        (if reference.IsEmpty then failing else reference)
        |> List.maxBy (fun j -> j.RelError)

    /// <summary>
    /// Shrinks a case while keep holds of its outcome: repeatedly takes the first shrink candidate that still
    /// satisfies keep (at most 300 evaluations). Returns the last case kept, its outcome and the steps taken.
    /// </summary>
    let shrink
        (arb: FsCheck.Arbitrary<'case>)
        (check: 'case -> Outcome)
        (keep: Outcome -> bool)
        (c: 'case)
        (o: Outcome)
        =
        let mutable current = c, o
        let mutable steps = 0
        let mutable budget = 300
        let mutable go = true

        while go && budget > 0 do
            let found =
                arb.Shrinker(fst current)
                |> Seq.truncate budget
                |> Seq.tryPick (fun c' ->
                    budget <- budget - 1
                    let o' = safely check c'
                    if keep o' then Some(c', o') else None)

            match found with
            | Some next ->
                current <- next
                steps <- steps + 1
            | None -> go <- false

        fst current, snd current, steps

    let private matchesVariant (comparisons: Comparison list) (outputs: (string * Tensor) list) =
        let close (a: Tensor) (b: Tensor) =
            Tensor.shape a = Tensor.shape b
            && (GradCheck.compareWith Tolerance.Floor "variant" 1e-6 a b).Passed

        not outputs.IsEmpty
        && outputs
           |> List.forall (fun (name, v) ->
               comparisons
               |> List.exists (fun c -> c.Output = name && not (isNull (box c.Actual)) && close c.Actual v))
        && outputs
           |> List.exists (fun (name, v) ->
               comparisons
               |> List.exists (fun c -> c.Output = name && not (isNull (box c.Expected)) && not (close c.Expected v)))

    /// <summary>
    /// Runs check on <c>cases</c> cases drawn from the spec's generator with the given seed, judges every output,
    /// and on a failure shrinks the first failing case (keeping the same output failing) and looks for a hint.
    /// A NotImplemented or NotFound outcome stops at once with that status; a Timeout stops with Timeout; an Error
    /// is shrunk to the smallest case that still errs and reported with its message. Never throws for the checked
    /// function's exceptions (they are Error outcomes).
    /// </summary>
    let run (spec: VerifySpec<'case>) (cases: int) (seed: int) (check: 'case -> Outcome) : VerifyReport =
        Guard.positive "Verification.run" "cases" cases
        let clock = Stopwatch.StartNew()

        let samples =
            Gen.sampleWithSeed (FsCheck.Rnd(uint64 (uint32 seed))) 20 cases spec.Arbitrary.Generator

        let report status n (judged: Judged list) failure hint message =
            let verdicts =
                judged
                |> List.groupBy (fun j -> j.Comparison.Output, j.Comparison.Oracle)
                |> List.map (fun ((output, oracle), js) -> {
                    Output = output
                    Oracle = oracle
                    Passed = js |> List.forall (fun j -> j.Passed)
                    FailedCases = js |> List.filter (fun j -> not j.Passed) |> List.length
                    WorstRelError = js |> List.map (fun j -> j.RelError) |> List.fold max 0.0
                })

            {
                Name = spec.Name
                Status = status
                Cases = n
                WorstRelError = verdicts |> List.map (fun v -> v.WorstRelError) |> List.fold max 0.0
                Outputs = verdicts
                Failure = failure
                Hint = hint
                Message = message
                Seconds = clock.Elapsed.TotalSeconds
            }

        // Run every case (stopping early only for stubs, missing functions and timeouts).
        let rec go i (acc: ('case * Outcome * Judged list) list) =
            if i >= samples.Length then
                List.rev acc, None
            else
                let c = samples.[i]

                match safely check c with
                | Outcome.NotImplemented -> List.rev acc, Some(VerifyStatus.NotImplemented, c, Outcome.NotImplemented)
                | Outcome.NotFound -> List.rev acc, Some(VerifyStatus.NotFound, c, Outcome.NotFound)
                | Outcome.Timeout -> List.rev acc, Some(VerifyStatus.Timeout, c, Outcome.Timeout)
                | Outcome.Compared cs as o -> go (i + 1) ((c, o, List.map judge cs) :: acc)
                | Outcome.Error _ as o -> go (i + 1) ((c, o, []) :: acc)

        let results, stopped = go 0 []
        let allJudged = results |> List.collect (fun (_, _, js) -> js)

        match stopped with
        | Some(status, c, _) ->
            let message =
                match status with
                | VerifyStatus.Timeout -> Some $"no result within the time limit on {c}"
                | _ -> None

            report status (results.Length + 1) allJudged None None message
        | None ->
            let firstError =
                results
                |> List.tryPick (fun (c, o, _) ->
                    match o with
                    | Outcome.Error _ -> Some(c, o)
                    | _ -> None)

            let firstFailure =
                results
                |> List.tryFind (fun (_, _, js) -> js |> List.exists (fun j -> not j.Passed))

            match firstError, firstFailure with
            | Some(c, o), _ ->
                let isError =
                    function
                    | Outcome.Error _ -> true
                    | _ -> false

                let c', o', _ = shrink spec.Arbitrary check isError c o

                let message =
                    match o' with
                    | Outcome.Error m -> m
                    | _ -> ""

                report
                    VerifyStatus.Error
                    results.Length
                    allJudged
                    None
                    None
                    (Some $"{message} (smallest case: {c'}; {spec.Describe c'})")
            | None, Some(c, o, js) ->
                let output = (worstFailing js).Comparison.Output

                let keep =
                    function
                    | Outcome.Compared cs ->
                        cs |> List.exists (fun cmp -> cmp.Output = output && not (judge cmp).Passed)
                    | _ -> false

                let c', o', steps = shrink spec.Arbitrary check keep c o

                let comparisons =
                    match o' with
                    | Outcome.Compared cs -> cs
                    | _ -> []

                let judged' =
                    comparisons
                    |> List.map judge
                    |> List.filter (fun j -> j.Comparison.Output = output)

                let w = worstFailing judged'
                let description = spec.Describe c'

                let firstComparisons =
                    match o with
                    | Outcome.Compared cs -> cs
                    | _ -> []

                // A known wrong formula is recomputed on the shrunk case, or (when it does not apply there: a
                // batch-axis formula at N = 1) on the first failing case, before shrinking, where it applies.
                let failingCases =
                    (c', comparisons)
                    :: (results
                        |> List.choose (fun (ci, oi, js) ->
                            match oi with
                            | Outcome.Compared cs when
                                js |> List.exists (fun j -> j.Comparison.Output = output && not j.Passed)
                                ->
                                Some(ci, cs)
                            | _ -> None))

                let matched =
                    spec.Variants
                    |> List.choose (fun v ->
                        failingCases
                        |> List.tryPick (fun (ci, cs) ->
                            match
                                (try
                                    v.Outputs ci
                                 with _ -> [])
                            with
                            | [] -> None
                            | outputs -> Some(ci, cs, outputs))
                        |> Option.bind (fun (ci, cs, outputs) ->
                            if
                                (try
                                    matchesVariant cs outputs
                                 with _ ->
                                     false)
                            then
                                Some(v.Hint, spec.Describe ci)
                            else
                                None))

                let evidence = {
                    Cases =
                        results
                        |> List.map (fun (c, _, js) -> {
                            Description = spec.Describe c
                            Failed = failedOutputs js
                        })
                    Output = output
                    Failing = description
                    Comparisons = comparisons
                    FirstFailing = spec.Describe c
                    FirstComparisons = firstComparisons
                    Matched = matched
                }

                let failure = {
                    Output = output
                    Oracle = w.Comparison.Oracle
                    Case = string (box c')
                    Description = description
                    Index = w.Index
                    Expected = w.Expected
                    Actual = w.Actual
                    RelError = w.RelError
                    ShrinkSteps = steps
                }

                report VerifyStatus.Fail results.Length allJudged (Some failure) (Hints.find evidence) None
            | None, None -> report VerifyStatus.Pass results.Length allJudged None None None

    /// <summary>
    /// The outcome of a layer on one case: runs forward on the inputs (named x, w, b, …), compares its output and
    /// extra outputs with the reference's, runs backward on dout and the forward's cache, and compares each returned
    /// gradient d&lt;input&gt; with the reference gradient and with the numeric gradient of the layer's OWN forward
    /// (so a backward consistent with a wrong forward passes the numeric oracle and fails the reference).
    /// A gradient name without an input of that name is compared with the reference only.
    /// </summary>
    let layerOutcome
        (inputs: (string * Tensor) list)
        (dout: Tensor)
        (reference: (string * Tensor) list)
        (forward: Tensor list -> Tensor * 'cache * (string * Tensor) list)
        (backward: Tensor -> 'cache -> (string * Tensor) list)
        : Outcome =
        let expected name =
            reference |> List.tryFind (fun (n, _) -> n = name) |> Option.map snd

        let values = List.map snd inputs
        let out, cache, extras = forward values

        let forwardComparisons =
            ("out", out) :: extras
            |> List.choose (fun (name, actual) ->
                expected name
                |> Option.map (fun e -> {
                    Output = name
                    Expected = e
                    Actual = actual
                    Oracle = Oracle.Reference
                }))

        let grads = backward dout cache

        let gradComparisons =
            grads
            |> List.collect (fun (name, g) ->
                let ref =
                    match expected name with
                    | Some e -> [
                        {
                            Output = name
                            Expected = e
                            Actual = g
                            Oracle = Oracle.Reference
                        }
                      ]
                    | None -> []

                let input = name.Substring 1

                let numeric =
                    match inputs |> List.tryFindIndex (fun (n, _) -> n = input) with
                    | Some i when not (isNull (box g)) ->
                        let f (t: Tensor) =
                            let out', _, _ = forward (values |> List.mapi (fun j v -> if j = i then t else v))
                            out'

                        // A forward whose output does not fit dout already fails its own comparison.
                        try
                            [
                                {
                                    Output = name
                                    Expected = numericGradient f (snd inputs.[i]) dout
                                    Actual = g
                                    Oracle = Oracle.Numeric
                                }
                            ]
                        with :? ArgumentException -> []
                    | _ -> []

                ref @ numeric)

        Outcome.Compared(forwardComparisons @ gradComparisons)
