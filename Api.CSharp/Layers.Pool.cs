using Functional.FSharp;

namespace Functional;

// Max and average pooling, fast and naive paths.
public static partial class Layers
{
    private static PoolConfig PoolSettings(int poolHeight, int poolWidth, int stride, int? strideHeight, int? strideWidth) =>
        new(poolHeight, poolWidth, strideHeight ?? stride, strideWidth ?? stride);

    /// <summary>
    /// Max pooling forward pass, the fast path (the reshape trick when the windows tile the input, a window kernel
    /// otherwise); equal to the naive loops bit for bit. H' = ⌊(H − poolHeight) / stride⌋ + 1, likewise W'.
    /// </summary>
    /// <param name="x">Input of shape (N, C, H, W).</param>
    /// <param name="poolHeight">Window height, 1 ≤ poolHeight ≤ H.</param>
    /// <param name="poolWidth">Window width, 1 ≤ poolWidth ≤ W.</param>
    /// <param name="stride">Stride along both axes, ≥ 1.</param>
    /// <param name="strideHeight">Overrides <paramref name="stride"/> along the height.</param>
    /// <param name="strideWidth">Overrides <paramref name="stride"/> along the width.</param>
    /// <returns>The output of shape (N, C, H', W') and the cache for <see cref="MaxPoolBackward"/>.</returns>
    /// <exception cref="ArgumentException">x is not rank 4, the window is larger than the input, or a stride is &lt; 1.</exception>
    public static (Tensor Out, MaxPoolCache Cache) MaxPoolForward(
        Tensor x, int poolHeight = 2, int poolWidth = 2, int stride = 2, int? strideHeight = null, int? strideWidth = null)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => MaxPool.forward(PoolSettings(poolHeight, poolWidth, stride, strideHeight, strideWidth), Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>
    /// Max pooling backward pass: each upstream gradient goes to the maximum of its window, the first one in row-major
    /// window order on ties; overlapping windows add up.
    /// </summary>
    /// <param name="dout">Upstream gradient of shape (N, C, H', W').</param>
    /// <param name="cache">The cache from <see cref="MaxPoolForward"/> or <see cref="MaxPoolForwardNaive"/>.</param>
    /// <returns>Dx, of shape (N, C, H, W).</returns>
    public static Tensor MaxPoolBackward(Tensor dout, MaxPoolCache cache) =>
        Facade.Call(nameof(Layers), () => MaxPool.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>Max pooling forward pass, the naive path (the readable loops).</summary>
    /// <param name="x">Input of shape (N, C, H, W).</param>
    /// <param name="poolHeight">Window height, 1 ≤ poolHeight ≤ H.</param>
    /// <param name="poolWidth">Window width, 1 ≤ poolWidth ≤ W.</param>
    /// <param name="stride">Stride along both axes, ≥ 1.</param>
    /// <param name="strideHeight">Overrides <paramref name="stride"/> along the height.</param>
    /// <param name="strideWidth">Overrides <paramref name="stride"/> along the width.</param>
    /// <returns>The output of shape (N, C, H', W') and the cache for <see cref="MaxPoolBackwardNaive"/>.</returns>
    public static (Tensor Out, MaxPoolCache Cache) MaxPoolForwardNaive(
        Tensor x, int poolHeight = 2, int poolWidth = 2, int stride = 2, int? strideHeight = null, int? strideWidth = null)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => MaxPool.forwardNaive(PoolSettings(poolHeight, poolWidth, stride, strideHeight, strideWidth), Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>Max pooling backward pass, the naive path (first maximum on ties).</summary>
    /// <param name="dout">Upstream gradient of shape (N, C, H', W').</param>
    /// <param name="cache">The cache from <see cref="MaxPoolForwardNaive"/> or <see cref="MaxPoolForward"/>.</param>
    /// <returns>Dx, of shape (N, C, H, W).</returns>
    public static Tensor MaxPoolBackwardNaive(Tensor dout, MaxPoolCache cache) =>
        Facade.Call(nameof(Layers), () => MaxPool.backwardNaive(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>Average pooling forward pass: the mean of each window. H' = ⌊(H − poolHeight) / stride⌋ + 1, likewise W'.</summary>
    /// <param name="x">Input of shape (N, C, H, W).</param>
    /// <param name="poolHeight">Window height, 1 ≤ poolHeight ≤ H.</param>
    /// <param name="poolWidth">Window width, 1 ≤ poolWidth ≤ W.</param>
    /// <param name="stride">Stride along both axes, ≥ 1.</param>
    /// <param name="strideHeight">Overrides <paramref name="stride"/> along the height.</param>
    /// <param name="strideWidth">Overrides <paramref name="stride"/> along the width.</param>
    /// <returns>The output of shape (N, C, H', W') and the cache for <see cref="AvgPoolBackward"/>.</returns>
    public static (Tensor Out, AvgPoolCache Cache) AvgPoolForward(
        Tensor x, int poolHeight = 2, int poolWidth = 2, int stride = 2, int? strideHeight = null, int? strideWidth = null)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => AvgPool.forward(PoolSettings(poolHeight, poolWidth, stride, strideHeight, strideWidth), Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>Average pooling backward pass: each upstream gradient is shared equally by its window.</summary>
    /// <param name="dout">Upstream gradient of shape (N, C, H', W').</param>
    /// <param name="cache">The cache from <see cref="AvgPoolForward"/>.</param>
    /// <returns>Dx, of shape (N, C, H, W).</returns>
    public static Tensor AvgPoolBackward(Tensor dout, AvgPoolCache cache) =>
        Facade.Call(nameof(Layers), () => AvgPool.backward(Require.NotNull(dout), Require.NotNull(cache)));
}
