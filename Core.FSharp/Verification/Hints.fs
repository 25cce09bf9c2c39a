namespace Functional.FSharp

open Functional

/// <summary>One case's result as the hints see it: the case's description and the outputs that failed in it.</summary>
[<NoComparison>]
type CaseResult = {
    /// <summary>The case's parameters and shapes.</summary>
    Description: CaseDescription
    /// <summary>The names of the outputs out of their bound in this case (empty when it passed).</summary>
    Failed: string list
}

/// <summary>
/// A known wrong formula for a function: given a case, what the buggy variant outputs (by output name). The engine
/// evaluates it on the shrunk failing case; when the checked function's outputs equal the variant's (and the variant
/// differs from the expected value), the hint of the catalogue entry named by <c>Hint</c> is shown with that evidence.
/// </summary>
[<NoComparison; NoEquality>]
type Variant<'case> = {
    /// <summary>The Id of the catalogue entry (Hints.catalogue) this variant is evidence for.</summary>
    Hint: string
    /// <summary>The buggy variant's outputs on a case, by output name (a subset of the checked outputs).</summary>
    Outputs: 'case -> (string * Tensor) list
}

/// <summary>What a hint is decided from: every case's result, the shrunk failure's output and comparisons, and
/// the ids of the wrong-formula variants the failure matched.</summary>
[<NoComparison>]
type HintEvidence = {
    /// <summary>Every case run (before shrinking), with the outputs that failed in it.</summary>
    Cases: CaseResult list
    /// <summary>The failing output of the shrunk counterexample.</summary>
    Output: string
    /// <summary>The shrunk failing case.</summary>
    Failing: CaseDescription
    /// <summary>All comparisons of the shrunk failing case.</summary>
    Comparisons: Comparison list
    /// <summary>The first failing case, before shrinking.</summary>
    FirstFailing: CaseDescription
    /// <summary>All comparisons of the first failing case.</summary>
    FirstComparisons: Comparison list
    /// <summary>The variants whose outputs equal the checked function's: each its Hint id and the failing case it
    /// matched on (the shrunk case when the variant applies there, else the first failing case it applies to).</summary>
    Matched: (string * CaseDescription) list
}

/// <summary>A bug pattern of the catalogue: an id, what it means, and how it is recognized (Some text with the
/// evidence, or None).</summary>
[<NoComparison; NoEquality>]
type HintPattern = {
    /// <summary>A stable identifier (e.g. "non-square-window").</summary>
    Id: string
    /// <summary>The kind of bug the pattern points to.</summary>
    Meaning: string
    /// <summary>Recognizes the pattern: the hint text with its evidence, or None.</summary>
    Detect: HintEvidence -> string option
}

namespace Functional.FSharp

open System
open Functional

/// <summary>
/// The catalogue of bug patterns the verification recognizes. Each hint is shown only with its evidence: either
/// which cases fail (a case pattern: "fails all 41 cases with pool_height ≠ pool_width, passes all 59 square
/// ones"), or the failure's values (a constant factor, zeros, the loss N times too large), or a known wrong formula
/// whose outputs equal the checked function's on the failing case (a variant). The catalogue is plain data:
/// the F#/C# entry points and the Python <c>verify</c> verb use it as it is.
/// </summary>
[<RequireQualifiedAccess>]
module Hints =
    let private param (d: CaseDescription) (names: string list) = names |> List.tryPick d.TryParameter

    /// <summary>The least number of cases on each side of a case pattern, 2.</summary>
    [<Literal>]
    let MinGroup = 2

    /// <summary>
    /// A case pattern: fires when the failing output fails in at least 3/4 of the cases where the predicate holds
    /// (Some true) and in at most 1/10 of those where it does not (Some false), with at least <see cref="MinGroup"/>
    /// cases on each side; cases where it is None are left out. Not "every case": a wrong formula can agree with the
    /// right one by coincidence on a random case (a max-pool backward with a pool_height × pool_height window finds
    /// the right arg-max in about one non-square case in six: every window's maximum in the part both windows
    /// share). The contrast with the other side (at most 1/10) is what ties the failures to the predicate. The text
    /// gives both counts.
    /// </summary>
    let casePattern
        (patternId: string)
        (meaning: string)
        (holds: CaseDescription -> bool option)
        (yes: string)
        (no: string)
        : HintPattern =
        let detect (e: HintEvidence) =
            let judged =
                e.Cases
                |> List.choose (fun c ->
                    holds c.Description |> Option.map (fun h -> h, List.contains e.Output c.Failed))

            let inGroup = judged |> List.filter fst |> List.map snd
            let outGroup = judged |> List.filter (fst >> not) |> List.map snd
            let failed (g: bool list) = g |> List.filter id |> List.length
            let fi, fo = failed inGroup, failed outGroup

            let count k n =
                if k = n then $"all {n}" else $"{k} of {n}"

            if
                inGroup.Length >= MinGroup
                && outGroup.Length >= MinGroup
                && 4 * fi >= 3 * inGroup.Length
                && 10 * fo <= outGroup.Length
            then
                Some
                    $"{e.Output} fails {count fi inGroup.Length} cases with {yes}, passes {count (outGroup.Length - fo) outGroup.Length} with {no}: {meaning}"
            else
                None

        {
            Id = patternId
            Meaning = meaning
            Detect = detect
        }

    /// <summary>The text of a matched variant: where it matched (the smallest failing case, or another).</summary>
    let private matchedText (e: HintEvidence) (patternId: string) (meaning: string) =
        e.Matched
        |> List.tryFind (fun (id, _) -> id = patternId)
        |> Option.map (fun (_, on) ->
            let which =
                if string on = string e.Failing then
                    "the smallest failing case"
                else
                    "a failing case"

            $"{e.Output} equals the known wrong formula on {which} ({on}): {meaning}")

    /// <summary>A wrong-formula pattern: fires when a variant with this id matched a failing case.</summary>
    let formula (patternId: string) (meaning: string) : HintPattern = {
        Id = patternId
        Meaning = meaning
        Detect = fun e -> matchedText e patternId meaning
    }

    let private failing (e: HintEvidence) =
        e.Comparisons |> List.filter (fun c -> c.Output = e.Output)

    /// <summary>The constant ratio actual / expected over the elements of the failing output, when there is one
    /// (at least one element with |expected| &gt; 1e-6, and all such ratios equal to 1e-6 relative, and actual ≈ 0
    /// where expected ≈ 0).</summary>
    let ratio (c: Comparison) =
        let a, x = Tensor.toArray c.Actual, Tensor.toArray c.Expected

        if a.Length <> x.Length then
            None
        else
            let pairs = Array.zip a x
            let big = pairs |> Array.filter (fun (_, e) -> abs e > 1e-6)

            if big.Length = 0 then
                None
            else
                let k = fst big.[0] / snd big.[0]

                let same =
                    big |> Array.forall (fun (v, e) -> abs (v / e - k) <= 1e-6 * max 1.0 (abs k))
                    && pairs
                       |> Array.forall (fun (v, e) -> abs e > 1e-6 || abs v <= 1e-6 * max 1.0 (abs k))

                if same && Double.IsFinite k && abs (k - 1.0) > 1e-6 then
                    Some k
                else
                    None

    /// <summary>A dropout pattern: fires when a variant with this id matched, or when the failing output (out or
    /// dx) is scale(p) times the expected in every element, for the case's keep probability p ≠ 0.5.</summary>
    let dropoutScale (patternId: string) (meaning: string) (scale: float -> float) : HintPattern = {
        Id = patternId
        Meaning = meaning
        Detect =
            fun e ->
                let byRatio =
                    match param e.Failing [ "p" ], failing e with
                    | Some p, c :: _ when p > 0.0 && p < 1.0 && p <> 0.5 ->
                        match ratio c with
                        | Some k when abs (k - scale p) <= 1e-6 * max 1.0 (abs k) ->
                            Some
                                $"{e.Output} is {k:G6} × the expected value in every element with keep probability p = {p} ({e.Failing}): {meaning}"
                        | _ -> None
                    | _ -> None

                match byRatio with
                | Some h -> Some h
                | None -> matchedText e patternId meaning
    }

    let private lossTimesN: HintPattern = {
        Id = "loss-times-n"
        Meaning = "the loss is summed over the N examples instead of averaged (divide by N)"
        Detect =
            fun e ->
                match param e.Failing [ "N" ], failing e with
                | Some n, c :: _ when n > 1.0 && c.Output = "loss" ->
                    match ratio c with
                    | Some k when abs (k - n) <= 1e-6 * n ->
                        Some
                            $"loss is exactly N = {n} times the expected ({Tensor.toArray(c.Actual).[0]:G10} vs {Tensor.toArray(c.Expected).[0]:G10}): the loss is summed over the N examples instead of averaged (divide by N)"
                    | _ -> None
                | _ -> None
    }

    /// A constant factor needs at least two elements as evidence (any two numbers have a ratio): it is read on the
    /// shrunk case when its output has two or more elements, else on the first failing case.
    let private constantFactor: HintPattern = {
        Id = "constant-factor"
        Meaning = "the output is off by a constant factor (a missing or extra scale: 2, N, 1/p, a sign)"
        Detect =
            fun e ->
                [ e.Failing, e.Comparisons; e.FirstFailing, e.FirstComparisons ]
                |> List.tryPick (fun (case, comparisons) ->
                    match comparisons |> List.filter (fun c -> c.Output = e.Output) with
                    | c :: _ when c.Expected.Count > 1 ->
                        ratio c
                        |> Option.map (fun k ->
                            let forwardOk =
                                comparisons |> List.exists (fun o -> o.Output = "out" || o.Output = "loss")
                                && comparisons
                                   |> List.filter (fun o -> o.Output = "out" || o.Output = "loss")
                                   |> List.forall (fun o ->
                                       ratio o |> Option.isNone && o.Actual.Count = o.Expected.Count)

                            let where =
                                if forwardOk && e.Output.StartsWith "d" then
                                    "the forward pass is right but the backward"
                                else
                                    e.Output

                            $"{e.Output} is {k:G6} × the expected value in every element ({case}): {where} is off by a constant factor {k:G6}")
                    | _ -> None)
    }

    let private zeros: HintPattern = {
        Id = "zero-output"
        Meaning = "the output is never written (left at zeros)"
        Detect =
            fun e ->
                match failing e with
                | c :: _ when
                    c.Actual.Count = c.Expected.Count
                    && Tensor.toArray c.Actual |> Array.forall (fun v -> v = 0.0)
                    && Tensor.toArray c.Expected |> Array.exists (fun v -> abs v > 1e-6)
                    ->
                    Some
                        $"{e.Output} is all zeros on the smallest failing case ({e.Failing}): the output is never written (a loop that does not run, or an empty slice)"
                | _ -> None
    }

    let private either (a: float option) (b: float option) =
        match a, b with
        | Some x, Some y -> Some(x, y)
        | _ -> None

    /// <summary>
    /// The stride pattern's side of a case with strides sh, sw: Some false for stride 1, Some true when a stride
    /// above 1 is used (the output has more than one position along that axis: H' = (H + 2·pad − HH) / stride + 1,
    /// from x's shape, the window and the pad), None when the strides are above 1 but the output is a single
    /// position along each strided axis (the stride never enters the index arithmetic, so such a case says nothing).
    /// </summary>
    let private strided (d: CaseDescription) (sh: float) (sw: float) =
        if sh <= 1.0 && sw <= 1.0 then
            Some false
        else
            let x = d.Shapes |> List.tryFind (fun (n, _) -> n = "x") |> Option.map snd

            let pad names =
                param d names |> Option.defaultValue 0.0

            match x, param d [ "HH"; "pool_height" ], param d [ "WW"; "pool_width" ] with
            | Some s, Some kh, Some kw when s.Length = 4 ->
                let positions size k p st =
                    floor ((float size + 2.0 * p - k) / st) + 1.0

                let ho = positions s.[2] kh (pad [ "pad"; "pad_h" ]) sh
                let wo = positions s.[3] kw (pad [ "pad"; "pad_w" ]) sw

                if (sh > 1.0 && ho > 1.0) || (sw > 1.0 && wo > 1.0) then
                    Some true
                else
                    None
            | _ -> Some true

    /// <summary>The catalogue, in the order the patterns are tried (the first that fires is the hint).</summary>
    let catalogue: HintPattern list = [
        formula "regularization-sign" "the regularization gradient has the wrong sign (d/dW of ½·reg·ΣW² is +reg·W)"
        formula
            "adam-bias-correction"
            "the first Adam steps are too small: the moments are not bias-corrected (m / (1 − β₁ᵗ), v / (1 − β₂ᵗ), with t incremented before use)"
        dropoutScale
            "dropout-not-inverted"
            "the output's mean is off by the keep probability: dropout is not inverted (divide the kept units by p in training)"
            id
        dropoutScale
            "dropout-drop-probability"
            "p is read as the drop probability: the course's p is the probability of KEEPING a unit (mask = rand < p, kept units / p)"
            (fun p -> p / (1.0 - p))
        formula
            "batchnorm-test-batch-statistics"
            "test mode uses the batch's statistics; it must use running_mean and running_var"
        formula
            "running-variance-std"
            "the running variance is updated with the standard deviation instead of the variance"
        formula
            "normalization-axis"
            "the normalization is over the wrong axis (layer norm over the batch, batch norm over the features, or groups over the wrong dimension)"
        formula
            "embedding-accumulation"
            "the embedding gradient assigns instead of accumulating: repeated indices must add up (np.add.at)"
        formula
            "temporal-mask-ignored"
            "the temporal loss counts the masked steps: multiply each step's loss and gradient by the mask"
        formula
            "lstm-gate-order"
            "the LSTM gates are in another order: the course's activation a (N, 4H) splits into i, f, o, g in that order"
        formula
            "max-pool-window"
            "the arg-max's row/column is computed with the wrong window size (pool_width for rows, or pool_height for columns)"
        lossTimesN
        casePattern
            "non-square-window"
            "a row or column index uses the other dimension's window size (pool_width for rows, WW for HH, or the reverse)"
            (fun d ->
                either (param d [ "pool_height"; "HH" ]) (param d [ "pool_width"; "WW" ])
                |> Option.map (fun (h, w) -> h <> w))
            "height ≠ width of the window"
            "a square window"
        casePattern
            "pad-zero"
            "the padding is wrong when there is none: e.g. dx taken as dx_pad[pad:-pad], which is empty at pad 0"
            (fun d ->
                match param d [ "pad" ], either (param d [ "pad_h" ]) (param d [ "pad_w" ]) with
                | Some p, _ -> Some(p = 0.0)
                | None, Some(h, w) -> Some(h = 0.0 && w = 0.0)
                | None, None -> None)
            "pad 0"
            "pad > 0"
        casePattern
            "stride-above-one"
            "the stride is dropped or misapplied in the index arithmetic (the window starts at i·stride)"
            (fun d ->
                match param d [ "stride" ], either (param d [ "stride_h" ]) (param d [ "stride_w" ]) with
                | Some s, _ -> strided d s s
                | None, Some(h, w) -> strided d h w
                | None, None -> None)
            "stride > 1 (and more than one output position along a strided axis)"
            "stride 1"
        casePattern
            "sequence-longer-than-one"
            "the backward pass does not carry the hidden state's gradient back from later steps (right only for T = 1)"
            (fun d -> param d [ "T" ] |> Option.map (fun t -> t > 1.0))
            "T > 1"
            "T = 1"
        casePattern
            "repeated-indices"
            "the embedding gradient loses the accumulation of repeated indices (use np.add.at, not dW[x] += dout)"
            (fun d -> param d [ "repeated" ] |> Option.map (fun r -> r > 0.0))
            "a repeated word index"
            "distinct indices"
        casePattern
            "masked-steps"
            "the temporal loss or its gradient depends on masked steps (multiply by the mask)"
            (fun d -> param d [ "masked" ] |> Option.map (fun m -> m > 0.0))
            "masked steps"
            "all-ones masks"
        casePattern
            "regularization"
            "the regularization term or its gradient is wrong (loss + ½·reg·ΣW², dW + reg·W)"
            (fun d -> param d [ "reg" ] |> Option.map (fun r -> r > 0.0))
            "reg > 0"
            "reg = 0"
        casePattern
            "groups-above-one"
            "the groups are taken over the wrong dimension (reshape to (N, G, C/G·H·W), the channels split into G consecutive blocks)"
            (fun d -> param d [ "G" ] |> Option.map (fun g -> g > 1.0))
            "G > 1"
            "G = 1"
        casePattern
            "test-mode"
            "test mode is wrong (batch norm must use the running statistics; dropout must be the identity)"
            (fun d -> param d [ "test_mode" ] |> Option.map (fun m -> m > 0.0))
            "mode = test"
            "mode = train"
        casePattern
            "batch-of-one"
            "a shape assumption breaks for a batch of one (a squeeze, or a sum without axis)"
            (fun d -> param d [ "N" ] |> Option.map (fun n -> n = 1.0))
            "N = 1"
            "N > 1"
        casePattern
            "later-steps"
            "only the first update step is right: the state (velocity, cache, m, v, t) is not carried to the next step"
            (fun d -> param d [ "steps" ] |> Option.map (fun s -> s > 1.0))
            "more than one step"
            "one step"
        zeros
        constantFactor
    ]

    /// <summary>The first pattern of the catalogue that fires on the evidence, as its hint text.</summary>
    let find (evidence: HintEvidence) =
        catalogue |> List.tryPick (fun p -> p.Detect evidence)
