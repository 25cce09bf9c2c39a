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
        Description = "Image features: conv (three-layer convnets trained on the digits: their reading and the ink of each re-centred slot) or pixels (the raw strip).",
        DefaultValueFactory = _ => "conv",
    };

    private static readonly Option<int> FeatureEpochsOpt = new("--feature-epochs")
    {
        Description = "conv: epochs of the convnet's training on the digits.",
        DefaultValueFactory = _ => 4,
    };

    private static readonly Option<int> ReadersOpt = new("--readers")
    {
        Description = "conv: the number of convnets (seeds seed, seed + 1, …) whose class probabilities are averaged.",
        DefaultValueFactory = _ => 2,
    };

    private static readonly Option<string> AugmentOpt = new("--augment")
    {
        Description = "conv: the distorted copy of each training digit: affine (rotated up to 10°, scaled up to 10 %, moved up to a pixel) or shift (moved up to a pixel).",
        DefaultValueFactory = _ => "affine",
    };

    private static readonly Option<string> SlotFeaturesOpt = new("--slot-features")
    {
        Description = "conv: what a slot gives the captioning net: one-hot (the readers' decision) or probabilities.",
        DefaultValueFactory = _ => "one-hot",
    };

    private static readonly Option<int> NumTrainOpt = new("--num-train")
    {
        Description = "Training strips (the validation and test sets keep 2,000 each).",
        DefaultValueFactory = _ => 20000,
    };

    private static readonly Option<int> EpochsOpt = new("--epochs")
    {
        Description = "Number of epochs of the captioning net.",
        DefaultValueFactory = _ => 3,
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
        foreach (var o in new Option[] { CellOpt, HiddenOpt, WordVecOpt, FeaturesOpt, FeatureEpochsOpt, ReadersOpt, AugmentOpt, SlotFeaturesOpt, NumTrainOpt, EpochsOpt, BatchOpt, LrOpt, SeedOpt, OutputOpt })
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
        var featureEpochs = r.GetValue(FeatureEpochsOpt);
        if (featureEpochs < 1)
            throw new ArgumentException($"caption: --feature-epochs must be at least 1, got {featureEpochs}.", "--feature-epochs");
        var readers = r.GetValue(ReadersOpt);
        if (readers < 1)
            throw new ArgumentException($"caption: --readers must be at least 1, got {readers}.", "--readers");
        var augment = r.GetValue(AugmentOpt);
        if (augment is not ("affine" or "shift"))
            throw new ArgumentException($"caption: --augment must be affine or shift, got '{augment}'.", "--augment");
        var slotFeatures = r.GetValue(SlotFeaturesOpt);
        if (slotFeatures is not ("one-hot" or "probabilities"))
            throw new ArgumentException($"caption: --slot-features must be one-hot or probabilities, got '{slotFeatures}'.", "--slot-features");
        var numTrain = r.GetValue(NumTrainOpt);
        if (numTrain < 1)
            throw new ArgumentException($"caption: --num-train must be at least 1, got {numTrain}.", "--num-train");
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

        var data = Datasets.DigitCaptions(numTrain);
        AnsiConsole.MarkupLine(
            $"Data: [bold]{data.Train.Count}[/] train, {data.Validation.Count} validation, {data.Test.Count} test strips of 28 × 112, " +
            $"vocabulary of {data.Vocabulary.Count}, made in {clock.Elapsed.TotalSeconds:F1} s.");

        var (features, featureModel) = featureKind == "pixels"
            ? (CaptionFeatureExtractor.Pixels, "none")
            : ConvFeatures(featureEpochs, readers, augment, slotFeatures == "one-hot", seed, cancel.Token);
        var featureSeconds = clock.Elapsed.TotalSeconds;
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

        var epochEnds = new List<double>();
        var result = TrainingDisplay.Run(p => net.Train(data, features, rule, options, TrainingDisplay.RecordingEpochs(p, epochEnds), cancel.Token));
        foreach (var failure in result.CheckpointFailures)
            AnsiConsole.MarkupLine($"[yellow]checkpoint not written[/] after epoch {failure.Epoch}: {Markup.Escape(failure.Message)}");

        var table = new Table().Border(TableBorder.Rounded).AddColumn("set")
            .AddColumn(new TableColumn("exact").RightAligned()).AddColumn(new TableColumn("per token").RightAligned());
        for (var n = 1; n <= 4; n++)
            table.AddColumn(new TableColumn($"BLEU-{n}").RightAligned());
        var scores = new List<CaptionScores>();
        Tensor? testFeatures = null;
        foreach (var (name, set) in new[] { ("validation", data.Validation), ("test", data.Test) })
        {
            var setFeatures = features.Compute(set);
            testFeatures = setFeatures;
            var sampled = net.Sample(setFeatures, maxLength: 5, parameters: result.BestParameters);
            var exact = CaptionMetrics.ExactAccuracy(sampled, set.Captions);
            var token = CaptionMetrics.TokenAccuracy(sampled, set.Captions);
            var bleu = Enumerable.Range(1, 4).Select(n => CaptionMetrics.Bleu(n, sampled, set.Captions)).ToArray();
            table.AddRow([name, $"[bold]{exact:P2}[/]", $"{token:P2}", .. bleu.Select(b => $"{b:F4}")]);
            scores.Add(new CaptionScores(exact, token, bleu));
        }

        AnsiConsole.Write(table);
        ShowExamples(net, testFeatures!, data.Test, result.BestParameters);

        var historyPath = Path.Combine(output, "caption-history.json");
        CaptionHistory.Write(historyPath, new CaptionHistory(
            CaptionHistory.Version, net.Name, featureKind, featureModel, featureKind == "conv" ? featureEpochs : 0, rule.Name,
            rule.LearningRate, options.NumEpochs, options.BatchSize, options.LrDecay, options.Seed, data.Train.Count,
            result.Epochs, result.Iterations, result.Cancelled, featureSeconds, result.Elapsed.TotalSeconds,
            TrainingDisplay.EpochSeconds(epochEnds), clock.Elapsed.TotalSeconds,
            Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, "bleu-4", result.LossHistory,
            result.TrainAccuracyHistory, result.ValAccuracyHistory, result.BestValAccuracy,
            new CaptionFinal(scores[0], scores[1])));

        AnsiConsole.MarkupLine($"Trained {result.Iterations} iterations in {result.Elapsed.TotalSeconds:F1} s; total {clock.Elapsed.TotalSeconds:F1} s " +
                               $"({featureSeconds:F1} s to the features, {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:F1} s of CPU)" +
                               (result.Cancelled ? " [yellow](cancelled)[/]" : "") + ".");
        var written = result.CheckpointsWritten.Append(historyPath).Select(Markup.Escape);
        AnsiConsole.MarkupLine($"Wrote {string.Join(" and ", written)}.");
        return 0;
    }

    /// <summary>
    /// The convnet features: <paramref name="readers"/> three-layer convnets (seeds seed, seed + 1, …), each trained on
    /// the training digits and distorted copies of them (raw [0, 1] pixels, as the strips), applied to each re-centred
    /// slot of a strip; their class probabilities averaged (or the one-hot of the average's most likely class).
    /// </summary>
    private static (CaptionFeatureExtractor Features, string Name) ConvFeatures(
        int epochs, int readers, string augment, bool oneHot, long seed, CancellationToken token)
    {
        var digits = Datasets.Digits();
        var members = new List<CaptionFeatureExtractor>();
        var name = "";
        for (var k = 0; k < readers; k++)
        {
            var readerSeed = seed + k;
            var train = augment == "affine"
                ? CaptionFeatureExtractor.WithAffineCopies(digits.Train, copies: 1, maxDegrees: 10, maxScale: 0.1, maxShift: 1, seed: readerSeed)
                : CaptionFeatureExtractor.WithShiftedCopies(digits.Train, maxShift: 1, seed: readerSeed);
            var convnet = new ThreeLayerConvNet(inputDims: (1, 28, 28), numFilters: 16, filterSize: 5, hiddenDim: 100,
                numClasses: 10, weightScale: 5e-2, reg: 1e-4, seed: readerSeed);
            var options = new SolverConfig { NumEpochs = epochs, BatchSize = 50, LrDecay = 0.6, Seed = readerSeed, PrintEvery = 10 };
            var how = augment == "affine" ? "each also rotated by up to 10°, scaled by up to 10 % and moved by up to a pixel" : "each also moved by up to a pixel";
            AnsiConsole.MarkupLine($"Features: training reader {k + 1}/{readers}, [bold]{Markup.Escape(convnet.Name)}[/], on {train.Count} digits " +
                                   $"({how}) for {options.NumEpochs} epochs.");
            var trained = TrainingDisplay.Run(p => new Solver(convnet, UpdateRule.Adam(3e-3), options)
                .Train(train.X, train.Labels, digits.Validation.X, digits.Validation.Labels, p, token));
            members.Add(CaptionFeatureExtractor.FromClassifier(convnet, trained.BestParameters, trained.BestState));
            name = convnet.Name;
        }

        var description = $"{(readers == 1 ? name : $"{readers} × {name}")}, {augment} copies, {(oneHot ? "one-hot" : "probabilities")}";
        return (CaptionFeatureExtractor.Ensemble(members, oneHot), description);
    }

    /// <summary>Generated against true captions for the first 8 test strips, each strip drawn as 14 × 56 characters (2 × 2 pixels each).</summary>
    private static void ShowExamples(CaptioningRnn net, Tensor testFeatures, CaptionedImages test, IReadOnlyDictionary<string, Tensor> parameters)
    {
        var idx = Enumerable.Range(0, 8).ToArray();
        var sampled = net.Sample(testFeatures.Take(idx), maxLength: 5, parameters: parameters).ToArray();
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
