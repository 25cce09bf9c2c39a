/// Sizes never overflow: every shape whose element count exceeds what an array can hold is rejected with an
/// ArgumentException naming the function, the argument and the shape, before anything is allocated or indexed.
module Functional.Properties.SizeProperties

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp

/// Dimensions from every range: small, around √2³¹ (46341² overflows int32), around 2¹⁶, and huge.
let private dimension =
    Gen.oneof [
        Gen.choose (0, 3)
        Gen.choose (46000, 46400)
        Gen.choose (65530, 65540)
        Gen.elements [ Int32.MaxValue; Int32.MaxValue / 2 + 1; 1 <<< 30 ]
    ]

let private shapes =
    Gen.choose (1, 4)
    |> Gen.bind (fun r -> Gen.arrayOfLength r dimension)
    |> Arb.fromGen

/// The exact element count, in arbitrary precision.
let private exact (shape: int[]) =
    shape |> Array.fold (fun acc d -> acc * bigint d) 1I

/// Runs f: it must either succeed (and then the count must fit) or throw an ArgumentException naming the function
/// and the shape.
let private rejectsOrFits (fn: string) (shape: int[]) (f: unit -> Tensor) =
    let fits = exact shape <= bigint Array.MaxLength

    if fits then
        // Small enough to be an array: only the ones that are also cheap are built here.
        if exact shape <= 1_000_000I then
            let t = f ()

            Prop.ensure (bigint t.Count = exact shape && Tensor.shape t = shape) (fun () ->
                $"{fn} {Guard.shapeText shape}: got {t}")
    else
        Prop.throwsWith [ fn; Guard.shapeText shape; "elements" ] f

[<Property(MaxTest = 300)>]
let ``every factory rejects a shape whose element count overflows, naming it`` () =
    Prop.forAll shapes (fun shape ->
        let rng = Rng.create 1L
        rejectsOrFits "Tensor.Zeros" shape (fun () -> Tensor.Zeros shape)
        rejectsOrFits "Tensor.Ones" shape (fun () -> Tensor.Ones shape)
        rejectsOrFits "Tensor.Full" shape (fun () -> Tensor.full shape 2.0)
        rejectsOrFits "Tensor.Linspace" shape (fun () -> Tensor.linspace 0.0 1.0 shape)
        rejectsOrFits "Tensor.RandomNormal" shape (fun () -> Tensor.randn rng 1.0 shape)
        rejectsOrFits "Tensor.RandomUniform" shape (fun () -> Tensor.rand rng 0.0 1.0 shape)
        rejectsOrFits "Tensor.init" shape (fun () -> Tensor.init shape (fun _ -> 0.0)))

[<Fact>]
let ``the issue's examples are rejected with the function, the argument and the shape`` () =
    Prop.throwsWith [ "Tensor.Zeros"; "(65536, 65537)"; "elements" ] (fun () -> Tensor.Zeros(65536, 65537))
    Prop.throwsWith [ "Tensor.Zeros"; "(46341, 46341)" ] (fun () -> Tensor.zeros [| 46341; 46341 |])
    let t = Tensor.zeros [| 65536 |]
    // 65536 · 65537 wraps around to 65536 in int32: the reshape must still be refused.
    Prop.throwsWith [ "Tensor.Reshape"; "(65536, 65537)" ] (fun () -> Tensor.reshape [| 65536; 65537 |] t)
    Prop.throwsWith [ "Tensor.Reshape" ] (fun () -> Tensor.reshape [| -1; 65536; 65537 |] t)

    Prop.throwsWith [ "Tensor.Pad" ] (fun () -> Tensor.pad [| Int32.MaxValue, Int32.MaxValue |] (Tensor.zeros [| 1 |]))

    Prop.throwsWith [ "Tensor.Pad"; "elements" ] (fun () ->
        Tensor.pad [| 46341, 0; 46341, 0 |] (Tensor.zeros [| 1; 1 |]))

    Prop.throwsWith [ "Tensor.MatMul"; "elements" ] (fun () ->
        Tensor.matmul (Tensor.zeros [| 65536; 1 |]) (Tensor.zeros [| 1; 65537 |]))

    Prop.throwsWith [ "Tensor.Add"; "elements" ] (fun () -> Tensor.zeros [| 65536; 1 |] + Tensor.zeros [| 1; 65537 |])

    Prop.throwsWith [ "Affine.forward"; "elements" ] (fun () ->
        Affine.forward (Tensor.zeros [| 65536; 1 |]) (Tensor.zeros [| 1; 65537 |]) (Tensor.zeros [| 65537 |]))

    Prop.throwsWith [ "Tensor.Take"; "elements" ] (fun () -> (Tensor.zeros [| 2; 65536 |]).Take(Array.zeroCreate 65537))

/// Convolution geometry with huge pads and dilations: either the output shape equals the exact (arbitrary-precision)
/// formula ⌊(H + 2·pad − dilation·(HH − 1) − 1) / stride⌋ + 1 and every buffer fits, or an ArgumentException names
/// Conv.outputShape. Never a small wrong output from a wrapped product.
[<Property(MaxTest = 500)>]
let ``conv geometry with huge pads and dilations is exact or rejected`` () =
    let big =
        Gen.elements [ 0; 1; 2; 3; 1 <<< 15; 46341; 1 <<< 30; Int32.MaxValue / 2; Int32.MaxValue ]

    let small = Gen.choose (1, 5)

    let configs =
        Gen.zip (Gen.zip big big) (Gen.zip (Gen.zip small small) (Gen.zip big small))
        |> Arb.fromGen

    Prop.forAll configs (fun ((pad, dilation), ((h, kh), (stride, _))) ->
        let dilation = max 1 dilation
        let stride = max 1 stride

        let cfg = {
            ConvConfig.Default with
                PadH = pad
                PadW = 0
                Dilation = dilation
                StrideH = stride
                StrideW = 1
        }

        let xShape, wShape = [| 1; 1; h; kh |], [| 1; 1; kh; 1 |]
        let extent = bigint dilation * bigint (kh - 1) + 1I
        let padded = bigint h + 2I * bigint pad
        let case = $"x {Guard.shapeText xShape}, w {Guard.shapeText wShape}, {cfg}"

        let result =
            try
                Ok(Conv.outputShape cfg xShape wShape)
            with :? ArgumentException as e ->
                Error e.Message

        match result with
        | Ok shape ->
            let ho = (padded - extent) / bigint stride + 1I
            Prop.ensure (extent <= padded && bigint shape.[2] = ho) (fun () -> $"{case}: H' = {shape.[2]}, exact {ho}")
            Prop.ensure (padded <= bigint Int32.MaxValue) (fun () -> $"{case}: padded side {padded} accepted")
        | Error message ->
            Prop.ensure (message.Contains "Conv.outputShape") (fun () ->
                $"{case}: the message \"{message}\" names no function")

            Prop.ensure
                (extent > padded
                 || padded > bigint Int32.MaxValue
                 // The im2col block (C·HH·WW, H'·W') = (kh, H'·kh) holds the most elements (W' = W = kh here).
                 || bigint kh * ((padded - extent) / bigint stride + 1I) * bigint kh > bigint Array.MaxLength)
                (fun () -> $"{case}: a valid geometry was rejected: {message}"))

[<Fact>]
let ``a conv with a huge dilation computes what the naive loops compute, or is rejected`` () =
    let x = Tensor.linspace -1.0 1.0 [| 1; 1; 3; 3 |]
    let w = Tensor.ones [| 1; 1; 3; 1 |]
    let b = Tensor.full [| 1 |] 0.5

    // Taps 2²⁹ apart over a pad of 2²⁹: output row i reads input rows i − 2²⁹, i and i + 2²⁹, so it is the bias
    // plus input row i.
    let near = {
        ConvConfig.Default with
            PadH = 1 <<< 29
            Dilation = 1 <<< 29
    }

    Assert.Equal<int[]>([| 1; 1; 3; 3 |], Conv.outputShape near (Tensor.shape x) (Tensor.shape w))
    let fast = fst (Conv.forward near x w b)
    let naive = fst (Conv.forwardNaive near x w b)
    Assert.Equal<float[]>(Tensor.toArray (x + 0.5), Tensor.toArray fast)
    Assert.Equal<float[]>(Tensor.toArray naive, Tensor.toArray fast)

    // Taps 2³⁰ apart over a pad of 2³⁰: the padded side 3 + 2³¹ and the dilated extent 2³¹ + 1 wrapped around in
    // int32 (to a small output of wrong values); now refused, naming the function and the argument.
    let far = {
        ConvConfig.Default with
            PadH = 1 <<< 30
            Dilation = 1 <<< 30
    }

    Prop.throwsWith [ "Conv.forward"; "padded input" ] (fun () -> Conv.forward far x w b)
    Prop.throwsWith [ "Conv.forwardNaive"; "padded input" ] (fun () -> Conv.forwardNaive far x w b)
