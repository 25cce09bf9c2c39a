using Functional.FSharp;
using Microsoft.FSharp.Collections;

namespace Functional;

/// <summary>
/// The fully connected net: {affine → [batch/layer norm] → ReLU → [dropout]} × (L − 1) → affine → softmax loss, on
/// inputs of shape (N, d1, …, dk) with d1·…·dk = <see cref="InputDim"/>. Parameters W1, b1, …, WL, bL, plus
/// gamma1, beta1, … for normalized hidden layers; batchnorm's running statistics (running_mean1, running_var1, …) are
/// the <see cref="State"/>. Weights start as weightScale · N(0, 1) drawn from the seed, biases and betas at 0, gammas
/// at 1. Immutable: <see cref="WithParameters"/> gives a net with other values.
/// </summary>
public sealed class FullyConnectedNet
{
    /// <summary>A fully connected net with the given hidden widths (the course's defaults otherwise).</summary>
    /// <param name="hiddenDims">The widths of the L − 1 hidden layers (may be empty: a softmax classifier).</param>
    /// <param name="inputDim">D, the size of an input (the product of its trailing dimensions).</param>
    /// <param name="numClasses">C, the number of classes.</param>
    /// <param name="weightScale">The standard deviation of the initial weights, ≥ 0.</param>
    /// <param name="reg">The L2 regularization strength, ≥ 0 (0.5 · reg · Σ‖W‖², weights only).</param>
    /// <param name="normalization">The normalization after each hidden affine layer.</param>
    /// <param name="dropoutKeepProbability">The probability of keeping a hidden unit in (0, 1]; null (or 1) for no dropout.</param>
    /// <param name="seed">The seed of the initial weights (and of the default dropout key of <see cref="Loss"/>).</param>
    /// <exception cref="ArgumentException">A size is not positive, weightScale or reg is negative or not finite, or
    /// the keep probability is outside (0, 1].</exception>
    public FullyConnectedNet(
        IReadOnlyList<int> hiddenDims, int inputDim = 3 * 32 * 32, int numClasses = 10, double weightScale = 1e-2,
        double reg = 0.0, Normalization normalization = Normalization.None, double? dropoutKeepProbability = null,
        long seed = 0)
        : this(Config(Require.NotNull(hiddenDims), inputDim, numClasses, weightScale, reg, normalization,
            dropoutKeepProbability, seed))
    {
    }

    private FullyConnectedNet(FullyConnectedNetConfig config)
        : this(Nets.fullyConnected(config), config)
    {
    }

    private FullyConnectedNet(Model core, FullyConnectedNetConfig config)
    {
        Core = core;
        Cfg = config;
    }

    private static FullyConnectedNetConfig Config(
        IReadOnlyList<int> hiddenDims, int inputDim, int numClasses, double weightScale, double reg,
        Normalization normalization, double? dropoutKeepProbability, long seed) =>
        new(ListModule.OfSeq(hiddenDims), inputDim, numClasses, weightScale, reg, normalization,
            dropoutKeepProbability ?? 1.0, seed);

    /// <summary>The F# model this net is (for adapting it to the training loop).</summary>
    internal Model Core { get; }

    private FullyConnectedNetConfig Cfg { get; }

    /// <summary>The widths of the hidden layers.</summary>
    public IReadOnlyList<int> HiddenDims => [.. Cfg.HiddenDims];

    /// <summary>D, the size of an input.</summary>
    public int InputDim => Cfg.InputDim;

    /// <summary>C, the number of classes.</summary>
    public int NumClasses => Cfg.NumClasses;

    /// <summary>The L2 regularization strength.</summary>
    public double Reg => Cfg.Reg;

    /// <summary>The normalization of the hidden layers.</summary>
    public Normalization Normalization => Cfg.Normalization;

    /// <summary>The dropout keep probability, or null when there is no dropout.</summary>
    public double? DropoutKeepProbability => Cfg.DropoutKeepProbability < 1.0 ? Cfg.DropoutKeepProbability : null;

    /// <summary>The seed of the initial weights (and of the default dropout key of <see cref="Loss"/>).</summary>
    public long Seed => Cfg.Seed;

    /// <summary>The parameters: W1, b1, …, WL, bL, and gamma1, beta1, … for normalized hidden layers.</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters => Core.Params;

    /// <summary>The non-trainable state: batchnorm's running_mean1, running_var1, …; empty otherwise.</summary>
    public IReadOnlyDictionary<string, Tensor> State => Core.State;

    /// <summary>The class scores for a batch, in test mode (running statistics, no dropout).</summary>
    /// <param name="x">Inputs of shape (N, d1, …, dk) with d1·…·dk = D.</param>
    /// <returns>Scores of shape (N, C).</returns>
    /// <exception cref="ArgumentException">x does not have D features per example.</exception>
    public Tensor Scores(Tensor x) => NetCore.Scores(Core, x);

    /// <summary>
    /// The softmax loss (plus L2 regularization) of a batch in training mode (batch statistics, dropout on), its
    /// gradients and the updated running statistics. This net is unchanged: use
    /// <see cref="WithParameters"/> to carry the new state forward.
    /// </summary>
    /// <param name="x">Inputs of shape (N, d1, …, dk) with d1·…·dk = D.</param>
    /// <param name="labels">N class indices in [0, C).</param>
    /// <param name="rng">The key of the dropout masks; by default one derived from the seed (the same masks on every
    /// call).</param>
    /// <returns>The loss, the gradients named like the parameters, and the new state.</returns>
    /// <exception cref="ArgumentException">x has the wrong size, or a label is missing or out of range.</exception>
    public LossAndGradients Loss(Tensor x, IReadOnlyList<int> labels, Rng? rng = null) =>
        NetCore.Loss(Core, x, labels, rng ?? NetCore.DefaultKey(Seed));

    /// <summary>The same net with other parameter values and, optionally, another state.</summary>
    /// <param name="parameters">Values for every parameter, with the names and shapes of <see cref="Parameters"/>.</param>
    /// <param name="state">Values for every state entry (e.g. <see cref="LossAndGradients.State"/>); null keeps the
    /// current state.</param>
    /// <returns>A new net; this one is unchanged.</returns>
    /// <exception cref="ArgumentException">An entry is missing, unexpected, or has another shape.</exception>
    public FullyConnectedNet WithParameters(
        IReadOnlyDictionary<string, Tensor> parameters, IReadOnlyDictionary<string, Tensor>? state = null) =>
        new(NetCore.With(Core, parameters, state), Cfg);

    /// <summary>A description of the net.</summary>
    /// <returns>E.g. "fully connected net [100; 100]".</returns>
    public override string ToString() => Core.Name;
}
