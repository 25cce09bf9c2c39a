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
        Guard.notNull "OptimState.Create" "slots" slots

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
    /// An update rule: a name, a configuration, an <c>Init</c> (parameter → state) and a pure step (state, parameter,
    /// gradient → new parameter, new state; run it with <see cref="M:Functional.FSharp.Optim.step"/>). A rule is made
    /// only by <c>Optim</c>'s constructors — the built-in rules with the course's defaults
    /// (<see cref="M:Functional.FSharp.Optim.sgd"/>, …), <c>Optim.withConfig</c>, <c>Optim.withLearningRate</c> and
    /// <c>Optim.custom</c>, which validate the configuration and throw <c>ArgumentException</c> naming the
    /// constructor, the field and its value — so every rule holds a valid configuration and a step never checks it
    /// again: a step checks only its own inputs (w, dw, the state).
    /// </summary>
    [<NoComparison; NoEquality>]
    type UpdateRule = internal {
        name: string
        config: OptimConfig
        init: Tensor -> OptimState
        /// The step over a configuration that is already valid: the rule's own, or the Solver's copy of it
        /// with the decayed learning rate (a finite rate >= 0, which the Solver checks).
        step: OptimConfig -> OptimState -> Tensor -> Tensor -> Tensor * OptimState
    } with

        /// <summary>The rule's name (stored in checkpoints and checked when resuming).</summary>
        member r.Name = r.name

        /// <summary>
        /// The configuration, valid (checked when the rule was made); the solver starts from it and decays its
        /// <c>LearningRate</c> once per epoch.
        /// </summary>
        member r.Config = r.config

        /// <summary>The initial state for a parameter: w → state (zeros of w's shape in each slot, step 0).</summary>
        member r.Init = r.init

    /// <summary>
    /// The state of a built-in rule for one parameter, by type rather than by slot name (the course's names are
    /// what an <c>OptimState</c>, the solver and checkpoints keep): each tensor has the parameter's shape. Read a
    /// state with <see cref="M:Functional.FSharp.Optim.slots"/>, make one with
    /// <see cref="M:Functional.FSharp.Optim.ofSlots"/>; the step count (Adam's t) is the state's <c>Step</c>.
    /// </summary>
    [<NoComparison; NoEquality>]
    type OptimSlots =
        /// <summary>Plain SGD (<c>sgd</c>): no tensors.</summary>
        | NoSlots
        /// <summary>SGD with momentum (<c>sgd_momentum</c>) and Nesterov momentum: the velocity, slot "velocity".</summary>
        | Velocity of velocity: Tensor
        /// <summary>RMSProp: the moving average of squared gradients, slot "cache".</summary>
        | Cache of cache: Tensor
        /// <summary>Adam and AdamW: the first moment m and the second moment v, slots "m" and "v".</summary>
        | Moments of m: Tensor * v: Tensor

/// <summary>
/// The update rules of the course (SGD, SGD with momentum, RMSProp, Adam) and two more (Nesterov momentum, AdamW),
/// as pure steps over explicit state.
/// </summary>
[<RequireQualifiedAccess>]
module Optim =
    /// A learning rate is finite and >= 0.
    let internal checkLearningRate (fn: string) (learningRate: float) =
        Guard.finiteScalar fn "LearningRate" learningRate

        if learningRate < 0.0 then
            Guard.fail fn "LearningRate" $"the learning rate must be >= 0, got {learningRate}."

    let private unit01 (fn: string) (arg: string) (v: float) =
        Guard.finiteScalar fn arg v

        if v < 0.0 || v >= 1.0 then
            Guard.fail fn arg $"{arg} must be in [0, 1), got {v}."

    /// <summary>
    /// Checks every field of a configuration (each rule reads some of them; the others keep valid defaults); fails
    /// naming the constructor <paramref name="fn"/>, the field and its value. Called only where a rule is made.
    /// </summary>
    let private validateConfig (fn: string) (c: OptimConfig) =
        checkLearningRate fn c.LearningRate

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

    /// The checks of a step's own inputs (the configuration was checked when the rule was made).
    let private checkArgs (fn: string) (state: OptimState) (w: Tensor) (dw: Tensor) =
        Guard.notNull fn "state" state

        Guard.notNull fn "w" w

        Guard.notNull fn "dw" dw

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
        Guard.notNull fn "w" w

        OptimState.Create(names |> List.map (fun n -> n, zerosLike w) |> Map.ofList, 0)

    /// <summary>Vanilla SGD step: w ← w − lr · dw. No slots.</summary>
    let private sgdStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        checkArgs "Optim.sgd" state w dw
        let lr = config.LearningRate
        let next = Array.map2 (fun x g -> x - lr * g) w.Data dw.Data
        wrap w next, OptimState.Create(state.SlotMap, state.Step + 1)

    /// <summary>SGD with momentum: v ← μ·v − lr·dw; w ← w + v. Slot <c>"velocity"</c>.</summary>
    let private momentumStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        checkArgs "Optim.momentum" state w dw
        let v = slot "Optim.momentum" state "velocity" w
        let lr, mu = config.LearningRate, config.Momentum
        let v' = Array.init v.Length (fun i -> mu * v.[i] - lr * dw.Data.[i])
        let w' = Array.init v.Length (fun i -> w.Data.[i] + v'.[i])

        wrap w w', OptimState.Create(state.SlotMap.Add("velocity", wrap w v'), state.Step + 1)

    /// <summary>
    /// Nesterov momentum (the course notes' form): v' ← μ·v − lr·dw; w ← w − μ·v + (1 + μ)·v'. Slot
    /// <c>"velocity"</c>.
    /// </summary>
    let private nesterovStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        checkArgs "Optim.nesterov" state w dw
        let v = slot "Optim.nesterov" state "velocity" w
        let lr, mu = config.LearningRate, config.Momentum
        let v' = Array.init v.Length (fun i -> mu * v.[i] - lr * dw.Data.[i])

        let w' =
            Array.init v.Length (fun i -> w.Data.[i] - mu * v.[i] + (1.0 + mu) * v'.[i])

        wrap w w', OptimState.Create(state.SlotMap.Add("velocity", wrap w v'), state.Step + 1)

    /// <summary>
    /// RMSProp: cache ← d·cache + (1 − d)·dw²; w ← w − lr·dw / (√cache + ε). Slot <c>"cache"</c>.
    /// </summary>
    let private rmspropStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        checkArgs "Optim.rmsprop" state w dw
        let cache = slot "Optim.rmsprop" state "cache" w
        let lr, d, eps = config.LearningRate, config.DecayRate, config.Epsilon
        let g = dw.Data

        let cache' =
            Array.init cache.Length (fun i -> d * cache.[i] + (1.0 - d) * g.[i] * g.[i])

        let w' =
            Array.init cache.Length (fun i -> w.Data.[i] - lr * g.[i] / (sqrt cache'.[i] + eps))

        wrap w w', OptimState.Create(state.SlotMap.Add("cache", wrap w cache'), state.Step + 1)

    let private adamCore (fn: string) (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) =
        checkArgs fn state w dw
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
    let private adamStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        adamCore "Optim.adam" { config with WeightDecay = 0.0 } state w dw

    /// <summary>
    /// AdamW (decoupled weight decay, Loshchilov &amp; Hutter): the Adam step on dw, plus w ← w − lr·λ·w with λ the
    /// config's WeightDecay (the decay is not added to the gradient, so it does not pass through the moments).
    /// </summary>
    let private adamwStep (config: OptimConfig) (state: OptimState) (w: Tensor) (dw: Tensor) : Tensor * OptimState =
        adamCore "Optim.adamw" config state w dw

    /// <summary>
    /// A rule of your own: a name, a configuration (validated here, once: learning rate finite and ≥ 0, momentum,
    /// decay rate, β1 and β2 in [0, 1), ε finite and &gt; 0, weight decay finite and ≥ 0), an init and a step of the
    /// built-in ones' shape: config → state → w → dw → (next w, next state). The step receives this configuration,
    /// or the solver's copy of it with the decayed learning rate, on every call; it is always valid.
    /// </summary>
    /// <exception cref="T:System.ArgumentException">The name is empty or a field of the configuration is out of
    /// range ("Optim.custom: Momentum must be in [0, 1), got 1.").</exception>
    let custom
        (name: string)
        (config: OptimConfig)
        (init: Tensor -> OptimState)
        (step: OptimConfig -> OptimState -> Tensor -> Tensor -> Tensor * OptimState)
        : UpdateRule =
        if String.IsNullOrWhiteSpace name then
            Guard.fail "Optim.custom" "name" "the rule needs a non-empty name."

        Guard.notNull "Optim.custom" "init" init

        Guard.notNull "Optim.custom" "step" step

        validateConfig "Optim.custom" config

        {
            name = name
            config = config
            init = init
            step = step
        }

    /// <summary>SGD (the course's <c>sgd</c>) with the course's default learning rate 1e-2.</summary>
    let sgd: UpdateRule = {
        name = "sgd"
        config = OptimConfig.Defaults
        init = initWith "Optim.sgd" []
        step = sgdStep
    }

    /// <summary>SGD with momentum (<c>sgd_momentum</c>): learning rate 1e-2, momentum 0.9; slot "velocity" starts at zeros.</summary>
    let momentum: UpdateRule = {
        name = "sgd_momentum"
        config = OptimConfig.Defaults
        init = initWith "Optim.momentum" [ "velocity" ]
        step = momentumStep
    }

    /// <summary>Nesterov momentum: learning rate 1e-2, momentum 0.9; slot "velocity" starts at zeros.</summary>
    let nesterov: UpdateRule = {
        name = "nesterov"
        config = OptimConfig.Defaults
        init = initWith "Optim.nesterov" [ "velocity" ]
        step = nesterovStep
    }

    /// <summary>RMSProp: learning rate 1e-2, decay rate 0.99, ε 1e-8; slot "cache" starts at zeros.</summary>
    let rmsprop: UpdateRule = {
        name = "rmsprop"
        config = OptimConfig.Defaults
        init = initWith "Optim.rmsprop" [ "cache" ]
        step = rmspropStep
    }

    /// <summary>Adam: learning rate 1e-3, β1 0.9, β2 0.999, ε 1e-8; slots "m", "v" start at zeros, t at 0.</summary>
    let adam: UpdateRule = {
        name = "adam"
        config = {
            OptimConfig.Defaults with
                LearningRate = 1e-3
        }
        init = initWith "Optim.adam" [ "m"; "v" ]
        step = adamStep
    }

    /// <summary>AdamW: Adam's defaults and weight decay 1e-2.</summary>
    let adamw: UpdateRule = {
        name = "adamw"
        config = {
            OptimConfig.Defaults with
                LearningRate = 1e-3
                WeightDecay = 1e-2
        }
        init = initWith "Optim.adamw" [ "m"; "v" ]
        step = adamwStep
    }

    /// <summary>
    /// The rule with another configuration, validated here (the smart constructor of a configured rule:
    /// <c>Optim.adam |> Optim.withConfig { Optim.adam.Config with Beta2 = 0.99 }</c>).
    /// </summary>
    /// <exception cref="T:System.ArgumentException">A field is out of range; the message names
    /// "Optim.withConfig", the field and its value.</exception>
    let withConfig (config: OptimConfig) (rule: UpdateRule) =
        validateConfig "Optim.withConfig" config
        { rule with config = config }

    /// <summary>The rule with another learning rate (finite, ≥ 0; checked here).</summary>
    /// <exception cref="T:System.ArgumentException">The learning rate is negative, NaN or ±∞.</exception>
    let withLearningRate (learningRate: float) (rule: UpdateRule) =
        checkLearningRate "Optim.withLearningRate" learningRate

        {
            rule with
                config = {
                    rule.config with
                        LearningRate = learningRate
                }
        }

    /// <summary>The rule's initial state for a parameter.</summary>
    let init (rule: UpdateRule) (w: Tensor) = rule.init w

    /// <summary>
    /// A built-in rule's state by type: <c>NoSlots</c> (sgd), <c>Velocity v</c> (sgd_momentum, nesterov),
    /// <c>Cache c</c> (rmsprop), <c>Moments (m, v)</c> (adam, adamw). The step count stays the state's <c>Step</c>.
    /// </summary>
    /// <exception cref="T:System.ArgumentException">The state's slots are not a built-in rule's (e.g. a custom
    /// rule's); the message names the slots it has.</exception>
    let slots (state: OptimState) : OptimSlots =
        Guard.notNull "Optim.slots" "state" state
        let named = state.SlotMap

        match named |> Map.toList |> List.map fst with
        | [] -> NoSlots
        | [ "velocity" ] -> Velocity named.["velocity"]
        | [ "cache" ] -> Cache named.["cache"]
        | [ "m"; "v" ] -> Moments(named.["m"], named.["v"])
        | names ->
            let have = String.concat ", " names

            Guard.fail
                "Optim.slots"
                "state"
                $"the slots [{have}] are not a built-in rule's (none, [velocity], [cache] or [m, v])."

    /// <summary>
    /// The <c>OptimState</c> of a built-in rule from its typed slots and the number of steps already taken (Adam's t
    /// before its next step): e.g. <c>Optim.ofSlots (Moments(m, v)) 5</c> starts Adam from known moments.
    /// </summary>
    /// <exception cref="T:System.ArgumentException">A tensor is null or <paramref name="stepsTaken"/> is negative.</exception>
    let ofSlots (slots: OptimSlots) (stepsTaken: int) : OptimState =
        let named =
            match slots with
            | NoSlots -> []
            | Velocity v -> [ "velocity", v ]
            | Cache c -> [ "cache", c ]
            | Moments(m, v) -> [ "m", m; "v", v ]

        for name, t in named do
            Guard.notNull "Optim.ofSlots" name t

        Guard.nonNegative "Optim.ofSlots" "stepsTaken" stepsTaken
        OptimState.Create(Map.ofList named, stepsTaken)

    /// <summary>
    /// One step of the rule with its own configuration: state → w → dw → (next w, next state). Checks only the
    /// step's inputs (w and dw of one shape, a state of this rule with slots of w's shape); the configuration was
    /// checked when the rule was made.
    /// </summary>
    let step (rule: UpdateRule) (state: OptimState) (w: Tensor) (dw: Tensor) = rule.step rule.config state w dw
