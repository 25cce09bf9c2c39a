using System.Text.Json;

namespace Functional.App.Tests;

/// <summary>The <c>caption</c> verb, run out of process on a few strips and epochs.</summary>
public class CaptionCommandTests
{
    [Fact]
    public void ASmallConvRunReportsTheMetricsAndWritesTheCheckpointAndHistory()
    {
        using var tmp = AppProcess.TempFolder();
        var run = AppProcess.Run(["caption", "--num-train", "200", "--feature-epochs", "1", "--readers", "1", "--epochs", "1", "--hidden", "16",
            "--wordvec", "8", "--output", tmp.Path]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("200 train, 2000 validation, 2000 test strips", run.Out);
        Assert.Contains("generated:", run.Out);
        Assert.Contains("Wrote ", run.Out);
        Assert.True(File.Exists(tmp["caption-checkpoint.npz"]) && File.Exists(tmp["caption-history.json"]), run.ToString());

        using var json = JsonDocument.Parse(File.ReadAllBytes(tmp["caption-history.json"]));
        var root = json.RootElement;
        Assert.Equal(2, root.GetProperty("formatVersion").GetInt32());
        Assert.Equal("conv", root.GetProperty("features").GetString());
        Assert.Equal(1, root.GetProperty("epochs").GetInt32());
        Assert.Equal(200, root.GetProperty("numTrain").GetInt32());
        var epochSeconds = root.GetProperty("epochSeconds").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Single(epochSeconds);
        Assert.All(epochSeconds, s => Assert.True(s > 0));
        foreach (var set in new[] { "validation", "test" })
        {
            var scores = root.GetProperty("final").GetProperty(set);
            Assert.InRange(scores.GetProperty("exact").GetDouble(), 0.0, 1.0);
            Assert.InRange(scores.GetProperty("token").GetDouble(), 0.0, 1.0);
            Assert.Equal(4, scores.GetProperty("bleu").GetArrayLength());
        }

        foreach (var name in PropertyNames(root))
            Assert.True(char.IsLower(name[0]) && !name.Contains('_'), $"caption-history.json key '{name}' is not camelCase");
        Assert.Equal(1, Checkpoint.Load(tmp["caption-checkpoint.npz"]).Epoch);
    }

    private static IEnumerable<string> PropertyNames(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().SelectMany(p => PropertyNames(p.Value).Prepend(p.Name)),
        JsonValueKind.Array => e.EnumerateArray().SelectMany(PropertyNames),
        _ => [],
    };

    [Theory]
    [InlineData("--cell", "transformer", "--cell must be rnn, lstm or gru")]
    [InlineData("--features", "raw", "--features must be conv or pixels")]
    [InlineData("--feature-epochs", "0", "--feature-epochs must be at least 1")]
    [InlineData("--num-train", "0", "--num-train must be at least 1")]
    [InlineData("--readers", "0", "--readers must be at least 1")]
    [InlineData("--augment", "elastic", "--augment must be affine or shift")]
    [InlineData("--slot-features", "scores", "--slot-features must be one-hot or probabilities")]
    public void ABadOptionStopsBeforeTrainingWithOneClearLine(string option, string value, string message)
    {
        using var tmp = AppProcess.TempFolder();
        var run = AppProcess.Run(["caption", option, value, "--output", tmp.Path]);
        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains(message, run.Out);
        Assert.DoesNotContain("   at ", run.Out + run.Err);
        Assert.DoesNotContain("Data:", run.Out);
    }
}
