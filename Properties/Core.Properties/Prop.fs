/// The one helper every property goes through: a name, a generator (with its shrinker), a body, a number of
/// cases. FsCheck.Xunit is not served here, so properties run from xunit facts through Check.One with a
/// throw-on-failure config; a failure throws with the seed and the shrunk counterexample.
module Functional.Properties.Prop

open System
open FsCheck
open FsCheck.FSharp
open Functional
open Functional.FSharp

/// Runs body on `cases` values of the arbitrary; the body fails by throwing (with a message that names the case).
let check (name: string) (cases: int) (arb: Arbitrary<'a>) (body: 'a -> unit) =
    let config =
        Config.QuickThrowOnFailure.WithName(name).WithMaxTest(cases).WithQuietOnSuccess(true)

    Check.One(
        config,
        Prop.forAll arb (fun a ->
            body a
            true)
    )

/// Fails with a message when cond is false.
let ensure (cond: bool) (message: unit -> string) =
    if not cond then
        failwith (message ())

/// The bound on analytic-vs-numeric relative error used by the gradient properties: the library's one rule,
/// Tolerance.Gradient (1e-7; see Core.FSharp/Verification/Tolerance.fs for the reason).
[<Literal>]
let GradTolerance = Tolerance.Gradient

/// The floor of the relative error's denominator in the gradient properties: the library's Tolerance.Floor (1e-2).
[<Literal>]
let GradFloor = Tolerance.Floor

/// Asserts that an analytic gradient matches the numeric one under the library's rule (Tolerance.gradient); the
/// failure message names the case.
let gradClose (case: string) (name: string) (analytic: Tensor) (numeric: Tensor) =
    let r = Tolerance.gradient name analytic numeric

    if not r.Passed then
        failwith $"{case}: {r}"

/// Asserts that two tensors agree to a relative error bound (same shape).
let close (case: string) (tol: float) (expected: Tensor) (actual: Tensor) =
    if Tensor.shape expected <> Tensor.shape actual then
        failwith
            $"{case}: shape {Guard.shapeText (Tensor.shape expected)} expected, got {Guard.shapeText (Tensor.shape actual)}"

    // A tolerance of 0 asks for equality (GradCheck's tolerances must be > 0).
    if tol = 0.0 then
        if Tensor.toArray expected <> Tensor.toArray actual then
            failwith $"{case}: expected {expected}, got {actual} (exactly)"
    else
        let r = GradCheck.compareWith 1.0 "values" tol actual expected

        if not r.Passed then
            failwith $"{case}: {r}"

/// Asserts that f throws an ArgumentException whose message contains every fragment.
let throwsWith (fragments: string list) (f: unit -> 'a) =
    let ex =
        try
            f () |> ignore
            None
        with :? ArgumentException as e ->
            Some e

    match ex with
    | None -> failwith $"expected an ArgumentException mentioning {fragments}, but nothing was thrown"
    | Some e ->
        for frag in fragments do
            if not (e.Message.Contains(frag: string)) then
                failwith $"the message \"{e.Message}\" does not mention \"{frag}\""
