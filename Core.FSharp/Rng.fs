namespace Functional

open System

/// <summary>
/// An immutable, splittable random key. Sampling is a pure function of the key: the same key gives the
/// same numbers on every run and every machine. There is no hidden global generator anywhere in the library;
/// a function that needs randomness takes an <c>Rng</c> and, where it must hand randomness on, splits it.
/// </summary>
/// <remarks>
/// The key is a 64-bit value; streams are derived with the SplitMix64 finalizer (a counter-based generator:
/// value <c>i</c> of a key is <c>mix(key + (i + 1) * golden)</c>), so sampling needs no mutable state.
/// </remarks>
[<Sealed>]
type Rng private (key: uint64) =
    static let golden = 0x9E3779B97F4A7C15UL

    static let mix (z0: uint64) =
        let z1 = (z0 ^^^ (z0 >>> 30)) * 0xBF58476D1CE4E5B9UL
        let z2 = (z1 ^^^ (z1 >>> 27)) * 0x94D049BB133111EBUL
        z2 ^^^ (z2 >>> 31)

    /// <summary>The 64-bit key. <c>Rng.FromKey(r.Key)</c> gives back an equal key (checkpoints store it).</summary>
    member _.Key = key

    /// <summary>A key made from a seed. Equal seeds give equal keys.</summary>
    static member Create(seed: int64) = Rng(mix (uint64 seed + golden))

    /// <summary>The key whose <see cref="P:Functional.Rng.Key"/> is <paramref name="key"/>.</summary>
    static member FromKey(key: uint64) = Rng(key)

    /// <summary>Two independent keys derived from this one. This key should not be used again afterwards.</summary>
    member _.Split() : struct (Rng * Rng) =
        struct (Rng(mix (key ^^^ 0x5851F42D4C957F2DUL) + golden), Rng(mix (key ^^^ 0x14057B7EF767814FUL) + 3UL * golden))

    /// <summary>A key derived from this one and an integer (e.g. an epoch or a layer index): distinct integers give independent keys.</summary>
    member _.Derive(data: int) =
        Rng(mix (key + mix (uint64 (int64 data) * golden + 0xD1B54A32D192ED03UL)))

    /// <summary>The <paramref name="index"/>-th raw 64-bit value of this key's stream.</summary>
    member _.Bits(index: int64) =
        mix (key + (uint64 index + 1UL) * golden)

    /// <summary>The <paramref name="index"/>-th value of this key's stream as a uniform double in [0, 1).</summary>
    member this.Uniform(index: int64) =
        float (this.Bits index >>> 11) * (1.0 / 9007199254740992.0)

    /// <summary><paramref name="count"/> uniform doubles in [0, 1).</summary>
    member this.Uniforms(count: int) : float[] =
        if count < 0 || count > Array.MaxLength then
            Guard.fail
                "Rng.Uniforms"
                "count"
                $"count must be from 0 to {Array.MaxLength} (an array's limit), got {count}."

        Array.init count (fun i -> this.Uniform(int64 i))

    /// <summary><paramref name="count"/> standard normal doubles (Box–Muller over the uniform stream).</summary>
    member this.Normals(count: int) : float[] =
        if count < 0 || count > Array.MaxLength then
            Guard.fail
                "Rng.Normals"
                "count"
                $"count must be from 0 to {Array.MaxLength} (an array's limit), got {count}."

        let out = Array.zeroCreate count

        for pair in 0 .. (count + 1) / 2 - 1 do
            // 1 - u is in (0, 1], so the log is finite.
            let u1 = 1.0 - this.Uniform(int64 (2 * pair))
            let u2 = this.Uniform(int64 (2 * pair + 1))
            let r = sqrt (-2.0 * log u1)
            let t = 2.0 * Math.PI * u2
            out.[2 * pair] <- r * cos t

            if 2 * pair + 1 < count then
                out.[2 * pair + 1] <- r * sin t

        out

    /// <summary>A uniformly random permutation of 0 .. n-1 (Fisher–Yates driven by this key's stream).</summary>
    member this.Permutation(n: int) : int[] =
        if n < 0 || n > Array.MaxLength then
            Guard.fail "Rng.Permutation" "n" $"n must be from 0 to {Array.MaxLength} (an array's limit), got {n}."

        let p = Array.init n id

        for i in n - 1 .. -1 .. 1 do
            let j = int (this.Bits(int64 i) % uint64 (i + 1))
            let t = p.[i]
            p.[i] <- p.[j]
            p.[j] <- t

        p

    override _.Equals(o: obj) =
        match o with
        | :? Rng as r -> r.Key = key
        | _ -> false

    override _.GetHashCode() = key.GetHashCode()
    override _.ToString() = $"Rng(0x{key:X16})"

namespace Functional.FSharp

open Functional

/// Pure functions over <see cref="T:Functional.Rng"/> keys, for F# code.
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Rng =
    /// A key from an integer seed.
    let create (seed: int64) = Rng.Create seed

    /// Two independent keys from one.
    let split (key: Rng) =
        let struct (a, b) = key.Split()
        a, b

    /// n independent keys from one.
    let splitN (n: int) (key: Rng) = Array.init n key.Derive

    /// A key derived from a key and an integer.
    let derive (data: int) (key: Rng) = key.Derive data

    /// n uniform doubles in [0, 1).
    let uniforms (n: int) (key: Rng) = key.Uniforms n

    /// n standard normal doubles.
    let normals (n: int) (key: Rng) = key.Normals n

    /// A random permutation of 0 .. n-1.
    let permutation (n: int) (key: Rng) = key.Permutation n
