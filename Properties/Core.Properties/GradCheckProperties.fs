module Functional.Properties.GradCheckProperties

open Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

[<Fact>]
let ``numeric gradient of a quadratic is exact up to round-off`` () =
    Prop.check "numeric quadratic" 100 (cases [ "n", 1, 20 ]) (fun c ->
        let a = normal (key c 0) [| c.["n"] |]
        let x = normal (key c 1) [| c.["n"] |]
        let f (t: Tensor) = Tensor.sumAll (a * t * t)
        let g = GradCheck.numericGradient 1e-5 f x
        Prop.gradClose (string c) "quadratic" (a * x * 2.0) g)

[<Fact>]
let ``numeric gradient against an upstream gradient equals the chain rule`` () =
    Prop.check "numeric of" 100 (cases [ "n", 1, 10 ]) (fun c ->
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
