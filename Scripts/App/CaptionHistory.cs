using System.Text.Json;

namespace Functional.App;

/// <summary>The caption metrics of the best parameters on one set.</summary>
/// <param name="Exact">Exact-caption accuracy, in [0, 1].</param>
/// <param name="Token">Per-token accuracy, in [0, 1].</param>
/// <param name="Bleu">Corpus BLEU-1 … BLEU-4, each in [0, 1].</param>
internal sealed record CaptionScores(double Exact, double Token, IReadOnlyList<double> Bleu);

/// <summary>The caption metrics of the best parameters on the validation and test strips.</summary>
internal sealed record CaptionFinal(CaptionScores Validation, CaptionScores Test);

/// <summary>
/// <c>caption-history.json</c>: what a <c>caption</c> run did, in the style of <c>train</c>'s <see cref="History"/>:
/// one key style (camelCase) throughout, <see cref="FormatVersion"/> 2 (1 was the unversioned file with mixed key
/// styles), times in seconds, <see cref="EpochSeconds"/> the time each epoch of the captioning net took. The metric
/// histories hold validation BLEU-4 (the metric the best parameters are chosen by).
/// </summary>
internal sealed record CaptionHistory(
    int FormatVersion,
    string Model,
    string Features,
    string FeatureModel,
    int FeatureEpochs,
    string Rule,
    double LearningRate,
    int NumEpochs,
    int BatchSize,
    double LrDecay,
    long Seed,
    int NumTrain,
    int Epochs,
    int Iterations,
    bool Cancelled,
    double FeatureSeconds,
    double TrainingSeconds,
    IReadOnlyList<double> EpochSeconds,
    double TotalSeconds,
    double CpuSeconds,
    string Metric,
    IReadOnlyList<double> LossHistory,
    IReadOnlyList<double> TrainBleu4History,
    IReadOnlyList<double> ValBleu4History,
    double BestValBleu4,
    CaptionFinal Final)
{
    /// <summary>The version this app writes.</summary>
    public const int Version = 2;

    /// <summary>Writes the history as JSON, atomically (a temporary file in the same folder, then a rename).</summary>
    public static void Write(string path, CaptionHistory history) =>
        Files.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(history, History.Json));
}
