// Convolution and pooling, step by step: the course's conv_forward_naive check, a forward/backward pass, a gradient
// check against numeric gradients, the fast path against the naive one, and max pooling.
//
// Build first (dotnet build Functional.sln), then: dotnet fsi Scripts/conv.fsx

#r "nuget: System.Numerics.Tensors, 10.0.0"
#r "../Core.FSharp/bin/Debug/net10.0/Functional.Core.dll"

open Functional
open Functional.FSharp

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
