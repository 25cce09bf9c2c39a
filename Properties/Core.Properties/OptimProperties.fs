module Functional.Properties.OptimProperties

open System
open Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// The built-in rules, each with a learning rate at which it decreases the test quadratic steadily.
let internal allRules = [
    Optim.sgd |> Optim.withLearningRate 0.1
    Optim.momentum |> Optim.withLearningRate 0.05
    Optim.nesterov |> Optim.withLearningRate 0.05
    Optim.rmsprop |> Optim.withLearningRate 0.02
    Optim.adam |> Optim.withLearningRate 0.05
    Optim.adamw |> Optim.withLearningRate 0.05
]

/// Runs a rule over a list of gradients from w, returning every parameter along the way.
let private trajectory (rule: UpdateRule) (w0: Tensor) (grads: Tensor list) =
    let _, _, ws =
        grads
        |> List.fold
            (fun (w, s, acc) g ->
                let w', s' = Optim.step rule s w g
                w', s', w' :: acc)
            (w0, Optim.init rule w0, [])

    List.rev ws


/// The course's test inputs for the update rules: N, D = 4, 5 and linspaces.
let private courseW = Tensor.linspace -0.4 0.6 [| 4; 5 |]
let private courseDw = Tensor.linspace -0.6 0.4 [| 4; 5 |]

let private closeAbs (name: string) (tol: float) (expected: float[]) (actual: float[]) =
    Array.iteri2
        (fun i (e: float) (a: float) ->
            Prop.ensure (abs (e - a) <= tol) (fun () ->
                $"{name}[{i}]: expected {e}, got {a} (|diff| {abs (e - a):E2} > {tol})"))
        expected
        actual

[<Fact>]
let ``momentum, rmsprop and adam reproduce the course's expected values`` () =
    // The first row of each expected array printed by the course's notebook (8 decimals, so tolerance 1e-8).
    let v = Tensor.linspace 0.6 0.9 [| 4; 5 |]

    let w, s =
        Optim.step
            (Optim.momentum |> Optim.withLearningRate 1e-3)
            (OptimState.Create(Map [ "velocity", v ], 0))
            courseW
            courseDw

    closeAbs "momentum w" 1e-8 [| 0.1406; 0.20738947; 0.27417895; 0.34096842; 0.40775789 |] (Tensor.toArray w).[0..4]

    closeAbs
        "momentum velocity"
        1e-8
        [| 0.5406; 0.55475789; 0.56891579; 0.58307368; 0.59723158 |]
        (Tensor.toArray (s.Slot "velocity")).[0..4]

    let cache = Tensor.linspace 0.6 0.9 [| 4; 5 |]

    let w, s =
        Optim.step
            (Optim.rmsprop |> Optim.withLearningRate 1e-2)
            (OptimState.Create(Map [ "cache", cache ], 0))
            courseW
            courseDw

    closeAbs
        "rmsprop w"
        1e-8
        [| -0.39223849; -0.34037513; -0.28849239; -0.23659121; -0.18467247 |]
        (Tensor.toArray w).[0..4]

    closeAbs
        "rmsprop cache"
        1e-8
        [| 0.5976; 0.6126277; 0.6277108; 0.64284931; 0.65804321 |]
        (Tensor.toArray (s.Slot "cache")).[0..4]

    let m = Tensor.linspace 0.6 0.9 [| 4; 5 |]
    let vv = Tensor.linspace 0.7 0.5 [| 4; 5 |]

    let w, s =
        Optim.step
            (Optim.adam |> Optim.withLearningRate 1e-2)
            (OptimState.Create(Map [ "m", m; "v", vv ], 5))
            courseW
            courseDw

    closeAbs
        "adam w"
        1e-8
        [| -0.40094747; -0.34836187; -0.29577703; -0.24319299; -0.19060977 |]
        (Tensor.toArray w).[0..4]

    closeAbs
        "adam m"
        1e-8
        [| 0.48; 0.49947368; 0.51894737; 0.53842105; 0.55789474 |]
        (Tensor.toArray (s.Slot "m")).[0..4]

    closeAbs
        "adam v"
        1e-8
        [| 0.69966; 0.68908382; 0.67851319; 0.66794809; 0.65738853 |]
        (Tensor.toArray (s.Slot "v")).[0..4]

    Prop.ensure (s.Step = 6) (fun () -> $"adam's t should be 6 after a step from 5, got {s.Step}")

[<Fact>]
let ``nesterov and adamw follow their formulas`` () =
    let v = Tensor.linspace 0.6 0.9 [| 4; 5 |]

    let w, s =
        Optim.step
            (Optim.nesterov |> Optim.withLearningRate 1e-3)
            (OptimState.Create(Map [ "velocity", v ], 0))
            courseW
            courseDw

    let vi, wi, gi = 0.6, -0.4, -0.6
    let v' = 0.9 * vi - 1e-3 * gi
    closeAbs "nesterov v" 1e-15 [| v' |] [| (Tensor.toArray (s.Slot "velocity")).[0] |]
    closeAbs "nesterov w" 1e-15 [| wi - 0.9 * vi + 1.9 * v' |] [| (Tensor.toArray w).[0] |]
    // AdamW from a fresh state: Adam's first step (lr · g / (|g| + eps)) plus the decoupled decay lr · λ · w.
    let rule = Optim.adamw |> Optim.withLearningRate 1e-2
    let w, _ = Optim.step rule (Optim.init rule courseW) courseW courseDw
    let expected = wi - 1e-2 * gi / (abs gi + 1e-8) - 1e-2 * 1e-2 * wi
    closeAbs "adamw w" 1e-15 [| expected |] [| (Tensor.toArray w).[0] |]

let private ruleCases = cases [ "N", 1, 4; "D", 1, 5; "steps", 1, 5 ]

[<Fact>]
let ``momentum with mu = 0 equals SGD bit for bit`` () =
    Prop.check "momentum mu=0 = sgd" 100 ruleCases (fun c ->
        let shape = [| c.["N"]; c.["D"] |]
        let w0 = normal (key c 0) shape
        let grads = List.init c.["steps"] (fun i -> normal (key c (i + 1)) shape)
        let lr = 0.01 + (key c 9).Uniform 0L
        let sgd = Optim.sgd |> Optim.withLearningRate lr

        let mom =
            Optim.momentum
            |> Optim.withConfig {
                Optim.momentum.Config with
                    LearningRate = lr
                    Momentum = 0.0
            }

        List.iter2
            (fun a b -> Prop.ensure (Prop.bitsEqual a b) (fun () -> $"{c}: momentum(0) {b} differs from sgd {a}"))
            (trajectory sgd w0 grads)
            (trajectory mom w0 grads))

[<Fact>]
let ``adam's first step moves each coordinate by about lr times the sign of the gradient`` () =
    Prop.check "adam first step" 100 ruleCases (fun c ->
        let shape = [| c.["N"]; c.["D"] |]
        let w = normal (key c 0) shape
        // |g| >= 1e-2, so eps / |g| <= 1e-6.
        let g = awayFromZero 1e-2 (key c 1) shape
        let lr = 1e-3 * (1.0 + 9.0 * (key c 2).Uniform 0L)
        let rule = Optim.adam |> Optim.withLearningRate lr
        let w', _ = Optim.step rule (Optim.init rule w) w g

        Array.iteri2
            (fun i (d: float) (gi: float) ->
                let expected = -lr * float (sign gi)
                let bound = lr * (1e-8 / abs gi + 1e-12)

                Prop.ensure (abs (d - expected) <= bound) (fun () ->
                    $"{c}: coordinate {i} moved by {d}, expected {expected} (|diff| {abs (d - expected):E2} > {bound:E2})"))
            (Tensor.toArray (w' - w))
            (Tensor.toArray g))

let private scaleCases = cases [ "N", 1, 4; "D", 1, 5; "steps", 1, 6; "rule", 0, 1 ]

[<Fact>]
let ``rmsprop and adam steps are invariant to scaling the gradient by a positive constant`` () =
    Prop.check "scale invariance" 100 scaleCases (fun c ->
        let shape = [| c.["N"]; c.["D"] |]
        let rule = if c.["rule"] = 0 then Optim.rmsprop else Optim.adam
        let w0 = normal (key c 0) shape
        // |g| >= 0.1 and c in [0.5, 10]: the eps terms change a step by at most ~2e-6 of its size.
        let grads = List.init c.["steps"] (fun i -> awayFromZero 0.1 (key c (i + 1)) shape)
        let k = 0.5 + 9.5 * (key c 20).Uniform 0L
        let a = trajectory rule w0 grads
        let b = trajectory rule w0 (grads |> List.map (fun g -> g * k))

        // Compare each step's update (not the net displacement, which can nearly cancel between steps).
        let updates (ws: Tensor list) =
            List.pairwise (w0 :: ws)
            |> List.map (fun (before, after) -> Tensor.toArray (after - before))

        List.iteri2
            (fun step (da: float[]) (db: float[]) ->
                let scale = da |> Array.map abs |> Array.max
                let diff = Array.map2 (fun (x: float) y -> abs (x - y)) da db |> Array.max

                Prop.ensure (diff <= 1e-5 * scale) (fun () ->
                    $"{c} {rule.Name} scale {k}: step {step + 1} differs by {diff:E2} (relative {diff / scale:E2} > 1e-5)"))
            (updates a)
            (updates b))

[<Fact>]
let ``a zero gradient leaves the parameters unchanged`` () =
    Prop.check "zero gradient" 100 ruleCases (fun c ->
        let shape = [| c.["N"]; c.["D"] |]
        let w = normal (key c 0) shape
        let zero = Tensor.zeros shape
        // SGD always; the others from their initial (zero) state. AdamW decays the weights, so it is left out.
        for rule in [ Optim.sgd; Optim.momentum; Optim.nesterov; Optim.rmsprop; Optim.adam ] do
            let w', _ = Optim.step rule (Optim.init rule w) w zero
            Prop.ensure (Prop.bitsEqual w w') (fun () -> $"{c}: {rule.Name} moved the parameters on a zero gradient"))

    Prop.check "zero gradient sgd any state" 100 ruleCases (fun c ->
        let shape = [| c.["N"]; c.["D"] |]
        let w = normal (key c 0) shape

        let s = OptimState.Create(Map.empty, c.["steps"])

        let w', _ = Optim.step Optim.sgd s w (Tensor.zeros shape)
        Prop.ensure (Prop.bitsEqual w w') (fun () -> $"{c}: sgd moved the parameters on a zero gradient"))

/// f(w) = ½ Σ a_i w_i², with a_i in [0.5, 2]: its gradient is a ⊙ w.
let private quadratic (a: Tensor) (w: Tensor) = 0.5 * Tensor.sumAll (a * w * w)

[<Fact>]
let ``every rule decreases a convex quadratic from random starts`` () =
    Prop.check "quadratic descent" 100 (cases [ "D", 1, 8; "rule", 0, 5 ]) (fun c ->
        let rule = allRules.[c.["rule"]]
        let shape = [| c.["D"] |]
        let a = Tensor.rand (key c 0) 0.5 2.0 shape
        let w0 = awayFromZero 0.5 (key c 1) shape
        let f0 = quadratic a w0

        let wEnd, _ =
            Seq.fold (fun (w, s) _ -> Optim.step rule s w (a * w)) (w0, Optim.init rule w0) (seq { 1..300 })

        let f1 = quadratic a wEnd

        Prop.ensure (f1 < 0.05 * f0) (fun () ->
            $"{c} {rule.Name}: f went from {f0} to {f1} in 300 steps (expected < 5 percent)"))

[<Fact>]
let ``update rules validate their configuration when made, and a step its inputs`` () =
    let w = Tensor.zeros [| 2; 3 |]

    Prop.throwsWith [ "Optim.withLearningRate"; "learning rate must be >= 0"; "-0.1" ] (fun () ->
        Optim.withLearningRate -0.1 Optim.sgd)

    Prop.throwsWith [ "LearningRate"; "must be finite"; "NaN" ] (fun () -> Optim.withLearningRate nan Optim.adam)

    Prop.throwsWith [ "Optim.withConfig"; "Momentum must be in [0, 1)"; "1" ] (fun () ->
        Optim.momentum
        |> Optim.withConfig {
            OptimConfig.Defaults with
                Momentum = 1.0
        })

    Prop.throwsWith [ "Optim.withConfig"; "epsilon must be > 0" ] (fun () ->
        Optim.rmsprop
        |> Optim.withConfig {
            OptimConfig.Defaults with
                Epsilon = 0.0
        })

    Prop.throwsWith [ "Optim.withConfig"; "Beta2 must be in [0, 1)"; "-0.5" ] (fun () ->
        Optim.adam
        |> Optim.withConfig {
            OptimConfig.Defaults with
                Beta2 = -0.5
        })

    Prop.throwsWith [ "Optim.custom"; "weight decay must be >= 0"; "-1" ] (fun () ->
        Optim.custom
            "decay"
            {
                OptimConfig.Defaults with
                    WeightDecay = -1.0
            }
            (Optim.init Optim.sgd)
            (fun _ s w _ -> w, s))

    Prop.throwsWith [ "Optim.sgd"; "dw must have the shape of w (2, 3), got (3, 2)" ] (fun () ->
        Optim.step Optim.sgd (Optim.init Optim.sgd w) w (Tensor.zeros [| 3; 2 |]))

    Prop.throwsWith [ "Optim.adam"; "no slot 'm'"; "another rule's init" ] (fun () ->
        Optim.step Optim.adam (Optim.init Optim.momentum w) w w)

    Prop.throwsWith [ "Optim.momentum"; "slot 'velocity' has shape (3,)"; "(2, 3)" ] (fun () ->
        Optim.step Optim.momentum (Optim.init Optim.momentum (Tensor.zeros [| 3 |])) w w)

    Prop.throwsWith [ "Optim.custom"; "non-empty name" ] (fun () ->
        Optim.custom " " OptimConfig.Defaults (Optim.init Optim.sgd) (fun _ s w _ -> w, s))

    Prop.throwsWith [ "OptimState.Slot"; "no slot 'cache'"; "velocity" ] (fun () ->
        (Optim.init Optim.momentum w).Slot "cache")

[<Fact>]
let ``the course's defaults are the rules' defaults`` () =
    let c = OptimConfig.Defaults
    Prop.ensure (Optim.sgd.Config.LearningRate = 1e-2) (fun () -> "sgd lr")

    Prop.ensure
        (Optim.momentum.Config.Momentum = 0.9
         && Optim.momentum.Config.LearningRate = 1e-2)
        (fun () -> "momentum")

    Prop.ensure (Optim.rmsprop.Config.DecayRate = 0.99 && c.Epsilon = 1e-8) (fun () -> "rmsprop")

    Prop.ensure
        (Optim.adam.Config.LearningRate = 1e-3
         && Optim.adam.Config.Beta1 = 0.9
         && Optim.adam.Config.Beta2 = 0.999)
        (fun () -> "adam")

    let s = Optim.init Optim.adam (Tensor.ones [| 2 |])
    Prop.ensure (s.Step = 0 && Set.ofSeq s.Slots.Keys = set [ "m"; "v" ]) (fun () -> "adam state")
    Prop.ensure ((Optim.init Optim.rmsprop (Tensor.ones [| 2 |])).Slots.ContainsKey "cache") (fun () -> "rmsprop state")
