namespace Functional.App;

/// <summary>Checks, before any training, that the output folder can be written.</summary>
internal static class OutputFolder
{
    /// <summary>Why files cannot be written in <paramref name="folder"/> (created if missing), or null when they can.</summary>
    public static string? Problem(string folder)
    {
        if (File.Exists(folder))
            return "it is a file, not a folder.";
        var probe = Path.Combine(folder, $".functional-write-check-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(probe, [0]);
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }
}
