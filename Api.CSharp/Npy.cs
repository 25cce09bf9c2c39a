using FNpy = Functional.FSharp.NpyModule;
using FNpz = Functional.FSharp.NpzModule;

namespace Functional;

/// <summary>
/// numpy's <c>.npy</c> format (format versions 1–3, C or Fortran order): one array per file. Reading converts
/// float64, float32, float16, 8/16/32-bit integers and bools to float64 exactly; an int64/uint64 element without an
/// exact float64 is rejected. Writing is atomic (a temporary file, then a rename) and writes little-endian float64.
/// </summary>
/// <remarks>Errors name the file: <see cref="ArgumentException"/> for a null or empty path,
/// <see cref="System.IO.InvalidDataException"/> for a malformed file or an unsupported dtype, the usual
/// <see cref="System.IO.IOException"/>s when the file cannot be read or written.</remarks>
public static class Npy
{
    /// <summary>Reads a <c>.npy</c> file into a tensor (numpy's <c>np.load</c>).</summary>
    /// <param name="path">The file.</param>
    /// <returns>The array, its shape kept (a 0-d array is a scalar tensor).</returns>
    public static Tensor Load(string path) => FNpy.load(Require.NotNull(path));

    /// <summary>Writes a tensor to a <c>.npy</c> file, atomically (numpy's <c>np.save</c>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="tensor">The tensor, written as float64.</param>
    public static void Save(string path, Tensor tensor) => FNpy.save(Require.NotNull(path), Require.NotNull(tensor));
}

/// <summary>
/// numpy's <c>.npz</c> format: a zip archive of <c>.npy</c> arrays, one entry <c>name.npy</c> per array (numpy's
/// <c>np.savez</c> / <c>np.load</c>). Reading verifies every entry's CRC-32 and parses every array as
/// <see cref="Npy.Load"/> does; writing is atomic.
/// </summary>
/// <remarks>Errors name the file and the entry: <see cref="ArgumentException"/> for a null or empty path or an
/// invalid array name, <see cref="System.IO.InvalidDataException"/> for a truncated or corrupted archive or array.</remarks>
public static class Npz
{
    /// <summary>Reads every <c>.npy</c> entry of an archive (other entries are skipped).</summary>
    /// <param name="path">The archive.</param>
    /// <returns>The arrays by name, without the <c>.npy</c> extension.</returns>
    public static IReadOnlyDictionary<string, Tensor> Load(string path) => FNpz.load(Require.NotNull(path));

    /// <summary>Writes named tensors to an archive, atomically: one entry <c>name.npy</c> per array.</summary>
    /// <param name="path">The archive.</param>
    /// <param name="arrays">The arrays by name; names may hold '/' (e.g. "params/W1") but no empty, '.' or '..' part.</param>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> arrays) =>
        FNpz.save(Require.NotNull(path), Maps.Of(Require.NotNull(arrays), Microsoft.FSharp.Collections.MapModule.Empty<string, Tensor>()));
}
