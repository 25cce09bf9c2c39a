namespace Functional.FSharp

open Functional

/// <summary>
/// The three-layer convnet of the course: conv (stride 1, pad (filter − 1)/2) -> ReLU -> 2×2 max pool stride 2 ->
/// affine -> ReLU -> affine -> softmax. Inputs (N, C, H, W).
/// </summary>
type ThreeLayerConvNetConfig = {
    /// (C, H, W) of one input.
    InputDims: int * int * int
    /// F, the number of filters.
    NumFilters: int
    /// The filter size (odd, so that padding (size − 1)/2 keeps H and W).
    FilterSize: int
    /// The width of the hidden affine layer.
    HiddenDim: int
    /// The number of classes.
    NumClasses: int
    /// The standard deviation of the normal initial weights (biases start at 0).
    WeightScale: float
    /// The L2 regularization strength (0.5 · reg · Σ‖W‖², weights only).
    Reg: float
    /// The seed of the initial weights.
    Seed: int64
}

/// <summary>The three-layer convnet of the course, written as functions over differentiable values.</summary>
[<RequireQualifiedAccess>]
module ConvNet =
    /// <summary>The course's defaults: input (3, 32, 32), 32 filters of 7×7, hidden 100, 10 classes, scale 1e-3.</summary>
    let defaults: ThreeLayerConvNetConfig = {
        InputDims = (3, 32, 32)
        NumFilters = 32
        FilterSize = 7
        HiddenDim = 100
        NumClasses = 10
        WeightScale = 1e-3
        Reg = 0.0
        Seed = 0L
    }

    /// <summary>
    /// The three-layer convnet (a <c>Net</c> made into a <c>Model</c>). Parameters W1 (F, C, k, k), b1 (F,), W2 (F·H'·W', hidden), b2
    /// (hidden,), W3 (hidden, classes), b3 (classes,), where H' = ⌊(H − 2)/2⌋ + 1 after the pool (H/2 for even H).
    /// Scores (N, classes) in test mode; softmax loss plus L2 on W1, W2, W3 in train mode.
    /// </summary>
    let threeLayer (cfg: ThreeLayerConvNetConfig) : Model =
        let fn = "ConvNet.threeLayer"
        let c, h, w = cfg.InputDims
        Guard.positive fn "inputDims" c
        Guard.positive fn "inputDims" h
        Guard.positive fn "inputDims" w
        Guard.positive fn "numFilters" cfg.NumFilters
        Guard.positive fn "filterSize" cfg.FilterSize
        Guard.positive fn "hiddenDim" cfg.HiddenDim
        Guard.positive fn "numClasses" cfg.NumClasses
        Nets.checkScaleAndReg fn cfg.WeightScale cfg.Reg

        if cfg.FilterSize % 2 = 0 then
            Guard.fail
                fn
                "filterSize"
                $"filterSize must be odd so that pad (size - 1)/2 keeps H and W, got {cfg.FilterSize}."

        if h < 2 || w < 2 then
            Guard.fail fn "inputDims" $"H and W must be >= 2 for the 2x2 max pool, got ({c}, {h}, {w})."

        let conv = ConvConfig.Create(1, (cfg.FilterSize - 1) / 2)
        let pool = PoolConfig.Create(2, 2, 2)

        // The parameters, declared once, their shapes derived from the input shape (C, H, W).
        let init (inputShape: int[]) (key: Rng) =
            let c, h, w = inputShape.[0], inputShape.[1], inputShape.[2]
            let hp, wp = (h - 2) / 2 + 1, (w - 2) / 2 + 1
            let flat = cfg.NumFilters * hp * wp

            let weight = Nets.weight key cfg.WeightScale

            Map [
                "W1", weight 1 [| cfg.NumFilters; c; cfg.FilterSize; cfg.FilterSize |]
                "b1", Tensor.zeros [| cfg.NumFilters |]
                "W2", weight 2 [| flat; cfg.HiddenDim |]
                "b2", Tensor.zeros [| cfg.HiddenDim |]
                "W3", weight 3 [| cfg.HiddenDim; cfg.NumClasses |]
                "b3", Tensor.zeros [| cfg.NumClasses |]
            ],
            Map.empty

        let apply (p: Map<string, Value>) (_: Map<string, Tensor>) (_: Mode) (_: Rng) (x: Value) =
            let param = Net.param fn p

            let x =
                Net.input fn $"(N, {c}, {h}, {w})" (fun d -> d.Length = 4 && d.[1..] = [| c; h; w |]) x

            let h1 = Layers.convReluPool conv pool x (param "W1") (param "b1")
            let h2 = Layers.relu (Layers.affine h1 (param "W2") (param "b2"))
            Layers.affine h2 (param "W3") (param "b3"), Map.empty

        let net = {
            Name =
                $"three-layer convnet ({cfg.NumFilters} filters {cfg.FilterSize}x{cfg.FilterSize}, hidden {cfg.HiddenDim})"
            Init = init
            Apply = apply
        }

        Net.model net [| c; h; w |] (Rng.create cfg.Seed) Layers.softmaxLoss cfg.Reg [ "W1"; "W2"; "W3" ]
