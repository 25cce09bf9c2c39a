using Functional.FSharp;

namespace Functional;

/// <summary>
/// The two-layer net: affine → ReLU → affine → softmax loss, on inputs of shape (N, d1, …, dk) with
/// d1·…·dk = <see cref="InputDim"/>. Parameters W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); weights start as
/// weightScale · N(0, 1) drawn from the seed, biases at 0. A <see cref="Model"/>: the
/// <see cref="Solver"/> trains it, and its members take other parameters and state as arguments; the net itself is
/// immutable.
/// </summary>
public sealed class TwoLayerNet : Model
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
        : this(new TwoLayerNetConfig(inputDim, hiddenDim, numClasses, weightScale, reg, seed))
    {
    }

    private TwoLayerNet(TwoLayerNetConfig config)
        : this(Nets.twoLayer(config), config)
    {
    }

    private TwoLayerNet(Functional.FSharp.ModelTypes.Model core, TwoLayerNetConfig config)
        : base(core) =>
        Config = config;

    private TwoLayerNetConfig Config { get; }

    private protected override Model WithRegCore(double reg) =>
        new TwoLayerNet(new TwoLayerNetConfig(Config.InputDim, Config.HiddenDim, Config.NumClasses, Config.WeightScale, reg, Config.Seed));

    private protected override Model Rebuild(Functional.FSharp.ModelTypes.Model core) => new TwoLayerNet(core, Config);

    private protected override ModelConfig FileConfig => ModelConfig.NewTwoLayerNet(Config);

    /// <summary>The net of a model file: its configuration around the loaded model.</summary>
    internal static TwoLayerNet Loaded(Functional.FSharp.ModelTypes.Model core, TwoLayerNetConfig config) => new(core, config);

    /// <summary>D, the size of an input.</summary>
    public int InputDim => Config.InputDim;

    /// <summary>H, the hidden width.</summary>
    public int HiddenDim => Config.HiddenDim;

    /// <summary>C, the number of classes.</summary>
    public int NumClasses => Config.NumClasses;

    /// <summary>The L2 regularization strength.</summary>
    public double Reg => Config.Reg;

    /// <summary>The seed of the initial weights.</summary>
    public long Seed => Config.Seed;
}
