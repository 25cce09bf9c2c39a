/// Vector lanes against the scalar formula, element by element: every kernel with Vector256 lanes and a scalar tail
/// (the update rules, ReLU forward and backward, batch normalization's row loops, 2×2 max pooling, tensor
/// arithmetic) equals the plain formula at EVERY element, for sizes 1–40 that are not multiples of the vector width
/// (4 doubles), with gradients down to 1e-6 (RMSProp and Adam near their ε).
module Functional.Properties.InputClassLanesProperties

open System
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators
open Functional.Properties.InputClass

/// Sizes 1–40, none a multiple of 4: every size has a scalar tail, and sizes above 4 have lanes too.
let private sizes = casesWhere [ "D", 1, 40 ] (fun c -> c.["D"] % 4 <> 0)

/// A length D that is not a multiple of the 4 lanes (sizes). The argument of the properties below (LaneArbitraries).
type LaneCase = LaneCase of Case

/// The Arbitrary instances of this file's cases, for [<Property(Arbitrary = [| typeof<LaneArbitraries> |])>].
type LaneArbitraries =
    static member Lanes() =
        sizes |> Arb.convert LaneCase (fun (LaneCase c) -> c)

/// Gradients of three magnitudes mixed within one tensor: O(1), about 1e-4 and about 1e-6 (where RMSProp's and
/// Adam's √cache is within a factor 10–100 of ε = 1e-8, so ε's placement changes the step).
let private gradients (rng: Rng) (n: int) =
    let g = (normal (rng.Derive 0) [| n |]).ToArray()
    let u = (rng.Derive 1).Uniforms n

    Array.init n (fun i ->
        let scale =
            if u.[i] < 1.0 / 3.0 then 1.0
            elif u.[i] < 2.0 / 3.0 then 1e-4
            else 1e-6

        g.[i] * scale)

/// A random state for a rule: velocity of either sign, caches and second moments ≥ 0 of the gradients' squared
/// magnitudes, a first moment of the gradients' magnitude, and a step count 0–5.
let private stateFor (rule: UpdateRule) (rng: Rng) (g: float[]) =
    let n = g.Length
    let t = int ((rng.Derive 10).Uniforms(1).[0] * 6.0)
    let noise k = (rng.Derive(20 + k)).Uniforms n

    let v () =
        Array.mapi (fun i (u: float) -> (0.5 + u) * g.[i] * g.[i]) (noise 0)

    let m () =
        Array.mapi (fun i (u: float) -> (u - 0.3) * g.[i]) (noise 1)

    let vec (a: float[]) = Tensor.ofArray [| n |] a

    let slots =
        match rule.Name with
        | "sgd" -> []
        | "sgd_momentum"
        | "nesterov" -> [ "velocity", vec (m ()) ]
        | "rmsprop" -> [ "cache", vec (v ()) ]
        | _ -> [ "m", vec (m ()); "v", vec (v ()) ]

    OptimState.Create(Map slots, (if rule.Name.StartsWith "adam" then t else 0))

/// The plain scalar formula of each rule at one element: (w', slots') from (w, g, slots, t + 1).
let private formula (rule: UpdateRule) (c: OptimConfig) (t: int) (w: float) (g: float) (slot: string -> float) =
    match rule.Name with
    | "sgd" -> w - c.LearningRate * g, []
    | "sgd_momentum" ->
        let v' = c.Momentum * slot "velocity" - c.LearningRate * g
        w + v', [ "velocity", v' ]
    | "nesterov" ->
        let v = slot "velocity"
        let v' = c.Momentum * v - c.LearningRate * g
        w - c.Momentum * v + (1.0 + c.Momentum) * v', [ "velocity", v' ]
    | "rmsprop" ->
        let cache' = c.DecayRate * slot "cache" + (1.0 - c.DecayRate) * g * g
        w - c.LearningRate * g / (Math.Sqrt cache' + c.Epsilon), [ "cache", cache' ]
    | name ->
        let m' = c.Beta1 * slot "m" + (1.0 - c.Beta1) * g
        let v' = c.Beta2 * slot "v" + (1.0 - c.Beta2) * g * g
        let mhat = m' / (1.0 - Math.Pow(c.Beta1, float t))
        let vhat = v' / (1.0 - Math.Pow(c.Beta2, float t))

        let decay =
            if name = "adamw" then
                c.LearningRate * c.WeightDecay * w
            else
                0.0

        w - c.LearningRate * mhat / (Math.Sqrt vhat + c.Epsilon) - decay, [ "m", m'; "v", v' ]

/// Every rule, AdamW with a weight decay drawn in [1e-3, 0.5].
let private rulesFor (rng: Rng) =
    let wd = uniform rng 1e-3 0.5

    [
        Optim.sgd
        Optim.momentum
        Optim.nesterov
        Optim.rmsprop
        Optim.adam
        Optim.adamw
        |> Optim.withConfig {
            Optim.adamw.Config with
                WeightDecay = wd
                LearningRate = 1e-2
        }
    ]

[<Property(MaxTest = 100, Arbitrary = [| typeof<LaneArbitraries> |])>]
let ``every update rule equals its scalar formula at every element, lanes and tail, gradients down to 1e-6``
    (LaneCase c)
    =
    let n = c.["D"]
    let w = (normal (key c 0) [| n |]).ToArray()
    let g = gradients (key c 1) n

    for rule in rulesFor (key c 3) do
        let state = stateFor rule (key c 2) g

        let w', state' =
            Optim.step rule state (Tensor.ofArray [| n |] w) (Tensor.ofArray [| n |] g)

        let t = state.Step + 1
        let case = $"{c} {rule.Name}"
        Prop.ensure (state'.Step = state.Step + 1) (fun () -> $"{case}: step {state'.Step}, expected {t}")

        let expected =
            Array.init n (fun i -> formula rule rule.Config t w.[i] g.[i] (fun s -> (state.Slot s).[i]))
        // Each formula has a handful of operations; the kernels may order them differently (1e-13 relative).
        within $"{case} w'" 1e-13 1e-300 (Array.map fst expected) (Tensor.toArray w')

        for name, _ in snd expected.[0] do
            let slot' =
                Array.map (fun (_, slots) -> slots |> List.find (fun (s, _) -> s = name) |> snd) expected

            within $"{case} {name}'" 1e-13 1e-300 slot' (Tensor.toArray (state'.Slot name))

[<Property(MaxTest = 100, Arbitrary = [| typeof<LaneArbitraries> |])>]
let ``rmsprop's step with gradients around 1e-4 has epsilon outside the square root`` (LaneCase c) =
    // The thin kill the issue names: ε = 1e-8 against √cache ≈ 1e-5 (cache = (1 − 0.99)·g² for g ≈ 1e-4 from a zero
    // cache): ε outside gives a step of lr·g/(√cache + ε) ≈ 10·lr·sign(g); inside, lr·g/√(cache + ε) ≈ 1e-2 times that.
    let n = c.["D"]
    let g = (normal (key c 0) [| n |] * 1e-4).ToArray()
    let rule = Optim.rmsprop

    let w', _ =
        Optim.step rule (Optim.init rule (Tensor.zeros [| n |])) (Tensor.zeros [| n |]) (Tensor.ofArray [| n |] g)

    let cfg = rule.Config

    let expected =
        g
        |> Array.map (fun gi -> -cfg.LearningRate * gi / (sqrt ((1.0 - cfg.DecayRate) * gi * gi) + cfg.Epsilon))

    within (string c) 1e-12 0.0 expected (Tensor.toArray w')

/// Inputs for the ReLU kernels: normal values with exact zeros, −0 and NaN sprinkled in.
let private reluInput (rng: Rng) (n: int) =
    let x = (normal (rng.Derive 0) [| n |]).ToArray()
    let u = (rng.Derive 1).Uniforms n

    Array.init n (fun i ->
        if u.[i] < 0.05 then 0.0
        elif u.[i] < 0.1 then -0.0
        elif u.[i] < 0.13 then nan
        else x.[i])

[<Property(MaxTest = 100, Arbitrary = [| typeof<LaneArbitraries> |])>]
let ``relu forward and backward equal the scalar rule at every element`` (LaneCase c) =
    let n = c.["D"]
    let x = reluInput (key c 0) n
    let dout = (normal (key c 1) [| n |]).ToArray()
    let out, cache = Relu.forward (Tensor.ofArray [| n |] x)
    let dx = Relu.backward (Tensor.ofArray [| n |] dout) cache
    // The library's rule: keep where not (x ≤ 0), so NaN passes (PyTorch's relu and threshold_backward).
    let keep v = not (v <= 0.0)
    within $"{c} out" 0.0 0.0 (x |> Array.map (fun v -> if keep v then v else 0.0)) (Tensor.toArray out)
    within $"{c} dx" 0.0 0.0 (Array.map2 (fun v d -> if keep v then d else 0.0) x dout) (Tensor.toArray dx)

/// Batch normalization by the textbook over x viewed as (N, C, S), channel by channel (two-pass statistics over
/// (n, s)): out, and the closed-form backward dx = γ/σ · (dout − mean(dout) − xhat · mean(dout · xhat)),
/// dgamma = Σ dout · xhat, dbeta = Σ dout.
let private batchNormNaive (eps: float) (n: int) (c: int) (s: int) x (gamma: float[]) (beta: float[]) dout =
    let out, dx = Array.zeroCreate (n * c * s), Array.zeroCreate (n * c * s)
    let dgamma, dbeta = Array.zeroCreate c, Array.zeroCreate c

    for j in 0 .. c - 1 do
        let at = Array.init (n * s) (fun q -> (q / s * c + j) * s + q % s)
        let col = at |> Array.map (fun q -> (x: float[]).[q])
        let mu = Array.average col
        let var = col |> Array.averageBy (fun v -> (v - mu) * (v - mu))
        let is = 1.0 / sqrt (var + eps)
        let xhat = col |> Array.map (fun v -> (v - mu) * is)
        let dcol = at |> Array.map (fun q -> (dout: float[]).[q])
        dbeta.[j] <- Array.sum dcol
        dgamma.[j] <- Array.fold2 (fun acc a b -> acc + a * b) 0.0 dcol xhat
        let m = float (n * s)
        let mdb, mdg = dbeta.[j] / m, dgamma.[j] / m

        at
        |> Array.iteri (fun q p ->
            out.[p] <- gamma.[j] * xhat.[q] + beta.[j]
            dx.[p] <- gamma.[j] * is * (dcol.[q] - mdb - xhat.[q] * mdg))

    out, dx, dgamma, dbeta

/// Checks batch normalization (training mode) on x (N, C) when s = 1 (BatchNorm.forward, backwardAlt), on
/// x (N, C, 1, S) otherwise (SpatialBatchNorm), against batchNormNaive, element by element.
let internal checkBatchNorm (case: string) (rng: Rng) (n: int) (c: int) (s: int) =
    let shape = if s = 1 then [| n; c |] else [| n; c; 1; s |]
    let x = (normal (rng.Derive 0) shape * 2.0 + 0.5).ToArray()
    let gamma = (normal (rng.Derive 1) [| c |]).ToArray()
    let beta = (normal (rng.Derive 2) [| c |]).ToArray()
    let dout = (normal (rng.Derive 3) shape).ToArray()
    let cfg = BatchNormConfig.Default
    let t (a: float[]) = Tensor.ofArray shape a
    let vec (a: float[]) = Tensor.ofArray [| c |] a

    let out, g =
        if s = 1 then
            let out, _, cache =
                BatchNorm.forward cfg Mode.Train (BatchNormState.Initial c) (vec gamma) (vec beta) (t x)

            out, BatchNorm.backwardAlt (t dout) cache
        else
            let out, _, cache =
                SpatialBatchNorm.forward cfg Mode.Train (BatchNormState.Initial c) (vec gamma) (vec beta) (t x)

            out, SpatialBatchNorm.backward (t dout) cache

    let out', dx', dgamma', dbeta' = batchNormNaive cfg.Eps n c s x gamma beta dout
    // Sums of N·S terms in another order: relative error ~N·S·1e-16 on values of O(1)…O(N·S).
    within $"{case} out" 1e-10 1e-12 out' (Tensor.toArray out)
    within $"{case} dbeta" 1e-10 1e-10 dbeta' (Tensor.toArray g.Dbeta)
    within $"{case} dgamma" 1e-10 1e-10 dgamma' (Tensor.toArray g.Dgamma)
    within $"{case} dx" 1e-9 1e-11 dx' (Tensor.toArray g.Dx)

[<Property(MaxTest = 100)>]
let ``batchnorm's fused row loops equal the textbook formulas at every feature`` () =
    Prop.forAll (casesWhere [ "N", 2, 6; "D", 1, 40 ] (fun c -> c.["D"] % 4 <> 0)) (fun c ->
        checkBatchNorm (string c) (key c 0) c.["N"] c.["D"] 1)

[<Property(MaxTest = 100)>]
let ``2x2 max pooling equals the window maximum and routes the gradient to its first arg-max, lanes and tail`` () =
    // Wo = W/2 from 1 to 20, not a multiple of 4 (the AVX2 kernel does 4 windows a step); ties drawn on purpose.
    Prop.forAll (casesWhere [ "H", 1, 3; "Wo", 1, 20 ] (fun c -> c.["Wo"] % 4 <> 0)) (fun c ->
        let h, w = 2 * c.["H"], 2 * c.["Wo"]

        let x =
            (normal (key c 0) [| 1; 2; h; w |]).ToArray()
            |> Array.map (fun v -> Math.Round(v * 2.0) / 2.0)

        let dout = normal (key c 1) [| 1; 2; h / 2; w / 2 |]

        let cfg = {
            PoolHeight = 2
            PoolWidth = 2
            StrideH = 2
            StrideW = 2
        }

        let out, cache = MaxPool.forward cfg (Tensor.ofArray [| 1; 2; h; w |] x)
        let dx = MaxPool.backward dout cache
        let ho, wo = h / 2, w / 2
        let expOut = Array.zeroCreate (2 * ho * wo)
        let expDx = Array.zeroCreate (2 * h * w)

        for p in 0..1 do
            for i in 0 .. ho - 1 do
                for j in 0 .. wo - 1 do
                    let at = [
                        for a in 0..1 do
                            for b in 0..1 -> (p * h + 2 * i + a) * w + 2 * j + b
                    ]

                    let best = at |> List.maxBy (fun q -> x.[q]) // the first maximal element in window order
                    let o = (p * ho + i) * wo + j
                    expOut.[o] <- x.[best]
                    expDx.[best] <- (Tensor.toArray dout).[o]

        within $"{c} out" 0.0 0.0 expOut (Tensor.toArray out)
        within $"{c} dx" 0.0 0.0 expDx (Tensor.toArray dx))

[<Property(MaxTest = 100, Arbitrary = [| typeof<LaneArbitraries> |])>]
let ``same-shape tensor arithmetic equals the scalar operation at every element`` (LaneCase c) =
    let n = c.["D"]
    let a, b = normal (key c 0) [| n |], normal (key c 1) [| n |] + 3.0
    let s = (key c 2).Uniforms(1).[0] * 4.0 - 2.0
    let ad, bd = a.ToArray(), b.ToArray()

    for name, actual, f in
        [
            "a + b", a + b, (fun i -> ad.[i] + bd.[i])
            "a - b", a - b, (fun i -> ad.[i] - bd.[i])
            "a * b", a * b, (fun i -> ad.[i] * bd.[i])
            "a / b", a / b, (fun i -> ad.[i] / bd.[i])
            "a + s", a + s, (fun i -> ad.[i] + s)
            "a - s", a - s, (fun i -> ad.[i] - s)
            "a * s", a * s, (fun i -> ad.[i] * s)
            "a / s", a / s, (fun i -> ad.[i] / s)
            "s + a", s + a, (fun i -> s + ad.[i])
            "s - a", s - a, (fun i -> s - ad.[i])
            "s * a", s * a, (fun i -> s * ad.[i])
            "s / b", s / b, (fun i -> s / bd.[i])
            "-a", -a, (fun i -> -ad.[i])
        ] do
        within $"{c} {name}" 0.0 0.0 (Array.init n f) (Tensor.toArray actual)
