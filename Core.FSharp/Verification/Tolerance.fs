namespace Functional.FSharp

open Functional

/// <summary>
/// THE tolerance rule of the library's verification, defined once: the property suite, the <c>check</c> and
/// <c>verify</c> verbs and the <c>Verify</c> entry points all judge with it. The relative error of an element is
/// |a − e| / max(Floor, |a| + |e|); a comparison passes when every element's relative error is ≤ its bound.
/// <list type="bullet">
/// <item><see cref="Gradient"/> = 1e-7 for an analytic gradient against a numeric one (centered differences,
/// Verification.numericGradient): the numeric gradient's error is absolute, about 1e-11 to 1e-10 on O(1) values, so
/// 1e-7 relative leaves three orders of margin above the oracle's own error on O(1) gradients.</item>
/// <item><see cref="Floor"/> = 1e-2: coordinates whose true gradient is near 0 are judged by |a − n| ≤ 1e-7 · 1e-2 =
/// 1e-9 instead of by a ratio of two round-off noises (the course's rel_error uses a floor of 1e-8, where a zero
/// gradient's numeric round-off of 1e-11 reads as relative error 1).</item>
/// <item><see cref="Reference"/> = 1e-9 for a value against the library's reference computed in float64 from the
/// same inputs (a forward output, an analytic gradient, an update): two exact formulas differ only by round-off
/// (about 1e-14 relative on the verification's sizes), so the bound is 100 times tighter than the numeric one and
/// still five orders above the round-off.</item>
/// </list>
/// </summary>
[<RequireQualifiedAccess>]
module Tolerance =
    /// The floor of the relative error's denominator, 1e-2.
    [<Literal>]
    let Floor = 1e-2

    /// The bound on an analytic-vs-numeric gradient's relative error, 1e-7.
    [<Literal>]
    let Gradient = 1e-7

    /// The bound on a value-vs-reference relative error, 1e-9 (both exact formulas in float64).
    [<Literal>]
    let Reference = 1e-9

    /// <summary>The relative error of one element under the rule: |a − e| / max(Floor, |a| + |e|); +∞ where either
    /// is NaN, or infinite and not equal to the other.</summary>
    let relativeError (actual: float) (expected: float) =
        if System.Double.IsFinite actual && System.Double.IsFinite expected then
            abs (actual - expected) / max Floor (abs actual + abs expected)
        elif actual = expected then
            0.0
        else
            System.Double.PositiveInfinity

    /// <summary>Compares an analytic gradient with a numeric one (same shape) under the rule, bound
    /// <see cref="Gradient"/>; the report names the worst element.</summary>
    let gradient (name: string) (analytic: Tensor) (numeric: Tensor) =
        GradCheck.compareWith Floor name Gradient analytic numeric

    /// <summary>Compares a value with the reference (same shape) under the rule, bound <see cref="Reference"/>.</summary>
    let reference (name: string) (actual: Tensor) (expected: Tensor) =
        GradCheck.compareWith Floor name Reference actual expected
