namespace Functional

/// <summary>
/// The hyper-parameters of an update rule. One record serves every built-in rule; each rule reads the fields it
/// needs and ignores the others. The solver decays <c>LearningRate</c> once per epoch.
/// </summary>
[<NoComparison>]
type OptimConfig = {
    /// <summary>The step size, ≥ 0 (the course's <c>learning_rate</c>).</summary>
    LearningRate: float
    /// <summary>Momentum μ in [0, 1) for SGD with momentum and Nesterov momentum (course default 0.9).</summary>
    Momentum: float
    /// <summary>RMSProp's decay rate of the squared-gradient cache, in [0, 1) (course default 0.99).</summary>
    DecayRate: float
    /// <summary>Adam's decay rate of the first moment, in [0, 1) (course default 0.9).</summary>
    Beta1: float
    /// <summary>Adam's decay rate of the second moment, in [0, 1) (course default 0.999).</summary>
    Beta2: float
    /// <summary>The small constant added to denominators, &gt; 0 (course default 1e-8).</summary>
    Epsilon: float
    /// <summary>AdamW's decoupled weight decay, ≥ 0 (0 for the other rules).</summary>
    WeightDecay: float
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

    /// <summary>
    /// The course's defaults: learning rate 1e-2, momentum 0.9, decay rate 0.99, β1 0.9, β2 0.999, ε 1e-8, no weight
    /// decay.
    /// </summary>
    static member Defaults = {
        LearningRate = 1e-2
        Momentum = 0.9
        DecayRate = 0.99
        Beta1 = 0.9
        Beta2 = 0.999
        Epsilon = 1e-8
        WeightDecay = 0.0
    }

/// <summary>
/// The state an update rule keeps for one parameter: named tensors of the parameter's shape (<c>"velocity"</c>,
/// <c>"cache"</c>, <c>"m"</c>, <c>"v"</c>) and the number of steps taken (Adam's <c>t</c>). Concrete and immutable,
/// so checkpoints can store it.
/// </summary>
[<Sealed>]
type OptimState private (slots: Map<string, Tensor>, step: int) =
    /// <summary>The slots as an F# map (for the F# modules).</summary>
    member internal _.SlotMap = slots

    /// <summary>The rule's per-parameter tensors, each of the parameter's shape; empty for plain SGD.</summary>
    member _.Slots: System.Collections.Generic.IReadOnlyDictionary<string, Tensor> = slots

    /// <summary>How many steps have been taken with this state (Adam's t).</summary>
    member _.Step = step

    /// <summary>A state with the given slots and step count (for rules of your own; an F# map works as the slots).</summary>
    static member Create
        (
            slots: System.Collections.Generic.IEnumerable<System.Collections.Generic.KeyValuePair<string, Tensor>>,
            step: int
        ) =
        if isNull (box slots) then
            Guard.fail "OptimState.Create" "slots" "slots must not be null."

        Guard.nonNegative "OptimState.Create" "step" step

        let map =
            match slots with
            | :? Map<string, Tensor> as m -> m
            | _ -> slots |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq

        map
        |> Map.iter (fun k v ->
            if isNull (box v) then
                Guard.fail "OptimState.Create" "slots" $"the slot '{k}' is null.")

        OptimState(map, step)

    /// <summary>The slot with the given name; fails naming the slots there are when it is missing.</summary>
    member _.Slot(name: string) =
        match slots.TryFind name with
        | Some t -> t
        | None ->
            let have = slots |> Seq.map (fun kv -> kv.Key) |> String.concat ", "
            Guard.fail "OptimState.Slot" "name" $"the state has no slot '{name}' (it has: [{have}])."

    /// <summary>Equal when the steps are equal and the slots name the same tensors.</summary>
    override _.Equals(o: obj) =
        match o with
        | :? OptimState as other -> other.Step = step && other.SlotMap = slots
        | _ -> false

    /// <inheritdoc/>
    override _.GetHashCode() = hash (step, slots)

    /// <inheritdoc/>
    override _.ToString() =
        let names = slots |> Seq.map (fun kv -> kv.Key) |> String.concat ", "
        $"OptimState(step {step}, slots [{names}])"

namespace Functional.FSharp

open System
open System.Runtime.Intrinsics
open Functional

/// <summary>The update-rule type, in a module opened with <c>Functional.FSharp</c> so that C# code importing both namespaces sees only the facade's <c>UpdateRule</c>.</summary>
[<AutoOpen>]
module UpdateRuleTypes =
    /// <summary>
    /// An update rule: an <c>Init</c> (parameter → state) and a pure <c>Step</c> (config, state, parameter, gradient →
    /// new parameter, new state), with its configuration. The built-in rules are values of this type
    /// (<see cref="M:Functional.FSharp.Optim.sgd"/>, …); write your own with <c>Optim.custom</c>.
    /// </summary>
    type UpdateRule = {
        /// <summary>The rule's name (stored in checkpoints and checked when resuming).</summary>
        Name: string
        /// <summary>The configuration the solver starts from (it decays <c>LearningRate</c> per epoch).</summary>
        Config: OptimConfig
        /// <summary>The initial state for a parameter: w → state.</summary>
        Init: Tensor -> OptimState
        /// <summary>One update: config → state → w → dw → (next w, next state). Pure: nothing is mutated.</summary>
        Step: OptimConfig -> OptimState -> Tensor -> Tensor -> Tensor * OptimState
    }

/// <summary>
/// The update rules of the course (SGD, SGD with momentum, RMSProp, Adam) and two more (Nesterov momentum, AdamW),
/// as pure steps over explicit state.
/// </summary>
[<RequireQualifiedAccess>]
module Optim =
    let private unit01 (fn: string) (arg: string) (v: float) =
        Guard.finiteScalar fn arg v

        if v < 0.0 || v >= 1.0 then
            Guard.fail fn arg $"{arg} must be in [0, 1), got {v}."

    /// <summary>Checks the fields of a configuration that a rule reads; fails naming the field and its value.</summary>
    let internal validateConfig (fn: string) (c: OptimConfig) =
        Guard.finiteScalar fn "LearningRate" c.LearningRate

        if c.LearningRate < 0.0 then
            Guard.fail fn "LearningRate" $"the learning rate must be >= 0, got {c.LearningRate}."

        unit01 fn "Momentum" c.Momentum
        unit01 fn "DecayRate" c.DecayRate
        unit01 fn "Beta1" c.Beta1
        unit01 fn "Beta2" c.Beta2
        Guard.finiteScalar fn "Epsilon" c.Epsilon

        if c.Epsilon <= 0.0 then
            Guard.fail fn "Epsilon" $"epsilon must be > 0, got {c.Epsilon}."

        Guard.finiteScalar fn "WeightDecay" c.WeightDecay

        if c.WeightDecay < 0.0 then
            Guard.fail fn "WeightDecay" $"the weight decay must be >= 0, got {c.WeightDecay}."

    let private checkArgs (fn: string) (c: OptimConfig) (w: Tensor) (dw: Tensor) =
        if isNull (box w) then
            Guard.fail fn "w" "the parameter must not be null."

        if isNull (box dw) then
            Guard.fail fn "dw" "the gradient must not be null."

        validateConfig fn c
        Guard.sameShape fn "w" w.Dims "dw" dw.Dims

    let private slot (fn: string) (state: OptimState) (name: string) (w: Tensor) =
        match state.SlotMap.TryFind name with
        | None ->
            let have = state.Slots |> Seq.map (fun kv -> kv.Key) |> String.concat ", "

            Guard.fail
                fn
                "state"
                $"the state has no slot '{name}' (it has: [{have}]); was it made by another rule's init?"
        | Some(t: Tensor) ->
            if t.Dims <> w.Dims then
                Guard.fail
                    fn
                    "state"
                    $"state slot '{name}' has shape {Guard.shapeText t.Dims}, expected the parameter's shape {Guard.shapeText w.Dims}."

            t.Data

    let private zerosLike (w: Tensor) = Tensor.Zeros(w.Dims)
    let private wrap (w: Tensor) (data: float[]) = Tensor.Wrap(Array.copy w.Dims, data)

    let private initWith (fn: string) (names: string list) (w: Tensor) =
        if isNull (box w) then
            Guard.fail fn "w" "the parameter must not be null."

        OptimState.Create(names |> List.map (fun n -> n, zerosLike w) |> Map.ofList, 0)

    /// <summary>Vanilla SGD step: w ← w − lr · dw. No slots.</summary>
    let sgdStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        checkArgs "Optim.sgd" config w dw
        let lr = config.LearningRate
        let next = Array.map2 (fun x g -> x - lr * g) w.Data dw.Data
        wrap w next, OptimState.Create(state.SlotMap, state.Step + 1)

    /// <summary>SGD with momentum: v ← μ·v − lr·dw; w ← w + v. Slot <c>"velocity"</c>.</summary>
    let momentumStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        checkArgs "Optim.momentum" config w dw
        let v = slot "Optim.momentum" state "velocity" w
        let lr, mu = config.LearningRate, config.Momentum
        let v' = Array.init v.Length (fun i -> mu * v.[i] - lr * dw.Data.[i])
        let w' = Array.init v.Length (fun i -> w.Data.[i] + v'.[i])

        wrap w w', OptimState.Create(state.SlotMap.Add("velocity", wrap w v'), state.Step + 1)

    /// <summary>
    /// Nesterov momentum (the course notes' form): v' ← μ·v − lr·dw; w ← w − μ·v + (1 + μ)·v'. Slot
    /// <c>"velocity"</c>.
    /// </summary>
    let nesterovStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        checkArgs "Optim.nesterov" config w dw
        let v = slot "Optim.nesterov" state "velocity" w
        let lr, mu = config.LearningRate, config.Momentum
        let v' = Array.init v.Length (fun i -> mu * v.[i] - lr * dw.Data.[i])

        let w' =
            Array.init v.Length (fun i -> w.Data.[i] - mu * v.[i] + (1.0 + mu) * v'.[i])

        wrap w w', OptimState.Create(state.SlotMap.Add("velocity", wrap w v'), state.Step + 1)

    /// <summary>
    /// RMSProp: cache ← d·cache + (1 − d)·dw²; w ← w − lr·dw / (√cache + ε). Slot <c>"cache"</c>.
    /// </summary>
    let rmspropStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        checkArgs "Optim.rmsprop" config w dw
        let cache = slot "Optim.rmsprop" state "cache" w
        let lr, d, eps = config.LearningRate, config.DecayRate, config.Epsilon
        let g = dw.Data

        let cache' =
            Array.init cache.Length (fun i -> d * cache.[i] + (1.0 - d) * g.[i] * g.[i])

        let w' =
            Array.init cache.Length (fun i -> w.Data.[i] - lr * g.[i] / (sqrt cache'.[i] + eps))

        wrap w w', OptimState.Create(state.SlotMap.Add("cache", wrap w cache'), state.Step + 1)

    let private adamCore (fn: string) (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) =
        checkArgs fn config w dw
        let m = slot fn state "m" w
        let v = slot fn state "v" w

        let lr, b1, b2, eps, wd =
            config.LearningRate, config.Beta1, config.Beta2, config.Epsilon, config.WeightDecay

        let t = state.Step + 1
        let g, x = dw.Data, w.Data
        let n = m.Length
        let c1 = 1.0 - Math.Pow(b1, float t)
        let c2 = 1.0 - Math.Pow(b2, float t)
        let a1, a2, lwd = 1.0 - b1, 1.0 - b2, lr * wd
        let m' = GC.AllocateUninitializedArray n
        let v' = GC.AllocateUninitializedArray n
        let w' = GC.AllocateUninitializedArray n

        // One fused pass, four lanes at a time then a scalar tail, each lane with the scalar expression's operations
        // in the same order (no fused multiply-adds): the same bits either way.
        let mutable i = 0

        if Vector256.IsHardwareAccelerated then
            let vb1, vb2, va1, va2 =
                Vector256.Create b1, Vector256.Create b2, Vector256.Create a1, Vector256.Create a2

            let vc1, vc2, vlr, veps =
                Vector256.Create c1, Vector256.Create c2, Vector256.Create lr, Vector256.Create eps

            let vlwd = Vector256.Create lwd

            while i + 4 <= n do
                let gi = Vector256.Create<float>(ReadOnlySpan<float>(g, i, 4))
                let mi = vb1 * Vector256.Create<float>(ReadOnlySpan<float>(m, i, 4)) + va1 * gi
                let vi = vb2 * Vector256.Create<float>(ReadOnlySpan<float>(v, i, 4)) + va2 * gi * gi
                let xi = Vector256.Create<float>(ReadOnlySpan<float>(x, i, 4))
                let step = vlr * (mi / vc1) / (Vector256.Sqrt(vi / vc2) + veps)
                let wi = if wd = 0.0 then xi - step else xi - step - vlwd * xi
                mi.CopyTo(m', i)
                vi.CopyTo(v', i)
                wi.CopyTo(w', i)
                i <- i + 4

        while i < n do
            let gi = g.[i]
            let mi = b1 * m.[i] + a1 * gi
            let vi = b2 * v.[i] + a2 * gi * gi
            let step = lr * (mi / c1) / (sqrt (vi / c2) + eps)
            m'.[i] <- mi
            v'.[i] <- vi

            w'.[i] <-
                if wd = 0.0 then
                    x.[i] - step
                else
                    x.[i] - step - lwd * x.[i]

            i <- i + 1

        wrap w w', OptimState.Create(state.SlotMap.Add("m", wrap w m').Add("v", wrap w v'), t)

    /// <summary>
    /// Adam with bias correction: t ← t + 1; m ← β1·m + (1 − β1)·dw; v ← β2·v + (1 − β2)·dw²;
    /// w ← w − lr·(m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε). Slots <c>"m"</c>, <c>"v"</c>; t is the state's Step.
    /// </summary>
    let adamStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        adamCore "Optim.adam" { config with WeightDecay = 0.0 } state w dw

    /// <summary>
    /// AdamW (decoupled weight decay, Loshchilov &amp; Hutter): the Adam step on dw, plus w ← w − lr·λ·w with λ the
    /// config's WeightDecay (the decay is not added to the gradient, so it does not pass through the moments).
    /// </summary>
    let adamwStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        adamCore "Optim.adamw" config state w dw

    /// <summary>
    /// A rule of your own: a name, a configuration, an init and a step of the same shape as the built-in ones.
    /// The configuration is validated (learning rate ≥ 0 and finite, …).
    /// </summary>
    let custom
        (name: string)
        (config: OptimConfig)
        (init: Tensor -> OptimState)
        (step: OptimConfig -> OptimState -> Tensor -> Tensor -> Tensor * OptimState)
        : UpdateRule =
        if String.IsNullOrWhiteSpace name then
            Guard.fail "Optim.custom" "name" "the rule needs a non-empty name."

        if isNull (box init) then
            Guard.fail "Optim.custom" "init" "init must not be null."

        if isNull (box step) then
            Guard.fail "Optim.custom" "step" "step must not be null."

        validateConfig "Optim.custom" config

        {
            Name = name
            Config = config
            Init = init
            Step = step
        }

    /// <summary>SGD with the course's default learning rate 1e-2.</summary>
    let sgd: UpdateRule = {
        Name = "sgd"
        Config = OptimConfig.Defaults
        Init = initWith "Optim.sgd" []
        Step = sgdStep
    }

    /// <summary>SGD with momentum: learning rate 1e-2, momentum 0.9; slot "velocity" starts at zeros.</summary>
    let momentum: UpdateRule = {
        Name = "sgd_momentum"
        Config = OptimConfig.Defaults
        Init = initWith "Optim.momentum" [ "velocity" ]
        Step = momentumStep
    }

    /// <summary>Nesterov momentum: learning rate 1e-2, momentum 0.9; slot "velocity" starts at zeros.</summary>
    let nesterov: UpdateRule = {
        Name = "nesterov"
        Config = OptimConfig.Defaults
        Init = initWith "Optim.nesterov" [ "velocity" ]
        Step = nesterovStep
    }

    /// <summary>RMSProp: learning rate 1e-2, decay rate 0.99, ε 1e-8; slot "cache" starts at zeros.</summary>
    let rmsprop: UpdateRule = {
        Name = "rmsprop"
        Config = OptimConfig.Defaults
        Init = initWith "Optim.rmsprop" [ "cache" ]
        Step = rmspropStep
    }

    /// <summary>Adam: learning rate 1e-3, β1 0.9, β2 0.999, ε 1e-8; slots "m", "v" start at zeros, t at 0.</summary>
    let adam: UpdateRule = {
        Name = "adam"
        Config = {
            OptimConfig.Defaults with
                LearningRate = 1e-3
        }
        Init = initWith "Optim.adam" [ "m"; "v" ]
        Step = adamStep
    }

    /// <summary>AdamW: Adam's defaults and weight decay 1e-2.</summary>
    let adamw: UpdateRule = {
        Name = "adamw"
        Config = {
            OptimConfig.Defaults with
                LearningRate = 1e-3
                WeightDecay = 1e-2
        }
        Init = initWith "Optim.adamw" [ "m"; "v" ]
        Step = adamwStep
    }

    /// <summary>The rule with another configuration (validated).</summary>
    let withConfig (config: OptimConfig) (rule: UpdateRule) =
        validateConfig "Optim.withConfig" config
        { rule with Config = config }

    /// <summary>The rule with another learning rate (≥ 0, finite).</summary>
    let withLearningRate (learningRate: float) (rule: UpdateRule) =
        let c = {
            rule.Config with
                LearningRate = learningRate
        }

        validateConfig "Optim.withLearningRate" c
        { rule with Config = c }

    /// <summary>The rule's initial state for a parameter.</summary>
    let init (rule: UpdateRule) (w: Tensor) = rule.Init w

    /// <summary>One step of the rule with its own configuration: state → w → dw → (next w, next state).</summary>
    let step (rule: UpdateRule) (state: OptimState) (w: Tensor) (dw: Tensor) = rule.Step rule.Config state w dw
