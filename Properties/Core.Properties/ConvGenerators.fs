/// Valid random convolution and pooling configurations. Each is a Generators.Case (named sizes + seed), so a
/// failing case shrinks size by size toward the smallest valid configuration and reproduces exactly from its seed;
/// `describe` prints it as shapes, stride, pad, dilation and groups.
module Functional.Properties.ConvGenerators

open FsCheck.FSharp
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// <summary>
/// The course's eval_numerical_gradient_array: coordinate i of the result is Σₖ (f(x + h·eᵢ)ₖ − f(x − h·eᵢ)ₖ)·doutₖ / 2h.
/// The difference is taken output by output before the dot product with dout, so the outputs a coordinate does not
/// reach cancel exactly and the round-off is that of the reached outputs only. (GradCheck.numericGradientOf forms
/// Σ f(x)·dout first, whose round-off, about ε·Σ|f(x)·dout| / h, grows with the number of outputs and reaches
/// 1e-9 on the larger cases here, too close to the 1e-7 · 1e-2 bound of Prop.gradClose.)
/// </summary>
let numericOf (h: float) (f: Tensor -> Tensor) (x: Tensor) (dout: Tensor) =
    let xs = Tensor.toArray x
    let shape = Tensor.shape x
    let dd = Tensor.toArray dout

    let at (i: int) (delta: float) =
        let a = Array.copy xs
        a.[i] <- a.[i] + delta
        Tensor.toArray (f (Tensor.ofArray shape a))

    Tensor.ofArray
        shape
        (Array.init xs.Length (fun i ->
            let p, m = at i h, at i -h

            if p.Length <> dd.Length then
                failwith $"numericOf: f(x) has {p.Length} elements, dout {dd.Length}"

            let mutable s = 0.0

            for k in 0 .. p.Length - 1 do
                s <- s + (p.[k] - m.[k]) * dd.[k]

            s / (2.0 * h)))

/// The size ranges of a convolution case: N 1–3, C 1–3, H and W 1–9, F 1–4, kernel 1–5 × 1–5 (square and not),
/// strides 1–3, pads 0–2 (0 included), dilation 1–2, groups 1–3 (kept only when they divide C and F).
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

/// Groups divide C and F; the dilated kernel fits in the padded input.
let validConv (c: Case) =
    c.["C"] % c.["G"] = 0
    && c.["F"] % c.["G"] = 0
    && c.["D"] * (c.["KH"] - 1) + 1 <= c.["H"] + 2 * c.["PH"]
    && c.["D"] * (c.["KW"] - 1) + 1 <= c.["W"] + 2 * c.["PW"]

/// <summary>
/// Cases over the ranges kept by valid, shrinking one size at a time (Generators.casesWhere) and then two at a
/// time: a kernel and its padding, say, may only shrink together (a 1×1 kernel in a padding of 1 may read nothing
/// of a 1×1 input and so stop failing), and a one-at-a-time shrinker would stop short of the smallest case.
/// </summary>
let casesShrinkingPairs (ranges: (string * int * int) list) (valid: Case -> bool) =
    let single = casesWhere ranges valid
    let lows = ranges |> List.map (fun (n, lo, _) -> n, lo) |> Map.ofList

    let lower (c: Case) i =
        let n, v = c.Sizes.[i]
        if v > lows.[n] then Some(n, v - 1) else None

    let pairs (c: Case) =
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

/// Convolution cases over the given ranges (use convRanges, or a variant of it).
let convCasesOver ranges = casesShrinkingPairs ranges validConv

/// Convolution cases over convRanges.
let convCases = convCasesOver convRanges

/// convRanges with some ranges replaced (e.g. [ "PH", 0, 0 ]).
let withRanges (overrides: (string * int * int) list) =
    convRanges
    |> List.map (fun (n, lo, hi) ->
        match overrides |> List.tryFind (fun (m, _, _) -> m = n) with
        | Some o -> o
        | None -> (n, lo, hi))

/// The configuration of a convolution case.
let convConfig (c: Case) : ConvConfig = {
    StrideH = c.["SH"]
    StrideW = c.["SW"]
    PadH = c.["PH"]
    PadW = c.["PW"]
    Dilation = c.["D"]
    Groups = c.["G"]
}

let xShape (c: Case) = [| c.["N"]; c.["C"]; c.["H"]; c.["W"] |]
let wShape (c: Case) = [| c.["F"]; c.["C"] / c.["G"]; c.["KH"]; c.["KW"] |]

/// A convolution case as a person reads it: shapes, stride, pad, dilation, groups and seed.
let describe (c: Case) =
    $"x {Guard.shapeText (xShape c)}, w {Guard.shapeText (wShape c)}, {convConfig c}, seed {c.Seed}"

/// The tensors of a convolution case: x, w, b and an upstream gradient of the output's shape (all standard normal).
let convInputs (c: Case) =
    let cfg = convConfig c
    let outShape = Conv.outputShape cfg (xShape c) (wShape c)
    normal (key c 0) (xShape c), normal (key c 1) (wShape c), normal (key c 2) [| c.["F"] |], normal (key c 3) outShape

/// The size ranges of a pooling case: N 1–3, C 1–3, H and W 1–9, windows 1–4 × 1–4 (square and not), strides 1–3.
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

/// Pooling cases whose window fits in the input.
let poolCases =
    casesShrinkingPairs poolRanges (fun c -> c.["PH"] <= c.["H"] && c.["PW"] <= c.["W"])

/// Pooling cases whose windows tile the input exactly: Ho × Wo windows of PH × PW with stride = window.
let tilingPoolCases =
    cases [ "N", 1, 3; "C", 1, 3; "Ho", 1, 4; "Wo", 1, 4; "PH", 1, 3; "PW", 1, 3 ]

/// The configuration and input shape of a pooling case (general or tiling).
let poolSetup (c: Case) : PoolConfig * int[] =
    if List.exists (fun (n, _) -> n = "Ho") c.Sizes then
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

/// A pooling case as a person reads it.
let describePool (c: Case) =
    let cfg, shape = poolSetup c
    $"x {Guard.shapeText shape}, {cfg}, seed {c.Seed}"

/// An input whose elements are distinct and at least 0.1 apart (a shuffled ramp): no window has a near-tie, so a
/// centered difference with h = 1e-5 never moves the arg-max.
let distinct (rng: Rng) (shape: int[]) =
    let n = Array.fold (*) 1 shape
    let p = rng.Permutation n
    Tensor.ofArray shape (p |> Array.map (fun i -> 0.1 * float i - 0.05 * float n))

/// An input with many exact ties: values drawn from {-2, -1, 0, 1, 2} (and some -0.0).
let tied (rng: Rng) (shape: int[]) =
    let n = Array.fold (*) 1 shape

    Tensor.ofArray
        shape
        (rng.Uniforms n
         |> Array.map (fun u ->
             let v = floor (u * 5.0) - 2.0
             if v = 0.0 && u > 0.5 then -0.0 else v))
