using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Functional.App;

/// <summary>
/// The <c>train</c> verb: trains a net on the embedded digits (or CIFAR-10) with progress, then reports train,
/// validation and test accuracy and writes the checkpoint and a JSON history to the output folder.
/// </summary>
internal static class TrainCommand
{
    private static readonly Option<string> ModelOpt = new("--model")
    {
        Description = "conv (three-layer convnet) or fc (fully connected net).",
        DefaultValueFactory = _ => "conv",
    };

    private static readonly Option<string> HiddenOpt = new("--hidden")
    {
        Description = "fc: comma-separated hidden sizes; conv: the hidden affine size.",
        DefaultValueFactory = _ => "100",
    };

    private static readonly Option<int> FiltersOpt = new("--filters")
    {
        Description = "conv: number of filters.",
        DefaultValueFactory = _ => 32,
    };

    private static readonly Option<int> FilterSizeOpt = new("--filter-size")
    {
        Description = "conv: filter size (odd; padding keeps the spatial size).",
        DefaultValueFactory = _ => 5,
    };

    private static readonly Option<string> NormOpt = new("--normalization")
    {
        Description = "fc: none, batch or layer.",
        DefaultValueFactory = _ => "none",
    };

    private static readonly Option<double?> DropoutOpt = new("--dropout")
    {
        Description = "fc: dropout keep probability in (0, 1]; none when omitted.",
    };

    private static readonly Option<string> UpdateOpt = new("--update")
    {
        Description = "Update rule: sgd, momentum, nesterov, rmsprop, adam or adamw.",
        DefaultValueFactory = _ => "adam",
    };

    private static readonly Option<double> LrOpt = new("--learning-rate")
    {
        Description = "Learning rate.",
        DefaultValueFactory = _ => 3e-3,
    };

    private static readonly Option<double> LrDecayOpt = new("--lr-decay")
    {
        Description = "Learning-rate decay per epoch.",
        DefaultValueFactory = _ => 0.5,
    };

    private static readonly Option<double> WeightScaleOpt = new("--weight-scale")
    {
        Description = "Standard deviation of the initial weights.",
        DefaultValueFactory = _ => 5e-2,
    };

    private static readonly Option<double> RegOpt = new("--reg")
    {
        Description = "L2 regularization strength.",
        DefaultValueFactory = _ => 1e-4,
    };

    private static readonly Option<int> EpochsOpt = new("--epochs")
    {
        Description = "Number of epochs.",
        DefaultValueFactory = _ => 4,
    };

    private static readonly Option<int> BatchOpt = new("--batch-size")
    {
        Description = "Minibatch size.",
        DefaultValueFactory = _ => 50,
    };

    private static readonly Option<long> SeedOpt = new("--seed")
    {
        Description = "Seed of the initial weights and the minibatch order.",
        DefaultValueFactory = _ => 0,
    };

    private static readonly Option<string> DataOpt = new("--data")
    {
        Description = "digits (embedded) or cifar10 (needs --data-dir).",
        DefaultValueFactory = _ => "digits",
    };

    private static readonly Option<string?> DataDirOpt = new("--data-dir")
    {
        Description = "cifar10: the folder of the binary version (cifar-10-batches-bin).",
    };

    private static readonly Option<string> OutputOpt = new("--output")
    {
        Description = "Folder for checkpoint.npz and history.json.",
        DefaultValueFactory = _ => "out",
    };

    private static readonly Option<bool> PngOpt = new("--png") { Description = "Also write every report figure as PNG (needs Debian's chromium)." };

    public static Command Create()
    {
        var command = new Command("train", "Train a net (default: a three-layer convnet on the embedded digits) and report its accuracy.");
        foreach (var o in new Option[]
                 {
                     ModelOpt, HiddenOpt, FiltersOpt, FilterSizeOpt, NormOpt, DropoutOpt, UpdateOpt, LrOpt, LrDecayOpt,
                     WeightScaleOpt, RegOpt, EpochsOpt, BatchOpt, SeedOpt, DataOpt, DataDirOpt, OutputOpt, PngOpt,
                 })
        {
            command.Options.Add(o);
        }

        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult r)
    {
        try
        {
            return Train(r);
        }
        catch (Exception e) when (e is ArgumentException or IOException or TrainingDivergedException or InvalidOperationException)
        {
            AnsiConsole.MarkupLine($"[red]train failed:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }

    private static int Train(ParseResult r)
    {
        var output = Path.GetFullPath(r.GetValue(OutputOpt)!);
        Directory.CreateDirectory(output);
        var clock = Stopwatch.StartNew();

        var data = r.GetValue(DataOpt) switch
        {
            "digits" => Datasets.Digits().SubtractMean().Split,
            "cifar10" => Cifar10.Load(r.GetValue(DataDirOpt)
                ?? throw new ArgumentException("train: --data cifar10 needs --data-dir DIR.", "--data-dir")).NormalizePerChannel().Split,
            var other => throw new ArgumentException($"train: --data must be digits or cifar10, got '{other}'.", "--data"),
        };
        AnsiConsole.MarkupLine(
            $"Data: [bold]{data.Train.Count}[/] train, {data.Validation.Count} validation, {data.Test.Count} test images of shape " +
            $"({string.Join(", ", data.Train.X.Shape.Skip(1))}), loaded in {clock.Elapsed.TotalSeconds:F1} s.");

        var net = BuildNet(r, data);
        var rule = BuildRule(r.GetValue(UpdateOpt)!, r.GetValue(LrOpt));
        var options = new SolverOptions
        {
            NumEpochs = r.GetValue(EpochsOpt),
            BatchSize = r.GetValue(BatchOpt),
            LrDecay = r.GetValue(LrDecayOpt),
            Seed = r.GetValue(SeedOpt),
            NumTrainSamples = 1000,
            PrintEvery = 10,
            CheckpointPath = Path.Combine(output, "checkpoint.npz"),
        };
        AnsiConsole.MarkupLine($"Model: [bold]{Markup.Escape(net.Name)}[/]; rule {Markup.Escape(rule.ToString())}; " +
                               $"{options.NumEpochs} epochs of batch {options.BatchSize}; GEMM backend {Blas.Active}.");

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var solver = new Solver(net, rule, options);
        var result = AnsiConsole.Profile.Capabilities.Interactive
            ? TrainWithBar(solver, data, cancel.Token)
            : solver.Train(data.Train.X, data.Train.Labels, data.Validation.X, data.Validation.Labels,
                new Reporter(PrintLine), cancel.Token);

        var trainAcc = net.Accuracy(data.Train.X, data.Train.Labels, result.BestParameters, result.BestState);
        var valAcc = net.Accuracy(data.Validation.X, data.Validation.Labels, result.BestParameters, result.BestState);
        var testAcc = net.Accuracy(data.Test.X, data.Test.Labels, result.BestParameters, result.BestState);

        var table = new Table().Border(TableBorder.Rounded).AddColumn("set").AddColumn(new TableColumn("accuracy").RightAligned());
        table.AddRow("train", $"{trainAcc:P2}");
        table.AddRow("validation", $"{valAcc:P2}");
        table.AddRow("test", $"[bold]{testAcc:P2}[/]");
        AnsiConsole.Write(table);

        var historyPath = Path.Combine(output, "history.json");
        WriteAtomically(historyPath, JsonSerializer.SerializeToUtf8Bytes(new
        {
            model = net.Name,
            rule = rule.Name,
            learningRate = rule.LearningRate,
            options.NumEpochs,
            options.BatchSize,
            options.LrDecay,
            options.Seed,
            gemm = Blas.Active,
            epochs = result.Epochs,
            iterations = result.Iterations,
            cancelled = result.Cancelled,
            trainingSeconds = result.Elapsed.TotalSeconds,
            examplesPerSecond = result.ExamplesPerSecond,
            lossHistory = result.LossHistory,
            trainAccuracyHistory = result.TrainAccuracyHistory,
            valAccuracyHistory = result.ValAccuracyHistory,
            bestValAccuracy = result.BestValAccuracy,
            final = new { train = trainAcc, validation = valAcc, test = testAcc },
        }, new JsonSerializerOptions { WriteIndented = true }));

        AnsiConsole.MarkupLine($"Trained {result.Iterations} iterations in {result.Elapsed.TotalSeconds:F1} s " +
                               $"({result.ExamplesPerSecond:F0} examples/s); total {clock.Elapsed.TotalSeconds:F1} s" +
                               (result.Cancelled ? " [yellow](cancelled)[/]" : "") + ".");
        AnsiConsole.MarkupLine($"Wrote {Markup.Escape(options.CheckpointPath)} and {Markup.Escape(historyPath)}.");
        var report = Report.WriteTraining(output, net, result, data, Report.Settings(net, rule, options, r.GetValue(DataOpt)!, result),
            (trainAcc, valAcc, testAcc), r.GetValue(PngOpt));
        AnsiConsole.MarkupLine($"Report: [bold]{Markup.Escape(report)}[/] (open it in a browser; it works offline).");
        return 0;
    }

    private static NeuralNet BuildNet(ParseResult r, ImageSplit data)
    {
        var shape = data.Train.X.Shape;
        var classes = data.Train.Classes.Count;
        var hidden = r.GetValue(HiddenOpt)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(h => int.TryParse(h, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
                ? v
                : throw new ArgumentException($"train: --hidden must be positive integers separated by commas, got '{h}'.", "--hidden"))
            .ToArray();
        return r.GetValue(ModelOpt) switch
        {
            "conv" => new ThreeLayerConvNet(
                inputDims: (shape[1], shape[2], shape[3]),
                numFilters: r.GetValue(FiltersOpt),
                filterSize: r.GetValue(FilterSizeOpt),
                hiddenDim: hidden.Length == 1 ? hidden[0] : throw new ArgumentException("train: conv takes one --hidden size.", "--hidden"),
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

    private static TrainingResult TrainWithBar(Solver solver, ImageSplit data, CancellationToken token) =>
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: 1.0);
                return solver.Train(data.Train.X, data.Train.Labels, data.Validation.X, data.Validation.Labels,
                    new Reporter(p =>
                    {
                        task.Value = (double)p.Iteration / Math.Max(1, p.TotalIterations);
                        task.Description = Markup.Escape(Describe(p));
                        if (p.Kind == ProgressKind.Epoch)
                            AnsiConsole.MarkupLine(Markup.Escape(Describe(p)));
                    }), token);
            });

    private static void PrintLine(TrainingProgress p)
    {
        if (p.Kind == ProgressKind.Epoch || p.Iteration % 40 == 0)
            Console.WriteLine(Describe(p));
    }

    private static string Describe(TrainingProgress p) =>
        p.Kind == ProgressKind.Epoch
            ? $"epoch {p.Epoch}/{p.NumEpochs} done: loss {p.Loss:F4}, train acc {p.TrainAccuracy:P1}, val acc {p.ValAccuracy:P1}, " +
              $"{p.ExamplesPerSecond:F0} ex/s, elapsed {p.Elapsed.TotalSeconds:F0} s"
            : $"epoch {p.Epoch}/{p.NumEpochs} iter {p.Iteration}/{p.TotalIterations}: loss {p.Loss:F4}, " +
              $"{p.ExamplesPerSecond:F0} ex/s, ETA {p.Eta.TotalSeconds:F0} s";

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
                File.Delete(tmp);
        }
    }

    /// <summary>A synchronous IProgress (System.Progress posts to the thread pool, which would reorder lines).</summary>
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
