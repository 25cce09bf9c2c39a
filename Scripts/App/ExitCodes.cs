namespace Functional.App;

/// <summary>The app's exit codes.</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>A run failed: data that cannot be read, a folder that cannot be written, a diverged run, a failed check.</summary>
    public const int Failed = 1;

    /// <summary>A bad option or environment variable, found before any work starts.</summary>
    public const int Usage = 2;

    /// <summary>Stopped by Ctrl+C (SIGINT): 128 + 2.</summary>
    public const int Interrupted = 130;

    /// <summary>Stopped by SIGTERM: 128 + 15.</summary>
    public const int Terminated = 143;
}
