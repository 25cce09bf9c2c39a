// Walkthrough 4: convolutional nets (the course's ConvolutionalNetworks notebook), step by step: the course's
// conv_forward_naive check, a forward/backward pass, a gradient check, the fast path against the naive one, max
// pooling; then a three-layer convnet that overfits a small set, its first-layer filters, and spatial batch and group
// normalization.
// Build first (dotnet build Functional.sln), then: dotnet fsi Scripts/conv.fsx
// Figures go to Scripts/figures/conv-*.html; FUNCTIONAL_WALKTHROUGH=small runs a reduced version (CI).
#load "Library.fsx"

open Functional
open Functional.FSharp
open Library

// 1. The course's fixed check: x = linspace(-0.1, 0.5, (2, 3, 4, 4)), w = linspace(-0.2, 0.3, (3, 3, 4, 4)),
//    b = linspace(-0.1, 0.2, 3), stride 2, pad 1. The first output values are -0.08759809, -0.10987781, ...
let x0 = Tensor.linspace -0.1 0.5 [| 2; 3; 4; 4 |]
let w0 = Tensor.linspace -0.2 0.3 [| 3; 3; 4; 4 |]
let b0 = Tensor.linspace -0.1 0.2 [| 3 |]
let out0, _ = Conv.forwardNaive (ConvConfig.Create(2, 1)) x0 w0 b0
printfn "conv_forward_naive on the course's input: %O" out0

printfn
    "  first values (course: -0.08759809, -0.10987781): %.8f, %.8f"
    (Tensor.get [| 0; 0; 0; 0 |] out0)
    (Tensor.get [| 0; 0; 0; 1 |] out0)

// 2. A forward and backward pass on random data, with a non-square kernel, stride and pad.
let rng = Rng.create 231L
let keys = Rng.splitN 4 rng
let cfg = ConvConfig.Create(2, 1)
let x = Tensor.randn keys.[0] 1.0 [| 4; 3; 7; 7 |]
let w = Tensor.randn keys.[1] 1.0 [| 2; 3; 3; 2 |]
let b = Tensor.randn keys.[2] 1.0 [| 2 |]
let out, cache = Conv.forward cfg x w b
printfn "\nconv %O: x %A, w %A -> out %A" cfg (Tensor.shape x) (Tensor.shape w) (Tensor.shape out)
let dout = Tensor.randn keys.[3] 1.0 (Tensor.shape out)
let grads = Conv.backward dout cache
printfn "grads: dx %A, dw %A, db %A" (Tensor.shape grads.Dx) (Tensor.shape grads.Dw) (Tensor.shape grads.Db)

// 3. The gradient check: each analytic gradient against the numeric one (centered differences, h = 1e-5). The
//    relative error is |a − n| / max(floor, |a| + |n|); with the course's floor 1e-8 a coordinate whose gradient is
//    nearly 0 is judged by a ratio of round-off noises, so, like the library's properties, we use a floor of 1e-2.
let report name analytic f input =
    let numeric = GradCheck.numericGradientOf GradCheck.DefaultStep f input dout
    printfn "  %O" (GradCheck.compareWith 1e-2 name 1e-7 analytic numeric)

printfn "\ngradient check (relative error with floor 1e-2, bound 1e-7):"
report "dx" grads.Dx (fun t -> fst (Conv.forward cfg t w b)) x
report "dw" grads.Dw (fun t -> fst (Conv.forward cfg x t b)) w
report "db" grads.Db (fun t -> fst (Conv.forward cfg x w t)) b

// 4. Fast (im2col + GEMM) against naive (the readable loops), with dilation and groups too.
let cfg2 = {
    cfg with
        Dilation = 2
        Groups = 2
        StrideW = 1
}

let xg = Tensor.randn keys.[0] 1.0 [| 3; 4; 9; 8 |]
let wg = Tensor.randn keys.[1] 1.0 [| 6; 2; 3; 2 |]
let bg = Tensor.randn keys.[2] 1.0 [| 6 |]
let fastOut, fastCache = Conv.forward cfg2 xg wg bg
let naiveOut, naiveCache = Conv.forwardNaive cfg2 xg wg bg
let dg = Tensor.randn keys.[3] 1.0 (Tensor.shape fastOut)
let gf, gn = Conv.backward dg fastCache, Conv.backwardNaive dg naiveCache

printfn
    "\nfast vs naive (%O): out %.1e, dx %.1e, dw %.1e, db %.1e"
    cfg2
    (GradCheck.relativeError fastOut naiveOut)
    (GradCheck.relativeError gf.Dx gn.Dx)
    (GradCheck.relativeError gf.Dw gn.Dw)
    (GradCheck.relativeError gf.Db gn.Db)

// 5. Max pooling: 2×2 windows, stride 2; the gradient goes to each window's maximum (the first one on ties).
let px =
    Tensor.ofArray [| 1; 1; 2; 4 |] [| 1.0; 5.0; 2.0; 2.0; 3.0; 0.0; 2.0; 1.0 |]

let pooled, pcache = MaxPool.forward (PoolConfig.Create(2, 2, 2)) px
let pdx = MaxPool.backward (Tensor.ones (Tensor.shape pooled)) pcache
printfn "\nmax pool of %A -> %A" (Tensor.toArray px) (Tensor.toArray pooled)
printfn "  dx (ones upstream; the tie 2, 2, 2 sends it to the first 2): %A" (Tensor.toArray pdx)
let avg, _ = AvgPool.forward (PoolConfig.Create(2, 2, 2)) px
printfn "average pool -> %A" (Tensor.toArray avg)

// 6. Overfitting small data: the three-layer convnet (conv 7×7 -> ReLU -> 2×2 max pool -> affine -> ReLU ->
//    affine) on 100 digits. Training accuracy climbs to 1 while validation accuracy stays far lower: the net
//    memorizes. A sanity check the course runs before any long training.
let convNet =
    ConvNet.threeLayer {
        ConvNet.defaults with
            InputDims = (1, 28, 28)
            NumFilters = 16
            HiddenDim = 100
            WeightScale = 1e-2
    }

let small, _ = digits 100 (pick 500 100)
let adam = Optim.withLearningRate 1e-3 Optim.adam

let overfit, _ =
    train
        "convnet on 100 images"
        adam
        {
            SolverConfig.Defaults with
                NumEpochs = pick 15 3
                BatchSize = 50
        }
        convNet
        small

save "overfit-accuracy" (Plot.accuracy overfit)

// 7. One epoch on more data, then the first layer's 16 filters (1×7×7 each) as images, each scaled to its own
//    range: trained filters look like strokes and edge detectors, random ones like noise.
let more, _ = digits (pick 4000 400) (pick 500 100)

let _, trained =
    train
        "convnet, one epoch"
        adam
        {
            SolverConfig.Defaults with
                NumEpochs = 1
                BatchSize = 50
        }
        convNet
        more

save "filters" (Plot.imageGrid "First-layer filters after one epoch" trained.State.Params.["W1"])

// 8. Spatial batch normalization normalizes each channel over (N, H, W); group normalization each example's group
//    of channels over (C/G, H, W). On activations with channel means around 10 and deviations around 4, both give
//    mean 0 and deviation 1 where they normalize (gamma = 1, beta = 0).
let c = 6
let shifts = Tensor.ofArray [| 1; c; 1; 1 |] [| 10.0; 5.0; -3.0; 8.0; 0.0; 12.0 |]
let acts = Tensor.randn (Rng.create 5L) 4.0 [| 8; c; 5; 5 |] + shifts

let channelStats (t: Tensor) =
    let byChannel =
        t
        |> Tensor.permute [| 1; 0; 2; 3 |]
        |> Tensor.toArray
        |> Array.chunkBySize (Tensor.size t / c)

    byChannel
    |> Array.map (fun v -> Array.average v, sqrt (Array.averageBy (fun x -> (x - Array.average v) ** 2.0) v))

let bnOut, _, _ =
    SpatialBatchNorm.forward
        BatchNormConfig.Default
        Mode.Train
        (BatchNormState.Initial c)
        (Tensor.ones [| c |])
        (Tensor.zeros [| c |])
        acts

let gnOut, _ =
    GroupNorm.forward 1e-5 2 (Tensor.ones [| 1; c; 1; 1 |]) (Tensor.zeros [| 1; c; 1; 1 |]) acts

open Plotly.NET

let statsChart (title: string) (t: Tensor) =
    let stats = channelStats t
    let channels = [ for i in 0 .. c - 1 -> $"channel {i}" ]

    [
        Chart.Column(values = Array.map fst stats, Keys = channels, Name = "mean")
        Chart.Column(values = Array.map snd stats, Keys = channels, Name = "std")
    ]
    |> Chart.combine
    |> Chart.withTitle title
    |> Chart.withXAxisStyle (TitleText = "channel")
    |> Chart.withYAxisStyle (TitleText = "value")

save
    "spatial-batchnorm"
    (Chart.Grid (3, 1) [
        statsChart "before" acts
        statsChart "spatial batchnorm" bnOut
        statsChart "group norm, 2 groups" gnOut
     ]
     |> Chart.withTitle "Per-channel mean and std: before, after spatial batchnorm, after group norm"
     |> Chart.withSize (720, 900))
