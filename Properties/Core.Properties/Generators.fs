/// Generators of valid random configurations. A case is a small record of sizes plus a seed; tensors are
/// drawn from an Rng built from the seed, so a shrunk case reproduces exactly, and shrinking lowers the sizes.
module Functional.Properties.Generators

open FsCheck
open FsCheck.FSharp
open Functional
open Functional.FSharp

/// A case: named integer sizes (each with its own lower bound) and a seed for the tensors.
type Case = {
    Sizes: (string * int) list
    Seed: int
} with

    member c.Item(name: string) =
        c.Sizes |> List.find (fun (n, _) -> n = name) |> snd

    member c.Rng = Rng.create (int64 c.Seed)

    override c.ToString() =
        let s = c.Sizes |> List.map (fun (n, v) -> $"{n}={v}") |> String.concat " "
        $"{{{s} seed={c.Seed}}}"

/// Cases with each named size drawn from its [lo, hi] range; shrinking moves sizes toward lo, one at a time,
/// keeping only cases that satisfy valid.
let casesWhere (ranges: (string * int * int) list) (valid: Case -> bool) : Arbitrary<Case> =
    let gen =
        gen {
            let! sizes =
                ranges
                |> List.map (fun (n, lo, hi) -> Gen.choose (lo, hi) |> Gen.map (fun v -> n, v))
                |> Gen.sequenceToList

            let! seed = Gen.choose (0, System.Int32.MaxValue)
            return { Sizes = sizes; Seed = seed }
        }
        |> Gen.filter valid

    let lows = ranges |> List.map (fun (n, lo, _) -> n, lo) |> Map.ofList

    let shrink (c: Case) =
        seq {
            for i in 0 .. c.Sizes.Length - 1 do
                let n, v = c.Sizes.[i]
                let lo = lows.[n]

                for v' in List.distinct [ lo; (lo + v) / 2; v - 1 ] do
                    if v' >= lo && v' < v then
                        yield {
                            c with
                                Sizes = c.Sizes |> List.mapi (fun j s -> if j = i then (n, v') else s)
                        }
        }
        |> Seq.filter valid

    Arb.fromGenShrink (gen, shrink)

/// Cases with each named size drawn from its [lo, hi] range.
let cases (ranges: (string * int * int) list) = casesWhere ranges (fun _ -> true)

/// A normal tensor of the given shape from a key.
let normal (rng: Rng) (shape: int[]) = Tensor.randn rng 1.0 shape

/// A normal tensor whose entries are all at least `gap` away from 0 (for ReLU-type kinks).
let awayFromZero (gap: float) (rng: Rng) (shape: int[]) =
    normal rng shape
    |> Tensor.map (fun v ->
        if abs v < gap then
            (if v >= 0.0 then v + gap else v - gap)
        else
            v)

/// Labels in [0, c) from a key.
let labels (rng: Rng) (n: int) (c: int) =
    rng.Uniforms n |> Array.map (fun u -> min (c - 1) (int (u * float c)))

/// The i-th of several independent keys derived from a case's seed.
let key (c: Case) (i: int) = c.Rng |> Rng.derive i
