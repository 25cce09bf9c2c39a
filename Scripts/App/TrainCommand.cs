using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;

namespace Functional.App;

/// <summary>
/// The <c>train</c> verb: trains a net on the embedded digits (or CIFAR-10) with progress, then reports train,
/// validation and test accuracy and writes the checkpoint, the trained model (<c>model.npz</c>, which
/// <see cref="Model.Load"/> reads) and a JSON history to the output folder.
/// </summary>
internal static class TrainCommand
{
    private static readonly Option<string> ModelOpt = new Option<string>("--model")
    {
        Description = "conv (three-layer convnet) or fc (fully connected net).",
        DefaultValueFactory = _ => "conv",
    }.Choices("conv", "fc");

    private static readonly Option<string> HiddenOpt = new Option<string>("--hidden")
    {
        Description = "fc: comma-separated hidden sizes; conv: the hidden affine size.",
        DefaultValueFactory = _ => "100",
    }.Sizes();

    private static readonly Option<int> FiltersOpt = new Option<int>("--filters")
    {
        Description = "conv: number of filters.",
        DefaultValueFactory = _ => 32,
    }.AtLeast(1);

    private static readonly Option<int> FilterSizeOpt = new Option<int>("--filter-size")
    {
        Description = "conv: filter size (odd; padding keeps the spatial size).",
        DefaultValueFactory = _ => 5,
    }.AtLeast(1).Odd();

    private static readonly Option<string> NormOpt = new Option<string>("--normalization")
    {
        Description = "fc: none, batch or layer.",
        DefaultValueFactory = _ => "none",
    }.Choices("none", "batch", "layer");

    private static readonly Option<double?> DropoutOpt = new Option<double?>("--dropout")
    {
        Description = "fc: dropout keep probability in (0, 1]; none when omitted.",
    }.Within(0, 1, minInclusive: false);

    private static readonly Option<string> UpdateOpt = new Option<string>("--update")
    {
        Description = "Update rule: sgd, momentum, nesterov, rmsprop, adam or adamw.",
        DefaultValueFactory = _ => "adam",
    }.Choices("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw");

    private static readonly Option<double> LrOpt = new Option<double>("--learning-rate")
    {
        Description = "Learning rate, > 0.",
        DefaultValueFactory = _ => 3e-3,
    }.Within(0, double.PositiveInfinity, minInclusive: false, maxInclusive: false);

    private static readonly Option<double> LrDecayOpt = new Option<double>("--lr-decay")
    {
        Description = "Learning-rate factor per epoch, in (0, 1].",
        DefaultValueFactory = _ => 0.5,
    }.Within(0, 1, minInclusive: false);

    private static readonly Option<double> WeightScaleOpt = new Option<double>("--weight-scale")
    {
        Description = "Standard deviation of the initial weights.",
        DefaultValueFactory = _ => 5e-2,
    }.Within(0, double.PositiveInfinity, maxInclusive: false);

    private static readonly Option<double> RegOpt = new Option<double>("--reg")
    {
        Description = "L2 regularization strength.",
        DefaultValueFactory = _ => 1e-4,
    }.Within(0, double.PositiveInfinity, maxInclusive: false);

    private static readonly Option<int> EpochsOpt = new Option<int>("--epochs")
    {
        Description = "Number of epochs.",
        DefaultValueFactory = _ => 4,
    }.AtLeast(1);

    private static readonly Option<int> BatchOpt = new Option<int>("--batch-size")
    {
        Description = "Minibatch size.",
        DefaultValueFactory = _ => 50,
    }.AtLeast(1);

    private static readonly Option<long> SeedOpt = new Option<long>("--seed")
    {
        Description = "Seed of the initial weights and the minibatch order.",
        DefaultValueFactory = _ => 0,
    };

    private static readonly Option<string> DataOpt = new Option<string>("--data")
    {
        Description = "digits (embedded) or cifar10 (needs --data-dir).",
        DefaultValueFactory = _ => "digits",
    }.Choices("digits", "cifar10");

    private static readonly Option<string?> DataDirOpt = new Option<string?>("--data-dir")
    {
        Description = "cifar10: the folder of the binary version (cifar-10-batches-bin), or the downloaded cifar-10-binary.tar.gz itself.",
    };

    private static readonly Option<string> OutputOpt = new Option<string>("--output")
    {
        Description = "Folder for checkpoint.npz, model.npz (the trained net, for Model.Load) and history.json.",
        DefaultValueFactory = _ => "out",
    };

    private static readonly Option<int?> NumTrainOpt = new Option<int?>("--num-train")
    {
        Description = "Train on the first N training images only (the course's overfit-a-small-subset check).",
    }.AtLeast(1);

    private static readonly Option<string?> ResumeOpt = new Option<string?>("--resume")
    {
        Description = "Continue the run saved in this checkpoint (same model, rule, batch size and data options) until --epochs epochs are complete.",
    };

    private static readonly Option<bool> PngOpt = new("--png") { Description = "Also write every report figure as PNG (needs Debian's chromium)." };

    public static Command Create()
    {
        var command = new Command("train", "Train a net (default: a three-layer convnet on the embedded digits) and report its accuracy.");
        foreach (var o in new Option[]
                 {
                     ModelOpt, HiddenOpt, FiltersOpt, FilterSizeOpt, NormOpt, DropoutOpt, UpdateOpt, LrOpt, LrDecayOpt,
                     WeightScaleOpt, RegOpt, EpochsOpt, BatchOpt, SeedOpt, DataOpt, DataDirOpt, NumTrainOpt, ResumeOpt,
                     OutputOpt, PngOpt,
                 })
        {
            command.Options.Add(o);
        }

        command.Validators.Add(r =>
        {
            if (r.GetValue(DataOpt) == "cifar10" && string.IsNullOrWhiteSpace(r.GetValue(DataDirOpt)))
                r.AddError("--data cifar10 needs --data-dir (the cifar-10-batches-bin folder or cifar-10-binary.tar.gz).");
            if (r.GetValue(ResumeOpt) is { } resume && !File.Exists(resume))
                r.AddError($"--resume: no checkpoint file at {resume}.");
            if (r.GetValue(ModelOpt) == "conv" && r.GetValue(HiddenOpt) is { } h && h.Contains(','))
                r.AddError($"--hidden: the conv model takes one hidden size, got '{h}'.");
        });
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult r)
    {
        try
        {
            return Train(r);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException
                                      or TrainingDivergedException or CheckpointException or InvalidDataException
                                      or InvalidOperationException)
        {
            return Terminal.Fail($"train failed: {e.Message}", ExitCodes.Failed);
        }
    }

    private static int Train(ParseResult r)
    {
        var output = Path.GetFullPath(r.GetValue(OutputOpt)!);
        if (OutputFolder.Problem(output) is { } problem)
            return Terminal.Fail($"train: cannot write to --output {output}: {problem}", ExitCodes.Failed);
        var resume = r.GetValue(ResumeOpt) is { } resumePath ? Checkpoint.Load(resumePath) : null;
        var clock = Stopwatch.StartNew();
        var console = Terminal.Out;

        var data = r.GetValue(DataOpt) == "cifar10"
            ? Cifar10.Load(r.GetValue(DataDirOpt)!).NormalizePerChannel().Split
            : Datasets.Digits().SubtractMean().Split;
        if (r.GetValue(NumTrainOpt) is { } numTrain)
        {
            if (numTrain > data.Train.Count)
                return Terminal.Fail($"train: --num-train {numTrain} is more than the {data.Train.Count} training images.", ExitCodes.Usage);
            data = new DataSplit(data.Train.Head(numTrain), data.Validation, data.Test);
        }

        console.MarkupLine(
            $"Data: [bold]{data.Train.Count}[/] train, {data.Validation.Count} validation, {data.Test.Count} test images of shape " +
            $"({string.Join(", ", data.Train.X.Shape.Skip(1))}), loaded in {clock.Elapsed.TotalSeconds:F1} s.");

        var net = BuildNet(r, data);
        var rule = BuildRule(r.GetValue(UpdateOpt)!, r.GetValue(LrOpt));
        var checkpointPath = Path.Combine(output, "checkpoint.npz");
        var options = new SolverConfig
        {
            NumEpochs = r.GetValue(EpochsOpt),
            BatchSize = r.GetValue(BatchOpt),
            LrDecay = r.GetValue(LrDecayOpt),
            Seed = r.GetValue(SeedOpt),
            NumTrainSamples = Math.Min(1000, data.Train.Count),
            PrintEvery = 10,
            CheckpointPath = checkpointPath,
        };
        console.MarkupLine($"Model: [bold]{Markup.Escape(net.Name)}[/]; rule {Markup.Escape(rule.ToString())}; " +
                           $"{options.NumEpochs} epochs of batch {options.BatchSize}; GEMM backend {Blas.Active}" +
                           (resume is null ? "." : $"; resuming after epoch {resume.Epoch}, iteration {resume.Iteration}."));

        using var stop = new StopSignals();
        var epochEnds = new List<double>();
        var run = new TrainingRun(new Solver(net, rule, options), data, resume, stop.Token);
        var result = Terminal.Plain
            ? run.Train(p => PrintLine(console, p, epochEnds))
            : TrainWithBar(console, run, epochEnds);

        // Which files this run wrote: the solver writes the checkpoint after every completed epoch; a stopped run
        // saves its current state (it resumes bit for bit); a run that completed no epoch and was not stopped wrote none.
        var written = new List<string>();
        var failures = 0;
        if (result.Cancelled)
        {
            try
            {
                Checkpoint.Save(checkpointPath, result);
                written.Add(checkpointPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CheckpointException)
            {
                failures++;
                Console.Error.WriteLine($"train: the current state could not be saved to {checkpointPath}: {e.Message}");
            }
        }
        else if (result.Epochs > (resume?.Epoch ?? 0))
        {
            written.Add(checkpointPath);
        }

        // The trained net (its best parameters and state) with its kind and settings, for Model.Load.
        var modelPath = Path.Combine(output, "model.npz");
        try
        {
            net.Save(modelPath, result.BestParameters, result.BestState);
            written.Add(modelPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            failures++;
            Console.Error.WriteLine($"train: the model could not be written to {modelPath}: {e.Message}");
        }

        var trainAcc = net.Accuracy(data.Train.X, data.Train.Labels, result.BestParameters, result.BestState);
        var valAcc = net.Accuracy(data.Validation.X, data.Validation.Labels, result.BestParameters, result.BestState);
        var testAcc = net.Accuracy(data.Test.X, data.Test.Labels, result.BestParameters, result.BestState);

        var table = new Table().Border(Terminal.Plain ? TableBorder.Ascii : TableBorder.Rounded)
            .AddColumn("set").AddColumn(new TableColumn("accuracy").RightAligned());
        table.AddRow("train", $"{trainAcc:P2}");
        table.AddRow("validation", $"{valAcc:P2}");
        table.AddRow("test", $"[bold]{testAcc:P2}[/]");
        console.Write(table);

        var historyPath = Path.Combine(output, "history.json");
        var history = History.Of(net, rule, options, data.Train.Count, result, epochEnds, stop.Signal,
            r.GetValue(ResumeOpt), new FinalAccuracy(trainAcc, valAcc, testAcc));
        try
        {
            History.Write(historyPath, history);
            written.Add(historyPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            failures++;
            Console.Error.WriteLine($"train: the history could not be written to {historyPath}: {e.Message}");
        }

        console.MarkupLine($"Trained {result.Iterations} iterations in {result.Elapsed.TotalSeconds:F1} s " +
                           $"({result.ExamplesPerSecond:F0} examples/s); total {clock.Elapsed.TotalSeconds:F1} s" +
                           (stop.Signal is { } sig ? $" [yellow](stopped by {sig}; the checkpoint holds the state after iteration {result.Iterations})[/]" : "") + ".");
        console.MarkupLine(written.Count == 0
            ? "Wrote no files."
            : $"Wrote {Markup.Escape(Listed(written))}.");
        if (written.Contains(modelPath))
            console.MarkupLine($"Use the trained net with [bold]Model.Load(\"{Markup.Escape(modelPath)}\")[/] (C#) or Model.load (F#).");
        var report = Report.WriteTraining(output, net, result, data, Report.Settings(net, rule, options, r.GetValue(DataOpt)!, result),
            (trainAcc, valAcc, testAcc), r.GetValue(PngOpt));
        console.MarkupLine($"Report: [bold]{Markup.Escape(report)}[/] (open it in a browser; it works offline).");
        return stop.ExitCode ?? (failures > 0 ? ExitCodes.Failed : ExitCodes.Ok);
    }

    /// <summary>"a", "a and b", "a, b and c".</summary>
    private static string Listed(IReadOnlyList<string> items) =>
        items.Count < 2 ? string.Join("", items) : $"{string.Join(", ", items.Take(items.Count - 1))} and {items[^1]}";

    private static Model BuildNet(ParseResult r, DataSplit data)
    {
        var shape = data.Train.X.Shape;
        var classes = data.Train.Classes.Count;
        var hidden = Validate.ParseSizes(r.GetValue(HiddenOpt)!)!;
        return r.GetValue(ModelOpt) switch
        {
            "conv" => new ThreeLayerConvNet(
                inputDims: (shape[1], shape[2], shape[3]),
                numFilters: r.GetValue(FiltersOpt),
                filterSize: r.GetValue(FilterSizeOpt),
                hiddenDim: hidden[0],
                numClasses: classes,
                weightScale: r.GetValue(WeightScaleOpt),
                reg: r.GetValue(RegOpt),
                seed: r.GetValue(SeedOpt)),
            "fc" => new FullyConnectedNet(
                hiddenDims: hidden,
                inputDim: shape.Skip(1).Aggregate(1, (a, b) => a * b),
                numClasses: classes,
                weightScale: r.GetValue(WeightScaleOpt),
                reg: r.GetValue(RegOpt),
                normalization: r.GetValue(NormOpt) switch
                {
                    "none" => Normalization.None,
                    "batch" => Normalization.Batch,
                    "layer" => Normalization.Layer,
                    var other => throw new ArgumentException($"train: --normalization must be none, batch or layer, got '{other}'.", "--normalization"),
                },
                dropoutKeepProbability: r.GetValue(DropoutOpt),
                seed: r.GetValue(SeedOpt)),
            var other => throw new ArgumentException($"train: --model must be conv or fc, got '{other}'.", "--model"),
        };
    }

    private static UpdateRule BuildRule(string name, double lr) => name switch
    {
        "sgd" => UpdateRule.Sgd(lr),
        "momentum" => UpdateRule.Momentum(lr),
        "nesterov" => UpdateRule.Nesterov(lr),
        "rmsprop" => UpdateRule.RmsProp(lr),
        "adam" => UpdateRule.Adam(lr),
        "adamw" => UpdateRule.AdamW(lr),
        _ => throw new ArgumentException($"train: --update must be sgd, momentum, nesterov, rmsprop, adam or adamw, got '{name}'.", "--update"),
    };

    /// <summary>
    /// In a terminal: one progress row per epoch, which ends as that epoch's summary; nothing else is written while
    /// the live display runs, so the rows stay clean.
    /// </summary>
    private static TrainingResult TrainWithBar(IAnsiConsole console, TrainingRun run, List<double> epochEnds) =>
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask? task = null;
                return run.Train(p =>
                {
                    var perEpoch = Math.Max(1, p.TotalIterations / Math.Max(1, p.NumEpochs));
                    if (task is null || (p.Kind == ProgressKind.Iteration && task.IsFinished))
                        task = ctx.AddTask($"epoch {p.Epoch}/{p.NumEpochs}", maxValue: perEpoch);
                    task.Value = Math.Min(perEpoch, p.Iteration - (p.Epoch - 1) * perEpoch);
                    task.Description = Markup.Escape(Describe(p));
                    if (p.Kind == ProgressKind.Epoch)
                    {
                        epochEnds.Add(p.Elapsed.TotalSeconds);
                        task.Value = perEpoch;
                        task.StopTask();
                    }
                });
            });

    /// <summary>Plain output: the epoch lines, and an iteration line every 40 iterations.</summary>
    private static void PrintLine(IAnsiConsole console, TrainingProgress p, List<double> epochEnds)
    {
        if (p.Kind == ProgressKind.Epoch)
            epochEnds.Add(p.Elapsed.TotalSeconds);
        if (TrainingDisplay.IsPlainLine(p))
            console.WriteLine(Describe(p));
    }

    private static string Describe(TrainingProgress p) =>
        p.Kind == ProgressKind.Epoch
            ? $"epoch {p.Epoch}/{p.NumEpochs} done: loss {p.Loss:F4}, train acc {p.TrainAccuracy:P1}, val acc {p.ValAccuracy:P1}, " +
              $"{p.ExamplesPerSecond:F0} ex/s, elapsed {p.Elapsed.TotalSeconds:F0} s"
            : TrainingDisplay.DescribeIteration(p);
}
