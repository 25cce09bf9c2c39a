using Functional.FSharp;

namespace Functional;

/// <summary>
/// Classification losses over scores of shape (N, C) and integer labels 0 ≤ y[i] &lt; C, and the temporal softmax
/// loss over scores of shape (N, T, V).
/// </summary>
public static class Losses
{
    /// <summary>
    /// Softmax (cross-entropy) loss averaged over the N examples, and its gradient on the scores. Stable for logits
    /// of any magnitude (log-sum-exp shift).
    /// </summary>
    /// <param name="scores">Scores of shape (N, C).</param>
    /// <param name="labels">N class indices in [0, C).</param>
    /// <returns>The loss and Dscores of shape (N, C).</returns>
    /// <exception cref="ArgumentException">The scores are not (N, C), or a label is missing or out of range.</exception>
    public static LossResult Softmax(Tensor scores, IReadOnlyList<int> labels) =>
        Facade.Call(nameof(Losses), () => LossesModule.softmax(Require.NotNull(scores), Require.Labels(labels)));

    /// <summary>Multiclass SVM (hinge) loss with margin 1, averaged over N, and its gradient on the scores.</summary>
    /// <param name="scores">Scores of shape (N, C).</param>
    /// <param name="labels">N class indices in [0, C).</param>
    /// <returns>The loss and Dscores of shape (N, C).</returns>
    /// <exception cref="ArgumentException">The scores are not (N, C), or a label is missing or out of range.</exception>
    public static LossResult Svm(Tensor scores, IReadOnlyList<int> labels) =>
        Facade.Call(nameof(Losses), () => LossesModule.svm(Require.NotNull(scores), Require.Labels(labels)));

    /// <summary>L2 regularization 0.5 · reg · Σ w² and its gradient reg · w.</summary>
    /// <param name="weights">A weight tensor of any shape.</param>
    /// <param name="reg">The regularization strength, ≥ 0.</param>
    /// <returns>The penalty and its gradient (the weights' shape).</returns>
    public static (double Loss, Tensor Gradient) L2(Tensor weights, double reg)
    {
        var (l, g) = Facade.Call(nameof(Losses), () => LossesModule.l2(reg, Require.NotNull(weights)));
        return (l, g);
    }

    /// <summary>The fraction of rows of <paramref name="scores"/> whose arg-max equals the label.</summary>
    /// <param name="scores">Scores of shape (N, C).</param>
    /// <param name="labels">N class indices in [0, C).</param>
    /// <returns>A value in [0, 1].</returns>
    public static double Accuracy(Tensor scores, IReadOnlyList<int> labels) =>
        Facade.Call(nameof(Losses), () => LossesModule.accuracy(Require.NotNull(scores), Require.Labels(labels)));

    /// <summary>
    /// The temporal softmax loss (cs231n's <c>temporal_softmax_loss</c>): the cross-entropy −log softmax(scores[n, t])[y[n, t]]
    /// summed over the steps where the mask is true and divided by N — not by the number of unmasked steps (the
    /// course's convention). Dscores is (softmax − onehot(y)) / N at unmasked steps and exactly 0 at masked ones.
    /// Stable for logits of any magnitude (each step is shifted by its maximum).
    /// </summary>
    /// <param name="scores">Scores of shape (N, T, V), N ≥ 1.</param>
    /// <param name="y">Targets of shape (N, T), each in [0, V) (masked ones too).</param>
    /// <param name="mask">Which steps count, shape (N, T); null counts every step.</param>
    /// <returns>The loss and Dscores of shape (N, T, V).</returns>
    /// <exception cref="ArgumentException">scores is not rank 3 with N ≥ 1, y or mask is not (N, T), or a target is
    /// outside [0, V).</exception>
    public static LossResult TemporalSoftmax(Tensor scores, Indices y, Mask? mask = null)
    {
        Require.NotNull(scores);
        Require.NotNull(y);
        var all = mask ?? (scores.Rank == 3 ? Mask.Full(true, scores.Shape[0], scores.Shape[1]) : Mask.Full(true, y.Shape.ToArray()));
        return Facade.Call(nameof(Losses), () => FSharp.TemporalSoftmax.loss(scores, y, all));
    }
}
