/// Update rules are validated once, when they are made: every constructor rejects each out-of-range setting, naming
/// itself, the field and the value, and keeps every valid configuration as given; a step checks only its own inputs,
/// and the solver checks the learning rate it decays. The built-in rules' state by type (`Optim.slots`, `Optim.ofSlots`).
module Functional.Properties.UpdateRuleProperties

open Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// The six built-in rules (each at a learning rate of its own).
let private rules = OptimProperties.allRules

/// Each setting with values outside its range (learning rate and weight decay ≥ 0, ε > 0, the rest in [0, 1)).
let private outOfRange = [|
    "LearningRate", [| -1e-3; nan; infinity; -infinity |]
    "Momentum", [| -0.1; 1.0; 1.5; nan; infinity |]
    "DecayRate", [| -0.1; 1.0; nan; -infinity |]
    "Beta1", [| -1e-9; 1.0; nan; infinity |]
    "Beta2", [| -0.5; 1.0; 2.0; nan |]
    "Epsilon", [| 0.0; -1e-8; nan; infinity |]
    "WeightDecay", [| -1.0; nan; infinity |]
|]

let private setting (field: string) (v: float) (c: OptimConfig) =
    match field with
    | "LearningRate" -> { c with LearningRate = v }
    | "Momentum" -> { c with Momentum = v }
    | "DecayRate" -> { c with DecayRate = v }
    | "Beta1" -> { c with Beta1 = v }
    | "Beta2" -> { c with Beta2 = v }
    | "Epsilon" -> { c with Epsilon = v }
    | _ -> { c with WeightDecay = v }

let private mine (config: OptimConfig) =
    Optim.custom "mine" config (Optim.init Optim.sgd) (fun _ s w _ -> w, s)

[<Fact>]
let ``every constructor rejects each out-of-range setting, naming itself, the field and the value`` () =
    Prop.check "bad settings" 300 (cases [ "field", 0, 6; "value", 0, 4; "maker", 0, 2; "rule", 0, 5 ]) (fun c ->
        let field, values = outOfRange.[c.["field"]]
        let v = values.[c.["value"] % values.Length]
        let rule = rules.[c.["rule"]]
        let config = setting field v rule.Config

        let maker, make =
            match c.["maker"] with
            | 0 -> "Optim.withConfig", (fun () -> Optim.withConfig config rule)
            | 1 -> "Optim.custom", (fun () -> mine config)
            | _ when field = "LearningRate" -> "Optim.withLearningRate", (fun () -> Optim.withLearningRate v rule)
            | _ -> "Optim.withConfig", (fun () -> Optim.withConfig config rule)

        let ex =
            try
                make () |> ignore
                None
            with :? System.ArgumentException as e ->
                Some e

        match ex with
        | None -> Prop.ensure false (fun () -> $"{c}: {maker} accepted {field} = {v} for {rule.Name}")
        | Some e ->
            Prop.ensure
                (e.ParamName = field
                 && e.Message.StartsWith(maker + ": ")
                 && e.Message.Contains($"{v}"))
                (fun () ->
                    $"{c}: {maker} with {field} = {v}: expected a message naming {maker}, {field} and {v}, got '{e.Message}' (ParamName {e.ParamName})"))

[<Fact>]
let ``every valid configuration is accepted and kept as given`` () =
    Prop.check "valid settings" 200 (cases [ "rule", 0, 5; "maker", 0, 2 ]) (fun c ->
        let u i = (key c i).Uniform 0L
        let rule = rules.[c.["rule"]]
        // Boundaries included: a rate or decay of 0, and each [0, 1) setting at 0.
        let inUnit i =
            if u (10 + i) < 0.2 then 0.0 else u i * 0.999

        let config: OptimConfig = {
            LearningRate = if u 20 < 0.2 then 0.0 else u 1
            Momentum = inUnit 2
            DecayRate = inUnit 3
            Beta1 = inUnit 4
            Beta2 = inUnit 5
            Epsilon = 1e-12 + u 6
            WeightDecay = if u 21 < 0.2 then 0.0 else u 7
        }

        let made, expected, name =
            match c.["maker"] with
            | 0 -> Optim.withConfig config rule, config, rule.Name
            | 1 ->
                Optim.withLearningRate config.LearningRate rule,
                {
                    rule.Config with
                        LearningRate = config.LearningRate
                },
                rule.Name
            | _ -> mine config, config, "mine"

        Prop.ensure (made.Config = expected && made.Name = name) (fun () ->
            $"{c}: {name} made with {expected} holds {made.Config}"))

/// One parameter w = (1, 1) with the constant gradient (1, 1) on 4 examples.
let private constant: Trainable = {
    Name = "constant"
    Params = Map [ "w", Tensor.ones [| 2 |] ]
    State = Map.empty
    NumTrain = 4
    InputName = "x"
    Loss =
        fun p _ _ _ -> {
            Loss = Tensor.sumAll p.["w"]
            Grads = Map [ "w", Tensor.ones [| 2 |] ]
            State = Map.empty
        }
    Metric = {
        Name = "none"
        Evaluate = fun _ _ _ _ -> 0.0, 0.0
    }
}

[<Fact>]
let ``the solver checks the learning rate it carries before each step`` () =
    let config = {
        SolverConfig.Defaults with
            NumEpochs = 1
            BatchSize = 2
    }

    let s = Solver.start Optim.sgd config constant

    for lr in [ -1e-3; nan; infinity ] do
        Prop.throwsWith [ "Solver:"; "learning rate must be finite and >= 0"; $"got {lr}" ] (fun () ->
            Solver.advance Optim.sgd constant [| 0; 1 |] { s with LearningRate = lr })

    // A decay above 1 grows the rate every epoch: 1e-2, 1e298, then ∞ at the third epoch's first step.
    Prop.throwsWith [ "Solver:"; $"got {infinity} at iteration 5"; "LrDecay" ] (fun () ->
        Solver.fit
            SolverHooks.None
            Optim.sgd
            {
                config with
                    NumEpochs = 3
                    LrDecay = 1e300
            }
            constant)

[<Fact>]
let ``a built-in rule's state reads as its typed slots under the course's names, and back bit for bit`` () =
    Prop.check "typed slots" 100 (cases [ "rule", 0, 5; "N", 1, 3; "D", 1, 4; "steps", 0, 3 ]) (fun c ->
        let rule = rules.[c.["rule"]]
        let shape = [| c.["N"]; c.["D"] |]
        let w = normal (key c 0) shape
        let grad i = normal (key c (i + 1)) shape

        let state =
            Seq.fold (fun s i -> snd (Optim.step rule s w (grad i))) (Optim.init rule w) (seq { 1 .. c.["steps"] })

        let typed = Optim.slots state

        let names, tensors =
            match typed with
            | NoSlots -> [], []
            | Velocity v -> [ "velocity" ], [ v ]
            | Cache cache -> [ "cache" ], [ cache ]
            | Moments(m, v) -> [ "m"; "v" ], [ m; v ]

        let course =
            match rule.Name with
            | "sgd" -> []
            | "sgd_momentum"
            | "nesterov" -> [ "velocity" ]
            | "rmsprop" -> [ "cache" ]
            | _ -> [ "m"; "v" ]

        Prop.ensure (names = course) (fun () -> $"{c}: {rule.Name}'s state reads as {names}, expected {course}")

        List.iter2
            (fun name t ->
                Prop.ensure (Prop.bitsEqual (state.Slot name) t) (fun () ->
                    $"{c}: {rule.Name}: {name} is not the slot"))
            names
            tensors

        // Made back from the typed slots, the state continues the run bit for bit.
        let back = Optim.ofSlots typed state.Step
        let g = grad 10
        let wa, sa = Optim.step rule state w g
        let wb, sb = Optim.step rule back w g

        Prop.ensure (back.Step = state.Step && Prop.bitsEqual wa wb && sa.Step = sb.Step) (fun () ->
            $"{c}: {rule.Name} from the state made of its typed slots moved to {wb}, not {wa}"))

    let t = Tensor.zeros [| 2 |]

    Prop.throwsWith [ "Optim.slots"; "[a, velocity]"; "not a built-in rule's" ] (fun () ->
        Optim.slots (OptimState.Create(Map [ "velocity", t; "a", t ], 0)))

    Prop.throwsWith [ "Optim.ofSlots"; "stepsTaken must be >= 0"; "-1" ] (fun () -> Optim.ofSlots (Cache t) -1)
