using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Functional.App;

/// <summary>
/// The <c>caption</c> verb: trains a captioning net on the embedded digit captions with progress, then reports
/// validation and test exact-caption accuracy, per-token accuracy and BLEU, shows generated against true captions for
/// 8 test strips, and writes the checkpoint and a JSON history to the output folder.
/// </summary>
internal static class CaptionCommand
{
    private static readonly Option<string> CellOpt = new("--cell")
    {
        Description = "Recurrent cell: rnn, lstm or gru.",
        DefaultValueFactory = _ => "lstm",
    };

    private static readonly Option<int> HiddenOpt = new("--hidden")
    {
        Description = "Hidden size H.",
        DefaultValueFactory = _ => 128,
    };

    private static readonly Option<int> WordVecOpt = new("--wordvec")
    {
        Description = "Word-vector size W.",
        DefaultValueFactory = _ => 32,
    };

    private static readonly Option<string> FeaturesOpt = new("--features")
    {
        Description = "Image features: conv (a three-layer convnet trained on the digits, class probabilities per slot) or pixels (the raw strip).",
        DefaultValueFactory = _ => "conv",
    };

    private static readonly Option<int> EpochsOpt = new("--epochs")
    {
        Description = "Number of epochs of the captioning net.",
        DefaultValueFactory = _ => 4,
    };

    private static readonly Option<int> BatchOpt = new("--batch-size")
    {
        Description = "Minibatch size.",
        DefaultValueFactory = _ => 100,
    };

    private static readonly Option<double> LrOpt = new("--learning-rate")
    {
        Description = "Adam learning rate.",
        DefaultValueFactory = _ => 1e-2,
    };

    private static readonly Option<long> SeedOpt = new("--seed")
    {
        Description = "Seed of the initial weights and the minibatch order.",
        DefaultValueFactory = _ => 0,
    };

    private static readonly Option<string> OutputOpt = new("--output")
    {
        Description = "Folder for caption-checkpoint.npz and caption-history.json.",
        DefaultValueFactory = _ => "out",
    };

    public static Command Create()
    {
        var command = new Command("caption", "Train a captioning net on the embedded digit captions and report exact-caption accuracy and BLEU.");
        foreach (var o in new Option[] { CellOpt, HiddenOpt, WordVecOpt, FeaturesOpt, EpochsOpt, BatchOpt, LrOpt, SeedOpt, OutputOpt })
            command.Options.Add(o);
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult r)
    {
        try
        {
            return Caption(r);
        }
        catch (Exception e) when (e is ArgumentException or IOException or TrainingDivergedException)
        {
            AnsiConsole.MarkupLine($"[red]caption failed:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }

    private static int Caption(ParseResult r)
    {
        var cell = r.GetValue(CellOpt) switch
        {
            "rnn" => RecurrentCell.Rnn,
            "lstm" => RecurrentCell.Lstm,
            "gru" => RecurrentCell.Gru,
            var other => throw new ArgumentException($"caption: --cell must be rnn, lstm or gru, got '{other}'.", "--cell"),
        };
        var featureKind = r.GetValue(FeaturesOpt);
        if (featureKind is not ("conv" or "pixels"))
            throw new ArgumentException($"caption: --features must be conv or pixels, got '{featureKind}'.", "--features");
        var output = Path.GetFullPath(r.GetValue(OutputOpt)!);
        Directory.CreateDirectory(output);
        var seed = r.GetValue(SeedOpt);
        var clock = Stopwatch.StartNew();

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var data = Datasets.DigitCaptions();
        AnsiConsole.MarkupLine(
            $"Data: [bold]{data.Train.Count}[/] train, {data.Validation.Count} validation, {data.Test.Count} test strips of 28 × 112, " +
            $"vocabulary of {data.Vocabulary.Count}, made in {clock.Elapsed.TotalSeconds:F1} s.");

        var features = featureKind == "pixels" ? CaptionFeatureExtractor.Pixels : ConvFeatures(seed, cancel.Token);
        var net = new CaptioningRnn(features.Dimension, cell, r.GetValue(WordVecOpt), r.GetValue(HiddenOpt), data.Vocabulary.Count, seed: seed);
        var rule = UpdateRule.Adam(r.GetValue(LrOpt));
        var options = new SolverConfig
        {
            NumEpochs = r.GetValue(EpochsOpt),
            BatchSize = r.GetValue(BatchOpt),
            LrDecay = 0.8,
            Seed = seed,
            NumTrainSamples = 500,
            NumValSamples = 500,
            PrintEvery = 10,
            CheckpointPath = Path.Combine(output, "caption-checkpoint.npz"),
        };
        AnsiConsole.MarkupLine($"Model: [bold]{Markup.Escape(net.Name)}[/] on {featureKind} features; rule {Markup.Escape(rule.ToString())}; " +
                               $"{options.NumEpochs} epochs of batch {options.BatchSize}.");

        var result = TrainingDisplay.Run(p => net.Train(data, features, rule, options, p, cancel.Token));
        foreach (var failure in result.CheckpointFailures)
            AnsiConsole.MarkupLine($"[yellow]checkpoint not written[/] after epoch {failure.Epoch}: {Markup.Escape(failure.Message)}");

        var table = new Table().Border(TableBorder.Rounded).AddColumn("set")
            .AddColumn(new TableColumn("exact").RightAligned()).AddColumn(new TableColumn("per token").RightAligned());
        for (var n = 1; n <= 4; n++)
            table.AddColumn(new TableColumn($"BLEU-{n}").RightAligned());
        var scores = new Dictionary<string, object>();
        foreach (var (name, set) in new[] { ("validation", data.Validation), ("test", data.Test) })
        {
            var sampled = net.Sample(features.Compute(set), maxLength: 5, parameters: result.BestParameters);
            var exact = CaptionMetrics.ExactAccuracy(sampled, set.Captions);
            var token = CaptionMetrics.TokenAccuracy(sampled, set.Captions);
            var bleu = Enumerable.Range(1, 4).Select(n => CaptionMetrics.Bleu(n, sampled, set.Captions)).ToArray();
            table.AddRow([name, $"[bold]{exact:P2}[/]", $"{token:P2}", .. bleu.Select(b => $"{b:F4}")]);
            scores[name] = new { exact, token, bleu };
        }

        AnsiConsole.Write(table);
        ShowExamples(net, features, data.Test, result.BestParameters);

        var historyPath = Path.Combine(output, "caption-history.json");
        var history = JsonSerializer.SerializeToUtf8Bytes(new
        {
            model = net.Name,
            features = featureKind,
            rule = rule.Name,
            learningRate = rule.LearningRate,
            options.NumEpochs,
            options.BatchSize,
            options.LrDecay,
            options.Seed,
            epochs = result.Epochs,
            iterations = result.Iterations,
            cancelled = result.Cancelled,
            trainingSeconds = result.Elapsed.TotalSeconds,
            totalSeconds = clock.Elapsed.TotalSeconds,
            metric = "bleu-4",
            lossHistory = result.LossHistory,
            trainBleu4History = result.TrainAccuracyHistory,
            valBleu4History = result.ValAccuracyHistory,
            bestValBleu4 = result.BestValAccuracy,
            final = scores,
        }, new JsonSerializerOptions { WriteIndented = true });
        var tmp = historyPath + ".tmp-" + Guid.NewGuid().ToString("N");
        File.WriteAllBytes(tmp, history);
        File.Move(tmp, historyPath, overwrite: true);

        AnsiConsole.MarkupLine($"Trained {result.Iterations} iterations in {result.Elapsed.TotalSeconds:F1} s; total {clock.Elapsed.TotalSeconds:F1} s" +
                               (result.Cancelled ? " [yellow](cancelled)[/]" : "") + ".");
        var written = result.CheckpointsWritten.Append(historyPath).Select(Markup.Escape);
        AnsiConsole.MarkupLine($"Wrote {string.Join(" and ", written)}.");
        return 0;
    }

    /// <summary>The convnet features: a three-layer convnet trained for 2 epochs on the training digits (raw [0, 1] pixels, as the strips).</summary>
    private static CaptionFeatureExtractor ConvFeatures(long seed, CancellationToken token)
    {
        var digits = Datasets.Digits();
        var convnet = new ThreeLayerConvNet(inputDims: (1, 28, 28), numFilters: 16, filterSize: 5, hiddenDim: 100,
            numClasses: 10, weightScale: 5e-2, reg: 1e-4, seed: seed);
        var options = new SolverConfig { NumEpochs = 2, BatchSize = 50, LrDecay = 0.5, Seed = seed, PrintEvery = 10 };
        AnsiConsole.MarkupLine($"Features: training [bold]{Markup.Escape(convnet.Name)}[/] on the digits for {options.NumEpochs} epochs.");
        var trained = TrainingDisplay.Run(p => new Solver(convnet, UpdateRule.Adam(3e-3), options)
            .Train(digits.Train.X, digits.Train.Labels, digits.Validation.X, digits.Validation.Labels, p, token));
        return CaptionFeatureExtractor.FromClassifier(convnet, trained.BestParameters, trained.BestState);
    }

    /// <summary>Generated against true captions for the first 8 test strips, each strip drawn as 14 × 56 characters (2 × 2 pixels each).</summary>
    private static void ShowExamples(CaptioningRnn net, CaptionFeatureExtractor features, CaptionedImages test, IReadOnlyDictionary<string, Tensor> parameters)
    {
        var idx = Enumerable.Range(0, 8).ToArray();
        var sampled = net.Sample(features.Compute(test, idx), maxLength: 5, parameters: parameters).ToArray();
        var images = test.Images(idx).ToArray();
        var truth = test.Captions.ToArray();
        const string shades = " .:-=+*#%@";
        for (var i = 0; i < idx.Length; i++)
        {
            var text = new StringBuilder();
            for (var r = 0; r < 28; r += 2)
            {
                for (var c = 0; c < 112; c += 2)
                {
                    var v = 0.0;
                    for (var dr = 0; dr < 2; dr++)
                        for (var dc = 0; dc < 2; dc++)
                            v += images[(i * 28 + r + dr) * 112 + c + dc] / 4;
                    text.Append(shades[Math.Min(shades.Length - 1, (int)(v * shades.Length))]);
                }

                text.Append('\n');
            }

            var generated = test.Decode(sampled[(i * 5)..(i * 5 + 5)]);
            var expected = test.Decode(truth[(i * 6)..(i * 6 + 6)]);
            Console.Write(text.ToString());
            AnsiConsole.MarkupLine($"generated: [bold]{Markup.Escape(generated)}[/]   true: {Markup.Escape(expected)} " +
                                   (generated == expected ? "[green]✓[/]" : "[red]✗[/]"));
        }
    }
}
