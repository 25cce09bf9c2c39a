/// The course's backpropagation lecture as tests: its scalar graph, the sigmoid neuron (one gate and four), the
/// vector example, the gate patterns, and the two-layer sigmoid net against its hand-derived gradients.
module Functional.Properties.AutodiffLectureProperties

open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

let private s (v: float) = Tensor.scalar v

let private near (tol: float) (expected: float) (actual: float) (what: string) =
    Prop.ensure (abs (expected - actual) <= tol) (fun () -> $"{what}: expected {expected} ± {tol}, got {actual}")

/// f(x, y, z) = (x + y)·z.
let lectureScalar (p: Map<string, Value>) = (p.["x"] + p.["y"]) * p.["z"]

let lectureScalarInputs = Map [ "x", s -2.0; "y", s 5.0; "z", s -4.0 ]

[<Fact>]
let ``(x + y)·z at x = -2, y = 5, z = -4: q = 3, f = -12, df/dx = -4, df/dy = -4, df/dz = 3`` () =
    let f, g = Autodiff.gradients lectureScalar lectureScalarInputs
    Assert.Equal(-12.0, f)
    Assert.Equal(-4.0, Tensor.item g.["x"])
    Assert.Equal(-4.0, Tensor.item g.["y"])
    Assert.Equal(3.0, Tensor.item g.["z"])
    let vars = lectureScalarInputs |> Map.map Autodiff.variable
    let out = lectureScalar vars
    // q = x + y is the first parent of the product gate
    Assert.Equal(3.0, Tensor.item (Autodiff.primal out.Parents.[0]))

/// The lecture's neuron w0·x0 + w1·x1 + w2 -> sigmoid, with the sigmoid given as a function of the pre-activation.
let lectureNeuron (sigmoid: Value -> Value) (p: Map<string, Value>) =
    sigmoid (p.["w0"] * p.["x0"] + p.["w1"] * p.["x1"] + p.["w2"])

/// The sigmoid as the lecture's four gates: ·(−1), exp, +1, 1/x.
let sigmoidFromGates (v: Value) = 1.0 / (Ops.exp (v * -1.0) + 1.0)

let lectureNeuronInputs =
    Map [ "w0", s 2.0; "x0", s -1.0; "w1", s -3.0; "x1", s -2.0; "w2", s -3.0 ]

[<Fact>]
let ``the sigmoid neuron gives f = 0.73 and the lecture's gradients, with sigmoid as one gate or as four`` () =
    let f1, g1 = Autodiff.gradients (lectureNeuron Layers.sigmoid) lectureNeuronInputs
    let f2, g2 = Autodiff.gradients (lectureNeuron sigmoidFromGates) lectureNeuronInputs
    near 0.005 0.73 f1 "f"
    near 1e-15 f1 f2 "f, four gates"

    for name, expected in [ "w0", -0.20; "x0", 0.39; "w1", -0.39; "x1", -0.59; "w2", 0.20 ] do
        near 0.005 expected (Tensor.item g1.[name]) name
        near 1e-15 (Tensor.item g1.[name]) (Tensor.item g2.[name]) $"{name}, four gates"

    // the sigmoid gate's local gradient is (1 − σ)σ: 0.2 at this point, times x0 = −1 gives dw0 = −0.2
    near 1e-15 ((1.0 - f1) * f1 * -1.0) (Tensor.item g1.["w0"]) "(1 - f) f x0"

/// f = ‖W·x‖² for W (2, 2) and x (2, 1).
let lectureVector (p: Map<string, Value>) =
    let q = Ops.matmul p.["W"] p.["x"]
    Ops.sum [||] false (q * q)

let lectureVectorInputs =
    Map [
        "W", Tensor.ofRows [| [| 0.1; 0.5 |]; [| -0.3; 0.8 |] |]
        "x", Tensor.ofArray [| 2; 1 |] [| 0.2; 0.4 |]
    ]

[<Fact>]
let ``the vector example f = ‖W·x‖²: q = [0.22, 0.26], f = 0.116, the lecture's dW and dx`` () =
    let f, g = Autodiff.gradients lectureVector lectureVectorInputs
    near 1e-15 0.116 f "f"
    let q = Tensor.matmul lectureVectorInputs.["W"] lectureVectorInputs.["x"]
    Prop.close "q" 1e-14 (Tensor.ofArray [| 2; 1 |] [| 0.22; 0.26 |]) q
    Prop.close "dW" 1e-14 (Tensor.ofRows [| [| 0.088; 0.176 |]; [| 0.104; 0.208 |] |]) g.["W"]
    Prop.close "dx" 1e-14 (Tensor.ofArray [| 2; 1 |] [| -0.112; 0.636 |]) g.["x"]
    // dq = 2q, via the vjp of q ↦ ‖q‖²
    let dq = Autodiff.grad (fun qv -> Ops.sum [||] false (qv * qv)) q
    Prop.close "dq" 1e-14 (Tensor.ofArray [| 2; 1 |] [| 0.44; 0.52 |]) dq

// ---- gate patterns ----

[<Property(MaxTest = 200)>]
let ``gate patterns: add distributes, max routes, mul switches, branches add`` () =
    Prop.forAll (cases [ "D", 1, 5 ]) (fun c ->
        let d = c.["D"]
        let a = normal (key c 0) [| d |]
        let b = normal (key c 1) [| d |]
        let up = normal (key c 2) [| d |]
        let p = Map [ "a", a; "b", b ]

        let pulled (f: Map<string, Value> -> Value) =
            // the upstream gradient `up` enters as the weight of a sum: loss = Σ up · f
            Autodiff.gradients (fun v -> Ops.sum [||] false (f v * Autodiff.constant up)) p
            |> snd

        let add = pulled (fun v -> v.["a"] + v.["b"])
        Prop.close $"{c} add a" 0.0 up add.["a"]
        Prop.close $"{c} add b" 0.0 up add.["b"]

        let mx = pulled (fun v -> Ops.maximum v.["a"] v.["b"])
        let larger = Tensor.map2 (fun x y -> if x >= y then 1.0 else 0.0) a b
        Prop.close $"{c} max a" 0.0 (up * larger) mx.["a"]
        Prop.close $"{c} max b" 0.0 (up * (1.0 - larger)) mx.["b"]

        let mul = pulled (fun v -> v.["a"] * v.["b"])
        Prop.close $"{c} mul a" 0.0 (up * b) mul.["a"]
        Prop.close $"{c} mul b" 0.0 (up * a) mul.["b"]

        // a used by two gates: its gradient is the sum of what each gate sends back
        let branch = pulled (fun v -> v.["a"] * v.["b"] + v.["a"])
        Prop.close $"{c} branch a" 1e-15 (up * b + up) branch.["a"])

// ---- the two-layer sigmoid net ----

/// The lecture's net: h = σ(x·w1), ŷ = h·w2, loss = Σ(ŷ − y)².
let sigmoidNetLoss (x: Tensor) (y: Tensor) (p: Map<string, Value>) =
    let h = Layers.sigmoid (Ops.matmul (Autodiff.constant x) p.["w1"])
    let diff = Ops.matmul h p.["w2"] - Autodiff.constant y
    Ops.sum [||] false (diff * diff)

/// The lecture's hand-derived gradients of the same net.
let sigmoidNetByHand (x: Tensor) (y: Tensor) (w1: Tensor) (w2: Tensor) =
    let h = Tensor.map Sigmoid.value (Tensor.matmul x w1)
    let yPred = Tensor.matmul h w2
    let gradYPred = 2.0 * (yPred - y)
    let gradW2 = Tensor.matmul (Tensor.transpose h) gradYPred
    let gradH = Tensor.matmul gradYPred (Tensor.transpose w2)
    let gradW1 = Tensor.matmul (Tensor.transpose x) (gradH * h * (1.0 - h))
    Tensor.sumAll ((yPred - y) * (yPred - y)), gradW1, gradW2

[<Fact>]
let ``the lecture's two-layer sigmoid net: autodiff equals the hand-derived gradients, and steps lower the loss`` () =
    let n, dIn, h, dOut = 64, 1000, 100, 10
    let rng = Rng.create 231L
    let x = normal (Rng.derive 0 rng) [| n; dIn |]
    let y = normal (Rng.derive 1 rng) [| n; dOut |]
    let mutable w1 = normal (Rng.derive 2 rng) [| dIn; h |]
    let mutable w2 = normal (Rng.derive 3 rng) [| h; dOut |]
    let losses = ResizeArray()

    for step in 1..5 do
        let loss, g = Autodiff.gradients (sigmoidNetLoss x y) (Map [ "w1", w1; "w2", w2 ])
        let lossByHand, gw1, gw2 = sigmoidNetByHand x y w1 w2
        near (1e-12 * lossByHand) lossByHand loss $"loss at step {step}"
        Prop.close $"grad_w1 at step {step}" 1e-12 gw1 g.["w1"]
        Prop.close $"grad_w2 at step {step}" 1e-12 gw2 g.["w2"]
        losses.Add loss
        w1 <- w1 - 1e-4 * g.["w1"]
        w2 <- w2 - 1e-4 * g.["w2"]

    Prop.ensure (losses.[4] < losses.[0]) (fun () -> $"the loss did not go down: {List.ofSeq losses}")
