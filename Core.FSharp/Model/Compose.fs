namespace Functional.FSharp

open Functional

/// <summary>Where a layer of a composition runs: the model's parameters and state, the mode and a random key.</summary>
type LayerContext = {
    /// All the model's parameters by name; a layer reads its own (named in <c>Layer.ParamNames</c>).
    Params: Map<string, Tensor>
    /// All the model's non-trainable state by name (e.g. running_mean1); a layer reads its own.
    State: Map<string, Tensor>
    /// Train (batch statistics, dropout on) or Test.
    Mode: Mode
    /// The random key of this layer (dropout); a sequence derives one key per layer from its own.
    Rng: Rng
}

/// <summary>What a pullback returns: the gradient of the layer's input and of its parameters.</summary>
type Pulled = {
    /// The gradient with respect to the layer's input (the input's shape).
    Dx: Tensor
    /// The gradients of the layer's parameters, by parameter name (each of its parameter's shape).
    Dparams: Map<string, Tensor>
}

/// <summary>
/// One forward step of a layer: its output, the new values of the state it updates, and its pullback (the closure
/// mapping the upstream gradient, the output's shape, to the input and parameter gradients).
/// </summary>
type LayerStep = {
    /// The output.
    Out: Tensor
    /// The new values of the state entries this layer updates (empty when it has none, and in test mode).
    NewState: Map<string, Tensor>
    /// The pullback: upstream gradient (Out's shape) -> gradients of the input and of the parameters.
    Pullback: Tensor -> Pulled
}

/// <summary>
/// A layer of a composition: the names of the parameters and state it reads, and a forward pass returning its
/// output and pullback. Layers compose sequentially with <c>Compose.sequence</c>; a model is a composed layer plus a
/// loss (<c>Compose.model</c>).
/// </summary>
type Layer = {
    /// A short description (e.g. "affine W1 b1", "relu").
    Name: string
    /// The parameters the layer reads, by name.
    ParamNames: string list
    /// The non-trainable state entries the layer reads and updates, by name.
    StateNames: string list
    /// The forward pass: context -> input -> output, new state and pullback.
    Forward: LayerContext -> Tensor -> LayerStep
}

/// <summary>
/// Composition of layers. A layer's forward returns its output and a pullback; a sequence runs the forwards in order
/// and the pullbacks in reverse (backpropagation); a model adds a loss on the scores and L2 regularization.
/// </summary>
[<RequireQualifiedAccess>]
module Compose =
    let private keysText (m: Map<string, Tensor>) =
        if m.IsEmpty then
            "none"
        else
            m |> Map.keys |> String.concat ", "

    /// <summary>The parameter named <paramref name="name"/> of a context, or an ArgumentException naming it.</summary>
    let param (fn: string) (name: string) (ctx: LayerContext) : Tensor =
        match ctx.Params.TryFind name with
        | Some t -> t
        | None -> Guard.fail fn "params" $"missing parameter '{name}' (given: {keysText ctx.Params})."

    /// <summary>The state entry named <paramref name="name"/> of a context, or an ArgumentException naming it.</summary>
    let state (fn: string) (name: string) (ctx: LayerContext) : Tensor =
        match ctx.State.TryFind name with
        | Some t -> t
        | None -> Guard.fail fn "state" $"missing state entry '{name}' (given: {keysText ctx.State})."

    /// <summary>
    /// A layer without parameters or state from a forward pass returning its output and the pullback of its input.
    /// </summary>
    let stateless (name: string) (forward: Tensor -> Tensor * (Tensor -> Tensor)) : Layer = {
        Name = name
        ParamNames = []
        StateNames = []
        Forward =
            fun _ x ->
                let out, back = forward x

                {
                    Out = out
                    NewState = Map.empty
                    Pullback = fun dout -> { Dx = back dout; Dparams = Map.empty }
                }
    }

    /// <summary>
    /// The identity layer that checks its input: <paramref name="ok"/> gets the input's shape; when it is false the
    /// layer fails naming <paramref name="fn"/> and "x", with "x must be <paramref name="expected"/>, got (shape)".
    /// </summary>
    let input (fn: string) (expected: string) (ok: int[] -> bool) : Layer =
        stateless "input" (fun x ->
            if not (ok x.Dims) then
                Guard.fail fn "x" $"x must be {expected}, got {Guard.shapeText x.Dims}."

            x, id)

    /// <summary>
    /// The affine layer reading parameters <paramref name="w"/> (D, M) and <paramref name="b"/> (M,):
    /// x (N, d1, …, dk) -> x·w + b (N, M); its pullback gives dx, dw and db.
    /// </summary>
    let affine (w: string) (b: string) : Layer = {
        Name = $"affine {w} {b}"
        ParamNames = [ w; b ]
        StateNames = []
        Forward =
            fun ctx x ->
                let out, cache =
                    Affine.forward x (param "Compose.affine" w ctx) (param "Compose.affine" b ctx)

                {
                    Out = out
                    NewState = Map.empty
                    Pullback =
                        fun dout ->
                            let g = Affine.backward dout cache

                            {
                                Dx = g.Dx
                                Dparams = Map [ w, g.Dw; b, g.Db ]
                            }
                }
    }

    /// <summary>The ReLU layer: max(0, x), any shape.</summary>
    let relu: Layer =
        stateless "relu" (fun x ->
            let out, cache = Relu.forward x
            out, (fun dout -> Relu.backward dout cache))

    /// <summary>
    /// Batch normalization of x (N, D) with parameters <paramref name="gamma"/>, <paramref name="beta"/> (D,) and
    /// state <paramref name="runningMean"/>, <paramref name="runningVar"/> (D,): batch statistics in training mode
    /// (the new running statistics are the step's new state), running statistics in test mode.
    /// </summary>
    let batchNorm
        (cfg: BatchNormConfig)
        (gamma: string)
        (beta: string)
        (runningMean: string)
        (runningVar: string)
        : Layer =
        let fn = "Compose.batchNorm"

        {
            Name = $"batchnorm {gamma} {beta}"
            ParamNames = [ gamma; beta ]
            StateNames = [ runningMean; runningVar ]
            Forward =
                fun ctx x ->
                    let s: BatchNormState = {
                        RunningMean = state fn runningMean ctx
                        RunningVar = state fn runningVar ctx
                    }

                    let out, s', cache =
                        BatchNorm.forward cfg ctx.Mode s (param fn gamma ctx) (param fn beta ctx) x

                    {
                        Out = out
                        NewState =
                            if ctx.Mode = Mode.Train then
                                Map [ runningMean, s'.RunningMean; runningVar, s'.RunningVar ]
                            else
                                Map.empty
                        Pullback =
                            fun dout ->
                                let g = BatchNorm.backward dout cache

                                {
                                    Dx = g.Dx
                                    Dparams = Map [ gamma, g.Dgamma; beta, g.Dbeta ]
                                }
                    }
        }

    /// <summary>
    /// Layer normalization of x (N, D) with parameters <paramref name="gamma"/>, <paramref name="beta"/> (D,): the
    /// same in training and test mode.
    /// </summary>
    let layerNorm (eps: float) (gamma: string) (beta: string) : Layer = {
        Name = $"layernorm {gamma} {beta}"
        ParamNames = [ gamma; beta ]
        StateNames = []
        Forward =
            fun ctx x ->
                let fn = "Compose.layerNorm"
                let out, cache = LayerNorm.forward eps (param fn gamma ctx) (param fn beta ctx) x

                {
                    Out = out
                    NewState = Map.empty
                    Pullback =
                        fun dout ->
                            let g = LayerNorm.backward dout cache

                            {
                                Dx = g.Dx
                                Dparams = Map [ gamma, g.Dgamma; beta, g.Dbeta ]
                            }
                }
    }

    /// <summary>
    /// Inverted dropout keeping each unit with probability <paramref name="keepProb"/> in training mode (the mask is
    /// drawn from the layer's key), the identity in test mode.
    /// </summary>
    let dropout (keepProb: float) : Layer = {
        Name = "dropout"
        ParamNames = []
        StateNames = []
        Forward =
            fun ctx x ->
                let out, cache = Dropout.forward keepProb ctx.Mode ctx.Rng x

                {
                    Out = out
                    NewState = Map.empty
                    Pullback =
                        fun dout -> {
                            Dx = Dropout.backward dout cache
                            Dparams = Map.empty
                        }
                }
    }

    /// <summary>Gradient maps merged by name; gradients of a parameter read twice (tied weights) add up.</summary>
    let internal mergeGrads (a: Map<string, Tensor>) (b: Map<string, Tensor>) =
        b
        |> Map.fold
            (fun acc k g ->
                match Map.tryFind k acc with
                | Some h -> Map.add k (h + g) acc
                | None -> Map.add k g acc)
            a

    /// The context of the i-th layer of a sequence: the same maps and mode, the i-th key derived from the sequence's.
    let private nth (ctx: LayerContext) (i: int) (state: Map<string, Tensor>) = {
        ctx with
            State = state
            Rng = ctx.Rng.Derive i
    }

    /// <summary>
    /// Sequential composition: the layers' forwards run in order (layer i gets the key derived from the context's
    /// key and i, and sees the state updated by the layers before it); the pullback runs their pullbacks in reverse
    /// and merges the parameter gradients.
    /// </summary>
    let sequence (layers: Layer list) : Layer =
        if List.isEmpty layers then
            Guard.fail "Compose.sequence" "layers" "expected at least one layer, got none."

        {
            Name = layers |> List.map (fun l -> l.Name) |> String.concat " -> "
            ParamNames = layers |> List.collect (fun l -> l.ParamNames) |> List.distinct
            StateNames = layers |> List.collect (fun l -> l.StateNames) |> List.distinct
            Forward =
                fun ctx x ->
                    let out, newState, _, backs =
                        layers
                        |> List.fold
                            (fun (h, updated, i, backs) layer ->
                                let step = layer.Forward (nth ctx i (Map.foldBack Map.add updated ctx.State)) h

                                step.Out, Map.foldBack Map.add step.NewState updated, i + 1, step.Pullback :: backs)
                            (x, Map.empty, 0, [])

                    {
                        Out = out
                        NewState = newState
                        Pullback =
                            fun dout ->
                                backs
                                |> List.fold
                                    (fun (acc: Pulled) back ->
                                        let p = back acc.Dx

                                        {
                                            Dx = p.Dx
                                            Dparams = mergeGrads acc.Dparams p.Dparams
                                        })
                                    { Dx = dout; Dparams = Map.empty }
                    }
        }

    /// <summary>
    /// The output of every layer of a sequence (what <c>sequence layers</c> computes, step by step), paired with the
    /// layer's name: for looking at activations, or at the inputs of a ReLU or a max pool.
    /// </summary>
    let trace (layers: Layer list) (ctx: LayerContext) (x: Tensor) : (string * Tensor) list =
        layers
        |> List.fold
            (fun (h, updated, i, outs) layer ->
                let step = layer.Forward (nth ctx i (Map.foldBack Map.add updated ctx.State)) h
                step.Out, Map.foldBack Map.add step.NewState updated, i + 1, (layer.Name, step.Out) :: outs)
            (x, Map.empty, 0, [])
        |> fun (_, _, _, outs) -> List.rev outs

    /// <summary>
    /// L2 regularization of the named parameters: 0.5 · reg · Σ‖w‖² and the gradients reg · w, by name.
    /// </summary>
    let l2 (reg: float) (names: string list) (parameters: Map<string, Tensor>) : float * Map<string, Tensor> =
        names
        |> List.fold
            (fun (loss, grads) name ->
                match parameters.TryFind name with
                | Some w ->
                    let l, g = Loss.l2 reg w
                    loss + l, Map.add name g grads
                | None -> Guard.fail "Compose.l2" "names" $"missing parameter '{name}' (given: {keysText parameters}).")
            (0.0, Map.empty)

    let private checkNames
        (fn: string)
        (arg: string)
        (what: string)
        (needed: string list)
        (given: Map<string, Tensor>)
        =
        for n in needed do
            if not (given.ContainsKey n) then
                Guard.fail fn arg $"missing {what} '{n}' (given: {keysText given})."

    /// <summary>
    /// A model from a composed body and a loss on its scores. <c>Scores</c> runs the body in test mode;
    /// <c>Loss</c> runs it in train mode, applies <paramref name="loss"/> (e.g. <c>Loss.softmax</c>) to the scores,
    /// runs the pullback, and adds 0.5 · reg · ‖w‖² (and reg · w to the gradient) for each parameter named in
    /// <paramref name="regularized"/>. The gradients are named like the parameters; the returned state is the given
    /// state updated by the body (e.g. batchnorm running statistics).
    /// </summary>
    let model
        (name: string)
        (parameters: Map<string, Tensor>)
        (state: Map<string, Tensor>)
        (body: Layer)
        (loss: Tensor -> int[] -> LossResult)
        (reg: float)
        (regularized: string list)
        : Model =
        let fn = $"Compose.model ({name})"
        Guard.finiteScalar fn "reg" reg

        if reg < 0.0 then
            Guard.fail fn "reg" $"reg must be >= 0, got {reg}."

        checkNames fn "parameters" "parameter" body.ParamNames parameters
        checkNames fn "parameters" "parameter" regularized parameters
        checkNames fn "state" "state entry" body.StateNames state

        let run (p: Map<string, Tensor>) (s: Map<string, Tensor>) (mode: Mode) (rng: Rng) (x: Tensor) =
            if isNull (box x) then
                Guard.fail fn "x" "x must not be null."

            checkNames fn "params" "parameter" body.ParamNames p
            checkNames fn "state" "state entry" body.StateNames s

            body.Forward
                {
                    Params = p
                    State = s
                    Mode = mode
                    Rng = rng
                }
                x

        {
            Name = name
            Params = parameters
            State = state
            Scores = fun p s x -> (run p s Mode.Test (Rng.create 0L) x).Out
            Loss =
                fun p s rng x y ->
                    let step = run p s Mode.Train rng x
                    let data = loss step.Out y
                    let pulled = step.Pullback data.Dscores
                    let regLoss, regGrads = if reg = 0.0 then 0.0, Map.empty else l2 reg regularized p

                    {
                        Loss = data.Loss + regLoss
                        Grads = mergeGrads pulled.Dparams regGrads
                        State = Map.foldBack Map.add step.NewState s
                    }
        }
