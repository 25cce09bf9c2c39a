using System.Text.Json;

namespace Functional.App.Tests;

/// <summary>
/// The <c>verify</c> verb on the fixtures under Properties/VerifyFixtures: a correct numpy answer set in the course's
/// layout, and variants of it, each an overlay appended to the correct module (a later <c>def</c> replaces the
/// function; <c>del</c> removes it). The app runs in its own process with the machine's Python and numpy (CI
/// installs python3 and python3-numpy).
/// </summary>
public class VerifyTests
{
    private static readonly string Fixtures = Path.Combine(Root(), "Properties", "VerifyFixtures");

    private static string Root()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Functional.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Functional.sln not found.");
    }

    /// <summary>The correct set copied into <paramref name="tmp"/>, with the variants' overlays appended.</summary>
    internal static string Assignment(TempFolder tmp, params string[] variants)
    {
        var target = tmp["assignment"];
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Fixtures, "correct"), "*.py", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(Path.Combine(Fixtures, "correct"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }

        foreach (var variant in variants)
        {
            var from = Path.Combine(Fixtures, "variants", variant);
            foreach (var file in Directory.EnumerateFiles(from, "*.py", SearchOption.AllDirectories))
                File.AppendAllText(Path.Combine(target, Path.GetRelativePath(from, file)), "\n" + File.ReadAllText(file));
        }

        return target;
    }

    /// <summary>Runs verify with --json and returns the run and the JSON's functions by name.</summary>
    internal static (AppOutput Run, Dictionary<string, JsonElement> Functions, JsonElement Root) Verify(TempFolder tmp, string path, params string[] args)
    {
        var json = tmp["report.json"];
        File.Delete(json);
        var run = AppProcess.Run(["verify", path, "--json", json, .. args]);
        if (!File.Exists(json))
            return (run, [], default);
        var doc = JsonDocument.Parse(File.ReadAllText(json)).RootElement.Clone();
        return (run, doc.GetProperty("functions").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!), doc);
    }

    /// <summary>A script that answers like a Python without numpy.</summary>
    private static string FakePythonWithoutNumpy(string path)
    {
        File.WriteAllText(path, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'numpy'\" >&2\nexit 1\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static string Status(Dictionary<string, JsonElement> fs, string name) => fs[name].GetProperty("status").GetString()!;

    [Fact]
    public void TheCorrectSetPassesEveryFunctionAndWritesNoBytecode()
    {
        using var tmp = AppProcess.TempFolder();
        var path = Assignment(tmp);
        var (run, fs, root) = Verify(tmp, path, "--cases", "30");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.NotEmpty(fs);
        foreach (var (name, f) in fs)
            Assert.True(f.GetProperty("status").GetString() == "pass", $"{name}: {f}\n{run}");
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
        Assert.Contains("pass", run.Out);
        Assert.Contains("numpy", run.Out);
        // The student's files are never written: no bytecode next to them, nor in the fixtures.
        Assert.Empty(Directory.EnumerateFileSystemEntries(path, "__pycache__", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Fixtures, "__pycache__", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(path, "*.pyc", SearchOption.AllDirectories));
    }

    [Fact]
    public void TheCs231nFolderItselfIsAcceptedAsPath()
    {
        using var tmp = AppProcess.TempFolder();
        var path = Assignment(tmp);
        var (run, fs, _) = Verify(tmp, Path.Combine(path, "cs231n"), "--cases", "5", "--function", "affine_forward");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("pass", Status(fs, "affine_forward"));
        Assert.Single(fs);
    }

    [Fact]
    public void StubsAndMissingFunctionsAreReportedAsSuchNotAsFailures()
    {
        using var tmp = AppProcess.TempFolder();
        var path = Assignment(tmp, "stub", "returns-none", "missing");
        var (run, fs, _) = Verify(tmp, path, "--cases", "10", "--function", "relu_forward", "--function", "relu_backward",
            "--function", "layernorm_forward", "--function", "layernorm_backward", "--function", "svm_loss", "--function", "softmax_loss");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("not-implemented", Status(fs, "relu_forward"));
        Assert.Equal("not-implemented", Status(fs, "relu_backward"));      // its forward is a stub
        Assert.Equal("not-implemented", Status(fs, "layernorm_forward"));  // returns None
        Assert.Equal("not-implemented", Status(fs, "layernorm_backward"));
        Assert.Equal("not-found", Status(fs, "svm_loss"));
        Assert.Equal("pass", Status(fs, "softmax_loss"));
    }

    [Fact]
    public void AnExceptionACrashAndAnInfiniteLoopAreReportedPerFunctionAndTheRunGoesOn()
    {
        using var tmp = AppProcess.TempFolder();
        var path = Assignment(tmp, "raises", "loops");
        var (run, fs, _) = Verify(tmp, path, "--cases", "10", "--timeout", "1", "--function", "relu_forward", "--function", "svm_loss",
            "--function", "softmax_loss", "--function", "affine_forward");
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Equal("timeout", Status(fs, "relu_forward"));
        Assert.Equal("error", Status(fs, "svm_loss"));
        Assert.Contains("a bug in svm_loss", fs["svm_loss"].GetProperty("message").GetString());
        Assert.Contains("a bug in svm_loss", run.Out);   // the student's traceback is shown
        Assert.Equal("pass", Status(fs, "softmax_loss"));
        Assert.Equal("pass", Status(fs, "affine_forward"));

        using var tmp2 = AppProcess.TempFolder();
        var crash = Assignment(tmp2, "crashes", "ignores-timeout");
        var (run2, fs2, _) = Verify(tmp2, crash, "--cases", "5", "--timeout", "1", "--function", "svm_loss", "--function", "relu_forward",
            "--function", "softmax_loss");
        Assert.True(run2.ExitCode == 1, run2.ToString());
        Assert.Equal("error", Status(fs2, "svm_loss"));        // os._exit: the driver is restarted
        Assert.Contains("exit code 3", fs2["svm_loss"].GetProperty("message").GetString());
        Assert.Equal("timeout", Status(fs2, "relu_forward"));  // catches its time limit: the driver is stopped
        Assert.Equal("pass", Status(fs2, "softmax_loss"));
    }

    [Fact]
    public void TheStudentsPrintsDoNotBreakTheProtocol()
    {
        using var tmp = AppProcess.TempFolder();
        var (run, fs, _) = Verify(tmp, Assignment(tmp, "prints"), "--cases", "10", "--function", "affine_forward", "--function", "affine_backward");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("pass", Status(fs, "affine_forward"));
        Assert.Equal("pass", Status(fs, "affine_backward"));
    }

    [Theory]
    [InlineData("syntax-error", "SyntaxError")]
    [InlineData("import-raises", "the module fails at import time")]
    public void APackageThatDoesNotImportIsASetupErrorWithItsTraceback(string variant, string message)
    {
        using var tmp = AppProcess.TempFolder();
        var (run, _, _) = Verify(tmp, Assignment(tmp, variant), "--cases", "5");
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("cs231n.layers does not import", run.Err);
        Assert.Contains(message, run.Err);
        Assert.Contains("layers.py", run.Err);
    }

    [Fact]
    public void NoPythonWithNumpyIsASetupErrorThatSaysWhatWasTriedAndHowToInstall()
    {
        using var tmp = AppProcess.TempFolder();
        var fake = FakePythonWithoutNumpy(tmp["python-without-numpy"]);
        var run = AppProcess.Run(["verify", Assignment(tmp), "--python", fake]);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(fake, run.Err);
        Assert.Contains("No module named 'numpy'", run.Err);
        Assert.Contains("apt-get install python3-numpy", run.Err);
        Assert.Contains("pip install numpy", run.Err);
    }

    [Fact]
    public void WithoutPythonOptionTheFirstCandidateWithNumpyIsUsed()
    {
        // A python3 first on PATH without numpy (as a version manager's shim may be): the search goes on to
        // /usr/bin/python3.
        using var tmp = AppProcess.TempFolder();
        var bin = Directory.CreateDirectory(tmp["bin"]).FullName;
        FakePythonWithoutNumpy(Path.Combine(bin, "python3"));
        var path = Assignment(tmp);
        var run = AppProcess.Run(["verify", path, "--cases", "3", "--function", "relu_forward"],
            new Dictionary<string, string?> { ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH") });
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("/usr/bin/python3", run.Out);
    }

    [Theory]
    [InlineData("--cases", "0", "--cases must be at least 1")]
    [InlineData("--timeout", "0", "--timeout")]
    [InlineData("--function", "conv_forward_fast", "unknown function 'conv_forward_fast'")]
    public void BadOptionsAreUsageErrors(string option, string value, string message)
    {
        using var tmp = AppProcess.TempFolder();
        var run = AppProcess.Run(["verify", Assignment(tmp), option, value]);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(message, run.Err);
    }

    [Fact]
    public void AFolderWithoutThePackageIsAUsageError()
    {
        using var tmp = AppProcess.TempFolder();
        var run = AppProcess.Run(["verify", tmp.Path]);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("no cs231n package", run.Err);
        var missing = AppProcess.Run(["verify", tmp["nowhere"]]);
        Assert.True(missing.ExitCode == 2, missing.ToString());
        Assert.Contains("no folder", missing.Err);
    }

    /// <summary>The functions of one file of the assignment, as --function options.</summary>
    private static string[] FunctionsOf(string group) => group switch
    {
        "layers" =>
        [
            "affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss", "svm_loss", "batchnorm_forward",
            "batchnorm_backward", "batchnorm_backward_alt", "layernorm_forward", "layernorm_backward", "dropout_forward",
            "dropout_backward", "conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive",
            "spatial_batchnorm_forward", "spatial_batchnorm_backward", "spatial_groupnorm_forward", "spatial_groupnorm_backward",
        ],
        "optim" => ["sgd", "sgd_momentum", "rmsprop", "adam"],
        "nets" => ["FullyConnectedNet", "ThreeLayerConvNet"],
        "rnn_layers" =>
        [
            "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "word_embedding_forward", "word_embedding_backward",
            "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss", "lstm_step_forward", "lstm_step_backward",
            "lstm_forward", "lstm_backward",
        ],
        "captioning" => ["CaptioningRNN"],
        _ => throw new ArgumentException($"unknown group {group}", nameof(group)),
    };

    /// <summary>
    /// Each buggy variant fails exactly the functions it breaks (every other function of its file passes), and the
    /// first of them carries the hint its bug pattern should produce (null: no hint is claimed).
    /// </summary>
    [Theory]
    [InlineData("pad-zero", "layers", "conv_backward_naive", "dx fails all", "with pad 0")]
    [InlineData("loss-times-n", "layers", "softmax_loss", "loss is exactly N =", "summed over the N examples")]
    [InlineData("backward-factor", "layers", "affine_backward", "dw is 2 ×", "constant factor 2")]
    [InlineData("dropout-not-inverted", "layers", "dropout_forward,dropout_backward", "keep probability", "dropout is not inverted")]
    [InlineData("dropout-drop-probability", "layers", "dropout_forward,dropout_backward", "kept fraction", "probability of KEEPING")]
    [InlineData("dropout-test-mode", "layers", "dropout_forward", "with mode = test", "dropout must be the identity")]
    [InlineData("batchnorm-test-batch-statistics", "layers", "batchnorm_forward", "known wrong formula", "test mode uses the batch's statistics")]
    [InlineData("running-variance-std", "layers", "batchnorm_forward,spatial_batchnorm_forward", "running_var equals", "standard deviation")]
    [InlineData("batchnorm-wrong-axis", "layers", "batchnorm_forward,batchnorm_backward,batchnorm_backward_alt,spatial_batchnorm_forward,spatial_batchnorm_backward", "out equals", "wrong axis")]
    [InlineData("layernorm-wrong-axis", "layers", "layernorm_forward,layernorm_backward", "out equals the known wrong formula", "layer norm over the batch")]
    [InlineData("max-pool-window", "layers", "max_pool_backward_naive", "dx equals", "wrong window size")]
    [InlineData("max-pool-non-square", "layers", "max_pool_backward_naive", "with height ≠ width of the window, passes all", "uses the other dimension's window size")]
    [InlineData("conv-stride", "layers", "conv_backward_naive", "dw fails", "the stride is dropped or misapplied")]
    [InlineData("groupnorm-wrong-dimension", "layers", "spatial_groupnorm_forward,spatial_groupnorm_backward", "out equals the known wrong formula", "groups over the wrong dimension")]
    [InlineData("regularization-sign", "nets", "FullyConnectedNet", "equals the known wrong formula", "wrong sign")]
    [InlineData("regularization-loss", "nets", "ThreeLayerConvNet", "with reg > 0, passes all", "regularization term or its gradient")]
    [InlineData("adam-no-bias-correction", "optim", "adam", "next_w equals", "not bias-corrected")]
    [InlineData("momentum-velocity-not-kept", "optim", "sgd_momentum", "with more than one step, passes all", "not carried to the next step")]
    [InlineData("relu-backward-unwritten", "layers", "relu_backward", "is all zeros on the smallest failing case", "the output is never written")]
    [InlineData("groupnorm-whole-sample", "layers", "spatial_groupnorm_forward,spatial_groupnorm_backward", "with G > 1, passes all", "groups are taken over the wrong dimension")]
    [InlineData("batch-of-one-squeeze", "layers", "affine_backward", "with N = 1, passes all", "breaks for a batch of one")]
    [InlineData("embedding-first-occurrence", "rnn_layers", "word_embedding_backward", "with a repeated word index, passes all", "loses the accumulation of repeated indices")]
    [InlineData("embedding-no-accumulation", "rnn_layers", "word_embedding_backward", "dW equals", "np.add.at")]
    [InlineData("temporal-mask-ignored", "rnn_layers", "temporal_softmax_loss", "equals the known wrong formula", "counts the masked steps")]
    [InlineData("rnn-backward-t1", "rnn_layers", "rnn_backward", "fails all", "right only for T = 1")]
    [InlineData("lstm-gate-order", "rnn_layers", "lstm_step_forward,lstm_step_backward,lstm_forward,lstm_backward", null, null)]
    [InlineData("captioning-mask-ignored", "captioning", "CaptioningRNN", "with masked steps, passes all", "depends on masked steps")]
    [InlineData("captioning-sample-feeds-start", "captioning", "CaptioningRNN", null, null)]
    public void EachBuggyVariantFailsExactlyTheFunctionsItBreaksWithItsHint(string variant, string group, string failing, string? evidence, string? meaning)
    {
        using var tmp = AppProcess.TempFolder();
        var options = FunctionsOf(group).SelectMany(f => new[] { "--function", f }).ToArray();
        var (run, fs, _) = Verify(tmp, Assignment(tmp, variant), ["--cases", "40", .. options]);
        Assert.True(run.ExitCode == 1, run.ToString());
        var expected = failing.Split(',');
        foreach (var (name, f) in fs)
            Assert.True(f.GetProperty("status").GetString() == (expected.Contains(name) ? "fail" : "pass"), $"{variant}: {name} {f}\n{run}");
        var first = fs[expected[0]];
        Assert.Equal(JsonValueKind.Object, first.GetProperty("failure").ValueKind);
        if (evidence is not null)
        {
            var hint = first.GetProperty("hint").GetString() ?? "";
            Assert.True(hint.Contains(evidence, StringComparison.Ordinal) && hint.Contains(meaning!, StringComparison.Ordinal), $"{variant}: hint '{hint}'");
            Assert.Contains(hint, run.Out);
        }
    }

    [Fact]
    public void LstmGatesInAnotherOrderAreNamedOnLstmForward()
    {
        using var tmp = AppProcess.TempFolder();
        var (run, fs, _) = Verify(tmp, Assignment(tmp, "lstm-gate-order"), "--cases", "40", "--function", "lstm_forward");
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("splits into i, f, o, g", fs["lstm_forward"].GetProperty("hint").GetString());
    }

    [Fact]
    public void ACaptioningSampleThatFeedsTheWrongWordFailsOnItsWords()
    {
        using var tmp = AppProcess.TempFolder();
        var (run, fs, _) = Verify(tmp, Assignment(tmp, "captioning-sample-feeds-start"), "--cases", "30", "--function", "CaptioningRNN");
        Assert.True(run.ExitCode == 1, run.ToString());
        var f = fs["CaptioningRNN"];
        Assert.Equal("cs231n/classifiers/rnn.py", f.GetProperty("module").GetString());
        Assert.Equal("sample", f.GetProperty("failure").GetProperty("output").GetString());
        // The first word is sampled after <START> either way: a failing case samples at least two words.
        Assert.True(f.GetProperty("failure").GetProperty("params").GetProperty("max_length").GetDouble() >= 2, f.ToString());
    }

    /// <summary>The verdict of one output under one oracle, from the JSON's "outputs".</summary>
    private static bool? Passed(JsonElement f, string output, string oracle) =>
        f.GetProperty("outputs").EnumerateArray()
            .Where(o => o.GetProperty("output").GetString() == output && o.GetProperty("oracle").GetString() == oracle)
            .Select(o => (bool?)o.GetProperty("passed").GetBoolean()).FirstOrDefault();

    [Fact]
    public void TheStudentsOwnForwardTellsAWrongBackwardFromOneConsistentWithAWrongForward()
    {
        // Forward right, backward wrong (dw twice too large): dw fails the reference and the directional derivative
        // of the student's forward.
        using var tmp = AppProcess.TempFolder();
        var (run, fs, _) = Verify(tmp, Assignment(tmp, "backward-factor"), "--cases", "20", "--function", "affine_backward");
        Assert.True(run.ExitCode == 1, run.ToString());
        var f = fs["affine_backward"];
        Assert.Equal(false, Passed(f, "dw", "reference"));
        Assert.Equal(false, Passed(f, "dw", "numeric"));
        Assert.Equal(true, Passed(f, "dx", "numeric"));

        // Both wrong, consistently (the bias doubled in the forward, db doubled in the backward): db fails the
        // reference but matches the student's own forward.
        using var tmp2 = AppProcess.TempFolder();
        var (run2, fs2, _) = Verify(tmp2, Assignment(tmp2, "affine-consistent"), "--cases", "20", "--function", "affine_forward",
            "--function", "affine_backward");
        Assert.True(run2.ExitCode == 1, run2.ToString());
        Assert.Equal("fail", Status(fs2, "affine_forward"));
        var g = fs2["affine_backward"];
        Assert.Equal(false, Passed(g, "db", "reference"));
        Assert.Equal(true, Passed(g, "db", "numeric"));
        Assert.Equal(true, Passed(g, "dx", "numeric"));
        Assert.Equal("reference", g.GetProperty("failure").GetProperty("oracle").GetString());
    }

    [Fact]
    public void TheJsonReportHasTheIssuesShape()
    {
        using var tmp = AppProcess.TempFolder();
        var (run, fs, root) = Verify(tmp, Assignment(tmp, "max-pool-window"), "--cases", "30", "--function", "max_pool_backward_naive",
            "--function", "relu_forward");
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.True(root.GetProperty("seconds").GetDouble() > 0);
        var f = fs["max_pool_backward_naive"];
        Assert.Equal("cs231n/layers.py", f.GetProperty("module").GetString());
        Assert.Equal("fail", f.GetProperty("status").GetString());
        Assert.Equal(30, f.GetProperty("cases").GetInt32());
        Assert.True(f.GetProperty("worstRelError").GetDouble() > 1e-3);
        var failure = f.GetProperty("failure");
        Assert.Equal("dx", failure.GetProperty("output").GetString());
        foreach (var p in new[] { "N", "C", "pool_height", "pool_width", "stride" })
            Assert.True(failure.GetProperty("params").TryGetProperty(p, out _), $"params lacks {p}: {failure}");
        Assert.Equal(4, failure.GetProperty("shapes").GetProperty("x").GetArrayLength());
        Assert.Equal(4, failure.GetProperty("index").GetArrayLength());
        Assert.Equal(JsonValueKind.Number, failure.GetProperty("expected").ValueKind);
        Assert.Equal(JsonValueKind.Number, failure.GetProperty("actual").ValueKind);
        Assert.True(failure.GetProperty("relError").GetDouble() > 1e-3);
        Assert.False(string.IsNullOrEmpty(f.GetProperty("hint").GetString()));
        Assert.Equal(JsonValueKind.Null, fs["relu_forward"].GetProperty("failure").ValueKind);
        Assert.Equal("pass", fs["relu_forward"].GetProperty("status").GetString());
        // The console shows the same counterexample.
        Assert.Contains("smallest failing case", run.Out);
        Assert.Contains("pool_height=", run.Out);
    }
}
