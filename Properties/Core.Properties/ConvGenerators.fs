/// Valid random convolution and pooling configurations, from the library's verification cases (Cases). Each is a Generators.Case (named sizes + seed), so a
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

/// The size ranges of a convolution case (Cases.convRanges): N 1–3, C 1–3, H and W 1–9, F 1–4, kernel 1–5 × 1–5
/// (square and not), strides 1–3, pads 0–2 (0 included), dilation 1–2, groups 1–3 (kept only when they divide C
/// and F).
let convRanges = Cases.convRanges

/// Groups divide C and F; the dilated kernel fits in the padded input.
let validConv (c: Case) = Cases.validConv c

/// Cases over the ranges kept by valid, shrinking one size and then two sizes at a time (Cases.shrinkingPairs).
let casesShrinkingPairs (ranges: (string * int * int) list) (valid: Case -> bool) = Cases.shrinkingPairs ranges valid

/// Convolution cases over the given ranges (use convRanges, or a variant of it).
let convCasesOver ranges = Cases.convolutionOver ranges

/// Convolution cases over convRanges.
let convCases = convCasesOver convRanges

/// A convolution case over convRanges: the argument of the convolution properties (ConvArbitraries).
type ConvCase = ConvCase of Case

/// convRanges with some ranges replaced (e.g. [ "PH", 0, 0 ]).
let withRanges (overrides: (string * int * int) list) = Cases.withRanges overrides convRanges

/// The configuration of a convolution case.
let convConfig (c: Case) : ConvConfig = Cases.convConfig c

let xShape (c: Case) = Cases.convXShape c
let wShape (c: Case) = Cases.convWShape c

/// A convolution case as a person reads it: shapes, stride, pad, dilation, groups and seed.
let describe (c: Case) = Cases.describeConv c

/// The tensors of a convolution case: x, w, b and an upstream gradient of the output's shape (all standard normal).
let convInputs (c: Case) = Cases.convInputs c

/// The size ranges of a pooling case: N 1–3, C 1–3, H and W 1–9, windows 1–4 × 1–4 (square and not), strides 1–3.
let poolRanges = Cases.poolRanges

/// Pooling cases whose window fits in the input.
let poolCases = Cases.pool

/// Pooling cases whose windows tile the input exactly: Ho × Wo windows of PH × PW with stride = window.
let tilingPoolCases = Cases.tilingPool

/// A pooling case (poolCases): the argument of the pooling properties (ConvArbitraries).
type PoolCase = PoolCase of Case

/// A pooling case whose windows tile the input (tilingPoolCases).
type TilingPoolCase = TilingPoolCase of Case

/// The Arbitrary instances of the convolution and pooling cases, for [<Property(Arbitrary = [| typeof<ConvArbitraries> |])>].
type ConvArbitraries =
    static member Conv() =
        convCases |> Arb.convert ConvCase (fun (ConvCase c) -> c)

    static member Pool() =
        poolCases |> Arb.convert PoolCase (fun (PoolCase c) -> c)

    static member TilingPool() =
        tilingPoolCases |> Arb.convert TilingPoolCase (fun (TilingPoolCase c) -> c)

/// The configuration and input shape of a pooling case (general or tiling).
let poolSetup (c: Case) : PoolConfig * int[] = Cases.poolSetup c

/// A pooling case as a person reads it.
let describePool (c: Case) = Cases.describePool c

/// An input whose elements are distinct and at least 0.1 apart (a shuffled ramp): no window has a near-tie, so a
/// centered difference with h = 1e-5 never moves the arg-max.
let distinct (rng: Rng) (shape: int[]) = Cases.distinct rng shape

/// An input with many exact ties: values drawn from {-2, -1, 0, 1, 2} (and some -0.0).
let tied (rng: Rng) (shape: int[]) = Cases.tied rng shape
