using Functional.FSharp;
using Microsoft.FSharp.Collections;

namespace Functional;

/// <summary>
/// The fully connected net: {affine → [batch/layer norm] → ReLU → [dropout]} × (L − 1) → affine → softmax loss, on
/// inputs of shape (N, d1, …, dk) with d1·…·dk = <see cref="InputDim"/>. Parameters W1, b1, …, WL, bL, plus
/// gamma1, beta1, … for normalized hidden layers; batchnorm's running statistics (running_mean1, running_var1, …) are
/// the <see cref="Model.State"/>. Weights start as weightScale · N(0, 1) drawn from the seed, biases and betas at
/// 0, gammas at 1. A <see cref="Model"/>: the <see cref="Solver"/> trains it, and its members take other
/// parameters and state as arguments; the net itself is immutable.
/// </summary>
public sealed class FullyConnectedNet : Model
{
    /// <summary>A fully connected net with the given hidden widths (the course's defaults otherwise).</summary>
    /// <param name="hiddenDims">The widths of the L − 1 hidden layers (may be empty: a softmax classifier).</param>
    /// <param name="inputDim">D, the size of an input (the product of its trailing dimensions).</param>
    /// <param name="numClasses">C, the number of classes.</param>
    /// <param name="weightScale">The standard deviation of the initial weights, ≥ 0.</param>
    /// <param name="reg">The L2 regularization strength, ≥ 0 (0.5 · reg · Σ‖W‖², weights only).</param>
    /// <param name="normalization">The normalization after each hidden affine layer.</param>
    /// <param name="dropoutKeepProbability">The probability of keeping a hidden unit in (0, 1]; null (or 1) for no dropout.</param>
    /// <param name="seed">The seed of the initial weights.</param>
    /// <param name="normEps">The normalization's eps (batch and layer norm), finite and &gt; 0; the course's 1e-5.</param>
    /// <param name="batchNormMomentum">Batchnorm's running-average momentum in [0, 1]: running = momentum · running +
    /// (1 − momentum) · batch; the course's 0.9.</param>
    /// <exception cref="ArgumentException">A size is not positive, weightScale or reg is negative or not finite, the
    /// keep probability is outside (0, 1], normEps is not finite and positive, or the momentum is outside [0, 1].</exception>
    public FullyConnectedNet(
        IReadOnlyList<int> hiddenDims, int inputDim = 3 * 32 * 32, int numClasses = 10, double weightScale = 1e-2,
        double reg = 0.0, Normalization normalization = Normalization.None, double? dropoutKeepProbability = null,
        long seed = 0, double normEps = 1e-5, double batchNormMomentum = 0.9)
        : this(Config(Require.NotNull(hiddenDims), inputDim, numClasses, weightScale, reg, normalization,
            dropoutKeepProbability, seed, normEps, batchNormMomentum))
    {
    }

    private FullyConnectedNet(FullyConnectedNetConfig config)
        : this(Nets.fullyConnected(config), config)
    {
    }

    private FullyConnectedNet(Functional.FSharp.ModelTypes.Model core, FullyConnectedNetConfig config)
        : base(core) =>
        Cfg = config;

    private static FullyConnectedNetConfig Config(
        IReadOnlyList<int> hiddenDims, int inputDim, int numClasses, double weightScale, double reg,
        Normalization normalization, double? dropoutKeepProbability, long seed, double normEps, double batchNormMomentum) =>
        new(ListModule.OfSeq(hiddenDims), inputDim, numClasses, weightScale, reg, normalization,
            new BatchNormConfig(normEps, batchNormMomentum), dropoutKeepProbability ?? 1.0, seed);

    private FullyConnectedNetConfig Cfg { get; }

    private protected override bool UsesRandomness => Cfg.DropoutKeepProbability < 1.0;

    private protected override Model WithRegCore(double reg) =>
        new FullyConnectedNet(new FullyConnectedNetConfig(
            Cfg.HiddenDims, Cfg.InputDim, Cfg.NumClasses, Cfg.WeightScale, reg, Cfg.Normalization, Cfg.Norm,
            Cfg.DropoutKeepProbability, Cfg.Seed));

    private protected override Model Rebuild(Functional.FSharp.ModelTypes.Model core) => new FullyConnectedNet(core, Cfg);

    private protected override ModelConfig FileConfig => ModelConfig.NewFullyConnectedNet(Cfg);

    /// <summary>The net of a model file: its configuration around the loaded model.</summary>
    internal static FullyConnectedNet Loaded(Functional.FSharp.ModelTypes.Model core, FullyConnectedNetConfig config) => new(core, config);

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

    /// <summary>The seed of the initial weights.</summary>
    public long Seed => Cfg.Seed;

    /// <summary>The normalization's eps (batch and layer norm).</summary>
    public double NormEps => Cfg.Norm.Eps;

    /// <summary>Batchnorm's running-average momentum.</summary>
    public double BatchNormMomentum => Cfg.Norm.Momentum;
}
