using Functional.FSharp;
using Microsoft.FSharp.Collections;
using FPlot = Functional.FSharp.PlotModule;

namespace Functional;

/// <summary>
/// The course's pictures: training curves, image grids (the course's <c>visualize_grid</c>), sample predictions,
/// confusion matrices, gradient-check results and comparisons of runs. Each method returns a <see cref="Figure"/>
/// to save as HTML or PNG. Histories come from a live run (<see cref="HistoryOf"/>) or from the
/// <c>history.json</c> that <c>functional train</c> writes (<see cref="LoadHistory"/>).
/// </summary>
public static class Plot
{
    /// <summary>The history of a finished (or cancelled) run.</summary>
    /// <param name="result">The run.</param>
    /// <param name="name">A label for the run (legend entry of comparisons).</param>
    /// <returns>Loss per iteration, accuracies per epoch (entry 0 before training), learning rate per epoch.</returns>
    public static TrainingHistory HistoryOf(TrainingResult result, string name = "run") =>
        FSharp.TrainingHistoryModule.ofState(Require.NotNull(name), Require.NotNull(result).CoreState);

    /// <summary>Reads the <c>history.json</c> that <c>functional train</c> writes.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ArgumentException">The file is missing, not JSON, or lacks a history array.</exception>
    public static TrainingHistory LoadHistory(string path) => FSharp.TrainingHistoryModule.load(Require.NotNull(path));

    /// <summary>Loss per iteration: raw (light) and moving average over 1/25 of the iterations. Two traces.</summary>
    /// <param name="history">The run.</param>
    /// <param name="logScale">A logarithmic loss axis.</param>
    public static Figure Loss(TrainingHistory history, bool logScale = false) =>
        new(FPlot.loss(logScale, Require.NotNull(history)));

    /// <summary>Training and validation accuracy per epoch (epoch 0 is before training). Two traces.</summary>
    /// <param name="history">The run.</param>
    public static Figure Accuracy(TrainingHistory history) => new(FPlot.accuracy(Require.NotNull(history)));

    /// <summary>The learning rate of each epoch on a log axis. One trace.</summary>
    /// <param name="history">The run.</param>
    public static Figure LearningRate(TrainingHistory history) => new(FPlot.learningRate(Require.NotNull(history)));

    /// <summary>
    /// An image grid (the course's <c>visualize_grid</c>): N images of an (N, C, H, W) tensor, C = 1 or 3, each
    /// scaled on its own to the full gray/colour range, in a ⌈√N⌉-wide grid. One image trace.
    /// </summary>
    /// <param name="title">The figure's title.</param>
    /// <param name="images">(N, C, H, W), C = 1 (grayscale) or 3 (RGB), finite values.</param>
    /// <exception cref="ArgumentException">Wrong rank or channel count, or NaN/infinite values.</exception>
    public static Figure ImageGrid(string title, Tensor images) =>
        new(FPlot.imageGrid(Require.NotNull(title), Require.NotNull(images)));

    /// <summary>
    /// Sample predictions: the images in a grid, each labelled "predicted (true)", green when right, red with a red
    /// frame when wrong. One image trace.
    /// </summary>
    /// <param name="images">(N, C, H, W), C = 1 or 3.</param>
    /// <param name="predicted">N predicted labels.</param>
    /// <param name="actual">N true labels.</param>
    /// <param name="classNames">The class names, label i names class i.</param>
    public static Figure Predictions(
        Tensor images, IReadOnlyList<int> predicted, IReadOnlyList<int> actual, IReadOnlyList<string> classNames) =>
        new(FPlot.predictions(
            Require.NotNull(classNames).ToArray(), Require.NotNull(images), Require.Labels(predicted), Require.Labels(actual)));

    /// <summary>
    /// A confusion-matrix heatmap, true class down and predicted class across, the count in every cell. One
    /// heatmap trace.
    /// </summary>
    /// <param name="predicted">Predicted labels in [0, C).</param>
    /// <param name="actual">True labels in [0, C), as many as predicted.</param>
    /// <param name="classNames">The C class names.</param>
    /// <exception cref="ArgumentException">Lengths differ or a label is out of range.</exception>
    public static Figure ConfusionMatrix(
        IReadOnlyList<int> predicted, IReadOnlyList<int> actual, IReadOnlyList<string> classNames) =>
        new(FPlot.confusionMatrix(Require.NotNull(classNames).ToArray(), Require.Labels(predicted), Require.Labels(actual)));

    /// <summary>
    /// Gradient-check results: each check's largest relative error as a bar on a log axis (green within tolerance,
    /// red beyond), and the tolerance as a dashed line. Two traces.
    /// </summary>
    /// <param name="results">(label, report) pairs, e.g. ("affine dw", report).</param>
    public static Figure GradCheck(IEnumerable<KeyValuePair<string, GradCheckReport>> results) =>
        new(FPlot.gradCheck(Require.NotNull(results).Select(kv => Tuple.Create(kv.Key, Require.NotNull(kv.Value)))));

    /// <summary>The former name of <see cref="GradCheck"/>.</summary>
    /// <param name="results">See <see cref="GradCheck"/>.</param>
    /// <returns>See <see cref="GradCheck"/>.</returns>
    [Obsolete("Use Plot.GradCheck: the library's one name for gradient checks.")]
    public static Figure GradientCheck(IEnumerable<KeyValuePair<string, GradCheckReport>> results) => GradCheck(results);

    /// <summary>Several runs' smoothed losses on one chart (one trace each, named by the history's Name).</summary>
    /// <param name="histories">The runs.</param>
    /// <param name="logScale">A logarithmic loss axis.</param>
    public static Figure CompareLoss(IEnumerable<TrainingHistory> histories, bool logScale = false) =>
        new(FPlot.compareLoss(logScale, Require.NotNull(histories)));

    /// <summary>Several runs' accuracies: validation solid, training dashed (two traces per run).</summary>
    /// <param name="histories">The runs.</param>
    public static Figure CompareAccuracy(IEnumerable<TrainingHistory> histories) =>
        new(FPlot.compareAccuracy(Require.NotNull(histories)));

    /// <summary>
    /// The batchnorm notebook's sweep: a value (e.g. final validation accuracy) against the weight-initialization
    /// scale on a log axis, one trace per series (e.g. "baseline", "batchnorm").
    /// </summary>
    /// <param name="valueName">What y is, e.g. "final validation accuracy".</param>
    /// <param name="series">Series name → (weight scale &gt; 0, value) points.</param>
    public static Figure WeightScaleSweep(
        string valueName, IReadOnlyDictionary<string, IReadOnlyList<(double Scale, double Value)>> series) =>
        new(FPlot.weightScaleSweep(
            Require.NotNull(valueName),
            Require.NotNull(series).Select(kv => Tuple.Create(kv.Key, Require.NotNull(kv.Value).Select(p => Tuple.Create(p.Scale, p.Value)).ToArray()))));
}
