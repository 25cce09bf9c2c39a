using Functional.FSharp;

namespace Functional;

/// <summary>
/// The course's three-layer convnet: conv (stride 1, pad (filterSize − 1)/2) → ReLU → 2×2 max pool stride 2 → affine →
/// ReLU → affine → softmax loss, on inputs of shape (N, C, H, W). Parameters W1 (F, C, k, k), b1 (F,),
/// W2 (F·H/2·W/2, hidden), b2 (hidden,), W3 (hidden, classes), b3 (classes,); weights start as
/// weightScale · N(0, 1) drawn from the seed, biases at 0. A <see cref="Model"/>: the <see cref="Solver"/>
/// trains it.
/// </summary>
public sealed class ThreeLayerConvNet : Model
{
    /// <summary>A three-layer convnet with the course's defaults.</summary>
    /// <param name="inputDims">(C, H, W) of one input; the course's default is CIFAR-10's (3, 32, 32).</param>
    /// <param name="numFilters">F, the number of filters.</param>
    /// <param name="filterSize">The (odd) filter size.</param>
    /// <param name="hiddenDim">The width of the hidden affine layer.</param>
    /// <param name="numClasses">The number of classes.</param>
    /// <param name="weightScale">The standard deviation of the initial weights, ≥ 0.</param>
    /// <param name="reg">The L2 regularization strength, ≥ 0 (weights only).</param>
    /// <param name="seed">The seed of the initial weights.</param>
    /// <exception cref="ArgumentException">A size is not positive, the filter size is even, or weightScale or reg is negative.</exception>
    public ThreeLayerConvNet(
        (int Channels, int Height, int Width)? inputDims = null, int numFilters = 32, int filterSize = 7,
        int hiddenDim = 100, int numClasses = 10, double weightScale = 1e-3, double reg = 0.0, long seed = 0)
        : this(Config(inputDims ?? (3, 32, 32), numFilters, filterSize, hiddenDim, numClasses, weightScale, reg, seed))
    {
    }

    private ThreeLayerConvNet(ThreeLayerConvNetConfig config)
        : this(ConvNet.threeLayer(config), config)
    {
    }

    private ThreeLayerConvNet(Functional.FSharp.ModelTypes.Model core, ThreeLayerConvNetConfig config)
        : base(core) =>
        Settings = config;

    private static ThreeLayerConvNetConfig Config(
        (int C, int H, int W) dims, int numFilters, int filterSize, int hiddenDim, int numClasses, double weightScale,
        double reg, long seed) =>
        new(Tuple.Create(dims.C, dims.H, dims.W), numFilters, filterSize, hiddenDim, numClasses, weightScale, reg, seed);

    private ThreeLayerConvNetConfig Settings { get; }

    private protected override Model WithRegCore(double reg) =>
        new ThreeLayerConvNet(new ThreeLayerConvNetConfig(
            Settings.InputDims, Settings.NumFilters, Settings.FilterSize, Settings.HiddenDim, Settings.NumClasses,
            Settings.WeightScale, reg, Settings.Seed));

    private protected override Model Rebuild(Functional.FSharp.ModelTypes.Model core) => new ThreeLayerConvNet(core, Settings);

    private protected override ModelConfig FileConfig => ModelConfig.NewThreeLayerConvNet(Settings);

    /// <summary>The net of a model file: its configuration around the loaded model.</summary>
    internal static ThreeLayerConvNet Loaded(Functional.FSharp.ModelTypes.Model core, ThreeLayerConvNetConfig config) => new(core, config);

    /// <summary>(C, H, W) of one input.</summary>
    public (int Channels, int Height, int Width) InputDims =>
        (Settings.InputDims.Item1, Settings.InputDims.Item2, Settings.InputDims.Item3);

    /// <summary>F, the number of filters.</summary>
    public int NumFilters => Settings.NumFilters;

    /// <summary>The filter size.</summary>
    public int FilterSize => Settings.FilterSize;

    /// <summary>The width of the hidden affine layer.</summary>
    public int HiddenDim => Settings.HiddenDim;

    /// <summary>The number of classes.</summary>
    public int NumClasses => Settings.NumClasses;

    /// <summary>The L2 regularization strength.</summary>
    public double Reg => Settings.Reg;

    /// <summary>The seed of the initial weights.</summary>
    public long Seed => Settings.Seed;
}
