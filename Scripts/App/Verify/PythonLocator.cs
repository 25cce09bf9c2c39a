using System.Diagnostics;

namespace Functional.App.Course;

/// <summary>A Python interpreter that imports numpy.</summary>
internal sealed record PythonFound(string Command, string Executable, string NumpyVersion);

/// <summary>
/// Finds a Python with numpy. Machines often have several: a version manager's <c>python3</c> first on PATH without
/// numpy, the distribution's <c>/usr/bin/python3</c> with it. Without <c>--python</c> the candidates are tried in
/// order (python3 on PATH, /usr/bin/python3, /usr/local/bin/python3, python on PATH, py) and the first that imports
/// numpy is used.
/// </summary>
internal static class PythonLocator
{
    private const string Probe = "import sys, numpy; print(sys.executable); print(numpy.__version__)";

    /// <summary>The candidates tried when no interpreter is given.</summary>
    public static IReadOnlyList<string> Candidates { get; } = ["python3", "/usr/bin/python3", "/usr/local/bin/python3", "python", "py"];

    /// <summary>The first candidate that imports numpy, or null with what each candidate said.</summary>
    public static PythonFound? Find(IReadOnlyList<string> candidates, out IReadOnlyList<string> tried)
    {
        var log = new List<string>();
        tried = log;
        foreach (var candidate in candidates.Distinct())
        {
            var (ok, output) = Run(candidate);
            if (ok && output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is [var exe, var version, ..])
                return new PythonFound(candidate, exe, version);
            log.Add($"{candidate}: {output}");
        }

        return null;
    }

    private static (bool Ok, string Output) Run(string python)
    {
        var info = new ProcessStartInfo(python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-B");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Probe);
        try
        {
            using var p = Process.Start(info);
            if (p is null)
                return (false, "did not start");
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                p.Kill(entireProcessTree: true);
                return (false, "no answer within 30 s");
            }

            if (p.ExitCode == 0)
                return (true, stdout.Result);
            var last = stderr.Result.Trim().Split('\n').LastOrDefault()?.Trim();
            return (false, string.IsNullOrEmpty(last) ? $"exit code {p.ExitCode}" : last);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (false, "not found");
        }
    }
}
