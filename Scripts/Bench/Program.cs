using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Functional;

// Run: dotnet run -c Release --project Scripts/Bench -- --filter '*' [--job short]
// Every job's process gets the GC settings of the app and the tests (Directory.Build.props): 256 MB regions,
// arrays up to 64 MB in gen 0, whose memory stays committed between collections (the environment-variable values
// are hexadecimal); no background GC, as in the app.
var config = DefaultConfig.Instance.AddJob(
    Job.Default
        .WithEnvironmentVariables(
            new EnvironmentVariable("DOTNET_GCRegionSize", "10000000"),
            new EnvironmentVariable("DOTNET_GCLOHThreshold", "4000000"))
        .WithGcConcurrent(false)
        .AsDefault());
BenchmarkSwitcher.FromAssembly(typeof(ConvBenchmarks).Assembly).Run(args, config);

/// <summary>
/// The course's convolution timing case: x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, pad 1 — naive loops
/// against im2col + GEMM, forward and backward.
/// </summary>
[MemoryDiagnoser]
public class ConvBenchmarks
{
    private Tensor x = null!, w = null!, b = null!, dout = null!;
    private ConvCache naiveCache = null!, fastCache = null!;

    /// <summary>Builds the inputs and the caches the backward benchmarks start from.</summary>
    [GlobalSetup]
    public void Setup()
    {
        x = Tensor.RandomNormal(Rng.Create(1), 1.0, 100, 3, 31, 31);
        w = Tensor.RandomNormal(Rng.Create(2), 1.0, 25, 3, 3, 3);
        b = Tensor.RandomNormal(Rng.Create(3), 1.0, 25);
        dout = Tensor.RandomNormal(Rng.Create(4), 1.0, 100, 25, 16, 16);
        naiveCache = Layers.ConvForwardNaive(x, w, b, stride: 2, pad: 1).Cache;
        fastCache = Layers.ConvForward(x, w, b, stride: 2, pad: 1).Cache;
    }

    /// <summary>Naive forward.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("forward")]
    public Tensor ForwardNaive() => Layers.ConvForwardNaive(x, w, b, stride: 2, pad: 1).Out;

    /// <summary>Fast forward.</summary>
    [Benchmark]
    [BenchmarkCategory("forward")]
    public Tensor ForwardFast() => Layers.ConvForward(x, w, b, stride: 2, pad: 1).Out;

    /// <summary>Naive backward.</summary>
    [Benchmark]
    [BenchmarkCategory("backward")]
    public ConvGrads BackwardNaive() => Layers.ConvBackwardNaive(dout, naiveCache);

    /// <summary>Fast backward.</summary>
    [Benchmark]
    [BenchmarkCategory("backward")]
    public ConvGrads BackwardFast() => Layers.ConvBackward(dout, fastCache);
}

/// <summary>The course's pooling timing case: x (100, 3, 32, 32), 2×2 windows, stride 2 — naive against fast.</summary>
[MemoryDiagnoser]
public class MaxPoolBenchmarks
{
    private Tensor x = null!, dout = null!;
    private MaxPoolCache naiveCache = null!, fastCache = null!;

    /// <summary>Builds the input and the caches.</summary>
    [GlobalSetup]
    public void Setup()
    {
        x = Tensor.RandomNormal(Rng.Create(5), 1.0, 100, 3, 32, 32);
        dout = Tensor.RandomNormal(Rng.Create(6), 1.0, 100, 3, 16, 16);
        naiveCache = Layers.MaxPoolForwardNaive(x).Cache;
        fastCache = Layers.MaxPoolForward(x).Cache;
    }

    /// <summary>Naive forward.</summary>
    [Benchmark(Baseline = true)]
    public Tensor ForwardNaive() => Layers.MaxPoolForwardNaive(x, poolHeight: 2, poolWidth: 2, stride: 2).Out;

    /// <summary>Fast forward (reshape trick: 2×2 windows tile 32×32).</summary>
    [Benchmark]
    public Tensor ForwardFast() => Layers.MaxPoolForward(x, poolHeight: 2, poolWidth: 2, stride: 2).Out;

    /// <summary>Naive backward.</summary>
    [Benchmark]
    public Tensor BackwardNaive() => Layers.MaxPoolBackwardNaive(dout, naiveCache);

    /// <summary>Fast backward (scatter to the kept arg-maxes).</summary>
    [Benchmark]
    public Tensor BackwardFast() => Layers.MaxPoolBackward(dout, fastCache);
}
