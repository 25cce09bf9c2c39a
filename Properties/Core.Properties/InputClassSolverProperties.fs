/// The solver's trajectory, not only its bookkeeping: with a constant gradient under plain SGD the parameters after
/// each epoch are the closed form with the decayed learning rate, and consecutive epochs visit the examples in
/// different orders.
module Functional.Properties.InputClassSolverProperties

open System.Collections.Generic
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators
open Functional.Properties.InputClass

/// A trainable with one parameter w (D,) whose gradient is the constant g whatever the batch (the loss g·w, whose
/// value does not matter to the solver), recording each minibatch's indices in `seen`.
let private constantGradient (w0: Tensor) (g: Tensor) (n: int) (seen: List<int[]>) : Trainable = {
    Name = "constant-gradient"
    Params = Map [ "w", w0 ]
    State = Map.empty
    NumTrain = n
    InputName = "x"
    Loss =
        fun p _ _ batch ->
            seen.Add(Array.copy batch)

            {
                Loss = Tensor.sumAll (p.["w"] * g)
                Grads = Map [ "w", g ]
                State = Map.empty
            }
    Metric = {
        Name = "none"
        Evaluate = fun _ _ _ _ -> 0.0, 0.0
    }
}

[<Property(MaxTest = 50)>]
let ``under SGD with a constant gradient the parameters after each epoch are the closed form with lr·decay^(e-1)`` () =
    // After epoch e: w = w0 − g·lr·I·Σ_{k<e} decay^k, with I = ⌈N/B⌉ updates per epoch at lr·decay^(k) in epoch k+1.
    let runs = cases [ "N", 1, 30; "B", 1, 8; "E", 1, 4; "D", 1, 5 ]

    Prop.forAll runs (fun c ->
        let n, b, epochs, d = c.["N"], c.["B"], c.["E"], c.["D"]
        let w0, g = normal (key c 0) [| d |], normal (key c 1) [| d |]
        let lr = uniform (key c 2) 1e-3 0.2
        let decay = uniform (key c 3) 0.3 0.99
        let rule = Optim.sgd |> Optim.withLearningRate lr
        let perEpoch = (n + b - 1) / b

        for e in 1..epochs do
            let config = {
                SolverConfig.Defaults with
                    NumEpochs = e
                    BatchSize = b
                    LrDecay = decay
                    Seed = int64 c.Seed
            }

            let r = Solver.fit SolverHooks.None rule config (constantGradient w0 g n (List()))

            let total =
                Seq.sum (seq { for k in 0 .. e - 1 -> lr * decay ** float k }) * float perEpoch

            let expected = (w0 - g * total).ToArray()
            within $"{c} after epoch {e}" 1e-12 1e-13 expected (Tensor.toArray r.State.Params.["w"])

            Prop.ensure (abs (r.State.LearningRate - lr * decay ** float e) <= 1e-15 * lr) (fun () ->
                $"{c}: learning rate {r.State.LearningRate} after {e} epochs, expected {lr * decay ** float e}"))

[<Property(MaxTest = 50)>]
let ``consecutive epochs visit the training examples in different orders`` () =
    // Each epoch's order is a permutation drawn from the run's key and the epoch. For N ≥ 12 two independent uniform
    // permutations coincide with probability 1/N! ≤ 1/12! ≈ 2.1e-9; over 50 cases of at most 4 epochs (150 pairs of
    // consecutive epochs) a false failure has probability below 3.2e-7.
    Prop.forAll (cases [ "N", 12, 40; "B", 1, 12; "E", 2, 4 ]) (fun c ->
        let n, b, epochs = c.["N"], c.["B"], c.["E"]
        let seen = List<int[]>()

        let config = {
            SolverConfig.Defaults with
                NumEpochs = epochs
                BatchSize = b
                Seed = int64 c.Seed
        }

        Solver.fit
            SolverHooks.None
            Optim.sgd
            config
            (constantGradient (Tensor.zeros [| 1 |]) (Tensor.zeros [| 1 |]) n seen)
        |> ignore

        let perEpoch = (n + b - 1) / b

        Prop.ensure (seen.Count = epochs * perEpoch) (fun () ->
            $"{c}: {seen.Count} batches, expected {epochs * perEpoch}")

        let order e =
            Array.concat [| for j in 0 .. perEpoch - 1 -> seen.[e * perEpoch + j] |]

        for e in 1 .. epochs - 1 do
            Prop.ensure (order e <> order (e - 1)) (fun () ->
                $"{c}: epochs {e} and {e + 1} visit the examples in the same order {order e}"))
