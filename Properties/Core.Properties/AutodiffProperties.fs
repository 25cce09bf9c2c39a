/// The autodiff mechanism: every op's gradient against numeric gradients over random shapes (broadcasting shapes
/// included), and the API (grad, valueAndGrad, gradients, vjp, jacobian, auxiliary output).
module Functional.Properties.AutodiffProperties

open System
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// The pullback of f at x for a random upstream gradient against the numeric gradient of sum(f(x) · dout).
let internal checkOp (case: string) (name: string) (rng: Rng) (f: Value -> Value) (x: Tensor) =
    let out, back = Autodiff.vjp f x
    let dout = normal rng (Tensor.shape out)

    let numeric =
        GradCheck.numericGradientOf 1e-5 (fun t -> Autodiff.primal (f (Autodiff.constant t))) x dout

    Prop.gradClose case name (back dout) numeric

/// Both gradients of a two-input op, each with the other input held constant, and both at once (the sweep over a
/// graph with two variables).
let internal checkBinary (case: string) (name: string) (rng: Rng) (f: Value -> Value -> Value) (a: Tensor) (b: Tensor) =
    checkOp case $"{name} da" (Rng.derive 0 rng) (fun v -> f v (Autodiff.constant b)) a
    checkOp case $"{name} db" (Rng.derive 1 rng) (fun v -> f (Autodiff.constant a) v) b

    let loss, g =
        Autodiff.gradients (fun p -> Ops.sum [||] false (f p.["a"] p.["b"])) (Map [ "a", a; "b", b ])

    let direct =
        Tensor.sumAll (Autodiff.primal (f (Autodiff.constant a) (Autodiff.constant b)))

    Prop.ensure (loss = direct) (fun () -> $"{case} {name}: loss {loss} vs {direct}")

    let ones (t: Tensor) = Tensor.ones (Tensor.shape t)
    let out = Autodiff.primal (f (Autodiff.constant a) (Autodiff.constant b))

    Prop.gradClose
        case
        $"{name} da (both)"
        g.["a"]
        (GradCheck.numericGradientOf
            1e-5
            (fun t -> Autodiff.primal (f (Autodiff.constant t) (Autodiff.constant b)))
            a
            (ones out))

    Prop.gradClose
        case
        $"{name} db (both)"
        g.["b"]
        (GradCheck.numericGradientOf
            1e-5
            (fun t -> Autodiff.primal (f (Autodiff.constant a) (Autodiff.constant t)))
            b
            (ones out))

// ---- shapes ----

/// An output shape of rank R (0..3) with dims D0..D2 (1..3), and the shapes of two operands that broadcast to it:
/// operand a drops its LA leading axes and sets to 1 the axes in the bit mask MA (b likewise).
let private broadcastRanges = [
    "R", 0, 3
    "D0", 1, 3
    "D1", 1, 3
    "D2", 1, 3
    "LA", 0, 3
    "LB", 0, 3
    "MA", 0, 7
    "MB", 0, 7
]

let private operandShape (out: int[]) (lead: int) (mask: int) =
    let lead = min lead out.Length

    out.[lead..]
    |> Array.mapi (fun i d -> if (mask >>> (i + lead)) &&& 1 = 1 then 1 else d)

let private broadcastShapes (c: Case) =
    let out = [| c.["D0"]; c.["D1"]; c.["D2"] |] |> Array.take c.["R"]
    operandShape out c.["LA"] c.["MA"], operandShape out c.["LB"] c.["MB"]

/// Entries in ±[0.5, 2]: away from 0 (division, logs of |x|) and from each other by the draw.
let private awayFrom0 (rng: Rng) (shape: int[]) =
    Tensor.rand rng 0.5 2.0 shape
    |> Tensor.map2 (fun s v -> if s >= 0.0 then v else -v) (normal (Rng.derive 7 rng) shape)

// ---- elementwise binary ops with broadcasting ----

[<Property(MaxTest = 300)>]
let ``binary ops broadcast and their gradients sum back to each input's shape`` () =
    Prop.forAll (cases broadcastRanges) (fun c ->
        let sa, sb = broadcastShapes c
        let a = normal (key c 0) sa
        let b = awayFrom0 (key c 1) sb
        let case = $"{c} a{Guard.shapeText sa} b{Guard.shapeText sb}"
        checkBinary case "add" (key c 2) (+) a b
        checkBinary case "sub" (key c 3) (-) a b
        checkBinary case "mul" (key c 4) (*) a b
        checkBinary case "div" (key c 5) (/) a b)

[<Property(MaxTest = 300)>]
let ``max, min and where route the gradient to the selected input, with broadcasting`` () =
    let valid (c: Case) =
        let sa, sb = broadcastShapes c
        let a = normal (key c 0) sa
        let b = normal (key c 1) sb
        // no centered difference crosses a tie
        Tensor.toArray (Tensor.abs (a - b)) |> Array.forall (fun v -> v > 1e-3)

    Prop.forAll (casesWhere broadcastRanges valid) (fun c ->
        let sa, sb = broadcastShapes c
        let a = normal (key c 0) sa
        let b = normal (key c 1) sb
        let case = $"{c} a{Guard.shapeText sa} b{Guard.shapeText sb}"
        checkBinary case "maximum" (key c 2) Ops.maximum a b
        checkBinary case "minimum" (key c 3) Ops.minimum a b
        let outShape = Tensor.shape (a + b)

        let mask =
            Tensor.rand (key c 4) 0.0 1.0 outShape
            |> Tensor.map (fun u -> if u < 0.5 then 1.0 else 0.0)

        checkBinary case "where" (key c 5) (Ops.where mask) a b)

// ---- elementwise unary ops ----

[<Property(MaxTest = 200)>]
let ``elementwise ops match numeric gradients over random shapes`` () =
    Prop.forAll (cases [ "R", 0, 3; "D0", 1, 3; "D1", 1, 3; "D2", 1, 3 ]) (fun c ->
        let shape = [| c.["D0"]; c.["D1"]; c.["D2"] |] |> Array.take c.["R"]
        let x = awayFrom0 (key c 0) shape
        let pos = Tensor.abs x
        let case = $"{c} {Guard.shapeText shape}"
        let check name i f t = checkOp case name (key c i) f t
        check "neg" 1 Ops.neg x
        check "exp" 2 Ops.exp x
        check "log" 3 Ops.log pos
        check "sqrt" 4 Ops.sqrt pos
        check "pow 2" 5 (Ops.pow 2.0) x
        check "pow 3" 6 (Ops.pow 3.0) x
        check "pow 0.5" 7 (Ops.pow 0.5) pos
        check "pow -1" 8 (Ops.pow -1.0) x
        check "abs" 9 Ops.abs x
        check "tanh" 10 Layers.tanh x
        check "sigmoid" 11 Layers.sigmoid x
        check "relu" 12 Layers.relu x
        check "leaky relu" 13 (Layers.leakyRelu 0.1) x
        check "+ scalar" 14 (fun v -> v + 2.5) x
        check "scalar -" 15 (fun v -> 2.5 - v) x
        check "* scalar" 16 (fun v -> v * -1.5) x
        check "/ scalar" 17 (fun v -> v / 4.0) x
        check "scalar /" 18 (fun v -> 3.0 / v) x)

// ---- matmul, reductions, shape ops ----

[<Property(MaxTest = 200)>]
let ``matmul matches numeric gradients`` () =
    Prop.forAll (cases [ "M", 1, 4; "K", 1, 4; "N", 1, 4 ]) (fun c ->
        let a = normal (key c 0) [| c.["M"]; c.["K"] |]
        let b = normal (key c 1) [| c.["K"]; c.["N"] |]
        checkBinary (string c) "matmul" (key c 2) Ops.matmul a b)

[<Property(MaxTest = 300)>]
let ``sum, mean and max over any axes, keeping them or not, match numeric gradients`` () =
    let ranges = [ "R", 1, 3; "D0", 1, 3; "D1", 1, 3; "D2", 1, 3; "Axes", 0, 7; "Keep", 0, 1 ]

    let shapeOf (c: Case) =
        Array.take c.["R"] [| c.["D0"]; c.["D1"]; c.["D2"] |]
    // No centered difference moves max's arg-max: every two values at least 1e-3 apart. (Two values 2.7e-6 apart,
    // closer than the step 1e-5, once gave the numeric gradient 0.18 where the analytic one is 0.)
    let valid (c: Case) =
        Tensor.toArray (normal (key c 0) (shapeOf c))
        |> Array.sort
        |> Array.pairwise
        |> Array.forall (fun (a, b) -> b - a > 1e-3)

    Prop.forAll (casesWhere ranges valid) (fun c ->
        let r = c.["R"]
        let shape = shapeOf c

        let axes = [|
            for i in 0 .. r - 1 do
                if (c.["Axes"] >>> i) &&& 1 = 1 then
                    i - (if i % 2 = 0 then 0 else r)
        |]

        let keep = c.["Keep"] = 1
        let x = normal (key c 0) shape
        let case = $"{c} {Guard.shapeText shape} axes {Guard.shapeText axes}"
        checkOp case "sum" (key c 1) (Ops.sum axes keep) x
        checkOp case "mean" (key c 2) (Ops.mean axes keep) x
        checkOp case "max" (key c 3) (Ops.max axes keep) x
        let expected = Tensor.sum axes keep x
        Prop.close case 0.0 expected (Autodiff.primal (Ops.sum axes keep (Autodiff.constant x))))

[<Fact>]
let ``max over an axis shares the gradient equally among ties`` () =
    let x = Tensor.ofRows [| [| 1.0; 3.0; 3.0 |]; [| 2.0; 0.0; -1.0 |] |]
    let g = Autodiff.grad (fun v -> Ops.sum [||] false (Ops.max [| 1 |] false v)) x
    Assert.Equal<float[]>([| 0.0; 0.5; 0.5; 1.0; 0.0; 0.0 |], Tensor.toArray g)

[<Property(MaxTest = 200)>]
let ``reshape, permute, transpose, slice, concat and stack match numeric gradients`` () =
    let ranges = [ "D0", 1, 3; "D1", 1, 3; "D2", 1, 4; "P", 0, 5; "S", 0, 3 ]

    Prop.forAll (cases ranges) (fun c ->
        let shape = [| c.["D0"]; c.["D1"]; c.["D2"] |]
        let x = normal (key c 0) shape
        let case = $"{c} {Guard.shapeText shape}"

        let perms = [|
            [| 0; 1; 2 |]
            [| 0; 2; 1 |]
            [| 1; 0; 2 |]
            [| 1; 2; 0 |]
            [| 2; 0; 1 |]
            [| 2; -2; -3 |]
        |]

        checkOp case "reshape" (key c 1) (Ops.reshape [| -1; shape.[2] |]) x
        checkOp case "permute" (key c 2) (Ops.permute perms.[c.["P"]]) x
        checkOp case "transpose" (key c 3) Ops.transpose x
        let start = min c.["S"] (shape.[2] - 1)
        checkOp case "slice" (key c 4) (Ops.slice 2 start shape.[2]) x
        checkOp case "slice -1" (key c 5) (Ops.slice -1 0 (start + 1)) x
        let y = normal (key c 6) [| shape.[0]; 2; shape.[2] |]
        checkBinary case "concat" (key c 7) (fun a b -> Ops.concat 1 [ a; b; a ]) x y
        let z = normal (key c 8) shape
        checkBinary case "stack" (key c 9) (fun a b -> Ops.stack (c.["P"] % 4) [ a; b ]) x z
        let s = Autodiff.primal (Ops.stack 0 [ Autodiff.constant x; Autodiff.constant z ])
        Prop.close case 0.0 x (Tensor.slice 0 0 1 s |> Tensor.reshape shape))

[<Property(MaxTest = 200)>]
let ``gather scatter-adds repeated rows, and pick reads one entry per row`` () =
    let ranges = [ "V", 1, 5; "D", 1, 3; "N", 1, 6 ]

    Prop.forAll (cases ranges) (fun c ->
        let w = normal (key c 0) [| c.["V"]; c.["D"] |]
        let idx = labels (key c 1) c.["N"] c.["V"]
        checkOp (string c) "gather" (key c 2) (Ops.gather idx) w
        let scores = normal (key c 3) [| c.["N"]; c.["V"] |]
        checkOp (string c) "pick" (key c 4) (Ops.pick idx) scores
        // a row gathered k times gets the sum of its k gradients: d/dw sum(gather) counts the repeats
        let g = Autodiff.grad (fun v -> Ops.sum [||] false (Ops.gather idx v)) w

        for i in 0 .. c.["V"] - 1 do
            let count = idx |> Array.filter ((=) i) |> Array.length |> float

            Prop.ensure (Tensor.get [| i; 0 |] g = count) (fun () ->
                $"{c}: row {i} got {Tensor.get [| i; 0 |] g}, used {count} times"))

// ---- the API ----

[<Property(MaxTest = 100)>]
let ``grad, valueAndGrad, gradients, vjp and jacobian agree with each other`` () =
    Prop.forAll (cases [ "N", 1, 4; "D", 1, 4 ]) (fun c ->
        let n, d = c.["N"], c.["D"]
        let w = normal (key c 0) [| d; d |]
        let x = normal (key c 1) [| n; d |]

        let f (wv: Value) =
            Ops.sum [||] false (Layers.tanh (Ops.matmul (Autodiff.constant x) wv))

        let loss, g = Autodiff.valueAndGrad f w
        Prop.close (string c) 0.0 g (Autodiff.grad f w)

        let loss2, named =
            Autodiff.gradients (fun p -> f p.["W"]) (Map [ "W", w; "unused", x ])

        Prop.ensure (loss = loss2) (fun () -> $"{c}: {loss} vs {loss2}")
        Prop.close (string c) 0.0 g named.["W"]
        Prop.close (string c) 0.0 (Tensor.zeros [| n; d |]) named.["unused"]
        // the Jacobian of the inner map, contracted with ones, is the gradient
        let inner (wv: Value) =
            Layers.tanh (Ops.matmul (Autodiff.constant x) wv)

        let j = Autodiff.jacobian inner w
        Assert.Equal<int[]>([| n; d; d; d |], Tensor.shape j)
        Prop.close (string c) 1e-12 g (Tensor.sum [| 0; 1 |] false j)
        let out, back = Autodiff.vjp inner w
        let dout = normal (key c 2) (Tensor.shape out)
        let viaJ = Tensor.sum [| 0; 1 |] false (j * Tensor.reshape [| n; d; 1; 1 |] dout)
        Prop.close (string c) 1e-12 viaJ (back dout)
        let loss3, g3, aux = Autodiff.valueAndGradWithAux (fun v -> f v, "aux") w
        Prop.ensure (loss3 = loss && aux = "aux") (fun () -> $"{c}: aux")
        Prop.close (string c) 0.0 g g3)

[<Fact>]
let ``the autodiff API rejects what it cannot differentiate, with clear messages`` () =
    let x = Tensor.ones [| 2; 3 |]
    Prop.throwsWith [ "Autodiff.valueAndGrad"; "single element"; "(2, 3)" ] (fun () -> Autodiff.grad id x)

    Prop.throwsWith [ "Autodiff.gradients"; "single element" ] (fun () ->
        Autodiff.gradients (fun p -> p.["a"]) (Map [ "a", x ]))

    let _, back = Autodiff.vjp id x
    Prop.throwsWith [ "Autodiff.vjp"; "cotangent"; "(3, 2)" ] (fun () -> back (Tensor.ones [| 3; 2 |]))

    Prop.throwsWith [ "Tensor.Add"; "cannot be broadcast" ] (fun () ->
        Ops.add (Autodiff.constant x) (Autodiff.constant (Tensor.ones [| 4 |])))

    Prop.throwsWith [ "Ops.pick"; "indices[1] = 3" ] (fun () -> Ops.pick [| 0; 3 |] (Autodiff.constant x))

    Prop.throwsWith [ "Ops.concat"; "except along axis 0" ] (fun () ->
        Ops.concat 0 [ Autodiff.constant x; Autodiff.constant (Tensor.ones [| 2; 2 |]) ])

    Prop.throwsWith [ "Ops.stack"; "(2, 3)" ] (fun () ->
        Ops.stack 0 [ Autodiff.constant x; Autodiff.constant (Tensor.ones [| 2; 2 |]) ])

[<Fact>]
let ``a value used twice gets the sum of its gradients, and a deep chain does not overflow the stack`` () =
    let x = Tensor.ofArray [| 3 |] [| 1.0; -2.0; 0.5 |]
    // f = sum(x·x + x): df/dx = 2x + 1
    let g = Autodiff.grad (fun v -> Ops.sum [||] false (v * v + v)) x
    Prop.close "branches" 0.0 (x * 2.0 + 1.0) g
    // 100 000 gates in a chain
    let deep =
        Autodiff.grad (fun v -> Ops.sum [||] false (Seq.fold (fun acc _ -> acc + 1.0) v (seq { 1..100000 }))) x

    Prop.close "deep" 0.0 (Tensor.ones [| 3 |]) deep
