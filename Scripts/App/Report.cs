using System.Globalization;

namespace Functional.App;

/// <summary>
/// The HTML reports of the jobs: <c>train</c> writes report.html (settings, loss, accuracy and learning-rate curves,
/// first-layer weights as images, sample predictions and the confusion matrix on the test set, final accuracies),
/// <c>check</c> writes check.html (the gradient-check chart). Each is one self-contained file that opens offline;
/// with PNG on, every figure is also written as &lt;name&gt;.png beside it (through headless Chromium).
/// </summary>
internal static class Report
{
    /// <summary>How many test images the prediction grid shows.</summary>
    public const int SampleCount = 36;

    /// <summary>How many first-layer units of a fully connected net are drawn as images.</summary>
    public const int MaxUnits = 64;

    /// <summary>Writes report.html (and the PNGs when asked) into the folder; returns the report's path.</summary>
    public static string WriteTraining(
        string folder, Model net, TrainingResult result, DataSplit data,
        IEnumerable<KeyValuePair<string, string>> settings, (double Train, double Validation, double Test) final, bool png)
    {
        var history = Plot.HistoryOf(result, net.Name);
        var test = data.Test;
        var predicted = net.Predict(test.X, result.BestParameters, result.BestState);
        var sample = Enumerable.Range(0, Math.Min(SampleCount, test.Count)).ToArray();
        var figures = new List<(string Name, Figure Figure)>
        {
            ("loss", Plot.Loss(history)),
            ("accuracy", Plot.Accuracy(history)),
            ("learning-rate", Plot.LearningRate(history)),
            ("first-layer", FirstLayer(result.BestParameters["W1"], data.Train.X)),
            ("predictions", Plot.Predictions(
                test.X.Take(sample), sample.Select(i => predicted[i]).ToArray(), sample.Select(i => test.Labels[i]).ToArray(), test.Classes)),
            ("confusion", Plot.ConfusionMatrix(predicted, test.Labels, test.Classes)),
        };
        var rows = settings.Concat(
        [
            Row("final train accuracy", final.Train.ToString("P2", CultureInfo.InvariantCulture)),
            Row("final validation accuracy", final.Validation.ToString("P2", CultureInfo.InvariantCulture)),
            Row("final test accuracy", final.Test.ToString("P2", CultureInfo.InvariantCulture)),
        ]);
        return Save(folder, "report", $"Training report: {net.Name}", rows, figures, png);
    }

    /// <summary>The settings table of a training report.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Settings(
        Model net, UpdateRule rule, SolverConfig options, string dataName, TrainingResult result) =>
    [
        Row("model", net.Name),
        Row("data", dataName),
        Row("update rule", rule.ToString()),
        Row("epochs, batch size, learning-rate decay", $"{options.NumEpochs}, {options.BatchSize}, {options.LrDecay.ToString(CultureInfo.InvariantCulture)}"),
        Row("seed", options.Seed.ToString(CultureInfo.InvariantCulture)),
        Row("iterations, training time", $"{result.Iterations}, {result.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s" + (result.Cancelled ? " (cancelled)" : "")),
        Row("GEMM", Blas.Active.ToString()),
    ];

    /// <summary>Writes check.html (and check.png when asked); returns the report's path.</summary>
    public static string WriteCheck(
        string folder, IEnumerable<(string Layer, string Shapes, GradCheckReport Report)> rows, string criterion, bool png)
    {
        var chart = Plot.GradCheck(rows.Select(r => new KeyValuePair<string, GradCheckReport>($"{r.Layer} {r.Report.Name}", r.Report)));
        return Save(folder, "check", "Gradient check", [Row("criterion", criterion)], [("check", chart)], png);
    }

    /// <summary>
    /// The first layer's weights as images: conv filters (F, C, k, k) as they are; the (D, H) weights of a fully
    /// connected net as the first <see cref="MaxUnits"/> hidden units, each a column of D reshaped to an input image.
    /// </summary>
    public static Figure FirstLayer(Tensor w1, Tensor inputs)
    {
        if (w1.Rank == 4)
            return Plot.ImageGrid($"First-layer filters {Shape(w1)}", w1);
        var (d, h) = (w1.Shape[0], w1.Shape[1]);
        var units = Math.Min(h, MaxUnits);
        var image = inputs.Shape.Skip(1).ToArray();
        if (image.Length != 3 || image.Aggregate(1, (a, b) => a * b) != d)
            throw new ArgumentException($"Report.FirstLayer: W1 {Shape(w1)} does not match the inputs {Shape(inputs)}.", nameof(w1));
        var columns = w1.Transpose(1, 0).Take(Enumerable.Range(0, units).ToArray());
        return Plot.ImageGrid($"First-layer weights: {units} of {h} hidden units as images", columns.Reshape(units, image[0], image[1], image[2]));
    }

    private static string Save(
        string folder, string name, string title, IEnumerable<KeyValuePair<string, string>> rows,
        IReadOnlyList<(string Name, Figure Figure)> figures, bool png)
    {
        var path = Path.Combine(folder, name + ".html");
        Figure.SavePage(path, title, rows, figures.Select(f => f.Figure));
        if (png)
        {
            foreach (var (figureName, figure) in figures)
                figure.SavePng(Path.Combine(folder, figures.Count == 1 ? name + ".png" : figureName + ".png"));
        }

        return path;
    }

    private static KeyValuePair<string, string> Row(string key, string value) => new(key, value);

    private static string Shape(Tensor t) => "(" + string.Join(", ", t.Shape) + ")";
}
