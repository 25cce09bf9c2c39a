/// Properties of the figures: what each chart holds (traces, data, axis titles and types, annotations), read back
/// from the JSON that plotly.js receives, the course's visualize_grid arithmetic, and self-contained HTML.
/// Building a chart costs about half a second here (Plotly.NET's dynamic objects), so the figure properties run few
/// cases; the arithmetic under them (smooth, visualizeGrid, confusionCounts) runs many.
module Functional.Properties.PlotProperties

open System
open System.IO
open System.Text.Json
open System.Text.RegularExpressions
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Plotly.NET
open Functional
open Functional.FSharp
open Functional.Properties.Generators

/// The `data` (traces) and `layout` JSON of a chart, as the page hands them to Plotly.newPlot.
let private figure (chart: GenericChart) =
    let html = Figure.fragment chart

    let grab (name: string) =
        let m = Regex.Match(html, $"var {name} = (.*?);\\r?\\n", RegexOptions.Singleline)
        Prop.ensure m.Success (fun () -> $"no '{name}' in the chart's HTML")
        JsonDocument.Parse(m.Groups.[1].Value).RootElement.Clone()

    grab "data", grab "layout"

let private floats (e: JsonElement) = [| for v in e.EnumerateArray() -> v.GetDouble() |]

let private axisTitle (layout: JsonElement) (axis: string) =
    layout.GetProperty(axis).GetProperty("title").GetProperty("text").GetString()

let private history (c: Case) =
    let r = key c 0

    {
        Name = "run"
        Loss = Tensor.toArray (Tensor.rand (Rng.derive 0 r) 0.1 3.0 [| c.["iters"] |])
        TrainAccuracy = Tensor.toArray (Tensor.rand (Rng.derive 1 r) 0.0 1.0 [| c.["epochs"] + 1 |])
        ValAccuracy = Tensor.toArray (Tensor.rand (Rng.derive 2 r) 0.0 1.0 [| c.["epochs"] + 1 |])
        LearningRate = TrainingHistory.learningRates 1e-3 0.9 c.["epochs"]
    }

let private historyCases = cases [ "iters", 1, 300; "epochs", 1, 8 ]

/// A training history (historyCases). The argument of the properties below (PlotArbitraries).
type HistoryCase = HistoryCase of Case

/// The Arbitrary instances of this file's cases, for [<Property(Arbitrary = [| typeof<PlotArbitraries> |])>].
type PlotArbitraries =
    static member History() =
        historyCases |> Arb.convert HistoryCase (fun (HistoryCase c) -> c)

[<Property(MaxTest = 200)>]
let ``smooth is the trailing mean over the window (window 1 is the identity)`` () =
    Prop.forAll (cases [ "n", 1, 60; "w", 1, 70 ]) (fun c ->
        let xs = Tensor.toArray (normal (key c 0) [| c.["n"] |])
        let w = c.["w"]
        let s = Plot.smooth w xs

        for i in 0 .. xs.Length - 1 do
            let window = xs.[max 0 (i - w + 1) .. i]
            let expected = Array.sum window / float window.Length
            Prop.ensure (abs (s.[i] - expected) <= 1e-12 * (1.0 + abs expected)) (fun () -> $"{c}: entry {i}")

        Prop.ensure (Plot.smooth 1 xs = xs) (fun () -> $"{c}: window 1 changed the values"))

[<Property(MaxTest = 8, Arbitrary = [| typeof<PlotArbitraries> |])>]
let ``the loss figure draws the raw losses and their moving average, iteration against loss, log axis on request``
    (HistoryCase c)
    =
    let h = history c

    for logScale in [ false; true ] do
        let data, layout = figure (Plot.loss logScale h)
        Prop.ensure (data.GetArrayLength() = 2) (fun () -> $"{c}: {data.GetArrayLength()} traces")
        Prop.ensure (floats (data.[0].GetProperty "y") = h.Loss) (fun () -> $"{c}: raw trace is not the losses")

        Prop.ensure
            (floats (data.[1].GetProperty "y") = Plot.smooth (Plot.defaultWindow h.Loss.Length) h.Loss)
            (fun () -> $"{c}: smoothed trace")

        Prop.ensure (floats (data.[0].GetProperty "x") = Array.init h.Loss.Length (fun i -> float (i + 1))) (fun () ->
            $"{c}: x is not the 1-based iteration")

        Prop.ensure (axisTitle layout "xaxis" = "iteration" && axisTitle layout "yaxis" = "loss") (fun () ->
            $"{c}: axis titles")

        let isLog =
            match layout.GetProperty("yaxis").TryGetProperty "type" with
            | true, t -> t.GetString() = "log"
            | _ -> false

        Prop.ensure (isLog = logScale) (fun () -> $"{c}: log axis {isLog}, asked {logScale}")

[<Property(MaxTest = 8, Arbitrary = [| typeof<PlotArbitraries> |])>]
let ``the accuracy figure draws train and validation per epoch from epoch 0, the learning-rate figure one point per epoch``
    (HistoryCase c)
    =
    let h = history c
    let data, layout = figure (Plot.accuracy h)
    Prop.ensure (data.GetArrayLength() = 2) (fun () -> $"{c}: traces")
    Prop.ensure (floats (data.[0].GetProperty "y") = h.TrainAccuracy) (fun () -> $"{c}: train")
    Prop.ensure (floats (data.[1].GetProperty "y") = h.ValAccuracy) (fun () -> $"{c}: val")
    Prop.ensure (floats (data.[1].GetProperty "x") = Array.init h.ValAccuracy.Length float) (fun () -> $"{c}: x")

    Prop.ensure (axisTitle layout "xaxis" = "epoch" && axisTitle layout "yaxis" = "accuracy") (fun () -> $"{c}: titles")

    let lrData, lrLayout = figure (Plot.learningRate h)
    Prop.ensure (lrData.GetArrayLength() = 1) (fun () -> $"{c}: lr traces")
    Prop.ensure (floats (lrData.[0].GetProperty "y") = h.LearningRate) (fun () -> $"{c}: lr values")
    Prop.ensure (lrLayout.GetProperty("yaxis").GetProperty("type").GetString() = "log") (fun () -> $"{c}: lr axis")

[<Fact>]
let ``the learning rate of epoch e is lr0 times decay to the power e - 1`` () =
    let lrs = TrainingHistory.learningRates 0.5 0.1 4
    Prop.ensure (lrs.Length = 4) (fun () -> $"{lrs.Length} epochs")

    for e in 0..3 do
        Prop.ensure (abs (lrs.[e] - 0.5 * 0.1 ** float e) <= 1e-15) (fun () -> $"epoch {e + 1}: {lrs.[e]}")

[<Property(MaxTest = 60)>]
let ``visualizeGrid tiles the images row-major and scales each one on its own to 0 .. 255`` () =
    Prop.forAll (cases [ "N", 1, 11; "C", 1, 2; "H", 1, 5; "W", 1, 5; "pad", 0, 2 ]) (fun c ->
        let n, ch, h, w, pad =
            c.["N"], (if c.["C"] = 1 then 1 else 3), c.["H"], c.["W"], c.["pad"]

        let x = normal (key c 0) [| n; ch; h; w |]
        let data = Tensor.toArray x
        let grid, side = Plot.visualizeGrid pad x
        Prop.ensure (side = int (ceil (sqrt (float n)))) (fun () -> $"{c}: side {side}")
        let rows = (n + side - 1) / side
        Prop.ensure (grid.Length = rows * h + (rows - 1) * pad) (fun () -> $"{c}: height {grid.Length}")
        Prop.ensure (grid.[0].Length = side * w + (side - 1) * pad) (fun () -> $"{c}: width {grid.[0].Length}")

        for i in 0 .. n - 1 do
            let img = data.[i * ch * h * w .. (i + 1) * ch * h * w - 1]
            let lo, hi = Array.min img, Array.max img
            let y0, x0 = (i / side) * (h + pad), (i % side) * (w + pad)

            for k in 0 .. ch - 1 do
                for y in 0 .. h - 1 do
                    for xx in 0 .. w - 1 do
                        let v = img.[(k * h + y) * w + xx]

                        let expected =
                            if hi > lo then
                                Math.Round((v - lo) * 255.0 / (hi - lo))
                            else
                                0.0

                        let px = grid.[y0 + y].[x0 + xx]
                        let channels = if ch = 1 then [ 0; 1; 2 ] else [ k ]

                        for j in channels do
                            Prop.ensure (float px.[j] = expected) (fun () ->
                                $"{c}: image {i} channel {k} ({y}, {xx}) -> {px.[j]}, expected {expected}")

            let tile =
                [| for y in 0 .. h - 1 -> grid.[y0 + y].[x0 .. x0 + w - 1] |]
                |> Array.concat
                |> Array.concat

            if hi > lo then
                Prop.ensure (Array.min tile = 0 && Array.max tile = 255) (fun () -> $"{c}: image {i} not 0 .. 255"))

[<Fact>]
let ``visualizeGrid rejects a wrong shape and non-finite values, naming itself`` () =
    for shape in [ [| 2; 2; 3; 3 |]; [| 3; 3; 3 |]; [| 0; 1; 2; 2 |] ] do
        let e =
            Assert.Throws<ArgumentException>(fun () -> Plot.visualizeGrid 1 (Tensor.zeros shape) |> ignore)

        Assert.Contains("Plot.visualizeGrid", e.Message)

    let e =
        Assert.Throws<ArgumentException>(fun () ->
            Plot.visualizeGrid 1 (Tensor.ofArray [| 1; 1; 1; 2 |] [| 1.0; nan |]) |> ignore)

    Assert.Contains("NaN", e.Message)

[<Property(MaxTest = 15)>]
let ``the confusion matrix counts every (true, predicted) pair once and writes each count in its cell`` () =
    Prop.forAll (cases [ "C", 1, 6; "N", 1, 80 ]) (fun c ->
        let classes, n = c.["C"], c.["N"]
        let predicted = labels (key c 0) n classes
        let actual = labels (key c 1) n classes
        let counts = Plot.confusionCounts classes predicted actual

        for t in 0 .. classes - 1 do
            for p in 0 .. classes - 1 do
                let expected = Seq.zip actual predicted |> Seq.filter ((=) (t, p)) |> Seq.length

                Prop.ensure (counts.[t].[p] = expected) (fun () ->
                    $"{c}: [{t}][{p}] = {counts.[t].[p]}, expected {expected}")

        let names = Array.init classes (sprintf "c%d")
        let data, layout = figure (Plot.confusionMatrix names predicted actual)

        Prop.ensure
            (data.GetArrayLength() = 1
             && data.[0].GetProperty("type").GetString() = "heatmap")
            (fun () -> $"{c}: trace")

        let z = [|
            for row in data.[0].GetProperty("z").EnumerateArray() ->
                [| for v in row.EnumerateArray() -> v.GetInt32() |]
        |]

        Prop.ensure (z = counts) (fun () -> $"{c}: z is not the counts")

        let notes = [|
            for a in layout.GetProperty("annotations").EnumerateArray() -> a.GetProperty("text").GetString()
        |]

        Prop.ensure
            (notes = [|
                for row in counts do
                    for v in row -> string v
            |])
            (fun () -> $"{c}: cell texts")

        Prop.ensure
            (axisTitle layout "xaxis" = "predicted label"
             && axisTitle layout "yaxis" = "true label")
            (fun () -> $"{c}"))

[<Property(MaxTest = 8)>]
let ``sample predictions label every image and frame exactly the wrong ones`` () =
    Prop.forAll (cases [ "N", 1, 16; "C", 1, 2 ]) (fun c ->
        let n = c.["N"]
        let x = normal (key c 0) [| n; (if c.["C"] = 1 then 1 else 3); 6; 6 |]
        let predicted = labels (key c 1) n 3
        let actual = labels (key c 2) n 3
        let data, layout = figure (Plot.predictions [| "a"; "b"; "c" |] x predicted actual)

        Prop.ensure (data.GetArrayLength() = 1 && data.[0].GetProperty("type").GetString() = "image") (fun () ->
            $"{c}")

        let notes = layout.GetProperty("annotations")
        Prop.ensure (notes.GetArrayLength() = n) (fun () -> $"{c}: {notes.GetArrayLength()} labels")
        let names = [| "a"; "b"; "c" |]

        for i in 0 .. n - 1 do
            let expected = $"{names.[predicted.[i]]} ({names.[actual.[i]]})"
            Prop.ensure (notes.[i].GetProperty("text").GetString() = expected) (fun () -> $"{c}: label {i}")

        let wrong = Seq.fold2 (fun k p a -> if p <> a then k + 1 else k) 0 predicted actual

        let frames =
            match layout.TryGetProperty "shapes" with
            | true, s -> s.GetArrayLength()
            | _ -> 0

        Prop.ensure (frames = wrong) (fun () -> $"{c}: {frames} frames for {wrong} wrong"))

[<Fact>]
let ``the gradient-check figure draws each error (0 at 1e-18) on a log axis with the tolerance line`` () =
    let report name err : GradCheckReport = {
        Name = name
        Shape = [| 2 |]
        Checked = 2
        MaxRelativeError = err
        MaxAbsoluteError = err
        WorstIndex = [| 0 |]
        Analytic = 1.0
        Numeric = 1.0
        Tolerance = 1e-7
    }

    let rows = [
        "affine dx", report "dx" 3e-10
        "relu dx", report "dx" 0.0
        "bn dgamma", report "dgamma" 2e-6
    ]

    let data, layout = figure (Plot.gradCheck rows)
    Prop.ensure (data.GetArrayLength() = 2) (fun () -> "traces")
    Prop.ensure (floats (data.[0].GetProperty "y") = [| 3e-10; 1e-18; 2e-6 |]) (fun () -> "errors")
    Prop.ensure (floats (data.[1].GetProperty "y") = Array.create 3 1e-7) (fun () -> "tolerance line")
    Prop.ensure (layout.GetProperty("yaxis").GetProperty("type").GetString() = "log") (fun () -> "log axis")
    Prop.ensure (axisTitle layout "yaxis" = "max relative error") (fun () -> "y title")

[<Property(MaxTest = 4)>]
let ``comparison figures draw one loss trace and two accuracy traces per run, the sweep one trace per series`` () =
    Prop.forAll (cases [ "runs", 1, 4; "iters", 1, 50; "epochs", 1, 4 ]) (fun c ->
        let hs = [ for i in 1 .. c.["runs"] -> { history c with Name = $"run {i}" } ]
        let lossData, _ = figure (Plot.compareLoss false hs)
        Prop.ensure (lossData.GetArrayLength() = hs.Length) (fun () -> $"{c}: loss traces")
        let accData, _ = figure (Plot.compareAccuracy hs)
        Prop.ensure (accData.GetArrayLength() = 2 * hs.Length) (fun () -> $"{c}: accuracy traces")
        Prop.ensure (accData.[0].GetProperty("name").GetString() = "run 1 val") (fun () -> $"{c}: names")

        let series = [ for h in hs -> h.Name, [| 1e-3, 0.1; 1e-2, 0.5; 1e-1, 0.3 |] ]
        let sweep, layout = figure (Plot.weightScaleSweep "final accuracy" series)
        Prop.ensure (sweep.GetArrayLength() = hs.Length) (fun () -> $"{c}: sweep traces")
        Prop.ensure (floats (sweep.[0].GetProperty "x") = [| 1e-3; 1e-2; 1e-1 |]) (fun () -> $"{c}: sweep x")
        Prop.ensure (layout.GetProperty("xaxis").GetProperty("type").GetString() = "log") (fun () -> $"{c}: log x")
        Prop.ensure (axisTitle layout "xaxis" = "weight initialization scale") (fun () -> $"{c}: x title"))

[<Fact>]
let ``saved HTML is self-contained: plotly.js inline, no script or link from http(s)`` () =
    let path = Path.Combine(Path.GetTempPath(), $"plot-{Guid.NewGuid():N}.html")

    try
        Plot.accuracy (
            history {
                Seed = 1
                Sizes = [ "iters", 5; "epochs", 2 ]
            }
        )
        |> Figure.saveHtml path

        let html = File.ReadAllText path
        Assert.Contains("plotly.js v2.28", html)
        Assert.DoesNotMatch("<script[^>]*src=", html)
        Assert.DoesNotMatch("<link[^>]*href=\"?https?:", html)
    finally
        File.Delete path

[<Fact>]
let ``a history read back from history.json has the file's losses, accuracies and per-epoch learning rates`` () =
    let path = Path.Combine(Path.GetTempPath(), $"history-{Guid.NewGuid():N}.json")

    try
        File.WriteAllText(
            path,
            """{"model":"fc","rule":"sgd","learningRate":0.1,"LrDecay":0.5,"epochs":2,"lossHistory":[2.3,1.5,0.9],"trainAccuracyHistory":[0.1,0.6,0.8],"valAccuracyHistory":[0.1,0.5,0.7]}"""
        )

        let h = TrainingHistory.load path
        Assert.Equal("fc · sgd", h.Name)
        Assert.Equal<float[]>([| 2.3; 1.5; 0.9 |], h.Loss)
        Assert.Equal<float[]>([| 0.1; 0.5; 0.7 |], h.ValAccuracy)
        Assert.Equal<float[]>([| 0.1; 0.05 |], h.LearningRate)
        File.WriteAllText(path, """{"lossHistory":[1.0]}""")

        let e =
            Assert.Throws<ArgumentException>(fun () -> TrainingHistory.load path |> ignore)

        Assert.Contains("AccuracyHistory", e.Message)
    finally
        File.Delete path
