using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Functional.App.Course;

/// <summary>An object the student's code returned that has no array or JSON form (a cache, a model).</summary>
internal sealed record PyObject(string TypeName);

/// <summary>How one case ended in the driver.</summary>
internal sealed record CaseReply(string Status, IReadOnlyList<object?> Values, int Step, string Message, string? Traceback)
{
    public bool Ok => Status == "ok";
}

/// <summary>The driver stopped answering (a call that ignored its time limit) or exited (a crash, <c>os._exit</c>).</summary>
internal sealed class DriverLostException(string status, string message) : Exception(message)
{
    /// <summary>"timeout" or "error".</summary>
    public string Status { get; } = status;
}

/// <summary>
/// One Python process running <c>driver.py</c> (shipped next to the app), spoken to over its standard input and
/// output in frames: a 4-byte little-endian length, a UTF-8 JSON header, then the .npy payloads the header lists
/// (written and read with the library's <see cref="Functional.FSharp.Npy"/>). The student's prints go to the
/// driver's standard error, of which the last 64 KiB are kept for messages.
/// </summary>
internal sealed class PythonDriver : IDisposable
{
    private const int StderrKept = 1 << 16;
    private readonly Process process;
    private readonly Stream input;
    private readonly Stream output;
    private readonly StringBuilder stderr = new();
    private readonly Task stderrPump;

    /// <summary>The interpreter's sys.executable.</summary>
    public string Executable { get; private set; } = "";

    /// <summary>numpy's version.</summary>
    public string NumpyVersion { get; private set; } = "";

    private PythonDriver(string python, string workDir)
    {
        var info = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workDir,
        };
        // -B and PYTHONDONTWRITEBYTECODE: no __pycache__ in the student's folder; -s: no user site-packages surprises
        // are avoided on purpose (numpy may live there), so -s is not used.
        info.ArgumentList.Add("-B");
        info.ArgumentList.Add("-u");
        info.ArgumentList.Add(DriverPath);
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.Environment["PYTHONIOENCODING"] = "utf-8";
        info.Environment["OMP_NUM_THREADS"] = "1";
        info.Environment["OPENBLAS_NUM_THREADS"] = "1";
        info.Environment["MKL_NUM_THREADS"] = "1";
        process = Process.Start(info) ?? throw new InvalidOperationException($"{python} did not start.");
        input = process.StandardInput.BaseStream;
        output = process.StandardOutput.BaseStream;
        stderrPump = Task.Run(PumpStderr);
    }

    /// <summary>The driver script shipped with the app.</summary>
    public static string DriverPath => Path.Combine(AppContext.BaseDirectory, "Verify", "driver.py");

    /// <summary>Starts the driver and waits (at most <paramref name="startup"/>) for its greeting.</summary>
    public static PythonDriver Start(string python, string workDir, TimeSpan startup)
    {
        var d = new PythonDriver(python, workDir);
        try
        {
            var (hello, _) = d.Read(startup);
            d.Executable = (string?)hello["python"] ?? python;
            d.NumpyVersion = (string?)hello["numpy"] ?? "?";
            return d;
        }
        catch
        {
            d.Dispose();
            throw;
        }
    }

    /// <summary>The last lines the driver (and the student's code) wrote to standard error.</summary>
    public string StderrTail
    {
        get
        {
            lock (stderr)
                return stderr.ToString();
        }
    }

    private async Task PumpStderr()
    {
        var buffer = new char[4096];
        var reader = process.StandardError;
        int n;
        while ((n = await reader.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            lock (stderr)
            {
                stderr.Append(buffer, 0, n);
                if (stderr.Length > StderrKept)
                    stderr.Remove(0, stderr.Length - StderrKept);
            }
        }
    }

    /// <summary>Imports the student's modules from <paramref name="root"/>; per module: status, message, traceback.</summary>
    public IReadOnlyDictionary<string, (string Status, string? Message, string? Traceback)> Import(string root, IEnumerable<string> modules, TimeSpan timeout)
    {
        Write(new JsonObject { ["op"] = "import", ["root"] = root, ["modules"] = new JsonArray(modules.Select(m => (JsonNode)m).ToArray()) }, []);
        var (reply, _) = Read(timeout);
        var result = new Dictionary<string, (string, string?, string?)>();
        foreach (var (name, node) in reply["modules"]!.AsObject())
            result[name] = ((string)node!["status"]!, (string?)node["message"], (string?)node["traceback"]);
        return result;
    }

    /// <summary>
    /// Runs a batch of cases (each a list of steps) with <paramref name="callTimeout"/> per call. The driver reports
    /// after each case; if one case takes longer than <paramref name="caseBudget"/> the driver is killed and
    /// <see cref="DriverLostException"/> is thrown.
    /// </summary>
    public IReadOnlyList<CaseReply> Run(PyRequest request, double callTimeout, TimeSpan caseBudget)
    {
        var header = new JsonObject
        {
            ["op"] = "run",
            ["timeout"] = callTimeout,
            ["cases"] = new JsonArray(request.Cases.Select(c => (JsonNode)new JsonArray(c.ToArray())).ToArray()),
        };
        Write(header, request.Payloads);
        while (true)
        {
            var (frame, payloads) = Read(caseBudget);
            if (frame["progress"] is not null)
                continue;
            var results = frame["results"]!.AsArray();
            return results.Select(r => Decode(r!.AsObject(), payloads)).ToList();
        }
    }

    private static CaseReply Decode(JsonObject r, IReadOnlyList<byte[]> payloads)
    {
        var status = (string)r["status"]!;
        if (status == "ok")
            return new CaseReply(status, r["values"]!.AsArray().Select(v => PyValues.Decode(v, payloads)).ToList(), -1, "", null);
        return new CaseReply(status, [], (int?)r["step"] ?? -1, (string?)r["message"] ?? "", (string?)r["traceback"]);
    }

    private void Write(JsonObject header, IReadOnlyList<byte[]> payloads)
    {
        header["payloads"] = new JsonArray(payloads.Select(p => (JsonNode)p.Length).ToArray());
        var body = Encoding.UTF8.GetBytes(header.ToJsonString());
        var length = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)body.Length);
        try
        {
            input.Write(length);
            input.Write(body);
            foreach (var p in payloads)
                input.Write(p);
            input.Flush();
        }
        catch (IOException)
        {
            throw Lost();
        }
    }

    private (JsonObject Header, IReadOnlyList<byte[]> Payloads) Read(TimeSpan timeout)
    {
        var task = ReadFrameAsync();
        bool done;
        try
        {
            done = task.Wait(timeout);
        }
        catch (AggregateException e) when (e.InnerException is EndOfStreamException or IOException)
        {
            throw Lost();
        }

        if (!done)
        {
            Kill();
            throw new DriverLostException("timeout", $"no answer within {timeout.TotalSeconds:G3} s (the call ignored its time limit; the driver was stopped).");
        }

        return task.Result;
    }

    private DriverLostException Lost()
    {
        process.WaitForExit(2000);
        stderrPump.Wait(1000);
        var code = process.HasExited ? process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?";
        var tail = string.Join('\n', StderrTail.TrimEnd().Split('\n').TakeLast(12));
        return new DriverLostException("error", $"the Python process ended (exit code {code}).{(tail.Length > 0 ? "\n" + tail : "")}");
    }

    private async Task<(JsonObject, IReadOnlyList<byte[]>)> ReadFrameAsync()
    {
        var length = new byte[4];
        await output.ReadExactlyAsync(length).ConfigureAwait(false);
        var body = new byte[BinaryPrimitives.ReadUInt32LittleEndian(length)];
        await output.ReadExactlyAsync(body).ConfigureAwait(false);
        var header = JsonNode.Parse(body)!.AsObject();
        var payloads = new List<byte[]>();
        foreach (var n in header["payloads"]?.AsArray() ?? [])
        {
            var p = new byte[(int)n!];
            await output.ReadExactlyAsync(p).ConfigureAwait(false);
            payloads.Add(p);
        }

        return (header, payloads);
    }

    private void Kill()
    {
        try
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            process.WaitForExit(2000);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                Write(new JsonObject { ["op"] = "quit" }, []);
                input.Close();
                if (!process.WaitForExit(2000))
                    Kill();
            }
        }
        catch (Exception e) when (e is IOException or DriverLostException or InvalidOperationException)
        {
            Kill();
        }

        process.Dispose();
    }
}
