/// The caption job's digit readers: affine copies of the training digits, and the slot features of one reader, an
/// ensemble of readers, and their one-hot decisions.
module Functional.Properties.CaptionFeatureProperties

open Xunit
open Functional
open Functional.FSharp

let private side = 28

/// The ink (sum of pixels) of image i and its centre of mass (x, y).
let private massAndCentre (x: float[]) (i: int) =
    let mutable mass, mx, my = 0.0, 0.0, 0.0

    for r in 0 .. side - 1 do
        for c in 0 .. side - 1 do
            let v = x.[i * side * side + r * side + c]
            mass <- mass + v
            mx <- mx + v * float c
            my <- my + v * float r

    mass, mx / mass, my / mass

[<Fact>]
let ``affine copies: the originals first, copies deterministic, no distortion is an exact copy`` () =
    let small = Dataset.head 200 (Digits.load ()).Train
    let m = 200
    let a = DigitCaptions.withAffineCopies 5L 2 10.0 0.1 1.0 small
    let b = DigitCaptions.withAffineCopies 5L 2 10.0 0.1 1.0 small
    let other = DigitCaptions.withAffineCopies 6L 2 10.0 0.1 1.0 small
    let xa = a.X.ToArray()
    let src = small.X.ToArray()

    Prop.ensure
        (a.X.Shape |> Seq.toList = [ 3 * m; 1; side; side ]
         && a.Y = Array.concat [ small.Y; small.Y; small.Y ])
        (fun () -> "shape or labels")

    Prop.ensure (xa = b.X.ToArray()) (fun () -> "the same seed gives other copies")
    Prop.ensure (xa <> other.X.ToArray()) (fun () -> "another seed gives the same copies")
    Prop.ensure (xa.[.. m * 784 - 1] = src) (fun () -> "the originals are not first")
    Prop.ensure (xa.[m * 784 .. 2 * m * 784 - 1] <> xa.[2 * m * 784 ..]) (fun () -> "the two copies are alike")

    // Bilinear sampling at whole pixels: with every bound 0 each copy is its digit, bit for bit.
    let still = (DigitCaptions.withAffineCopies 5L 1 0.0 0.0 0.0 small).X.ToArray()
    Prop.ensure (still.[m * 784 ..] = src) (fun () -> "an undistorted copy differs from its digit")

    for arg, f in
        [
            "copies", (fun () -> DigitCaptions.withAffineCopies 5L -1 10.0 0.1 1.0 small)
            "maxDegrees", (fun () -> DigitCaptions.withAffineCopies 5L 1 -1.0 0.1 1.0 small)
            "maxScale", (fun () -> DigitCaptions.withAffineCopies 5L 1 10.0 1.0 1.0 small)
            "maxShift", (fun () -> DigitCaptions.withAffineCopies 5L 1 10.0 0.1 nan small)
        ] do
        Prop.throwsWith [ "DigitCaptions.withAffineCopies"; arg ] f

[<Fact>]
let ``affine copies that only move keep each digit's ink and move its centre of mass by at most maxShift`` () =
    // A move of up to 1.5 pixels loses no ink of a digit with a black margin of 2 pixels; bilinear interpolation then
    // keeps the ink exactly and moves its centre of mass by the offset itself.
    let small = Dataset.head 300 (Digits.load ()).Train
    let m = 300
    let maxShift = 1.5
    let x = (DigitCaptions.withAffineCopies 9L 1 0.0 0.0 maxShift small).X.ToArray()
    let mutable largest = 0.0
    let mutable compared = 0

    // A digit whose ink lies 2 or more pixels from every edge (most do) loses none of it.
    let inside (i: int) =
        Seq.forall
            (fun j ->
                x.[i * 784 + j] = 0.0
                || (j / side >= 2 && j / side < side - 2 && j % side >= 2 && j % side < side - 2))
            [ 0..783 ]

    for i in List.filter inside [ 0 .. m - 1 ] do
        compared <- compared + 1
        let mass, cx, cy = massAndCentre x i
        let mass', cx', cy' = massAndCentre x (m + i)
        Prop.ensure (abs (mass' - mass) <= 1e-9 * mass) (fun () -> $"digit {i}: ink {mass} became {mass'}")

        Prop.ensure (abs (cx' - cx) <= maxShift + 1e-9 && abs (cy' - cy) <= maxShift + 1e-9) (fun () ->
            $"digit {i}: the centre of mass moved by ({cx' - cx}, {cy' - cy})")

        largest <- max largest (max (abs (cx' - cx)) (abs (cy' - cy)))

    // The offsets are spread over the range, not all (near) zero.
    Prop.ensure (largest > 0.5 * maxShift) (fun () -> $"the largest move is only {largest} pixels")
    Prop.ensure (compared >= 200) (fun () -> $"only {compared} digits compared")

/// An untrained three-layer convnet as a reader (the properties are about how readers are combined, not trained).
let private reader (seed: int64) (classes: int) : SlotReader =
    let model =
        ConvNet.threeLayer {
            ConvNet.defaults with
                InputDims = (1, side, side)
                NumFilters = 2
                FilterSize = 3
                HiddenDim = 8
                NumClasses = classes
                WeightScale = 0.5
                Seed = seed
        }

    {
        Model = model
        Params = model.Params
        State = model.State
    }

[<Fact>]
let ``slot features: an ensemble averages its readers, one-hot is the decision of the average`` () =
    let set = (DigitCaptions.loadSized 40 1 1).Train
    let n = DigitCaptions.count set
    let idx = Array.init n id

    let features kind =
        (Captioning.featuresOf kind set idx).ToArray()

    let a, b = reader 1L 10, reader 2L 10
    let fa = features (ConvScores([ a ], false))
    let fb = features (ConvScores([ b ], false))
    let k = 11
    Prop.ensure (Captioning.featureDim (ConvScores([ a; b ], false)) = 4 * k) (fun () -> "D is not 4 (C + 1)")
    Prop.ensure (fa.Length = n * 4 * k) (fun () -> $"{fa.Length} features for {n} strips")

    // The same reader twice is that reader (halves add up exactly).
    Prop.ensure (features (ConvScores([ a; a ], false)) = fa) (fun () -> "an ensemble of one reader twice differs")

    let mean = features (ConvScores([ a; b ], false))

    for j in 0 .. mean.Length - 1 do
        let expected = if j % k = k - 1 then fa.[j] else 0.5 * (fa.[j] + fb.[j])

        Prop.ensure (abs (mean.[j] - expected) <= 1e-15) (fun () ->
            $"feature {j}: {mean.[j]}, the readers' mean is {expected}")

    // One-hot: each slot's class part is 1 at the most likely class of the mean probabilities (ties to the lower),
    // 0 elsewhere; the ink is kept.
    let hot = features (ConvScores([ a; b ], true))

    for r in 0 .. n * 4 - 1 do
        let probs = mean.[r * k .. r * k + k - 2]
        let best = Array.findIndex ((=) (Array.max probs)) probs

        for j in 0 .. k - 2 do
            Prop.ensure (hot.[r * k + j] = (if j = best then 1.0 else 0.0)) (fun () ->
                $"slot {r}: one-hot %A{hot.[r * k .. r * k + k - 2]}, the probabilities %A{probs}")

        Prop.ensure (hot.[r * k + k - 1] = mean.[r * k + k - 1]) (fun () -> $"slot {r}: the ink changed")

    Prop.throwsWith [ "Captioning.featureDim"; "features" ] (fun () ->
        Captioning.featureDim (ConvScores([ a; reader 3L 9 ], false)))

    Prop.throwsWith [ "Captioning.featureDim"; "features" ] (fun () -> Captioning.featureDim (ConvScores([], false)))
