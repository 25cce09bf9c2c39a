namespace Functional.FSharp

open Functional

/// <summary>
/// A random configuration of the verification: named integer sizes (each with its own range) and a seed for the
/// tensors. Tensors are drawn from an <see cref="T:Functional.Rng"/> built from the seed, so a case reproduces
/// exactly, and shrinking lowers the sizes toward their lower bounds one or two at a time. Non-integer parameters
/// are integer codes (e.g. a keep probability of keep/10), so they shrink the same way.
/// </summary>
type VerificationCase = {
    /// <summary>The named sizes, in the order of the ranges they were drawn from.</summary>
    Sizes: (string * int) list
    /// <summary>The seed of the case's tensors.</summary>
    Seed: int
} with

    /// <summary>The size of the given name (KeyNotFoundException when the case has none).</summary>
    member c.Item(name: string) =
        match c.Sizes |> List.tryFind (fun (n, _) -> n = name) with
        | Some(_, v) -> v
        | None ->
            let have = c.Sizes |> List.map fst |> String.concat ", "
            raise (System.Collections.Generic.KeyNotFoundException $"the case has no size '{name}' (it has: {have}).")

    /// <summary>True when the case has a size of the given name.</summary>
    member c.Has(name: string) =
        c.Sizes |> List.exists (fun (n, _) -> n = name)

    /// <summary>The key of the case's tensors.</summary>
    member c.Rng = Rng.Create(int64 c.Seed)

    /// <summary>{N=2 C=3 … seed=17}.</summary>
    override c.ToString() =
        let s = c.Sizes |> List.map (fun (n, v) -> $"{n}={v}") |> String.concat " "
        $"{{{s} seed={c.Seed}}}"

namespace Functional.FSharp

open FsCheck
open FsCheck.FSharp
open Functional

/// <summary>
/// The random configurations of the verification, one family per layer: each an FsCheck Arbitrary (generator and
/// shrinker) of <see cref="T:Functional.VerificationCase"/> over documented size ranges, plus the functions that
/// draw the case's tensors deterministically from its seed. The ranges reach the classes where hand-written layers
/// break: N = 1 and larger, pad 0, strides that do not divide the input, square and non-square kernels and pool
/// windows, G = 1 and G = C, repeated word indices, masks with zeros and all ones, reg 0 and &gt; 0, keep
/// probabilities other than 0.5, T = 1 and T &gt; 1. The property suite, the <c>check</c> verb and the
/// <c>verify</c> verb draw their cases here.
/// </summary>
[<RequireQualifiedAccess>]
module Cases =
    /// <summary>Cases with each named size drawn from its [lo, hi] range, kept when valid; shrinking moves sizes
    /// toward lo, one at a time, keeping only valid cases.</summary>
    let where (ranges: (string * int * int) list) (valid: VerificationCase -> bool) : Arbitrary<VerificationCase> =
        let gen =
            gen {
                let! sizes =
                    ranges
                    |> List.map (fun (n, lo, hi) -> Gen.choose (lo, hi) |> Gen.map (fun v -> n, v))
                    |> Gen.sequenceToList

                let! seed = Gen.choose (0, System.Int32.MaxValue)
                return { Sizes = sizes; Seed = seed }
            }
            |> Gen.filter valid

        let lows = ranges |> List.map (fun (n, lo, _) -> n, lo) |> Map.ofList

        let shrink (c: VerificationCase) =
            seq {
                for i in 0 .. c.Sizes.Length - 1 do
                    let n, v = c.Sizes.[i]
                    let lo = lows.[n]

                    for v' in List.distinct [ lo; (lo + v) / 2; v - 1 ] do
                        if v' >= lo && v' < v then
                            yield {
                                c with
                                    Sizes = c.Sizes |> List.mapi (fun j s -> if j = i then (n, v') else s)
                            }
            }
            |> Seq.filter valid

        Arb.fromGenShrink (gen, shrink)

    /// <summary>Cases with each named size drawn from its [lo, hi] range.</summary>
    let over (ranges: (string * int * int) list) = where ranges (fun _ -> true)

    /// <summary>
    /// Cases over the ranges kept by valid, shrinking one size at a time (<see cref="where"/>) and then two at a
    /// time: a kernel and its padding, say, may only shrink together (a 1×1 kernel in a padding of 1 may read nothing
    /// of a 1×1 input and so stop failing), and a one-at-a-time shrinker would stop short of the smallest case.
    /// </summary>
    let shrinkingPairs (ranges: (string * int * int) list) (valid: VerificationCase -> bool) =
        let single = where ranges valid
        let lows = ranges |> List.map (fun (n, lo, _) -> n, lo) |> Map.ofList

        let lower (c: VerificationCase) i =
            let n, v = c.Sizes.[i]
            if v > lows.[n] then Some(n, v - 1) else None

        let pairs (c: VerificationCase) =
            seq {
                for i in 0 .. c.Sizes.Length - 1 do
                    for j in i + 1 .. c.Sizes.Length - 1 do
                        match lower c i, lower c j with
                        | Some a, Some b ->
                            yield {
                                c with
                                    Sizes =
                                        c.Sizes
                                        |> List.mapi (fun k s ->
                                            if k = i then a
                                            elif k = j then b
                                            else s)
                            }
                        | _ -> ()
            }
            |> Seq.filter valid

        Arb.fromGenShrink (single.Generator, (fun c -> Seq.append (single.Shrinker c) (pairs c)))

    /// <summary>Ranges with some replaced by name (e.g. [ "PH", 0, 0 ]).</summary>
    let withRanges (overrides: (string * int * int) list) (ranges: (string * int * int) list) =
        ranges
        |> List.map (fun (n, lo, hi) ->
            match overrides |> List.tryFind (fun (m, _, _) -> m = n) with
            | Some o -> o
            | None -> (n, lo, hi))

    // ---- tensors from a case ----

    /// <summary>The i-th of several independent keys derived from a case's seed.</summary>
    let key (c: VerificationCase) (i: int) = c.Rng |> Rng.derive i

    /// <summary>A standard normal tensor of the given shape from a key.</summary>
    let normal (rng: Rng) (shape: int[]) = Tensor.randn rng 1.0 shape

    /// <summary>A normal tensor whose entries are all at least <c>gap</c> away from 0 (for ReLU-type kinks).</summary>
    let awayFromZero (gap: float) (rng: Rng) (shape: int[]) =
        normal rng shape
        |> Tensor.map (fun v ->
            if abs v < gap then
                (if v >= 0.0 then v + gap else v - gap)
            else
                v)

    /// <summary>Labels in [0, c) from a key.</summary>
    let labels (rng: Rng) (n: int) (c: int) =
        rng.Uniforms n |> Array.map (fun u -> min (c - 1) (int (u * float c)))

    /// <summary>An input whose elements are distinct and at least 0.1 apart (a shuffled ramp): no window has a
    /// near-tie, so a centered difference (h ≤ 1e-4) never moves an arg-max.</summary>
    let distinct (rng: Rng) (shape: int[]) =
        let n = Array.fold (*) 1 shape
        let p = rng.Permutation n
        Tensor.ofArray shape (p |> Array.map (fun i -> 0.1 * float i - 0.05 * float n))

    /// <summary>An input with many exact ties: values drawn from {-2, -1, 0, 1, 2} (and some -0.0).</summary>
    let tied (rng: Rng) (shape: int[]) =
        let n = Array.fold (*) 1 shape

        Tensor.ofArray
            shape
            (rng.Uniforms n
             |> Array.map (fun u ->
                 let v = floor (u * 5.0) - 2.0
                 if v = 0.0 && u > 0.5 then -0.0 else v))

    // ---- convolution ----

    /// <summary>The size ranges of a convolution case: N 1–3, C 1–3, H and W 1–9, F 1–4, kernel KH × KW 1–5 × 1–5
    /// (square and not), strides SH, SW 1–3, pads PH, PW 0–2 (0 included), dilation D 1–2, groups G 1–3 (kept only
    /// when they divide C and F).</summary>
    let convRanges = [
        "N", 1, 3
        "C", 1, 3
        "H", 1, 9
        "W", 1, 9
        "F", 1, 4
        "KH", 1, 5
        "KW", 1, 5
        "SH", 1, 3
        "SW", 1, 3
        "PH", 0, 2
        "PW", 0, 2
        "D", 1, 2
        "G", 1, 3
    ]

    /// <summary>The course's convolution (no dilation, no groups): convRanges with D and G fixed at 1.</summary>
    let courseConvRanges = convRanges |> withRanges [ "D", 1, 1; "G", 1, 1 ]

    /// <summary>Groups divide C and F; the dilated kernel fits in the padded input.</summary>
    let validConv (c: VerificationCase) =
        c.["C"] % c.["G"] = 0
        && c.["F"] % c.["G"] = 0
        && c.["D"] * (c.["KH"] - 1) + 1 <= c.["H"] + 2 * c.["PH"]
        && c.["D"] * (c.["KW"] - 1) + 1 <= c.["W"] + 2 * c.["PW"]

    /// <summary>Convolution cases over the given ranges (convRanges, courseConvRanges, or a variant).</summary>
    let convolutionOver ranges = shrinkingPairs ranges validConv

    /// <summary>The course's convolution cases (courseConvRanges).</summary>
    let convolution = convolutionOver courseConvRanges

    /// <summary>The configuration of a convolution case.</summary>
    let convConfig (c: VerificationCase) : ConvConfig = {
        StrideH = c.["SH"]
        StrideW = c.["SW"]
        PadH = c.["PH"]
        PadW = c.["PW"]
        Dilation = c.["D"]
        Groups = c.["G"]
    }

    /// <summary>x's shape (N, C, H, W).</summary>
    let convXShape (c: VerificationCase) = [| c.["N"]; c.["C"]; c.["H"]; c.["W"] |]

    /// <summary>w's shape (F, C / G, KH, KW).</summary>
    let convWShape (c: VerificationCase) = [| c.["F"]; c.["C"] / c.["G"]; c.["KH"]; c.["KW"] |]

    /// <summary>A convolution case as a person reads it: shapes, stride, pad, dilation, groups and seed.</summary>
    let describeConv (c: VerificationCase) =
        $"x {Guard.shapeText (convXShape c)}, w {Guard.shapeText (convWShape c)}, {convConfig c}, seed {c.Seed}"

    /// <summary>The tensors of a convolution case: x, w, b and an upstream gradient of the output's shape (all
    /// standard normal, keys 0–3 of the seed).</summary>
    let convInputs (c: VerificationCase) =
        let cfg = convConfig c
        let outShape = Conv.outputShape cfg (convXShape c) (convWShape c)

        normal (key c 0) (convXShape c),
        normal (key c 1) (convWShape c),
        normal (key c 2) [| c.["F"] |],
        normal (key c 3) outShape

    // ---- pooling ----

    /// <summary>The size ranges of a pooling case: N 1–3, C 1–3, H and W 1–9, windows PH × PW 1–4 × 1–4 (square and
    /// not), strides SH, SW 1–3.</summary>
    let poolRanges = [
        "N", 1, 3
        "C", 1, 3
        "H", 1, 9
        "W", 1, 9
        "PH", 1, 4
        "PW", 1, 4
        "SH", 1, 3
        "SW", 1, 3
    ]

    /// <summary>Pooling cases whose window fits in the input.</summary>
    let pool =
        shrinkingPairs poolRanges (fun c -> c.["PH"] <= c.["H"] && c.["PW"] <= c.["W"])

    /// <summary>Pooling cases whose windows tile the input exactly: Ho × Wo windows of PH × PW with stride = window.</summary>
    let tilingPool =
        over [ "N", 1, 3; "C", 1, 3; "Ho", 1, 4; "Wo", 1, 4; "PH", 1, 3; "PW", 1, 3 ]

    /// <summary>The configuration and input shape of a pooling case (general or tiling).</summary>
    let poolSetup (c: VerificationCase) : PoolConfig * int[] =
        if c.Has "Ho" then
            {
                PoolHeight = c.["PH"]
                PoolWidth = c.["PW"]
                StrideH = c.["PH"]
                StrideW = c.["PW"]
            },
            [| c.["N"]; c.["C"]; c.["Ho"] * c.["PH"]; c.["Wo"] * c.["PW"] |]
        else
            {
                PoolHeight = c.["PH"]
                PoolWidth = c.["PW"]
                StrideH = c.["SH"]
                StrideW = c.["SW"]
            },
            [| c.["N"]; c.["C"]; c.["H"]; c.["W"] |]

    /// <summary>A pooling case as a person reads it.</summary>
    let describePool (c: VerificationCase) =
        let cfg, shape = poolSetup c
        $"x {Guard.shapeText shape}, {cfg}, seed {c.Seed}"

    /// <summary>The tensors of a pooling case: x (distinct values, so no arg-max ties) and an upstream gradient.</summary>
    let poolInputs (c: VerificationCase) =
        let cfg, shape = poolSetup c
        let ho = (shape.[2] - cfg.PoolHeight) / cfg.StrideH + 1
        let wo = (shape.[3] - cfg.PoolWidth) / cfg.StrideW + 1
        distinct (key c 0) shape, normal (key c 1) [| shape.[0]; shape.[1]; ho; wo |]

    // ---- dense layers, losses, normalization, dropout ----

    /// <summary>Affine cases: x (N, D) with N 1–4, D 1–6; w (D, M) with M 1–5.</summary>
    let affine = over [ "N", 1, 4; "D", 1, 6; "M", 1, 5 ]

    /// <summary>ReLU cases: x (N, D) with N 1–4, D 1–8 (entries at least 0.1 from the kink).</summary>
    let relu = over [ "N", 1, 4; "D", 1, 8 ]

    /// <summary>Loss cases: scores (N, C) with N 1–6 and C 2–6 (labels repeat when N &gt; C).</summary>
    let loss = over [ "N", 1, 6; "C", 2, 6 ]

    /// <summary>Batch normalization cases: x (N, D) with N 2–6 (training needs N ≥ 2), D 1–4; mode 0 = train,
    /// 1 = test (running statistics drawn from the seed).</summary>
    let batchnorm = over [ "N", 2, 6; "D", 1, 4; "mode", 0, 1 ]

    /// <summary>Layer normalization cases: x (N, D) with N 1–5, D 2–6.</summary>
    let layernorm = over [ "N", 1, 5; "D", 2, 6 ]

    /// <summary>Dropout cases: x (N, D) with N 1–4, D 1–8; keep probability keep/10 with keep 3–9 (0.5 and
    /// others); mode 0 = train, 1 = test.</summary>
    let dropout = over [ "N", 1, 4; "D", 1, 8; "keep", 3, 9; "mode", 0, 1 ]

    /// <summary>Spatial batch normalization cases: x (N, C, H, W) with N 1–3, C 1–3, H and W 1–3, N·H·W ≥ 2.</summary>
    let spatialBatchnorm =
        where [ "N", 1, 3; "C", 1, 3; "H", 1, 3; "W", 1, 3 ] (fun c -> c.["N"] * c.["H"] * c.["W"] >= 2)

    /// <summary>Spatial group normalization cases: x (N, C, H, W) with N 1–3, C 1–6, H and W 1–3, G 1–6 dividing C
    /// (G = 1 and G = C both reachable), (C / G)·H·W ≥ 2.</summary>
    let groupnorm =
        where [ "N", 1, 3; "C", 1, 6; "H", 1, 3; "W", 1, 3; "G", 1, 6 ] (fun c ->
            c.["G"] <= c.["C"]
            && c.["C"] % c.["G"] = 0
            && c.["C"] / c.["G"] * c.["H"] * c.["W"] >= 2)

    /// <summary>The normalization layers' inputs: 2·N(0, 1) + 1.</summary>
    let normInput (rng: Rng) (shape: int[]) = normal rng shape * 2.0 + 1.0

    // ---- update rules ----

    /// <summary>Update-rule cases: w and dw (R, K) with R 1–4, K 1–4, over steps 1–5 consecutive steps (dw drawn
    /// afresh each step), learning rate lr·1e-3 with lr 1–20.</summary>
    let update = over [ "R", 1, 4; "K", 1, 4; "steps", 1, 5; "lr", 1, 20 ]

    // ---- recurrent and temporal layers ----

    /// <summary>Recurrent cases: x (N, T, D), h0 (N, H) with N 1–3, T 1–4, D 1–4, H 1–4.</summary>
    let recurrent = over [ "N", 1, 3; "T", 1, 4; "D", 1, 4; "H", 1, 4 ]

    /// <summary>Recurrent single-step cases: x (N, D), prev_h (N, H) with N 1–3, D 1–4, H 1–4.</summary>
    let recurrentStep = over [ "N", 1, 3; "D", 1, 4; "H", 1, 4 ]

    /// <summary>Word-embedding cases: indices (N, T) in [0, V) with N 1–3, T 1–4, V 1–6 (repeated indices whenever
    /// N·T &gt; V, and often before), W (V, D) with D 1–4.</summary>
    let wordEmbedding = over [ "N", 1, 3; "T", 1, 4; "V", 1, 6; "D", 1, 4 ]

    /// <summary>Temporal affine cases: x (N, T, D), w (D, M) with N 1–3, T 1–4, D 1–4, M 1–4.</summary>
    let temporalAffine = over [ "N", 1, 3; "T", 1, 4; "D", 1, 4; "M", 1, 4 ]

    /// <summary>Temporal softmax cases: scores (N, T, V) with N 1–3, T 1–4, V 2–5; mask 0 = with zeros (each step
    /// kept with probability 1/2), 1 = all ones.</summary>
    let temporalSoftmax = over [ "N", 1, 3; "T", 1, 4; "V", 2, 5; "mask", 0, 1 ]

    /// <summary>Word indices (N, T) in [0, V) from a key.</summary>
    let indices (rng: Rng) (n: int) (t: int) (v: int) = labels rng (n * t) v

    /// <summary>A mask (N·T values) from a key: every step kept when allOnes, else each kept with probability 1/2.</summary>
    let mask (rng: Rng) (n: int) (t: int) (allOnes: bool) =
        if allOnes then
            Array.create (n * t) true
        else
            rng.Uniforms(n * t) |> Array.map (fun u -> u < 0.5)
