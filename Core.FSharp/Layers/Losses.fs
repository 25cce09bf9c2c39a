namespace Functional

/// <summary>A loss value and its gradient with respect to the scores, shape (N, C).</summary>
type LossResult = {
    /// <summary>The loss averaged over the N examples.</summary>
    Loss: float
    /// <summary>The gradient of the loss with respect to the scores, shape (N, C).</summary>
    Dscores: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open System
open Functional

/// <summary>Classification losses over scores (N, C) and integer labels y (N,) with 0 ≤ y[i] &lt; C.</summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Losses =
    let internal validate (fn: string) (scores: Tensor) (y: int[]) =
        Guard.rank fn "scores" 2 scores.Dims

        if isNull (box y) then
            Guard.fail fn "y" "labels must not be null."

        let n, c = scores.Dims.[0], scores.Dims.[1]

        if y.Length <> n then
            Guard.fail fn "y" $"expected {n} labels for scores {Guard.shapeText scores.Dims}, got {y.Length}."

        if n = 0 then
            Guard.fail fn "scores" "expected at least one example (N >= 1), got N = 0."

        y
        |> Array.iteri (fun i label ->
            if label < 0 || label >= c then
                Guard.fail fn "y" $"label y[{i}] = {label} is out of range [0, {c}).")

        n, c

    /// <summary>
    /// Softmax (cross-entropy) loss: mean over i of −log softmax(scores[i])[y[i]], and its gradient
    /// (softmax − onehot(y)) / N. Computed with the log-sum-exp shift, so logits of ±1e4 stay finite. A NaN or +∞
    /// score makes the row's loss and gradient NaN (as PyTorch's <c>cross_entropy</c>); −∞ scores have probability 0.
    /// </summary>
    let softmax (scores: Tensor) (y: int[]) : LossResult =
        let n, c = validate "Losses.softmax" scores y
        let s = scores.Data
        let d = Array.zeroCreate (n * c)
        let mutable loss = 0.0

        for i in 0 .. n - 1 do
            let row = i * c
            let mutable m = Double.NegativeInfinity

            for j in 0 .. c - 1 do
                m <- max m s.[row + j]

            let mutable z = 0.0

            for j in 0 .. c - 1 do
                let e = Math.Exp(s.[row + j] - m)
                d.[row + j] <- e
                z <- z + e

            let logZ = Math.Log z
            loss <- loss + (logZ - (s.[row + y.[i]] - m))

            for j in 0 .. c - 1 do
                d.[row + j] <- d.[row + j] / z / float n

            d.[row + y.[i]] <- d.[row + y.[i]] - 1.0 / float n

        {
            Loss = loss / float n
            Dscores = Tensor.Wrap([| n; c |], d)
        }

    /// <summary>
    /// Multiclass SVM (hinge) loss with margin 1: mean over i of Σ_{j≠y[i]} max(0, s[i,j] − s[i,y[i]] + 1), and its
    /// (sub)gradient. The loss is never negative and is 0 when every margin holds. A NaN score makes the loss NaN
    /// (max(0, NaN) = NaN, as NumPy's <c>np.maximum</c> and PyTorch's <c>multi_margin_loss</c> give), never a number.
    /// </summary>
    let svm (scores: Tensor) (y: int[]) : LossResult =
        let n, c = validate "Losses.svm" scores y
        let s = scores.Data
        let d = Array.zeroCreate (n * c)
        let mutable loss = 0.0

        for i in 0 .. n - 1 do
            let row = i * c
            let correct = s.[row + y.[i]]
            let mutable positive = 0

            for j in 0 .. c - 1 do
                if j <> y.[i] then
                    let margin = s.[row + j] - correct + 1.0

                    // "not ≤ 0" rather than "> 0": a NaN margin (a NaN score) counts, so the loss is NaN.
                    if not (margin <= 0.0) then
                        loss <- loss + margin
                        d.[row + j] <- 1.0 / float n
                        positive <- positive + 1

            d.[row + y.[i]] <- -(float positive) / float n

        {
            Loss = loss / float n
            Dscores = Tensor.Wrap([| n; c |], d)
        }

    /// <summary>L2 regularization: 0.5 · reg · Σ w², and its gradient reg · w (w's shape).</summary>
    let l2 (reg: float) (w: Tensor) : float * Tensor =
        Guard.finiteScalar "Losses.l2" "reg" reg

        if reg < 0.0 then
            Guard.fail "Losses.l2" "reg" $"reg must be >= 0, got {reg}."

        0.5
        * reg
        * System.Numerics.Tensors.TensorPrimitives.SumOfSquares(System.ReadOnlySpan w.Data),
        w * reg

    /// <summary>The fraction of rows whose arg-max score equals the label (a row holding NaN predicts its first NaN,
    /// as <c>np.argmax</c> does).</summary>
    let accuracy (scores: Tensor) (y: int[]) =
        let n, _ = validate "Losses.accuracy" scores y
        let pred = scores.ArgMax 1

        float (Array.fold2 (fun acc p t -> if p = t then acc + 1 else acc) 0 pred y)
        / float n
