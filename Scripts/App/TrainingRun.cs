namespace Functional.App;

/// <summary>
/// The app's one use of the Solver: a fresh run, or the continuation of a checkpoint, with a synchronous progress
/// callback and a cancellation token.
/// </summary>
internal sealed class TrainingRun(Solver solver, DataSplit data, Checkpoint? resume, CancellationToken token)
{
    /// <summary>Trains (or resumes) and returns the result; a cancelled run returns what it learned.</summary>
    public TrainingResult Train(Action<TrainingProgress> onProgress) =>
        resume is null
            ? solver.Train(data.Train.X, data.Train.Labels, data.Validation.X, data.Validation.Labels, onProgress, token)
            : solver.Resume(resume, data.Train.X, data.Train.Labels, data.Validation.X, data.Validation.Labels,
                new Progress(onProgress), token);

    /// <summary>Reports at once, on the training thread (System.Progress would post them to the thread pool).</summary>
    private sealed class Progress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
