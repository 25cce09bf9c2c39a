namespace Functional

/// <summary>The normalization after each hidden affine layer of a fully connected net.</summary>
type Normalization =
    /// <summary>No normalization: affine -> ReLU.</summary>
    | None = 0
    /// <summary>Batch normalization: affine -> batchnorm -> ReLU (running statistics in the model's state).</summary>
    | Batch = 1
    /// <summary>Layer normalization: affine -> layernorm -> ReLU.</summary>
    | Layer = 2

namespace Functional.FSharp

open Functional

/// <summary>The two-layer net: affine -> ReLU -> affine -> softmax, parameters W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).</summary>
type TwoLayerNetConfig = {
    /// <summary>D, the size of an input (the product of its trailing dimensions).</summary>
    InputDim: int
    /// <summary>H, the hidden width.</summary>
    HiddenDim: int
    /// <summary>C, the number of classes.</summary>
    NumClasses: int
    /// <summary>The standard deviation of the normal initial weights (biases start at 0).</summary>
    WeightScale: float
    /// <summary>The L2 regularization strength (0.5 · reg · Σ‖W‖², weights only).</summary>
    Reg: float
    /// <summary>The seed of the initial weights.</summary>
    Seed: int64
}

/// <summary>
/// The fully connected net: {affine -> [batch/layer norm] -> ReLU -> [dropout]} × (L − 1) -> affine -> softmax, with
/// parameters W1, b1, …, WL, bL (and gamma1, beta1, … for the normalized hidden layers).
/// </summary>
type FullyConnectedNetConfig = {
    /// <summary>The widths of the L − 1 hidden layers (may be empty: a softmax classifier).</summary>
    HiddenDims: int list
    /// <summary>D, the size of an input (the product of its trailing dimensions).</summary>
    InputDim: int
    /// <summary>C, the number of classes.</summary>
    NumClasses: int
    /// <summary>The standard deviation of the normal initial weights (biases and betas start at 0, gammas at 1).</summary>
    WeightScale: float
    /// <summary>The L2 regularization strength (0.5 · reg · Σ‖W‖², weights only).</summary>
    Reg: float
    /// <summary>The normalization of the hidden layers.</summary>
    Normalization: Normalization
    /// <summary>
    /// The normalization's eps (batch and layer norm) and batchnorm's running-average momentum; the course's
    /// <c>BatchNormConfig.Default</c> (eps 1e-5, momentum 0.9) by default (its <c>bn_param</c>).
    /// </summary>
    Norm: BatchNormConfig
    /// <summary>The dropout keep probability in (0, 1]; 1 means no dropout (the course's dropout_keep_ratio).</summary>
    DropoutKeepProbability: float
    /// <summary>The seed of the initial weights.</summary>
    Seed: int64
}

/// <summary>
/// The standard nets of the course, written as functions over differentiable values (<c>Net</c>) and made into
/// <c>Model</c>s with <c>Net.model</c>. Weights start as
/// weightScale · N(0, 1) from keys derived from the seed, biases at 0; parameters are named as in the course.
/// </summary>
[<RequireQualifiedAccess>]
module Nets =
    let private positive (fn: string) (arg: string) (v: int) = Guard.positive fn arg v

    let private checkScaleAndReg (fn: string) (weightScale: float) (reg: float) =
        Guard.finiteScalar fn "weightScale" weightScale
        Guard.finiteScalar fn "reg" reg

        if weightScale < 0.0 then
            Guard.fail fn "weightScale" $"weightScale must be >= 0, got {weightScale}."

        if reg < 0.0 then
            Guard.fail fn "reg" $"reg must be >= 0, got {reg}."

    /// The initial weight number i (1-based): weightScale · N(0, 1), shape (rows, cols), from the key's i-th key.
    let private weight (key: Rng) (scale: float) (i: int) (shape: int[]) =
        Tensor.randn (Rng.derive i key) scale shape

    /// The check on a flat input (N, d1, …, dk) with d1·…·dk = D.
    let private flatInput (fn: string) (d: int) =
        Net.input fn $"(N, d1, ..., dk) with d1*...*dk = {d}" (fun dims ->
            dims.Length >= 2 && Guard.size dims.[1..] = d)

    /// <summary>The course's FullyConnectedNet defaults: hidden [100; 100], CIFAR-10 sizes, weight scale 1e-2.</summary>
    let fullyConnectedDefaults: FullyConnectedNetConfig = {
        HiddenDims = [ 100; 100 ]
        InputDim = 3 * 32 * 32
        NumClasses = 10
        WeightScale = 1e-2
        Reg = 0.0
        Normalization = Normalization.None
        Norm = BatchNormConfig.Default
        DropoutKeepProbability = 1.0
        Seed = 0L
    }

    let private validateFullyConnected (fn: string) (cfg: FullyConnectedNetConfig) =
        if isNull (box cfg.HiddenDims) then
            Guard.fail fn "hiddenDims" "hiddenDims must not be null."

        cfg.HiddenDims
        |> List.iteri (fun i h ->
            if h <= 0 then
                Guard.fail fn "hiddenDims" $"every hidden width must be > 0, got hiddenDims[{i}] = {h}.")

        positive fn "inputDim" cfg.InputDim
        positive fn "numClasses" cfg.NumClasses
        checkScaleAndReg fn cfg.WeightScale cfg.Reg

        if not (System.Enum.IsDefined(typeof<Normalization>, cfg.Normalization)) then
            Guard.fail fn "normalization" $"normalization must be None, Batch or Layer, got {int cfg.Normalization}."

        if isNull (box cfg.Norm) then
            Guard.fail fn "norm" "norm must not be null."

        if not (System.Double.IsFinite cfg.Norm.Eps && cfg.Norm.Eps > 0.0) then
            Guard.fail fn "normEps" $"the normalization's eps must be finite and > 0, got {cfg.Norm.Eps}."

        if not (cfg.Norm.Momentum >= 0.0 && cfg.Norm.Momentum <= 1.0) then
            Guard.fail fn "batchNormMomentum" $"batchnorm's momentum must be in [0, 1], got {cfg.Norm.Momentum}."

        if not (cfg.DropoutKeepProbability > 0.0 && cfg.DropoutKeepProbability <= 1.0) then
            Guard.fail
                fn
                "dropoutKeepProbability"
                $"the dropout keep probability must be in (0, 1] (1 = no dropout), got {cfg.DropoutKeepProbability}."

    /// The parameters, declared once: W_i (d_{i-1}, d_i), b_i (d_i,), and gamma_i, beta_i (d_i,) for the normalized
    /// hidden layers, where d_0 is the size of one input and d_L the number of classes.
    let private fullyConnectedInit (cfg: FullyConnectedNetConfig) (inputShape: int[]) (key: Rng) =
        let dims = Guard.size inputShape :: cfg.HiddenDims @ [ cfg.NumClasses ]
        let l = dims.Length - 1

        let parameters =
            [
                for i in 1..l do
                    let din, dout = dims.[i - 1], dims.[i]
                    yield $"W{i}", weight key cfg.WeightScale i [| din; dout |]
                    yield $"b{i}", Tensor.zeros [| dout |]

                    if i < l && cfg.Normalization <> Normalization.None then
                        yield $"gamma{i}", Tensor.ones [| dout |]
                        yield $"beta{i}", Tensor.zeros [| dout |]
            ]
            |> Map.ofList

        let state =
            [
                if cfg.Normalization = Normalization.Batch then
                    for i, h in List.indexed cfg.HiddenDims do
                        let s = BatchNormState.Initial h
                        yield $"running_mean{i + 1}", s.RunningMean
                        yield $"running_var{i + 1}", s.RunningVar
            ]
            |> Map.ofList

        parameters, state

    /// The forward pass: {affine -> [batch/layer norm] -> ReLU -> [dropout]} × (L − 1) -> affine. Each dropout draws
    /// its mask from a key derived from the net's key and the dropout's position.
    let private fullyConnectedApply
        (fn: string)
        (cfg: FullyConnectedNetConfig)
        (p: Map<string, Value>)
        (s: Map<string, Tensor>)
        (mode: Mode)
        (key: Rng)
        (x: Value)
        =
        let param = Net.param fn p
        let l = cfg.HiddenDims.Length + 1
        // The position of hidden layer i's dropout in the course's order of layers (0 is the input; then affine,
        // [norm], ReLU, dropout per block) is i · layersPerBlock: its key index, kept so that the masks, and with
        // them the results and checkpoints of dropout nets, are those of earlier versions.
        let layersPerBlock = if cfg.Normalization = Normalization.None then 3 else 4

        let hidden (h: Value, updated: Map<string, Tensor>) (i: int) =
            let a = Layers.affine h (param $"W{i}") (param $"b{i}")

            let z, updated =
                match cfg.Normalization with
                | Normalization.Batch ->
                    let mean, var = $"running_mean{i}", $"running_var{i}"

                    let running: BatchNormState = {
                        RunningMean = Net.state fn s mean
                        RunningVar = Net.state fn s var
                    }

                    let out, running' =
                        Layers.batchNorm cfg.Norm mode running (param $"gamma{i}") (param $"beta{i}") a

                    out,
                    (if mode = Mode.Train then
                         updated |> Map.add mean running'.RunningMean |> Map.add var running'.RunningVar
                     else
                         updated)
                | Normalization.Layer -> Layers.layerNorm cfg.Norm.Eps (param $"gamma{i}") (param $"beta{i}") a, updated
                | _ -> a, updated

            let r = Layers.relu z

            if cfg.DropoutKeepProbability < 1.0 then
                Layers.dropout cfg.DropoutKeepProbability mode (Rng.derive (i * layersPerBlock) key) r, updated
            else
                r, updated

        let h, updated =
            [ 1 .. l - 1 ] |> List.fold hidden (flatInput fn cfg.InputDim x, Map.empty)

        Layers.affine h (param $"W{l}") (param $"b{l}"), updated

    /// <summary>
    /// The fully connected net as functions: its init (the shape of one input and a key -> parameters and state) and
    /// its forward pass over differentiable values (see <c>fullyConnected</c> for the architecture).
    /// </summary>
    let fullyConnectedNet (cfg: FullyConnectedNetConfig) : Net =
        let fn = "Nets.fullyConnected"
        validateFullyConnected fn cfg
        let dims = cfg.HiddenDims |> List.map string |> String.concat "; "

        let extras = [
            match cfg.Normalization with
            | Normalization.Batch -> "batchnorm"
            | Normalization.Layer -> "layernorm"
            | _ -> ()
            if cfg.DropoutKeepProbability < 1.0 then
                $"dropout keep {cfg.DropoutKeepProbability}"
        ]

        {
            Name = String.concat ", " ($"fully connected net [{dims}]" :: extras)
            Init = fullyConnectedInit cfg
            Apply = fullyConnectedApply fn cfg
        }

    let private fullyConnectedModel (net: Net) (cfg: FullyConnectedNetConfig) =
        let l = cfg.HiddenDims.Length + 1

        Net.model net [| cfg.InputDim |] (Rng.create cfg.Seed) Layers.softmaxLoss cfg.Reg [ for i in 1..l -> $"W{i}" ]

    /// <summary>
    /// The fully connected net: {affine -> [batch/layer norm] -> ReLU -> [dropout]} × (L − 1) -> affine -> softmax.
    /// Inputs (N, d1, …, dk) with d1·…·dk = InputDim; scores (N, NumClasses). Parameters W1 (D, H1), b1 (H1,), …,
    /// WL (H_{L−1}, C), bL (C,); L2 regularization on the weights only.
    /// </summary>
    let fullyConnected (cfg: FullyConnectedNetConfig) : Model =
        fullyConnectedModel (fullyConnectedNet cfg) cfg

    /// <summary>The course's TwoLayerNet defaults: D = 3·32·32, H = 100, C = 10, weight scale 1e-3, no reg.</summary>
    let twoLayerDefaults: TwoLayerNetConfig = {
        InputDim = 3 * 32 * 32
        HiddenDim = 100
        NumClasses = 10
        WeightScale = 1e-3
        Reg = 0.0
        Seed = 0L
    }

    /// <summary>
    /// The two-layer net: affine -> ReLU -> affine -> softmax. Inputs (N, d1, …, dk) with d1·…·dk = InputDim; scores
    /// (N, NumClasses). Parameters W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
    /// </summary>
    let twoLayer (cfg: TwoLayerNetConfig) : Model =
        let fn = "Nets.twoLayer"
        positive fn "inputDim" cfg.InputDim
        positive fn "hiddenDim" cfg.HiddenDim
        positive fn "numClasses" cfg.NumClasses
        checkScaleAndReg fn cfg.WeightScale cfg.Reg

        let fc = {
            fullyConnectedDefaults with
                HiddenDims = [ cfg.HiddenDim ]
                InputDim = cfg.InputDim
                NumClasses = cfg.NumClasses
                WeightScale = cfg.WeightScale
                Reg = cfg.Reg
                Seed = cfg.Seed
        }

        let net = {
            fullyConnectedNet fc with
                Name = $"two-layer net ({cfg.InputDim} -> {cfg.HiddenDim} -> {cfg.NumClasses})"
                Apply = fullyConnectedApply fn fc
        }

        fullyConnectedModel net fc
