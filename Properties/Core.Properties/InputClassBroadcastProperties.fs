/// Broadcasting with the broadcast operand on either side: for + − × ÷, maximum, minimum and where (tensor
/// arithmetic and the autodiff ops, forward and gradients), the result equals an explicit loop over the broadcast
/// index, with the two shapes drawn independently (lower rank and size-1 axes on either side, one-element operands
/// left and right).
module Functional.Properties.InputClassBroadcastProperties

open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators
open Functional.Properties.InputClass

/// A broadcasting pair: the output shape, and each operand's shape (its rank ≤ the output's, aligned right, each
/// axis either the output's or 1; a fifth of the operands have one element: shape (), (1,) or (1, 1)).
type Pair = {
    Out: int[]
    A: int[]
    B: int[]
    Seed: int
} with

    override p.ToString() =
        $"{{out={Guard.shapeText p.Out} a={Guard.shapeText p.A} b={Guard.shapeText p.B} seed={p.Seed}}}"

let private operand (out: int[]) =
    gen {
        let r = out.Length
        let! kind = Gen.choose (0, 9)

        match kind with
        | 0 -> return [||]
        | 1 -> return [| 1 |]
        | 2 when r >= 2 -> return [| 1; 1 |]
        | _ ->
            let! rank = Gen.choose (0, r)
            let! keep = Gen.listOfLength rank (Gen.elements [ true; true; false ])
            return Array.init rank (fun i -> if keep.[i] then out.[r - rank + i] else 1)
    }

let private pairs =
    let gen =
        gen {
            let! rank = Gen.choose (1, 4)
            let! out = Gen.arrayOfLength rank (Gen.choose (1, 4))
            let! a = operand out
            let! b = operand out
            let! seed = Gen.choose (0, System.Int32.MaxValue)
            // The broadcast shape of a and b (numpy's rule): the larger rank, each axis the larger of the two.
            let r = max a.Length b.Length

            let dim (s: int[]) i =
                if i >= r - s.Length then s.[i - (r - s.Length)] else 1

            let full = Array.init r (fun i -> max (dim a i) (dim b i))

            return {
                Out = full
                A = a
                B = b
                Seed = seed
            }
        }

    Arb.fromGen gen

/// The Arbitrary instance of Pair, for [<Property(Arbitrary = [| typeof<BroadcastArbitraries> |])>].
type BroadcastArbitraries =
    static member Pair() = pairs

/// The row-major offset into an operand of shape s (aligned right against out) at the output index idx.
let private offsetOf (out: int[]) (s: int[]) (idx: int[]) =
    let lead = out.Length - s.Length
    let mutable off = 0

    for i in 0 .. s.Length - 1 do
        off <- off * s.[i] + (if s.[i] = 1 then 0 else idx.[lead + i])

    off

/// Every index of a shape, in row-major order.
let private indices (shape: int[]) =
    let n = Array.fold (*) 1 shape

    Array.init n (fun k ->
        let idx = Array.zeroCreate shape.Length
        let mutable r = k

        for i in shape.Length - 1 .. -1 .. 0 do
            idx.[i] <- r % shape.[i]
            r <- r / shape.[i]

        idx)

/// Operands of a pair: values rounded to halves (so maximum and minimum see ties), b away from 0 (it divides).
let private operands (p: Pair) =
    let rng = Rng.create (int64 p.Seed)

    let half (t: Tensor) =
        Tensor.map (fun v -> System.Math.Round(v * 2.0) / 2.0) t

    let a = half (normal (rng.Derive 0) p.A)

    let b =
        half (normal (rng.Derive 1) p.B)
        |> Tensor.map (fun v -> if abs v < 0.5 then v + 1.0 else v)

    a, b

/// The explicit loop: out[o] = f a[ia] b[ib] over the broadcast index.
let private loop (p: Pair) (a: Tensor) (b: Tensor) (f: float -> float -> float) =
    let ad, bd = a.ToArray(), b.ToArray()

    indices p.Out
    |> Array.map (fun idx -> f ad.[offsetOf p.Out p.A idx] bd.[offsetOf p.Out p.B idx])

/// The binary operations: name, tensor op, autodiff op, scalar function, and ∂f/∂a, ∂f/∂b at (x, y).
let private ops
    : (string *
      (Tensor -> Tensor -> Tensor) *
      (Value -> Value -> Value) *
      (float -> float -> float) *
      (float -> float -> float) *
      (float -> float -> float)) list = [
    "+", (+), Ops.add, (+), (fun _ _ -> 1.0), (fun _ _ -> 1.0)
    "-", (-), Ops.sub, (-), (fun _ _ -> 1.0), (fun _ _ -> -1.0)
    "*", (*), Ops.mul, (*), (fun _ y -> y), (fun x _ -> x)
    "/", (/), Ops.div, (/), (fun _ y -> 1.0 / y), (fun x y -> -x / (y * y))
    "max",
    Tensor.maximum,
    Ops.maximum,
    max,
    (fun x y -> if x >= y then 1.0 else 0.0),
    (fun x y -> if x >= y then 0.0 else 1.0)
    "min",
    (fun a b -> Tensor.map2 min a b),
    Ops.minimum,
    min,
    (fun x y -> if x <= y then 1.0 else 0.0),
    (fun x y -> if x <= y then 0.0 else 1.0)
]

[<Property(MaxTest = 300, Arbitrary = [| typeof<BroadcastArbitraries> |])>]
let ``tensor arithmetic with broadcasting on either side equals the explicit loop over the broadcast index`` (p: Pair) =
    let a, b = operands p

    for name, tensorOp, _, f, _, _ in ops do
        let r = tensorOp a b
        Prop.ensure (Tensor.shape r = p.Out) (fun () -> $"{p} {name}: shape {Guard.shapeText (Tensor.shape r)}")
        within $"{p} a {name} b" 0.0 0.0 (loop p a b f) (Tensor.toArray r)

[<Property(MaxTest = 200, Arbitrary = [| typeof<BroadcastArbitraries> |])>]
let ``autodiff binary ops with broadcasting on either side: values and gradients equal the explicit loops`` (p: Pair) =
    let a, b = operands p
    let dout = normal (Rng.create (int64 p.Seed) |> Rng.derive 2) p.Out
    let g = dout.ToArray()
    let ad, bd = a.ToArray(), b.ToArray()

    for name, _, op, f, dfa, dfb in ops do
        let value, grads =
            Autodiff.gradients
                (fun v -> Ops.sum [||] false (Ops.mul (op v.["a"] v.["b"]) (Ops.constant dout)))
                (Map [ "a", a; "b", b ])

        let out = loop p a b f
        within $"{p} {name} value" 1e-12 1e-12 [| Array.fold2 (fun s o d -> s + o * d) 0.0 out g |] [| value |]
        // The gradients by the explicit loop: each output's upstream gradient times the local derivative, added
        // into the operand element it came from.
        let da, db = Array.zeroCreate ad.Length, Array.zeroCreate bd.Length

        indices p.Out
        |> Array.iteri (fun k idx ->
            let ia, ib = offsetOf p.Out p.A idx, offsetOf p.Out p.B idx
            da.[ia] <- da.[ia] + g.[k] * dfa ad.[ia] bd.[ib]
            db.[ib] <- db.[ib] + g.[k] * dfb ad.[ia] bd.[ib])

        tensorsWithin $"{p} {name} da" 1e-12 1e-12 (Tensor.ofArray p.A da) grads.["a"]
        tensorsWithin $"{p} {name} db" 1e-12 1e-12 (Tensor.ofArray p.B db) grads.["b"]

[<Property(MaxTest = 200, Arbitrary = [| typeof<BroadcastArbitraries> |])>]
let ``autodiff where with broadcasting on either side selects and routes the gradient element by element`` (p: Pair) =
    let a, b = operands p
    let rng = Rng.create (int64 p.Seed)

    let mask =
        Tensor.ofArray
            p.Out
            ((rng.Derive 3).Uniforms(Array.fold (*) 1 p.Out)
             |> Array.map (fun u -> if u < 0.5 then 1.0 else 0.0))

    let m = mask.ToArray()
    let dout = normal (rng.Derive 2) p.Out
    let g = dout.ToArray()
    let ad, bd = a.ToArray(), b.ToArray()

    let value, grads =
        Autodiff.gradients
            (fun v -> Ops.sum [||] false (Ops.mul (Ops.where mask v.["a"] v.["b"]) (Ops.constant dout)))
            (Map [ "a", a; "b", b ])

    let idx = indices p.Out

    let pick k (i: int[]) =
        if m.[k] <> 0.0 then
            ad.[offsetOf p.Out p.A i]
        else
            bd.[offsetOf p.Out p.B i]

    within $"{p} where value" 1e-12 1e-12 [| idx |> Array.mapi (fun k i -> pick k i * g.[k]) |> Array.sum |] [| value |]

    let da, db = Array.zeroCreate ad.Length, Array.zeroCreate bd.Length

    idx
    |> Array.iteri (fun k i ->
        if m.[k] <> 0.0 then
            let ia = offsetOf p.Out p.A i
            da.[ia] <- da.[ia] + g.[k]
        else
            let ib = offsetOf p.Out p.B i
            db.[ib] <- db.[ib] + g.[k])

    tensorsWithin $"{p} where da" 1e-12 1e-12 (Tensor.ofArray p.A da) grads.["a"]
    tensorsWithin $"{p} where db" 1e-12 1e-12 (Tensor.ofArray p.B db) grads.["b"]
