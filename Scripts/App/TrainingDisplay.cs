using Spectre.Console;

namespace Functional.App;

/// <summary>
/// The progress display of a training run: a live bar with the latest iteration and a line per epoch on an
/// interactive console, plain lines (every epoch, every 40 iterations) otherwise. Shows the run's metric by name.
/// </summary>
internal static class TrainingDisplay
{
    /// <summary>Runs <paramref name="train"/> with a progress reporter that draws the display.</summary>
    public static TrainingResult Run(Func<IProgress<TrainingProgress>, TrainingResult> train) =>
        AnsiConsole.Profile.Capabilities.Interactive
            ? AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("starting", maxValue: 1.0);
                    return train(new Reporter(p =>
                    {
                        task.Value = (double)p.Iteration / Math.Max(1, p.TotalIterations);
                        task.Description = Markup.Escape(Describe(p));
                        if (p.Kind == ProgressKind.Epoch)
                            AnsiConsole.MarkupLine(Markup.Escape(Describe(p)));
                    }));
                })
            : train(new Reporter(p =>
            {
                if (p.Kind == ProgressKind.Epoch || p.Iteration % 40 == 0)
                    Console.WriteLine(Describe(p));
            }));

    public static string Describe(TrainingProgress p) =>
        p.Kind == ProgressKind.Epoch
            ? $"epoch {p.Epoch}/{p.NumEpochs} done: loss {p.Loss:F4}, train {p.Metric} {p.TrainMetric:F4}, val {p.Metric} {p.ValMetric:F4}, " +
              $"{p.ExamplesPerSecond:F0} ex/s, elapsed {p.Elapsed.TotalSeconds:F0} s"
            : $"epoch {p.Epoch}/{p.NumEpochs} iter {p.Iteration}/{p.TotalIterations}: loss {p.Loss:F4}, " +
              $"{p.ExamplesPerSecond:F0} ex/s, ETA {p.Eta.TotalSeconds:F0} s";

    /// <summary>A synchronous IProgress (System.Progress posts to the thread pool, which would reorder lines).</summary>
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
