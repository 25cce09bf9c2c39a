module Functional.Properties.GradCheckProperties

open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

[<Property(MaxTest = 100)>]
let ``numeric gradient of a quadratic is exact up to round-off`` () =
    Prop.forAll (cases [ "n", 1, 20 ]) (fun c ->
        let a = normal (key c 0) [| c.["n"] |]
        let x = normal (key c 1) [| c.["n"] |]
        let f (t: Tensor) = Tensor.sumAll (a * t * t)
        let g = GradCheck.numericGradient 1e-5 f x
        Prop.gradClose (string c) "quadratic" (a * x * 2.0) g)

[<Property(MaxTest = 100)>]
let ``numeric gradient against an upstream gradient equals the chain rule`` () =
    Prop.forAll (cases [ "n", 1, 10 ]) (fun c ->
        let x = normal (key c 0) [| c.["n"] |]
        let dout = normal (key c 1) [| c.["n"] |]
        let g = GradCheck.numericGradientOf 1e-5 Tensor.exp x dout
        Prop.gradClose (string c) "exp" (dout * Tensor.exp x) g)

[<Fact>]
let ``relative error is the course's rel_error`` () =
    let a = Tensor.ofArray [| 3 |] [| 1.0; 0.0; -2.0 |]
    let b = Tensor.ofArray [| 3 |] [| 1.1; 0.0; -2.0 |]
    Assert.Equal(0.1 / 2.1, GradCheck.relativeError a b, 15)
    Assert.Equal(0.0, GradCheck.relativeError a a)

[<Fact>]
let ``a report names the worst coordinate and fails above the tolerance`` () =
    let a = Tensor.ofArray [| 2; 2 |] [| 1.0; 2.0; 3.0; 4.0 |]
    let n = Tensor.ofArray [| 2; 2 |] [| 1.0; 2.0; 3.5; 4.0 |]
    let r = GradCheck.compare "t" 1e-7 a n
    Assert.False(r.Passed)
    Assert.Equal<int[]>([| 1; 0 |], r.WorstIndex)
    Assert.Equal(3.0, r.Analytic)
    Assert.Equal(3.5, r.Numeric)
    Assert.Contains("(1, 0)", string r)
    Assert.True((GradCheck.compare "t" 1e-7 a a).Passed)

[<Fact>]
let ``sparse check samples k coordinates and catches a wrong one`` () =
    let x = Tensor.linspace -1.0 1.0 [| 50 |]
    let f (t: Tensor) = Tensor.sumAll (t * t * t)
    let good = x * x * 3.0
    let r = GradCheck.sparse (Rng.create 1L) 10 "cube" 1e-6 f x good
    Assert.Equal(10, r.Checked)
    Assert.True(r.Passed, string r)
    let bad = Tensor.ofArray [| 50 |] (Array.create 50 1.0) + good
    Assert.False((GradCheck.sparse (Rng.create 1L) 50 "cube" 1e-6 f x bad).Passed)

[<Fact>]
let ``a NaN gradient never passes`` () =
    let a = Tensor.ofArray [| 2 |] [| nan; 1.0 |]
    Assert.False((GradCheck.compare "nan" 1e-7 a (Tensor.ones [| 2 |])).Passed)

[<Fact>]
let ``relative error is infinite where one side is NaN or an unmatched infinity`` () =
    let t (v: float) = Tensor.ofArray [| 1 |] [| v |]
    Assert.Equal(infinity, GradCheck.relativeError (t infinity) (t 1.0))
    Assert.Equal(infinity, GradCheck.relativeError (t 1.0) (t -infinity))
    Assert.Equal(infinity, GradCheck.relativeError (t infinity) (t -infinity))
    Assert.Equal(infinity, GradCheck.relativeError (t nan) (t nan))
    Assert.Equal(infinity, GradCheck.relativeError (t nan) (t 1.0))
    Assert.Equal(0.0, GradCheck.relativeError (t infinity) (t infinity))

[<Property(MaxTest = 200)>]
let ``a NaN or infinity in either gradient fails the check and the report names it`` () =
    let bad = [| nan; infinity; -infinity |]

    Prop.forAll (cases [ "n", 1, 12; "at", 0, 11; "kind", 0, 2; "side", 0, 1 ]) (fun c ->
        let n = c.["n"]
        let at = c.["at"] % n
        let a = Tensor.toArray (normal (key c 0) [| n |])
        // The numeric side is the analytic one, well within any tolerance, except at the bad coordinate.
        let num = Array.map (fun v -> v * (1.0 + 1e-12)) a
        (if c.["side"] = 0 then a else num).[at] <- bad.[c.["kind"]]

        let r =
            GradCheck.compare "g" 1e-7 (Tensor.ofArray [| n |] a) (Tensor.ofArray [| n |] num)

        Prop.ensure (not r.Passed) (fun () -> $"{c}: passed: {r}")
        Prop.ensure (r.WorstIndex = [| at |]) (fun () -> $"{c}: the report does not name {at}: {r}")
        Prop.ensure ((string r).Contains(string bad.[c.["kind"]])) (fun () -> $"{c}: the report hides the value: {r}"))

[<Fact>]
let ``tolerances, floors and steps must be finite and positive`` () =
    let a = Tensor.ones [| 2 |]

    for v in [ nan; infinity; -infinity; 0.0; -1e-7 ] do
        Prop.throwsWith [ "GradCheck.compare"; "tolerance" ] (fun () -> GradCheck.compare "t" v a a)
        Prop.throwsWith [ "GradCheck.compare"; "floor" ] (fun () -> GradCheck.compareWith v "t" 1e-7 a a)
        Prop.throwsWith [ "GradCheck.check"; "tolerance" ] (fun () -> GradCheck.check "t" v Tensor.sumAll a a)
        Prop.throwsWith [ "GradCheck.numericGradient"; "h" ] (fun () -> GradCheck.numericGradient v Tensor.sumAll a)

[<Fact>]
let ``a function returning null gets an ArgumentException naming it`` () =
    let x = Tensor.ones [| 2 |]

    Prop.throwsWith [ "GradCheck.numericGradientOf"; "f returned null" ] (fun () ->
        GradCheck.numericGradientOf 1e-5 (fun _ -> Unchecked.defaultof<Tensor>) x x)

    Prop.throwsWith [ "GradCheck.compare"; "analytic" ] (fun () ->
        GradCheck.compare "t" 1e-7 Unchecked.defaultof<Tensor> x)
