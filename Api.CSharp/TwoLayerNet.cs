using Functional.FSharp;

namespace Functional;

/// <summary>
/// The two-layer net: affine → ReLU → affine → softmax loss, on inputs of shape (N, d1, …, dk) with
/// d1·…·dk = <see cref="InputDim"/>. Parameters W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); weights start as
/// weightScale · N(0, 1) drawn from the seed, biases at 0. Immutable: <see cref="WithParameters"/> gives a net with
/// other values.
/// </summary>
public sealed class TwoLayerNet
{
    /// <summary>A two-layer net with the course's defaults (CIFAR-10 sizes, H = 100, weight scale 1e-3, no reg).</summary>
    /// <param name="inputDim">D, the size of an input (the product of its trailing dimensions).</param>
    /// <param name="hiddenDim">H, the hidden width.</param>
    /// <param name="numClasses">C, the number of classes.</param>
    /// <param name="weightScale">The standard deviation of the initial weights, ≥ 0.</param>
    /// <param name="reg">The L2 regularization strength, ≥ 0 (0.5 · reg · Σ‖W‖², weights only).</param>
    /// <param name="seed">The seed of the initial weights.</param>
    /// <exception cref="ArgumentException">A size is not positive, or weightScale or reg is negative or not finite.</exception>
    public TwoLayerNet(
        int inputDim = 3 * 32 * 32, int hiddenDim = 100, int numClasses = 10, double weightScale = 1e-3,
        double reg = 0.0, long seed = 0)
        : this(Nets.twoLayer(new TwoLayerNetConfig(inputDim, hiddenDim, numClasses, weightScale, reg, seed)),
            new TwoLayerNetConfig(inputDim, hiddenDim, numClasses, weightScale, reg, seed))
    {
    }

    private TwoLayerNet(Model core, TwoLayerNetConfig config)
    {
        Core = core;
        Config = config;
    }

    /// <summary>The F# model this net is (for adapting it to the training loop).</summary>
    internal Model Core { get; }

    private TwoLayerNetConfig Config { get; }

    /// <summary>D, the size of an input.</summary>
    public int InputDim => Config.InputDim;

    /// <summary>H, the hidden width.</summary>
    public int HiddenDim => Config.HiddenDim;

    /// <summary>C, the number of classes.</summary>
    public int NumClasses => Config.NumClasses;

    /// <summary>The L2 regularization strength.</summary>
    public double Reg => Config.Reg;

    /// <summary>The seed of the initial weights (and of the default key of <see cref="Loss"/>).</summary>
    public long Seed => Config.Seed;

    /// <summary>The parameters W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters => Core.Params;

    /// <summary>The non-trainable state: empty for this net.</summary>
    public IReadOnlyDictionary<string, Tensor> State => Core.State;

    /// <summary>The class scores for a batch.</summary>
    /// <param name="x">Inputs of shape (N, d1, …, dk) with d1·…·dk = D.</param>
    /// <returns>Scores of shape (N, C).</returns>
    /// <exception cref="ArgumentException">x does not have D features per example.</exception>
    public Tensor Scores(Tensor x) => NetCore.Scores(Core, x);

    /// <summary>The softmax loss (plus L2 regularization) of a batch and its gradients.</summary>
    /// <param name="x">Inputs of shape (N, d1, …, dk) with d1·…·dk = D.</param>
    /// <param name="labels">N class indices in [0, C).</param>
    /// <param name="rng">A random key (unused by this net; accepted so every net has the same call).</param>
    /// <returns>The loss, the gradients named W1, b1, W2, b2, and the (empty) state.</returns>
    /// <exception cref="ArgumentException">x has the wrong size, or a label is missing or out of range.</exception>
    public LossAndGradients Loss(Tensor x, IReadOnlyList<int> labels, Rng? rng = null) =>
        NetCore.Loss(Core, x, labels, rng ?? NetCore.DefaultKey(Seed));

    /// <summary>The same net with other parameter values (e.g. after a training step).</summary>
    /// <param name="parameters">Values for every parameter, with the names and shapes of <see cref="Parameters"/>.</param>
    /// <returns>A new net; this one is unchanged.</returns>
    /// <exception cref="ArgumentException">A parameter is missing, unexpected, or has another shape.</exception>
    public TwoLayerNet WithParameters(IReadOnlyDictionary<string, Tensor> parameters) =>
        new(NetCore.With(Core, parameters, null), Config);

    /// <summary>A description of the net.</summary>
    /// <returns>E.g. "two-layer net (3072 -> 100 -> 10)".</returns>
    public override string ToString() => Core.Name;
}
