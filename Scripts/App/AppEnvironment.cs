namespace Functional.App;

/// <summary>
/// The environment variables the library reads (FUNCTIONAL_BLAS, FUNCTIONAL_THREADS), read and checked once at
/// start so that a bad value stops the app at once with a clear message, not after a run.
/// </summary>
internal static class AppEnvironment
{
    /// <summary>The largest FUNCTIONAL_THREADS the app accepts.</summary>
    public const int MaxThreads = 1024;

    /// <summary>The problem with the environment, or null when it is fine.</summary>
    public static string? Problem()
    {
        try
        {
            _ = Blas.Active;
            var threads = Blas.Threads;
            return threads > MaxThreads
                ? $"FUNCTIONAL_THREADS={threads} is more than {MaxThreads} threads: use a count up to the number of processors ({Environment.ProcessorCount} here), or unset it."
                : null;
        }
        catch (Exception e) when (e is InvalidOperationException or TypeInitializationException)
        {
            return (e as TypeInitializationException)?.InnerException?.Message ?? e.Message;
        }
    }
}
