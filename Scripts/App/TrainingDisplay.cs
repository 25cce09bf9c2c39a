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
                if (IsPlainLine(p))
                    Console.WriteLine(Describe(p));
            }));

    /// <summary>Whether plain (non-interactive) output prints a line for this report: every epoch, every 40 iterations.</summary>
    public static bool IsPlainLine(TrainingProgress p) => p.Kind == ProgressKind.Epoch || p.Iteration % 40 == 0;

    /// <summary>The line of a report: the epoch's summary (the run's metric by name), or the iteration's progress.</summary>
    public static string Describe(TrainingProgress p) =>
        p.Kind == ProgressKind.Epoch
            ? $"epoch {p.Epoch}/{p.NumEpochs} done: loss {p.Loss:F4}, train {p.Metric} {p.TrainMetric:F4}, val {p.Metric} {p.ValMetric:F4}, " +
              $"{p.ExamplesPerSecond:F0} ex/s, elapsed {p.Elapsed.TotalSeconds:F0} s"
            : DescribeIteration(p);

    /// <summary>The line of an iteration report: the iteration, the loss, the throughput and the time left.</summary>
    public static string DescribeIteration(TrainingProgress p) =>
        $"epoch {p.Epoch}/{p.NumEpochs} iter {p.Iteration}/{p.TotalIterations}: loss {p.Loss:F4}, " +
        $"{p.ExamplesPerSecond:F0} ex/s, ETA {p.Eta.TotalSeconds:F0} s";

    /// <summary>
    /// A reporter that adds the elapsed seconds of every epoch report to <paramref name="epochEnds"/>, then passes the
    /// report on to <paramref name="inner"/>.
    /// </summary>
    public static IProgress<TrainingProgress> RecordingEpochs(IProgress<TrainingProgress> inner, List<double> epochEnds) =>
        new Reporter(p =>
        {
            if (p.Kind == ProgressKind.Epoch)
                epochEnds.Add(p.Elapsed.TotalSeconds);
            inner.Report(p);
        });

    /// <summary>The time each epoch took: the differences of the elapsed seconds at the epoch ends.</summary>
    public static IReadOnlyList<double> EpochSeconds(IReadOnlyList<double> epochEnds) =>
        [.. epochEnds.Select((t, i) => i == 0 ? t : t - epochEnds[i - 1])];

    /// <summary>A synchronous IProgress (System.Progress posts to the thread pool, which would reorder lines).</summary>
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
