using System.Runtime.InteropServices;

namespace Functional.App;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM while training: the first one cancels the token (the solver stops after the current
/// step and the app saves and reports); the process then exits with 130 or 143.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource cancel = new();
    private readonly PosixSignalRegistration interrupt;
    private readonly PosixSignalRegistration terminate;
    private volatile string? signal;

    public StopSignals()
    {
        interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
    }

    /// <summary>Cancelled at the first signal.</summary>
    public CancellationToken Token => cancel.Token;

    /// <summary>"SIGINT" or "SIGTERM" once one arrived, else null.</summary>
    public string? Signal => signal;

    /// <summary>130 after SIGINT, 143 after SIGTERM, else null.</summary>
    public int? ExitCode => signal switch
    {
        "SIGINT" => ExitCodes.Interrupted,
        "SIGTERM" => ExitCodes.Terminated,
        _ => null,
    };

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true; // no default termination: the run stops after its step, saves and exits itself
        signal ??= context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";
        cancel.Cancel();
    }

    public void Dispose()
    {
        interrupt.Dispose();
        terminate.Dispose();
        cancel.Dispose();
    }
}
