using System.Text.Json;

namespace Functional.App.Tests;

/// <summary>
/// The command line as a user meets it: every option is checked before any data is loaded, user errors get one
/// clear line and no stack trace, Ctrl+C and SIGTERM stop, save and say what they wrote, output is plain text when
/// redirected, and history.json has one key style, a version and per-epoch times.
/// </summary>
public class CommandLineTests
{
    /// <summary>A small, quick run: a fully connected net on the first 200 digits; <paramref name="overrides"/> are option/value pairs.</summary>
    private static string[] Small(string output, params string[] overrides)
    {
        var options = new Dictionary<string, string>
        {
            ["--model"] = "fc", ["--hidden"] = "20", ["--epochs"] = "1", ["--batch-size"] = "20", ["--num-train"] = "200",
            ["--output"] = output,
        };
        for (var i = 0; i + 1 < overrides.Length; i += 2)
            options[overrides[i]] = overrides[i + 1];
        return ["train", .. options.SelectMany(kv => new[] { kv.Key, kv.Value })];
    }

    private static void AssertUserError(AppOutput run, int exitCode, params string[] messageParts)
    {
        Assert.True(run.ExitCode == exitCode, run.ToString());
        foreach (var part in messageParts)
            Assert.True(run.Err.Contains(part, StringComparison.Ordinal), $"stderr lacks '{part}':\n{run}");
        Assert.DoesNotContain("   at ", run.Err);     // no stack trace
        Assert.DoesNotContain("Exception", run.Err);
        Assert.DoesNotContain("Data:", run.Out);      // stopped before loading data
    }

    [Theory]
    [InlineData("--model", "mlp", "mlp")]
    [InlineData("--update", "adagrad", "adagrad")]
    [InlineData("--normalization", "group", "group")]
    [InlineData("--data", "mnist", "mnist")]
    [InlineData("--epochs", "0", "--epochs must be at least 1")]
    [InlineData("--batch-size", "-5", "--batch-size must be at least 1")]
    [InlineData("--learning-rate", "-1", "--learning-rate must be a finite number")]
    [InlineData("--learning-rate", "NaN", "--learning-rate must be a finite number")]
    [InlineData("--dropout", "1.5", "--dropout must be a finite number in (0, 1]")]
    [InlineData("--dropout", "0", "--dropout must be a finite number in (0, 1]")]
    [InlineData("--lr-decay", "0", "--lr-decay")]
    [InlineData("--reg", "-0.1", "--reg")]
    [InlineData("--filter-size", "4", "--filter-size must be odd")]
    [InlineData("--learning-rate", "fast", "fast")]
    [InlineData("--hidden", "100,abc", "--hidden must be positive integers")]
    [InlineData("--num-train", "0", "--num-train must be at least 1")]
    [InlineData("--epochs", "many", "many")]
    public void EveryOptionIsCheckedBeforeAnyDataIsLoaded(string option, string value, string message)
    {
        using var tmp = AppProcess.TempFolder();
        AssertUserError(AppProcess.Run(["train", option, value, "--output", tmp["out"]]), 2, message);
        Assert.False(Directory.Exists(tmp["out"]));
    }

    [Fact]
    public void OptionsThatDependOnEachOtherAreCheckedToo()
    {
        using var tmp = AppProcess.TempFolder();
        AssertUserError(AppProcess.Run(["train", "--data", "cifar10", "--output", tmp.Path]), 2, "--data cifar10 needs --data-dir");
        AssertUserError(AppProcess.Run(["train", "--resume", tmp["none.npz"], "--output", tmp.Path]), 2, "--resume", "none.npz");
        AssertUserError(AppProcess.Run(["train", "--model", "conv", "--hidden", "10,10", "--output", tmp.Path]), 2, "one hidden size");
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("Infinity")]
    public void BenchRejectsAMeasuringTimeThatIsNotAPositiveNumber(string seconds) =>
        AssertUserError(AppProcess.Run(["bench", "--seconds", seconds]), 2, "--seconds");

    [Theory]
    [InlineData("FUNCTIONAL_THREADS", "0")]
    [InlineData("FUNCTIONAL_THREADS", "lots")]
    [InlineData("FUNCTIONAL_THREADS", "100000")]
    [InlineData("FUNCTIONAL_BLAS", "fast")]
    public void EnvironmentVariablesAreCheckedAtStart(string variable, string value)
    {
        using var tmp = AppProcess.TempFolder();
        AssertUserError(AppProcess.Run(Small(tmp.Path), new Dictionary<string, string?> { [variable] = value }), 2, variable, value);
    }

    [Fact]
    public void AnOutputThatCannotBeWrittenStopsTheRunBeforeTraining()
    {
        using var tmp = AppProcess.TempFolder();
        File.WriteAllText(tmp["file"], "not a folder");
        AssertUserError(AppProcess.Run(Small(tmp["file"])), 1, "cannot write to --output", "not a folder");
        AssertUserError(AppProcess.Run(Small(Path.Combine(tmp["file"], "below"))), 1, "cannot write to --output");
        if (Directory.Exists("/proc/self"))
            AssertUserError(AppProcess.Run(Small("/proc/functional-output")), 1, "cannot write to --output");
    }

    [Fact]
    public void ARunWritesTheCheckpointAndAVersionedCamelCaseHistoryWithEpochTimes()
    {
        using var tmp = AppProcess.TempFolder();
        var run = AppProcess.Run(Small(tmp.Path, "--epochs", "2"));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"Wrote {tmp["checkpoint.npz"]}, {tmp["model.npz"]} and {tmp["history.json"]}.", run.Out);

        using var json = JsonDocument.Parse(File.ReadAllBytes(tmp["history.json"]));
        var root = json.RootElement;
        Assert.Equal(2, root.GetProperty("formatVersion").GetInt32());
        Assert.Equal(2, root.GetProperty("epochs").GetInt32());
        Assert.Equal(200, root.GetProperty("numTrain").GetInt32());
        var epochSeconds = root.GetProperty("epochSeconds").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(2, epochSeconds.Count);
        Assert.All(epochSeconds, s => Assert.True(s > 0));
        Assert.InRange(root.GetProperty("final").GetProperty("test").GetDouble(), 0.0, 1.0);
        foreach (var name in PropertyNames(root))
            Assert.True(char.IsLower(name[0]) && !name.Contains('_'), $"history.json key '{name}' is not camelCase");
        Assert.Equal(2, Checkpoint.Load(tmp["checkpoint.npz"]).Epoch);

        // The model file is the trained net: loaded on its own, it scores the test set as the run reported.
        var model = Model.Load(tmp["model.npz"]);
        Assert.IsType<FullyConnectedNet>(model);
        var test = Datasets.Digits().SubtractMean().Split.Test;
        Assert.Equal(root.GetProperty("final").GetProperty("test").GetDouble(), model.Accuracy(test.X, test.Labels));
    }

    private static IEnumerable<string> PropertyNames(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().SelectMany(p => PropertyNames(p.Value).Prepend(p.Name)),
        JsonValueKind.Array => e.EnumerateArray().SelectMany(PropertyNames),
        _ => [],
    };

    [Fact]
    public void RedirectedOutputIsPlainTextWithoutWrapping()
    {
        using var tmp = AppProcess.TempFolder();
        var run = AppProcess.Run(Small(tmp.Path), new Dictionary<string, string?> { ["NO_COLOR"] = "1" });
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.DoesNotContain('\u001b', run.Out);
        // The model line is longer than 80 columns and stays one line.
        var model = run.Out.Split('\n').Single(l => l.StartsWith("Model:", StringComparison.Ordinal));
        Assert.True(model.Length > 80, model);
        Assert.Contains("GEMM backend", model);
        // One line per epoch, none repeated.
        Assert.Single(run.Out.Split('\n'), l => l.StartsWith("epoch 1/1 done", StringComparison.Ordinal));
    }

    [Fact]
    public void NumTrainTrainsOnASubsetAndIsCheckedAgainstTheData()
    {
        using var tmp = AppProcess.TempFolder();
        var run = AppProcess.Run(Small(tmp.Path, "--num-train", "40", "--epochs", "20", "--batch-size", "10",
            "--hidden", "100", "--learning-rate", "5e-3", "--lr-decay", "1", "--reg", "0"));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Data: 40 train", run.Out);
        using var json = JsonDocument.Parse(File.ReadAllBytes(tmp["history.json"]));
        // The course's sanity check: a small subset is overfit.
        Assert.True(json.RootElement.GetProperty("final").GetProperty("train").GetDouble() >= 0.9, run.Out);

        var tooMany = AppProcess.Run(Small(tmp.Path, "--num-train", "9000"));
        Assert.Equal(2, tooMany.ExitCode);
        Assert.Contains("--num-train 9000 is more than the 8000 training images", tooMany.Err);
    }

    [Fact]
    public void ResumeContinuesACheckpointToTheSameResultAsOneRun()
    {
        using var tmp = AppProcess.TempFolder();
        var whole = AppProcess.Run(Small(tmp["whole"], "--epochs", "2"));
        Assert.True(whole.ExitCode == 0, whole.ToString());
        var first = AppProcess.Run(Small(tmp["parts"], "--epochs", "1"));
        Assert.True(first.ExitCode == 0, first.ToString());
        var second = AppProcess.Run(Small(tmp["parts"], "--epochs", "2", "--resume", Path.Combine(tmp["parts"], "checkpoint.npz")));
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("resuming after epoch 1", second.Out);

        static double[] Losses(string folder)
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "history.json")));
            return [.. json.RootElement.GetProperty("lossHistory").EnumerateArray().Select(e => e.GetDouble())];
        }

        Assert.Equal(Losses(tmp["whole"]), Losses(tmp["parts"]));

        var wrongModel = AppProcess.Run(Small(tmp["other"], "--hidden", "30", "--epochs", "2", "--resume", Path.Combine(tmp["parts"], "checkpoint.npz")));
        Assert.Equal(1, wrongModel.ExitCode);
        Assert.StartsWith("train failed:", wrongModel.Err);
        Assert.DoesNotContain("   at ", wrongModel.Err);
    }

    [Theory]
    [InlineData("INT", 130, "SIGINT")]
    [InlineData("TERM", 143, "SIGTERM")]
    public async Task ASignalStopsAfterTheCurrentStepSavesAndSaysWhatItWrote(string signal, int exitCode, string name)
    {
        using var tmp = AppProcess.TempFolder();
        // A stale checkpoint of an earlier run must not be reported as written: this run writes its own.
        File.WriteAllText(tmp["checkpoint.npz"], "stale");
        using var p = AppProcess.Start(Small(tmp.Path, "--epochs", "200", "--num-train", "8000", "--batch-size", "10"));
        var stdout = new System.Text.StringBuilder();
        var started = new ManualResetEventSlim();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (stdout)
                stdout.AppendLine(e.Data);
            if (e.Data.Contains(" iter ", StringComparison.Ordinal))
                started.Set();
        };
        p.BeginOutputReadLine();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(started.Wait(TimeSpan.FromMinutes(5)), "training did not start");
        AppProcess.Signal(p, signal);
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), "the app did not stop");
        p.WaitForExit();
        var output = new AppOutput(p.ExitCode, stdout.ToString(), await stderr);

        Assert.True(output.ExitCode == exitCode, output.ToString());
        Assert.Contains($"stopped by {name}", output.Out);
        Assert.Contains($"Wrote {tmp["checkpoint.npz"]}, {tmp["model.npz"]} and {tmp["history.json"]}.", output.Out);
        Assert.DoesNotContain("   at ", output.Err);
        var checkpoint = Checkpoint.Load(tmp["checkpoint.npz"]);
        Assert.True(checkpoint.Iteration > 0);
        Assert.Equal(0, checkpoint.Epoch);
        using var json = JsonDocument.Parse(File.ReadAllBytes(tmp["history.json"]));
        Assert.True(json.RootElement.GetProperty("cancelled").GetBoolean());
        Assert.Equal(name, json.RootElement.GetProperty("stoppedBy").GetString());
        Assert.Equal(checkpoint.Iteration, json.RootElement.GetProperty("iterations").GetInt32());
    }
}
