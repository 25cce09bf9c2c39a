/// Properties of inverted dropout (keepProb = the probability of keeping a unit).
///
/// The statistical properties draw their keys from FsCheck's random case seeds, so each run sees new masks; their
/// bounds are 7 standard deviations, and Bernstein's inequality turns that into a failure probability below 1e-9 per
/// checked quantity (worked out at each property), so they never flake in practice.
module Functional.Properties.DropoutProperties

open System
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators
open Functional.Properties.NormProperties

/// keepProb from a case's "p%" size.
let private keep (c: Case) = float c.["p%"] / 100.0

[<Property(MaxTest = 100)>]
let ``dropout with keepProb = 1 is the identity, and test mode is the identity for any keepProb`` () =
    Prop.forAll (cases [ "N", 1, 5; "D", 1, 6; "p%", 1, 100 ]) (fun c ->
        let x = normal (key c 0) [| c.["N"]; c.["D"] |]
        let dout = normal (key c 1) [| c.["N"]; c.["D"] |]
        let out1, cache1 = Dropout.forward 1.0 Mode.Train (key c 2) x
        Prop.ensure (Tensor.toArray out1 = Tensor.toArray x) (fun () -> $"{c}: keepProb 1 changed x")
        Prop.ensure (Tensor.toArray (Dropout.backward dout cache1) = Tensor.toArray dout) (fun () -> $"{c}")
        let outT, cacheT = Dropout.forward (keep c) Mode.Test (key c 2) x
        Prop.ensure (Tensor.toArray outT = Tensor.toArray x) (fun () -> $"{c}: test mode changed x")
        Prop.ensure (Tensor.toArray (Dropout.backward dout cacheT) = Tensor.toArray dout) (fun () -> $"{c}"))

[<Property(MaxTest = 100)>]
let ``dropout keeps a fraction close to keepProb and scales the kept units by 1 / keepProb`` () =
    // n ≥ 2500 units, keepProb p in [0.1, 0.9]: the kept count is Binomial(n, p). Bound: |kept/n − p| ≤ 7·sqrt(p(1−p)/n).
    // Bernstein: P ≤ 2·exp(−49 / (2 + (14/3)/sqrt(n·p(1−p)))) ≤ 2·exp(−21.2) = 1.2e-9 per case (n·p(1−p) ≥ 225).
    Prop.forAll (cases [ "N", 50, 100; "D", 50, 100; "p%", 10, 90 ]) (fun c ->
        let p = keep c
        let shape = [| c.["N"]; c.["D"] |]
        let n = float (shape.[0] * shape.[1])
        let x = awayFromZero 1e-3 (key c 0) shape
        let out, _ = Dropout.forward p Mode.Train (key c 1) x

        let kept =
            Array.map2
                (fun o v ->
                    if o = 0.0 then
                        0.0
                    else
                        Prop.ensure (abs (o - v / p) <= 1e-15 * abs (v / p)) (fun () -> $"{c}: kept {o}, not {v}/p")
                        1.0)
                (Tensor.toArray out)
                (Tensor.toArray x)

        let fraction = Array.sum kept / n
        let bound = 7.0 * sqrt (p * (1.0 - p) / n)

        Prop.ensure (abs (fraction - p) <= bound) (fun () ->
            $"{c}: kept fraction {fraction} vs keepProb {p} (bound {bound})")
        // The mask is Dropout.mask's.
        let mask = Dropout.mask p (key c 1) shape
        Prop.ensure (Tensor.toArray mask = kept) (fun () -> $"{c}: Dropout.mask differs from the forward pass's mask"))

[<Property(MaxTest = 100)>]
let ``dropout preserves the expected value over many keys`` () =
    // K = 4000 keys per case, each unit's average output vs x: the samples x·m/p (m ~ Bernoulli(p)) have variance
    // v = x²(1−p)/p and deviate from x by at most R = |x|/p. Bound 7·sqrt(v/K). Bernstein:
    // P ≤ 2·exp(−49 / (2 + (14/3)·R/sqrt(v·K))) with R/sqrt(v) = 1/sqrt(p(1−p)) ≤ 3.34 for p in [0.1, 0.9]:
    // ≤ 2·exp(−21.8) = 6.9e-10 per unit, at most 12 units per case.
    Prop.forAll (cases [ "N", 1, 3; "D", 1, 4; "p%", 10, 90 ]) (fun c ->
        let p = keep c
        let shape = [| c.["N"]; c.["D"] |]
        let x = normal (key c 0) shape
        let k = 4000
        let sum = Array.zeroCreate (Tensor.size x)

        for i in 0 .. k - 1 do
            let out, _ = Dropout.forward p Mode.Train (key c (1000 + i)) x
            Tensor.toArray out |> Array.iteri (fun j v -> sum.[j] <- sum.[j] + v)

        Tensor.toArray x
        |> Array.iteri (fun j v ->
            let mean = sum.[j] / float k
            let bound = 7.0 * abs v * sqrt ((1.0 - p) / p / float k)

            Prop.ensure (abs (mean - v) <= bound + 1e-12) (fun () ->
                $"{c} unit {j}: mean {mean} vs x {v} (bound {bound})")))

[<Property(MaxTest = 100)>]
let ``dropout: the same key gives the same mask, another key another mask`` () =
    // Different keys: two independent masks of n ≥ 200 units agree everywhere with probability
    // (p² + (1−p)²)^n ≤ 0.82^200 < 1e-17 for p in [0.1, 0.9].
    Prop.forAll (cases [ "N", 10, 20; "D", 20, 30; "p%", 10, 90 ]) (fun c ->
        let p = keep c
        let x = awayFromZero 1e-3 (key c 0) [| c.["N"]; c.["D"] |]
        let a, _ = Dropout.forward p Mode.Train (key c 1) x
        let b, _ = Dropout.forward p Mode.Train (key c 1) x
        let other, _ = Dropout.forward p Mode.Train (key c 2) x
        Prop.ensure (Tensor.toArray a = Tensor.toArray b) (fun () -> $"{c}: the same key gave two masks")
        Prop.ensure (Tensor.toArray a <> Tensor.toArray other) (fun () -> $"{c}: two keys gave one mask"))

[<Property(MaxTest = 100)>]
let ``dropout backward matches the numeric gradient with a fixed key`` () =
    Prop.forAll (cases [ "N", 1, 5; "D", 1, 6; "H", 1, 3; "p%", 10, 100 ]) (fun c ->
        let p = keep c
        let shape = [| c.["N"]; c.["D"]; c.["H"] |]
        let x = normal (key c 0) shape
        let dout = normal (key c 1) shape

        for mode in [ Mode.Train; Mode.Test ] do
            let forward t =
                fst (Dropout.forward p mode (key c 2) t)

            let _, cache = Dropout.forward p mode (key c 2) x
            gradClose "dropout" $"{c} {mode}" "dx" (Dropout.backward dout cache) (numeric forward x dout))

[<Fact>]
let ``dropout validates keepProb, mode, the key and dout`` () =
    let x = Tensor.ones [| 2; 3 |]
    let rng = Rng.create 1L

    for bad in [ 0.0; -0.5; 1.5; nan ] do
        Prop.throwsWith [ "Dropout.forward"; "keepProb"; "probability of keeping"; "(0, 1]" ] (fun () ->
            Dropout.forward bad Mode.Train rng x)

    Prop.throwsWith [ "Dropout.forward"; "mode"; "3" ] (fun () -> Dropout.forward 0.5 (enum<Mode> 3) rng x)
    Prop.throwsWith [ "Dropout.forward"; "rng" ] (fun () -> Dropout.forward 0.5 Mode.Train (Unchecked.defaultof<Rng>) x)
    Prop.throwsWith [ "Dropout.mask"; "keepProb"; "0" ] (fun () -> Dropout.mask 0.0 rng [| 2 |])
    let _, cache = Dropout.forward 0.5 Mode.Train rng x

    Prop.throwsWith [ "Dropout.backward"; "dout"; "(2, 3)"; "(3, 2)" ] (fun () ->
        Dropout.backward (Tensor.ones [| 3; 2 |]) cache)
