/// The random configurations of the properties: the library's own verification cases (Functional.FSharp.Cases),
/// under the names the properties use. A case is a small record of sizes plus a seed; tensors are drawn from an Rng
/// built from the seed, so a shrunk case reproduces exactly, and shrinking lowers the sizes.
module Functional.Properties.Generators

open FsCheck
open Functional
open Functional.FSharp

/// A case: named integer sizes (each with its own lower bound) and a seed for the tensors.
type Case = VerificationCase

/// Cases with each named size drawn from its [lo, hi] range; shrinking moves sizes toward lo, one at a time,
/// keeping only cases that satisfy valid.
let casesWhere (ranges: (string * int * int) list) (valid: Case -> bool) : Arbitrary<Case> = Cases.where ranges valid

/// Cases with each named size drawn from its [lo, hi] range.
let cases (ranges: (string * int * int) list) = Cases.over ranges

/// A normal tensor of the given shape from a key.
let normal (rng: Rng) (shape: int[]) = Cases.normal rng shape

/// A normal tensor whose entries are all at least `gap` away from 0 (for ReLU-type kinks).
let awayFromZero (gap: float) (rng: Rng) (shape: int[]) = Cases.awayFromZero gap rng shape

/// Labels in [0, c) from a key.
let labels (rng: Rng) (n: int) (c: int) = Cases.labels rng n c

/// The i-th of several independent keys derived from a case's seed.
let key (c: Case) (i: int) = Cases.key c i
