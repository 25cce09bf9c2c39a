namespace Functional.FSharp

open System
open System.IO
open Functional

/// Writes a file atomically: into a temporary file next to the target (so the rename stays on one file system),
/// flushed to disk, then renamed over the target. On any failure the temporary file is deleted and the target is left
/// as it was. The one writer of every file the library (and the app) writes: arrays, checkpoints, figures, graphs,
/// histories.
module internal AtomicFile =
    /// The full path of the target, checked: a path that is not empty, in a folder that exists (an ArgumentException
    /// naming fn otherwise).
    let private target (fn: string) (path: string) =
        if String.IsNullOrWhiteSpace path then
            Guard.fail fn "path" "the path must not be null or empty."

        let full = Path.GetFullPath path

        let dir =
            match Path.GetDirectoryName full with
            | null -> Path.GetPathRoot full |> nonNull
            | d -> d

        if not (Directory.Exists dir) then
            Guard.fail fn "path" $"the directory '{dir}' does not exist."

        full

    /// Writes the file through writeTo, a function that creates the temporary file at the path it is given (for
    /// writers that take a path, such as an external renderer).
    let writeVia (fn: string) (path: string) (writeTo: string -> unit) =
        let full = target fn path
        // path.tmp-<guid> (the name Checkpoint's clean-up looks for), ending in the target's extension (a renderer may
        // choose the format by it).
        let tmp = $"{full}.tmp-{Guid.NewGuid():N}{Path.GetExtension full}"

        try
            writeTo tmp
            File.Move(tmp, full, true)
        with _ ->
            try
                File.Delete tmp
            with _ ->
                ()

            reraise ()

    /// Writes the file through writeTo, given the stream of the temporary file (flushed to disk before the rename).
    let write (fn: string) (path: string) (writeTo: Stream -> unit) =
        writeVia fn path (fun tmp ->
            use fs =
                new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 <<< 16)

            writeTo fs
            fs.Flush(true))

    /// Writes the bytes as the whole file.
    let writeBytes (fn: string) (path: string) (bytes: byte[]) =
        write fn path (fun s -> s.Write(bytes, 0, bytes.Length))

namespace Functional

open Functional.FSharp

/// <summary>Files written the way the library writes its own (checkpoints, arrays, figures).</summary>
[<AbstractClass; Sealed>]
type Files =
    /// <summary>
    /// Writes <paramref name="bytes"/> as the whole file at <paramref name="path"/>, atomically: into a temporary file
    /// in the same folder (<c>path.tmp-…</c>), flushed to disk, then renamed over the target; on failure the temporary
    /// file is deleted and an existing file is left as it was.
    /// </summary>
    /// <exception cref="T:System.ArgumentException">The path is empty, or its folder does not exist.</exception>
    static member WriteAllBytes(path: string, bytes: byte[]) : unit =
        Guard.notNull "Files.WriteAllBytes" "bytes" bytes
        AtomicFile.writeBytes "Files.WriteAllBytes" path bytes
