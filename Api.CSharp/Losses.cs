using Functional.FSharp;

namespace Functional;

/// <summary>Classification losses over scores of shape (N, C) and integer labels 0 ≤ y[i] &lt; C.</summary>
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
        Loss.softmax(Require.NotNull(scores), Require.Labels(labels));

    /// <summary>Multiclass SVM (hinge) loss with margin 1, averaged over N, and its gradient on the scores.</summary>
    /// <param name="scores">Scores of shape (N, C).</param>
    /// <param name="labels">N class indices in [0, C).</param>
    /// <returns>The loss and Dscores of shape (N, C).</returns>
    /// <exception cref="ArgumentException">The scores are not (N, C), or a label is missing or out of range.</exception>
    public static LossResult Svm(Tensor scores, IReadOnlyList<int> labels) =>
        Loss.svm(Require.NotNull(scores), Require.Labels(labels));

    /// <summary>L2 regularization 0.5 · reg · Σ w² and its gradient reg · w.</summary>
    /// <param name="weights">A weight tensor of any shape.</param>
    /// <param name="reg">The regularization strength, ≥ 0.</param>
    /// <returns>The penalty and its gradient (the weights' shape).</returns>
    public static (double Loss, Tensor Gradient) L2(Tensor weights, double reg)
    {
        var (l, g) = Loss.l2(reg, Require.NotNull(weights));
        return (l, g);
    }

    /// <summary>The fraction of rows of <paramref name="scores"/> whose arg-max equals the label.</summary>
    /// <param name="scores">Scores of shape (N, C).</param>
    /// <param name="labels">N class indices in [0, C).</param>
    /// <returns>A value in [0, 1].</returns>
    public static double Accuracy(Tensor scores, IReadOnlyList<int> labels) =>
        Loss.accuracy(Require.NotNull(scores), Require.Labels(labels));
}
