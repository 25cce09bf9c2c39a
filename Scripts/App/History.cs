using System.Text.Json;

namespace Functional.App;

/// <summary>The accuracies of the best parameters on the three sets.</summary>
internal sealed record FinalAccuracy(double Train, double Validation, double Test);

/// <summary>
/// <c>history.json</c>: what a run did, one key style (camelCase) throughout. <see cref="FormatVersion"/> 2 (1 was
/// the unversioned file with mixed key styles). Times in seconds; <see cref="EpochSeconds"/> holds the time each
/// epoch completed in this run took.
/// </summary>
internal sealed record History(
    int FormatVersion,
    string Model,
    string Rule,
    double LearningRate,
    int NumEpochs,
    int BatchSize,
    double LrDecay,
    long Seed,
    int NumTrain,
    string Gemm,
    string? ResumedFrom,
    int Epochs,
    int Iterations,
    bool Cancelled,
    string? StoppedBy,
    double TrainingSeconds,
    IReadOnlyList<double> EpochSeconds,
    double ExamplesPerSecond,
    IReadOnlyList<double> LossHistory,
    IReadOnlyList<double> TrainAccuracyHistory,
    IReadOnlyList<double> ValAccuracyHistory,
    double BestValAccuracy,
    FinalAccuracy Final)
{
    /// <summary>The version this app writes.</summary>
    public const int Version = 2;

    /// <summary>The JSON style of the app's histories: camelCase keys, indented.</summary>
    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
    };

    /// <summary>The history of a run, from its result and the elapsed times at each completed epoch.</summary>
    public static History Of(
        Model net, UpdateRule rule, SolverConfig options, int numTrain, TrainingResult result,
        IReadOnlyList<double> epochEnds, string? stoppedBy, string? resumedFrom, FinalAccuracy final) =>
        new(Version, net.Name, rule.Name, rule.LearningRate, options.NumEpochs, options.BatchSize, options.LrDecay,
            options.Seed, numTrain, Blas.Active, resumedFrom, result.Epochs, result.Iterations, result.Cancelled, stoppedBy,
            result.Elapsed.TotalSeconds, [.. epochEnds.Select((t, i) => i == 0 ? t : t - epochEnds[i - 1])],
            result.ExamplesPerSecond, result.LossHistory, result.TrainAccuracyHistory, result.ValAccuracyHistory,
            result.BestValAccuracy, final);

    /// <summary>Writes the history as JSON, atomically (a temporary file in the same folder, then a rename).</summary>
    public static void Write(string path, History history) =>
        Files.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(history, Json));
}
