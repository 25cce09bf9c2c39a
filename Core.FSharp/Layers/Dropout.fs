namespace Functional

/// <summary>What the dropout forward pass keeps for its backward pass (opaque): the scaled mask and the mode.</summary>
[<NoComparison>]
type DropoutCache = internal {
    Shape: int[]
    /// keep / keepProb per element (0 or 1/p) in training mode; empty in test mode.
    Mask: float[]
    Mode: Mode
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open System
open Functional

/// <summary>
/// Inverted dropout, any input shape. <b>keepProb is the probability of KEEPING a unit</b> (the meaning of the
/// course's <c>p</c> since 2019; earlier years used p for dropping): in training mode each unit is kept with
/// probability keepProb and the kept units are scaled by 1/keepProb, so E[out] = x; in test mode the layer is the
/// identity. The mask is a pure function of the <see cref="T:Functional.Rng"/> key (unit i is kept when the i-th
/// uniform of the key's stream is &lt; keepProb), so the same key gives the same mask.
/// </summary>
[<RequireQualifiedAccess>]
module Dropout =
    let private validate (fn: string) (keepProb: float) (mode: Mode) (rng: Rng) =
        if Double.IsNaN keepProb || keepProb <= 0.0 || keepProb > 1.0 then
            Guard.fail
                fn
                "keepProb"
                $"keepProb is the probability of keeping a unit and must be in (0, 1], got {keepProb}."

        Guard.mode fn mode

        if mode = Mode.Train && isNull (box rng) then
            Guard.fail fn "rng" "a key is required in training mode (it draws the mask); test mode needs none."

    /// <summary>
    /// The 0/1 keep-mask that <see cref="forward"/> uses in training mode for an input of the given shape: 1 where
    /// the unit is kept. keepProb in (0, 1].
    /// </summary>
    let mask (keepProb: float) (rng: Rng) (shape: int[]) : Tensor =
        validate "Dropout.mask" keepProb Mode.Train rng
        Guard.checkShape "Dropout.mask" "shape" shape
        let u = rng.Uniforms(Guard.size shape)
        Tensor.Wrap(Array.copy shape, u |> Array.map (fun v -> if v < keepProb then 1.0 else 0.0))

    /// <summary>
    /// Forward pass. keepProb in (0, 1] (the probability of keeping a unit); mode: Train drops, Test is the identity;
    /// rng: the key of the mask (required in training mode; test mode uses none, so null is accepted there, or call
    /// <see cref="test"/>); x: any shape. Returns out (x's shape) and the cache.
    /// </summary>
    let forward (keepProb: float) (mode: Mode) (rng: Rng) (x: Tensor) : Tensor * DropoutCache =
        validate "Dropout.forward" keepProb mode rng
        Guard.notNull "Dropout.forward" "x" x

        if mode = Mode.Test then
            x,
            {
                Shape = Array.copy x.Dims
                Mask = [||]
                Mode = mode
            }
        else
            let u = rng.Uniforms x.Count
            let scale = 1.0 / keepProb
            let m = u |> Array.map (fun v -> if v < keepProb then scale else 0.0)

            Tensor.Wrap(Array.copy x.Dims, Array.map2 (*) x.Data m),
            {
                Shape = Array.copy x.Dims
                Mask = m
                Mode = mode
            }

    /// <summary>
    /// The test-mode forward pass, which needs no key: out is x itself (inverted dropout scaled the kept units during
    /// training). keepProb in (0, 1] is still checked. Returns out and the cache for <see cref="backward"/>.
    /// </summary>
    let test (keepProb: float) (x: Tensor) : Tensor * DropoutCache =
        forward keepProb Mode.Test Unchecked.defaultof<Rng> x

    /// <summary>Backward pass. dout: x's shape. Returns dx = dout · mask / keepProb (training) or dout (test).</summary>
    let backward (dout: Tensor) (cache: DropoutCache) : Tensor =
        Guard.notNull "Dropout.backward" "cache" cache
        Guard.notNull "Dropout.backward" "dout" dout
        Guard.upstream "Dropout.backward" cache.Shape dout.Dims

        if cache.Mode = Mode.Test then
            dout
        else
            Tensor.Wrap(Array.copy cache.Shape, Array.map2 (*) dout.Data cache.Mask)
