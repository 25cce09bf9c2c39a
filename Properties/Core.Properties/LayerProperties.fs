module Functional.Properties.LayerProperties

open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// N, two trailing input dims (D = d1·d2), M outputs.
let private affineCases = cases [ "N", 1, 4; "d1", 1, 4; "d2", 1, 3; "M", 1, 5 ]

/// An affine case (affineCases). The argument of the properties below (LayerArbitraries).
type AffineCase = AffineCase of Case

let private activationCases = cases [ "N", 1, 5; "D", 1, 6 ]

/// An activation case (activationCases). The argument of the properties below (LayerArbitraries).
type ActivationCase = ActivationCase of Case

/// The Arbitrary instances of this file's cases, for [<Property(Arbitrary = [| typeof<LayerArbitraries> |])>].
type LayerArbitraries =
    static member Affine() =
        affineCases |> Arb.convert AffineCase (fun (AffineCase c) -> c)

    static member Activation() =
        activationCases |> Arb.convert ActivationCase (fun (ActivationCase c) -> c)

let private affineInputs (c: Case) =
    let n, d1, d2, m = c.["N"], c.["d1"], c.["d2"], c.["M"]

    normal (key c 0) [| n; d1; d2 |],
    normal (key c 1) [| d1 * d2; m |],
    normal (key c 2) [| m |],
    normal (key c 3) [| n; m |]

[<Property(MaxTest = 100, Arbitrary = [| typeof<LayerArbitraries> |])>]
let ``affine backward matches numeric gradients for x, w and b`` (AffineCase c) =
    let x, w, b, dout = affineInputs c
    let _, cache = Affine.forward x w b
    let g = Affine.backward dout cache
    let case = string c
    Prop.gradClose case "dx" g.Dx (GradCheck.numericGradientOf 1e-5 (fun x' -> fst (Affine.forward x' w b)) x dout)
    Prop.gradClose case "dw" g.Dw (GradCheck.numericGradientOf 1e-5 (fun w' -> fst (Affine.forward x w' b)) w dout)
    Prop.gradClose case "db" g.Db (GradCheck.numericGradientOf 1e-5 (fun b' -> fst (Affine.forward x w b')) b dout)

[<Property(MaxTest = 100, Arbitrary = [| typeof<LayerArbitraries> |])>]
let ``affine is linear in x`` (AffineCase c) =
    let x, w, b, _ = affineInputs c
    let y = normal (key c 4) (Tensor.shape x)
    let f t = fst (Affine.forward t w b)
    let zero = Tensor.zeros (Tensor.shape x)
    // f(2x + 3y) - f(0) = 2 (f(x) - f(0)) + 3 (f(y) - f(0))
    let lhs = f (x * 2.0 + y * 3.0) - f zero
    let rhs = (f x - f zero) * 2.0 + (f y - f zero) * 3.0
    Prop.close (string c) 1e-10 rhs lhs

[<Fact>]
let ``affine validates the shapes of w, b and dout`` () =
    let x = Tensor.zeros [| 2; 3; 2 |]

    Prop.throwsWith [ "Affine.forward"; "D = 6"; "(5, 4)" ] (fun () ->
        Affine.forward x (Tensor.zeros [| 5; 4 |]) (Tensor.zeros [| 4 |]))

    Prop.throwsWith [ "Affine.forward"; "(4,)"; "(3,)" ] (fun () ->
        Affine.forward x (Tensor.zeros [| 6; 4 |]) (Tensor.zeros [| 3 |]))

    let _, cache = Affine.forward x (Tensor.zeros [| 6; 4 |]) (Tensor.zeros [| 4 |])

    Prop.throwsWith [ "Affine.backward"; "(2, 4)"; "(2, 5)" ] (fun () ->
        Affine.backward (Tensor.zeros [| 2; 5 |]) cache)

let private checkActivation (forward: Tensor -> Tensor * 'c) (backward: Tensor -> 'c -> Tensor) (c: Case) =
    // Inputs at least 1e-3 from 0, so no centered difference with h = 1e-5 straddles a kink.
    let x = awayFromZero 1e-3 (key c 0) [| c.["N"]; c.["D"] |]
    let dout = normal (key c 1) [| c.["N"]; c.["D"] |]
    let _, cache = forward x
    Prop.gradClose (string c) "dx" (backward dout cache) (GradCheck.numericGradientOf 1e-5 (forward >> fst) x dout)

[<Property(MaxTest = 100, Arbitrary = [| typeof<LayerArbitraries> |])>]
let ``relu backward matches the numeric gradient`` (ActivationCase c) =
    checkActivation Relu.forward Relu.backward c

[<Property(MaxTest = 100, Arbitrary = [| typeof<LayerArbitraries> |])>]
let ``leaky relu backward matches the numeric gradient`` (ActivationCase c) =
    checkActivation (LeakyRelu.forward 0.1) LeakyRelu.backward c

[<Property(MaxTest = 100, Arbitrary = [| typeof<LayerArbitraries> |])>]
let ``sigmoid backward matches the numeric gradient`` (ActivationCase c) =
    checkActivation Sigmoid.forward Sigmoid.backward c

[<Property(MaxTest = 100, Arbitrary = [| typeof<LayerArbitraries> |])>]
let ``tanh backward matches the numeric gradient`` (ActivationCase c) =
    checkActivation Tanh.forward Tanh.backward c

[<Property(MaxTest = 100, Arbitrary = [| typeof<LayerArbitraries> |])>]
let ``relu is idempotent and non-negative`` (ActivationCase c) =
    let x = normal c.Rng [| c.["N"]; c.["D"] |]
    let once = fst (Relu.forward x)
    Prop.ensure (Tensor.toArray (fst (Relu.forward once)) = Tensor.toArray once) (fun () -> $"{c}")
    Prop.ensure (Tensor.toArray once |> Array.forall (fun v -> v >= 0.0)) (fun () -> $"{c}")

[<Property(MaxTest = 100, Arbitrary = [| typeof<LayerArbitraries> |])>]
let ``sigmoid' = s(1 - s) and tanh' = 1 - t^2`` (ActivationCase c) =
    let x = normal c.Rng [| c.["N"]; c.["D"] |]
    let ones = Tensor.ones (Tensor.shape x)
    let s, sc = Sigmoid.forward x
    Prop.close (string c) 1e-14 (s * (1.0 - s)) (Sigmoid.backward ones sc)
    Prop.close (string c) 1e-6 (Tensor.map (fun v -> exp -v / ((1.0 + exp -v) ** 2.0)) x) (s * (1.0 - s))
    let t, tc = Tanh.forward x
    Prop.close (string c) 1e-14 (1.0 - t * t) (Tanh.backward ones tc)
    Prop.close (string c) 1e-6 (Tensor.map (fun v -> 1.0 / (cosh v ** 2.0)) x) (1.0 - t * t)

[<Fact>]
let ``sigmoid is finite and exact at large magnitudes`` () =
    let s, _ =
        Sigmoid.forward (Tensor.ofArray [| 4 |] [| -1000.0; -40.0; 40.0; 1000.0 |])

    let v = Tensor.toArray s
    Assert.True(Array.forall (fun x -> not (System.Double.IsNaN x)) v)
    Assert.Equal(0.0, v.[0])
    Assert.Equal(1.0, v.[3])
    Assert.True(v.[1] > 0.0)

[<Property(MaxTest = 100)>]
let ``affine-relu backward matches numeric gradients away from the kink`` () =
    let valid (c: Case) =
        let x, w, b, _ = affineInputs c

        Affine.forward x w b
        |> fst
        |> Tensor.toArray
        |> Array.forall (fun v -> abs v > 1e-3)

    Prop.forAll (casesWhere [ "N", 1, 4; "d1", 1, 4; "d2", 1, 3; "M", 1, 5 ] valid) (fun c ->
        let x, w, b, dout = affineInputs c
        let _, cache = AffineRelu.forward x w b
        let g = AffineRelu.backward dout cache
        let case = string c

        Prop.gradClose
            case
            "dx"
            g.Dx
            (GradCheck.numericGradientOf 1e-5 (fun x' -> fst (AffineRelu.forward x' w b)) x dout)

        Prop.gradClose
            case
            "dw"
            g.Dw
            (GradCheck.numericGradientOf 1e-5 (fun w' -> fst (AffineRelu.forward x w' b)) w dout)

        Prop.gradClose
            case
            "db"
            g.Db
            (GradCheck.numericGradientOf 1e-5 (fun b' -> fst (AffineRelu.forward x w b')) b dout))

[<Fact>]
let ``the course's affine_forward check values`` () =
    // cs231n's fixed test: x = linspace(-0.1, 0.5, (2, 4, 5, 6)), w = linspace(-0.2, 0.3, (120, 3)), b = linspace(-0.3, 0.1, 3).
    let x = Tensor.linspace -0.1 0.5 [| 2; 4; 5; 6 |]
    let w = Tensor.linspace -0.2 0.3 [| 120; 3 |]
    let b = Tensor.linspace -0.3 0.1 [| 3 |]
    let out, _ = Affine.forward x w b

    let expected =
        Tensor.ofRows [|
            [| 1.49834967; 1.70660132; 1.91485297 |]
            [| 3.25553199; 3.5141327; 3.77273342 |]
        |]

    Assert.True(GradCheck.relativeError out expected < 1e-8)
