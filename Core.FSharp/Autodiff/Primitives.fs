namespace Functional.FSharp

open System
open Microsoft.FSharp.Reflection
open Functional

/// Reads the gradients out of a layer's backward result: a Tensor (one differentiable input) or a record of named
/// gradients whose fields are "D" + the input's name (Dx, Dw, Db, Dgamma, Dbeta, Dprev_h, …; case and underscores
/// ignored). The record reader is built once per record type.
type internal GradFields<'g> private () =
    static let t = typeof<'g>

    static let fields =
        if FSharpType.IsRecord(t, true) then
            FSharpType.GetRecordFields(t, true) |> Array.map (fun p -> p.Name)
        else
            [||]

    static let reader =
        if fields.Length > 0 then
            FSharpValue.PreComputeRecordReader(t, true)
        else
            fun _ -> [||]

    static let key (s: string) = s.Replace("_", "").ToLowerInvariant()

    /// The positions of the gradient fields of the named inputs; fails (a programming error in a lifting) when the
    /// backward's result has no field for one of them.
    static member Positions(op: string, names: string[]) : int[] =
        if t = typeof<Tensor> then
            if names.Length <> 1 then
                invalidOp
                    $"Primitive.lift ({op}): the backward returns one Tensor, so exactly one input can be differentiable, got {names.Length}."

            [| 0 |]
        else
            names
            |> Array.map (fun n ->
                let i = fields |> Array.tryFindIndex (fun f -> key f = key ("D" + n))

                match i with
                | Some i -> i
                | None ->
                    let known = String.Join(", ", fields)

                    invalidOp
                        $"Primitive.lift ({op}): the backward's {t.Name} has no field D{n} for the input '{n}' (fields: {known}).")

    /// The gradients at the given positions of a backward result.
    static member Read(positions: int[], g: 'g) : Tensor[] =
        if t = typeof<Tensor> then
            [| unbox<Tensor>(box g) |]
        else
            match box g with
            | null -> invalidOp "Primitive.lift: the backward returned null."
            | o ->
                let all = reader o
                positions |> Array.map (fun i -> unbox<Tensor> all.[i])

/// <summary>
/// The one helper that lifts a course-shaped layer pair into a differentiable primitive (JAX's custom-VJP pattern):
/// the forward runs on the inputs' primal tensors and returns the output and its cache (plus, for <c>liftWithAux</c>,
/// an auxiliary result such as new running statistics); the pullback is the hand-written backward, whose named
/// gradients (Dx, Dw, …) are matched to the inputs by name. Non-differentiable inputs (configurations, modes, keys,
/// labels, integer indices) are captured by the forward closure.
/// </summary>
/// <remarks>
/// Lifting a new layer is one line. The recurrent step of the course,
/// <c>rnn_step_forward(x, prev_h, Wx, Wh, b)</c> with grads <c>{Dx; Dprev_h; DWx; DWh; Db}</c>, becomes
/// <c>Primitive.lift "rnn step" [ "x", x; "prev_h", h; "Wx", wx; "Wh", wh; "b", b ] (fun t -> Rnn.stepForward t.[0] t.[1] t.[2] t.[3] t.[4]) Rnn.stepBackward</c>;
/// a word embedding with integer indices <c>idx</c> and grads <c>{Dw}</c> becomes
/// <c>Primitive.lift "embedding" [ "w", w ] (fun t -> Embedding.forward idx t.[0]) Embedding.backward</c>.
/// </remarks>
[<RequireQualifiedAccess>]
module Primitive =
    /// <summary>
    /// A primitive with an auxiliary result: <paramref name="inputs"/> are (name, value) pairs in the order the
    /// forward reads them from its array; <paramref name="forward"/> gets their primal tensors and returns the output,
    /// the auxiliary result and the cache; <paramref name="backward"/> maps the upstream gradient (the output's shape)
    /// and the cache to a Tensor (one input) or a record with a field D&lt;name&gt; per input. Returns the output value
    /// and the auxiliary result.
    /// </summary>
    let liftWithAux
        (op: string)
        (inputs: (string * Value) list)
        (forward: Tensor[] -> Tensor * 'aux * 'cache)
        (backward: Tensor -> 'cache -> 'grads)
        : Value * 'aux =
        let names = inputs |> List.map fst |> Array.ofList
        let values = inputs |> List.map snd |> Array.ofList

        values
        |> Array.iteri (fun i v ->
            if isNull (box v) then
                Guard.fail op names.[i] $"{names.[i]} must not be null.")

        let out, aux, cache = forward (values |> Array.map (fun v -> v.Primal))

        let pullback =
            if values |> Array.exists (fun v -> v.Tracked) then
                let positions = GradFields<'grads>.Positions(op, names)
                fun g -> GradFields<'grads>.Read(positions, backward g cache)
            else
                fun _ -> [||]

        Sweep.node op values out pullback, aux

    /// <summary>A primitive: as <c>liftWithAux</c> without the auxiliary result.</summary>
    let lift
        (op: string)
        (inputs: (string * Value) list)
        (forward: Tensor[] -> Tensor * 'cache)
        (backward: Tensor -> 'cache -> 'grads)
        : Value =
        liftWithAux
            op
            inputs
            (fun t ->
                let out, cache = forward t
                out, (), cache)
            backward
        |> fst

/// <summary>
/// The library's layers as differentiable primitives: each runs the layer's own fast forward and has the
/// hand-written backward as its pullback. Shapes, conventions and errors are the layers' (see each layer's module).
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Layers =
    /// <summary>Affine: x (N, d1, …, dk), w (D, M), b (M,) -> (N, M).</summary>
    let affine (x: Value) (w: Value) (b: Value) =
        Primitive.lift "affine" [ "x", x; "w", w; "b", b ] (fun t -> Affine.forward t.[0] t.[1] t.[2]) Affine.backward

    /// <summary>ReLU, any shape.</summary>
    let relu (x: Value) =
        Primitive.lift "relu" [ "x", x ] (fun t -> Relu.forward t.[0]) Relu.backward

    /// <summary>Leaky ReLU with the given negative slope, any shape.</summary>
    let leakyRelu (slope: float) (x: Value) =
        Primitive.lift "leaky relu" [ "x", x ] (fun t -> LeakyRelu.forward slope t.[0]) LeakyRelu.backward

    /// <summary>Logistic sigmoid, any shape.</summary>
    let sigmoid (x: Value) =
        Primitive.lift "sigmoid" [ "x", x ] (fun t -> Sigmoid.forward t.[0]) Sigmoid.backward

    /// <summary>Hyperbolic tangent, any shape.</summary>
    let tanh (x: Value) =
        Primitive.lift "tanh" [ "x", x ] (fun t -> Tanh.forward t.[0]) Tanh.backward

    /// <summary>Convolution (fast path, all of ConvConfig's options): x (N, C, H, W), w (F, C/groups, HH, WW), b (F,).</summary>
    let conv (cfg: ConvConfig) (x: Value) (w: Value) (b: Value) =
        Primitive.lift "conv" [ "x", x; "w", w; "b", b ] (fun t -> Conv.forward cfg t.[0] t.[1] t.[2]) Conv.backward

    /// <summary>Max pooling (fast path): x (N, C, H, W) -> (N, C, H', W').</summary>
    let maxPool (cfg: PoolConfig) (x: Value) =
        Primitive.lift "max pool" [ "x", x ] (fun t -> MaxPool.forward cfg t.[0]) MaxPool.backward

    /// <summary>Average pooling: x (N, C, H, W) -> (N, C, H', W').</summary>
    let avgPool (cfg: PoolConfig) (x: Value) =
        Primitive.lift "avg pool" [ "x", x ] (fun t -> AvgPool.forward cfg t.[0]) AvgPool.backward

    /// <summary>Affine -> ReLU sandwich.</summary>
    let affineRelu (x: Value) (w: Value) (b: Value) =
        Primitive.lift
            "affine-relu"
            [ "x", x; "w", w; "b", b ]
            (fun t -> AffineRelu.forward t.[0] t.[1] t.[2])
            AffineRelu.backward

    /// <summary>Conv -> ReLU sandwich (fused).</summary>
    let convRelu (cfg: ConvConfig) (x: Value) (w: Value) (b: Value) =
        Primitive.lift
            "conv-relu"
            [ "x", x; "w", w; "b", b ]
            (fun t -> ConvRelu.forward cfg t.[0] t.[1] t.[2])
            ConvRelu.backward

    /// <summary>Conv -> ReLU -> max-pool sandwich (fused): x (N, C, H, W) -> (N, F, H'', W'').</summary>
    let convReluPool (conv: ConvConfig) (pool: PoolConfig) (x: Value) (w: Value) (b: Value) =
        Primitive.lift
            "conv-relu-pool"
            [ "x", x; "w", w; "b", b ]
            (fun t -> ConvReluPool.forward conv pool t.[0] t.[1] t.[2])
            ConvReluPool.backward

    /// <summary>
    /// Batch normalization of x (N, D) with gamma, beta (D,): returns the output and the new running statistics (the
    /// given ones in test mode), the auxiliary output the loss passes on.
    /// </summary>
    let batchNorm (cfg: BatchNormConfig) (mode: Mode) (state: BatchNormState) (gamma: Value) (beta: Value) (x: Value) =
        Primitive.liftWithAux
            "batchnorm"
            [ "gamma", gamma; "beta", beta; "x", x ]
            (fun t -> BatchNorm.forward cfg mode state t.[0] t.[1] t.[2])
            BatchNorm.backward

    /// <summary>Spatial batch normalization of x (N, C, H, W) with gamma, beta (C,): output and new running statistics.</summary>
    let spatialBatchNorm
        (cfg: BatchNormConfig)
        (mode: Mode)
        (state: BatchNormState)
        (gamma: Value)
        (beta: Value)
        (x: Value)
        =
        Primitive.liftWithAux
            "spatial batchnorm"
            [ "gamma", gamma; "beta", beta; "x", x ]
            (fun t -> SpatialBatchNorm.forward cfg mode state t.[0] t.[1] t.[2])
            SpatialBatchNorm.backward

    /// <summary>Layer normalization of x (N, D) with gamma, beta (D,).</summary>
    let layerNorm (eps: float) (gamma: Value) (beta: Value) (x: Value) =
        Primitive.lift
            "layernorm"
            [ "gamma", gamma; "beta", beta; "x", x ]
            (fun t -> LayerNorm.forward eps t.[0] t.[1] t.[2])
            LayerNorm.backward

    /// <summary>Group normalization of x (N, C, H, W) with G groups and gamma, beta (C,).</summary>
    let groupNorm (eps: float) (groups: int) (gamma: Value) (beta: Value) (x: Value) =
        Primitive.lift
            "groupnorm"
            [ "gamma", gamma; "beta", beta; "x", x ]
            (fun t -> GroupNorm.forward eps groups t.[0] t.[1] t.[2])
            GroupNorm.backward

    /// <summary>Inverted dropout keeping each unit with probability keepProb, its mask drawn from the key.</summary>
    let dropout (keepProb: float) (mode: Mode) (rng: Rng) (x: Value) =
        Primitive.lift "dropout" [ "x", x ] (fun t -> Dropout.forward keepProb mode rng t.[0]) Dropout.backward

    /// <summary>Vanilla RNN over a sequence: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,) -> h (N, T, H).</summary>
    let rnn (x: Value) (h0: Value) (wx: Value) (wh: Value) (b: Value) =
        Primitive.lift
            "rnn"
            [ "x", x; "h0", h0; "Wx", wx; "Wh", wh; "b", b ]
            (fun t -> Rnn.forward t.[0] t.[1] t.[2] t.[3] t.[4])
            Rnn.backward

    /// <summary>LSTM over a sequence: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) -> h (N, T, H).</summary>
    let lstm (x: Value) (h0: Value) (wx: Value) (wh: Value) (b: Value) =
        Primitive.lift
            "lstm"
            [ "x", x; "h0", h0; "Wx", wx; "Wh", wh; "b", b ]
            (fun t -> Lstm.forward t.[0] t.[1] t.[2] t.[3] t.[4])
            Lstm.backward

    /// <summary>
    /// GRU over a sequence (PyTorch's equations, gate order r, z, n): x (N, T, D), h0 (N, H), Wx (D, 3H), Wh (H, 3H),
    /// bx (3H,) = bias_ih, bh (3H,) = bias_hh -> h (N, T, H).
    /// </summary>
    let gru (x: Value) (h0: Value) (wx: Value) (wh: Value) (bx: Value) (bh: Value) =
        Primitive.lift
            "gru"
            [ "x", x; "h0", h0; "Wx", wx; "Wh", wh; "bx", bx; "bh", bh ]
            (fun t -> Gru.forward t.[0] t.[1] t.[2] t.[3] t.[4] t.[5])
            Gru.backward

    /// <summary>Word embedding: integer indices x (N, T) into the rows of W (V, D) -> (N, T, D).</summary>
    let wordEmbedding (x: Indices) (w: Value) =
        Primitive.lift "word embedding" [ "w", w ] (fun t -> WordEmbedding.forward x t.[0]) WordEmbedding.backward

    /// <summary>Temporal affine: x (N, T, D) · w (D, M) + b (M,) -> (N, T, M).</summary>
    let temporalAffine (x: Value) (w: Value) (b: Value) =
        Primitive.lift
            "temporal affine"
            [ "x", x; "w", w; "b", b ]
            (fun t -> TemporalAffine.forward t.[0] t.[1] t.[2])
            TemporalAffine.backward

    /// A loss over scores (N, C) and labels as a primitive: a scalar output whose pullback scales the loss's
    /// gradient by the upstream one (not at all when it is 1, so a loss at the root costs no copy).
    let private loss (op: string) (f: Tensor -> int[] -> LossResult) (scores: Value) (y: int[]) =
        Primitive.lift
            op
            [ "x", scores ]
            (fun t ->
                let r = f t.[0] y
                Tensor.scalar r.Loss, r.Dscores)
            (fun g dscores ->
                let s = g.Item0
                if s = 1.0 then dscores else dscores * s)

    /// <summary>Temporal softmax loss of scores (N, T, V) for word indices y (N, T) where mask (N, T) is set: a scalar.</summary>
    let temporalSoftmaxLoss (scores: Value) (y: Indices) (mask: Mask) =
        loss "temporal softmax loss" (fun s _ -> TemporalSoftmax.loss s y mask) scores [||]

    /// <summary>Softmax (cross-entropy) loss of scores (N, C) for labels y (N,): a scalar.</summary>
    let softmaxLoss (scores: Value) (y: int[]) =
        loss "softmax loss" Losses.softmax scores y

    /// <summary>Multiclass SVM loss of scores (N, C) for labels y (N,): a scalar.</summary>
    let svmLoss (scores: Value) (y: int[]) = loss "svm loss" Losses.svm scores y

    /// <summary>L2 regularization 0.5 · reg · Σ w²: a scalar whose gradient is reg · w.</summary>
    let l2 (reg: float) (w: Value) =
        Primitive.lift
            "l2"
            [ "x", w ]
            (fun t ->
                let l, g = Losses.l2 reg t.[0]
                Tensor.scalar l, g)
            (fun g dw ->
                let s = g.Item0
                if s = 1.0 then dw else dw * s)
