/// Helpers of the input-class properties (InputClass*Properties.fs): the inputs the older properties never generate
/// (softmax far from zero, every lane and scalar tail of the SIMD kernels, the solver's trajectory, broadcasting on
/// either side, the parallel paths), each checked element by element against a plain formula or a naive loop.
module Functional.Properties.InputClass

open Functional
open Functional.FSharp

/// Fails at the first element where |expected − actual| > atol + rtol·|expected| (or where exactly one is NaN),
/// naming the element and both values.
let within (case: string) (rtol: float) (atol: float) (expected: float[]) (actual: float[]) =
    Prop.ensure (expected.Length = actual.Length) (fun () ->
        $"{case}: {expected.Length} elements expected, got {actual.Length}")

    for i in 0 .. expected.Length - 1 do
        let e, a = expected.[i], actual.[i]

        let ok =
            (System.Double.IsNaN e && System.Double.IsNaN a)
            || abs (e - a) <= atol + rtol * abs e

        Prop.ensure ok (fun () -> $"{case}: element {i} of {expected.Length}: expected {e:R}, got {a:R}")

/// within on two tensors of the same shape.
let tensorsWithin (case: string) (rtol: float) (atol: float) (expected: Tensor) (actual: Tensor) =
    Prop.ensure (Tensor.shape expected = Tensor.shape actual) (fun () ->
        $"{case}: shape {Guard.shapeText (Tensor.shape expected)} expected, got {Guard.shapeText (Tensor.shape actual)}")

    within case rtol atol (Tensor.toArray expected) (Tensor.toArray actual)

/// A uniform value in [lo, hi) from a key.
let uniform (rng: Rng) (lo: float) (hi: float) = lo + (hi - lo) * rng.Uniforms(1).[0]
