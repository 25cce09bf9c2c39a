namespace Functional.FSharp

open System
open Plotly.NET
open Plotly.NET.LayoutObjects
open Functional

/// <summary>
/// The course's pictures as Plotly.NET charts: training curves from a <see cref="T:Functional.TrainingHistory"/>,
/// image grids of (N, C, H, W) tensors, sample predictions, confusion matrices, gradient-check results and
/// comparison figures. Every function returns a <c>GenericChart</c>; <see cref="T:Functional.FSharp.FigureModule"/>
/// saves charts as self-contained HTML (plotly.js 2.28 embedded, no CDN) or PNG.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Plot =

    let private titled (title: string) (xTitle: string) (yTitle: string) (chart: GenericChart) =
        chart
        |> Chart.withTitle title
        |> Chart.withXAxisStyle (TitleText = xTitle)
        |> Chart.withYAxisStyle (TitleText = yTitle)
        |> Chart.withSize (720, 420)

    let private logY (chart: GenericChart) =
        chart |> Chart.withYAxis (LinearAxis.init (AxisType = StyleParam.AxisType.Log))

    let private checkHistory (fn: string) (h: TrainingHistory) =
        if isNull (box h) then
            Guard.fail fn "history" "the history must not be null."

    /// <summary>
    /// The trailing moving average of <paramref name="values"/> over <paramref name="window"/> points (fewer at the
    /// start): entry i is the mean of values[max(0, i − window + 1) .. i]. Window ≥ 1.
    /// </summary>
    let smooth (window: int) (values: float[]) =
        Guard.positive "Plot.smooth" "window" window
        // Summed window by window (not by prefix sums, whose differences round): window 1 returns the values.
        Array.init values.Length (fun i ->
            let lo = max 0 (i - window + 1)
            Array.sum values.[lo..i] / float (i + 1 - lo))

    /// <summary>The smoothing window of the loss curves: 1/25 of the iterations, at least 1.</summary>
    let defaultWindow (iterations: int) = max 1 (iterations / 25)

    /// <summary>
    /// Loss per iteration: the raw minibatch losses (thin, light) and their moving average
    /// (<see cref="M:Functional.FSharp.PlotModule.smooth"/> over <see cref="M:Functional.FSharp.PlotModule.defaultWindow"/>
    /// iterations). With <paramref name="logScale"/> the y axis is logarithmic (useful when the loss spans decades).
    /// Two traces; x is the iteration (1-based).
    /// </summary>
    let loss (logScale: bool) (h: TrainingHistory) =
        checkHistory "Plot.loss" h
        let xs = [ 1 .. h.Loss.Length ]
        let window = defaultWindow h.Loss.Length

        [
            Chart.Line(x = xs, y = h.Loss, Name = "loss", Opacity = 0.35)
            Chart.Line(x = xs, y = smooth window h.Loss, Name = $"smoothed ({window} it.)")
        ]
        |> Chart.combine
        |> titled $"Training loss: {h.Name}" "iteration" "loss"
        |> if logScale then logY else id

    /// <summary>
    /// Training and validation accuracy per epoch (epoch 0 is before training): two traces, y in [0, 1].
    /// </summary>
    let accuracy (h: TrainingHistory) =
        checkHistory "Plot.accuracy" h
        let epochs (a: float[]) = [ 0 .. a.Length - 1 ]

        [
            Chart.Line(x = epochs h.TrainAccuracy, y = h.TrainAccuracy, Name = "train", ShowMarkers = true)
            Chart.Line(x = epochs h.ValAccuracy, y = h.ValAccuracy, Name = "validation", ShowMarkers = true)
        ]
        |> Chart.combine
        |> titled $"Accuracy: {h.Name}" "epoch" "accuracy"

    /// <summary>The learning rate used in each epoch (1-based), on a log axis: one trace.</summary>
    let learningRate (h: TrainingHistory) =
        checkHistory "Plot.learningRate" h

        Chart.Line(x = [ 1 .. h.LearningRate.Length ], y = h.LearningRate, Name = "learning rate", ShowMarkers = true)
        |> titled $"Learning rate: {h.Name}" "epoch" "learning rate"
        |> logY

    /// <summary>
    /// The course's <c>visualize_grid</c>: the N images of an (N, C, H, W) tensor (C = 1 grayscale or C = 3 RGB)
    /// tiled row-major in a ⌈√N⌉ × ⌈√N⌉ grid with <paramref name="padding"/> pixels between tiles, each image
    /// scaled on its own to [0, 255] by its minimum and maximum (a constant image becomes 0). Returns rows of
    /// pixels, each pixel [r; g; b] (gray repeated for C = 1), and the grid's column count.
    /// </summary>
    let visualizeGrid (padding: int) (images: Tensor) : int[][][] * int =
        let fn = "Plot.visualizeGrid"

        if isNull (box images) then
            Guard.fail fn "images" "the images must not be null."

        Guard.nonNegative fn "padding" padding
        let d = images.Dims

        if
            d.Length <> 4
            || (d.[1] <> 1 && d.[1] <> 3)
            || d.[0] = 0
            || d.[2] = 0
            || d.[3] = 0
        then
            Guard.fail
                fn
                "images"
                $"expected (N, C, H, W) with N >= 1 and C = 1 (grayscale) or 3 (RGB), got {Guard.shapeText d}."

        let n, c, h, w = d.[0], d.[1], d.[2], d.[3]
        let side = int (ceil (sqrt (float n)))
        let rows = (n + side - 1) / side
        let gh, gw = rows * h + (rows - 1) * padding, side * w + (side - 1) * padding
        let data = images.Data

        let scale =
            Array.init n (fun i ->
                let img = data.[i * c * h * w .. (i + 1) * c * h * w - 1]

                if Array.exists (fun v -> Double.IsNaN v || Double.IsInfinity v) img then
                    Guard.fail fn "images" $"image {i} holds NaN or infinite values."

                let lo, hi = Array.min img, Array.max img
                lo, (if hi > lo then 255.0 / (hi - lo) else 0.0))

        let pixel i ch y x =
            let lo, k = scale.[i]
            int (Math.Round((data.[((i * c + ch) * h + y) * w + x] - lo) * k))

        let grid =
            Array.init gh (fun gy ->
                Array.init gw (fun gx ->
                    let ty, y = gy / (h + padding), gy % (h + padding)
                    let tx, x = gx / (w + padding), gx % (w + padding)
                    let i = ty * side + tx

                    if y >= h || x >= w || i >= n then
                        [| 0; 0; 0 |]
                    else
                        Array.init 3 (fun ch -> pixel i (if c = 1 then 0 else ch) y x)))

        grid, side

    let private imageChart (title: string) (pixels: int[][][]) =
        let gh, gw = pixels.Length, pixels.[0].Length
        // Screen pixels per image pixel: the grid about 480 pixels across, from 1 to 24.
        let k = 480.0 / float (max gh gw) |> min 24.0 |> max 1.0

        Chart.Image(Z = pixels, Name = "images")
        |> Chart.withTitle title
        |> Chart.withXAxis (LinearAxis.init (ShowTickLabels = false, ShowGrid = false))
        |> Chart.withYAxis (LinearAxis.init (ShowTickLabels = false, ShowGrid = false))
        |> Chart.withSize (max 420 (int (float gw * k) + 120), int (float gh * k) + 160)

    /// <summary>
    /// An image grid of an (N, C, H, W) tensor (<see cref="M:Functional.FSharp.PlotModule.visualizeGrid"/>, padding
    /// 1): first-layer conv filters, first-layer weights reshaped to images, or sample inputs. One image trace.
    /// </summary>
    let imageGrid (title: string) (images: Tensor) =
        let pixels, _ = visualizeGrid 1 images
        imageChart title pixels

    /// <summary>
    /// Sample predictions: the (N, C, H, W) images in a grid (padding 2), each labelled "predicted (true)" in
    /// green when right and red, with a red frame, when wrong. <paramref name="classNames"/> names the labels
    /// (index = label). One image trace; one annotation per image.
    /// </summary>
    let predictions (classNames: string[]) (images: Tensor) (predicted: int[]) (actual: int[]) =
        let fn = "Plot.predictions"
        let pixels, side = visualizeGrid 2 images
        let n, h, w = images.Dims.[0], images.Dims.[2], images.Dims.[3]

        if
            isNull (box predicted)
            || isNull (box actual)
            || predicted.Length <> n
            || actual.Length <> n
        then
            Guard.fail fn "predicted" $"{n} images need {n} predicted and {n} true labels."

        if isNull (box classNames) then
            Guard.fail fn "classNames" "the class names must not be null."

        let name label =
            if label < 0 || label >= classNames.Length then
                Guard.fail fn "labels" $"label {label} is out of range [0, {classNames.Length})."
            else
                classNames.[label]

        let corner i =
            float ((i % side) * (w + 2)), float ((i / side) * (h + 2))

        let labels = [
            for i in 0 .. n - 1 ->
                let x0, y0 = corner i
                let right = predicted.[i] = actual.[i]

                Annotation.init (
                    X = x0 + float w / 2.0,
                    Y = y0 + float h - 0.5,
                    Text = $"{name predicted.[i]} ({name actual.[i]})",
                    ShowArrow = false,
                    YAnchor = StyleParam.YAnchorPosition.Bottom,
                    BGColor = Color.fromString "rgba(255,255,255,0.75)",
                    Font = Font.init (Size = 10., Color = Color.fromString (if right then "green" else "red"))
                )
        ]

        let frames = [
            for i in 0 .. n - 1 do
                if predicted.[i] <> actual.[i] then
                    let x0, y0 = corner i

                    Shape.init (
                        ShapeType = StyleParam.ShapeType.Rectangle,
                        X0 = x0 - 1.0,
                        X1 = x0 + float w,
                        Y0 = y0 - 1.0,
                        Y1 = y0 + float h,
                        Line = Line.init (Color = Color.fromString "red", Width = 2.)
                    )
        ]

        let wrong = Seq.fold2 (fun k p a -> if p <> a then k + 1 else k) 0 predicted actual

        imageChart $"Predictions: predicted (true), {wrong} of {n} wrong" pixels
        |> Chart.withAnnotations labels
        |> Chart.withShapes frames

    /// <summary>
    /// The confusion matrix: entry [t][p] counts the examples of true class t predicted as p (t, p in [0, C)).
    /// Labels out of range or arrays of different lengths throw ArgumentException.
    /// </summary>
    let confusionCounts (classes: int) (predicted: int[]) (actual: int[]) =
        let fn = "Plot.confusionCounts"
        Guard.positive fn "classes" classes

        if
            isNull (box predicted)
            || isNull (box actual)
            || predicted.Length <> actual.Length
        then
            Guard.fail fn "predicted" "predicted and true labels must be non-null arrays of the same length."

        let counts = Array.init classes (fun _ -> Array.zeroCreate<int> classes)

        for p, a in Array.zip predicted actual do
            if p < 0 || p >= classes || a < 0 || a >= classes then
                Guard.fail fn "labels" $"label pair (predicted {p}, true {a}) is out of range [0, {classes})."

            counts.[a].[p] <- counts.[a].[p] + 1

        counts

    /// <summary>
    /// A confusion-matrix heatmap (true class down, predicted class across, class 0 at the top left) with the count
    /// written in every cell: one heatmap trace, C × C annotations.
    /// </summary>
    let confusionMatrix (classNames: string[]) (predicted: int[]) (actual: int[]) =
        if isNull (box classNames) then
            Guard.fail "Plot.confusionMatrix" "classNames" "the class names must not be null."

        let counts = confusionCounts classNames.Length predicted actual
        let top = counts |> Array.map Array.max |> Array.max
        let correct = Seq.sum (seq { for i in 0 .. counts.Length - 1 -> counts.[i].[i] })

        let cells = [
            for t in 0 .. counts.Length - 1 do
                for p in 0 .. counts.Length - 1 ->
                    Annotation.init (
                        X = classNames.[p],
                        Y = classNames.[t],
                        Text = string counts.[t].[p],
                        ShowArrow = false,
                        Font =
                            Font.init (Color = Color.fromString (if 2 * counts.[t].[p] > top then "white" else "black"))
                    )
        ]

        Chart.Heatmap(
            zData = counts,
            X = classNames,
            Y = classNames,
            Name = "counts",
            ColorScale =
                StyleParam.Colorscale.Custom [ 0.0, Color.fromString "#f7fbff"; 1.0, Color.fromString "#08306b" ],
            ReverseYAxis = true
        )
        |> Chart.withAnnotations cells
        |> titled
            $"Confusion matrix: {correct} of {predicted.Length} right ({100.0 * float correct / float (max 1 predicted.Length):F1} %%)"
            "predicted label"
            "true label"
        |> Chart.withSize (620, 560)

    /// <summary>
    /// Gradient-check results: the largest relative error of each check (label, report), bars on a log axis, green
    /// when within the tolerance and red when not, and the tolerance as a dashed line (the largest tolerance of the
    /// reports). Errors of exactly 0 are drawn at 1e-18 (a log axis has no 0). Two traces.
    /// </summary>
    let gradCheck (results: (string * GradCheckReport) seq) =
        let rows = Seq.toArray results

        if rows.Length = 0 then
            Guard.fail "Plot.gradCheck" "results" "there are no gradient-check results to draw."

        let labels = rows |> Array.map fst
        let errors = rows |> Array.map (fun (_, r) -> max r.MaxRelativeError 1e-18)
        let tolerance = rows |> Array.map (fun (_, r) -> r.Tolerance) |> Array.max

        let colors =
            rows
            |> Array.map (fun (_, r) -> Color.fromString (if r.Passed then "seagreen" else "crimson"))

        [
            Chart.Column(
                values = errors,
                Keys = labels,
                Name = "max relative error",
                MarkerColor = Color.fromColors colors
            )
            Chart.Line(
                x = labels,
                y = Array.create labels.Length tolerance,
                Name = $"tolerance {tolerance:G3}",
                LineDash = StyleParam.DrawingStyle.Dash,
                LineColor = Color.fromString "black"
            )
        ]
        |> Chart.combine
        |> titled
            $"Gradient check: {rows |> Array.filter (fun (_, r) -> r.Passed) |> Array.length} of {rows.Length} within {tolerance:G3}"
            "gradient"
            "max relative error"
        |> logY
        |> Chart.withSize (max 720 (24 * rows.Length + 160), 480)

    let private checkHistories (fn: string) (histories: TrainingHistory seq) =
        let hs = Seq.toArray histories

        if hs.Length = 0 || Array.exists (box >> isNull) hs then
            Guard.fail fn "histories" "give at least one history, none of them null."

        hs

    /// <summary>
    /// Several runs' smoothed losses on one chart (the course's "SGD vs momentum vs RMSProp vs Adam"): one trace per
    /// history, named by its Name; log y axis when asked.
    /// </summary>
    let compareLoss (logScale: bool) (histories: TrainingHistory seq) =
        checkHistories "Plot.compareLoss" histories
        |> Array.map (fun h ->
            Chart.Line(x = [ 1 .. h.Loss.Length ], y = smooth (defaultWindow h.Loss.Length) h.Loss, Name = h.Name))
        |> Chart.combine
        |> titled "Training loss (smoothed)" "iteration" "loss"
        |> if logScale then logY else id

    /// <summary>
    /// Several runs' accuracies per epoch on one chart: validation solid, training dashed, both in the run's colour;
    /// two traces per history.
    /// </summary>
    let compareAccuracy (histories: TrainingHistory seq) =
        let hs = checkHistories "Plot.compareAccuracy" histories

        let palette = [|
            "#1f77b4"
            "#ff7f0e"
            "#2ca02c"
            "#d62728"
            "#9467bd"
            "#8c564b"
            "#e377c2"
            "#7f7f7f"
        |]

        hs
        |> Array.mapi (fun i h ->
            let color = Color.fromString palette.[i % palette.Length]

            [
                Chart.Line(
                    x = [ 0 .. h.ValAccuracy.Length - 1 ],
                    y = h.ValAccuracy,
                    Name = $"{h.Name} val",
                    ShowMarkers = true,
                    LineColor = color,
                    MarkerColor = color
                )
                Chart.Line(
                    x = [ 0 .. h.TrainAccuracy.Length - 1 ],
                    y = h.TrainAccuracy,
                    Name = $"{h.Name} train",
                    LineDash = StyleParam.DrawingStyle.Dash,
                    LineColor = color
                )
            ])
        |> Seq.concat
        |> Chart.combine
        |> titled "Accuracy: validation (solid), training (dashed)" "epoch" "accuracy"

    /// <summary>
    /// A sweep: one trace per series (name, (x, y) points) against a log x axis, markers and lines, e.g. the
    /// batchnorm notebook's final accuracy vs weight-initialization scale with and without batchnorm.
    /// </summary>
    let sweep (title: string) (xTitle: string) (yTitle: string) (series: (string * (float * float)[]) seq) =
        let all = Seq.toArray series

        if all.Length = 0 then
            Guard.fail "Plot.sweep" "series" "give at least one series."

        all
        |> Array.map (fun (name, points) ->
            if points |> Array.exists (fun (x, _) -> not (x > 0.0)) then
                Guard.fail "Plot.sweep" "series" $"series '{name}' has an x <= 0 (the x axis is logarithmic)."

            Chart.Line(xy = points, Name = name, ShowMarkers = true))
        |> Chart.combine
        |> titled title xTitle yTitle
        |> Chart.withXAxis (LinearAxis.init (AxisType = StyleParam.AxisType.Log))

    /// <summary>
    /// The weight-initialization sweep of the batchnorm notebook: the final accuracy (y) against the weight scale
    /// (x, log axis) for each series (e.g. "baseline", "batchnorm").
    /// </summary>
    let weightScaleSweep (yTitle: string) (series: (string * (float * float)[]) seq) =
        sweep $"{yTitle} vs weight initialization scale" "weight initialization scale" yTitle series
