using Functional.FSharp;

namespace Functional;

public static partial class Layers
{
    private static ConvConfig ConvSettings(
        int stride, int pad, int dilation, int groups, int? strideHeight, int? strideWidth, int? padHeight, int? padWidth) =>
        new(strideHeight ?? stride, strideWidth ?? stride, padHeight ?? pad, padWidth ?? pad, dilation, groups);

    private static PoolConfig PoolSettings(int poolHeight, int poolWidth, int stride, int? strideHeight, int? strideWidth) =>
        new(poolHeight, poolWidth, strideHeight ?? stride, strideWidth ?? stride);

    /// <summary>
    /// 2-D convolution forward pass, the fast path (im2col + GEMM, images in parallel when large). The output size is
    /// H' = ⌊(H + 2·pad − dilation·(HH − 1) − 1) / stride⌋ + 1 (PyTorch's rule), likewise W'.
    /// </summary>
    /// <param name="x">Input of shape (N, C, H, W).</param>
    /// <param name="w">Filters of shape (F, C/groups, HH, WW).</param>
    /// <param name="b">Bias of shape (F,).</param>
    /// <param name="stride">Stride along both axes, ≥ 1.</param>
    /// <param name="pad">Zero padding on every side, ≥ 0.</param>
    /// <param name="dilation">Spacing between kernel taps, ≥ 1.</param>
    /// <param name="groups">Groups, ≥ 1, dividing C and F.</param>
    /// <param name="strideHeight">Overrides <paramref name="stride"/> along the height.</param>
    /// <param name="strideWidth">Overrides <paramref name="stride"/> along the width.</param>
    /// <param name="padHeight">Overrides <paramref name="pad"/> above and below.</param>
    /// <param name="padWidth">Overrides <paramref name="pad"/> left and right.</param>
    /// <returns>The output of shape (N, F, H', W') and the cache for <see cref="Conv2dBackward"/>.</returns>
    /// <exception cref="ArgumentException">
    /// A shape or setting does not fit: the message names the argument and the sizes (channel mismatch, negative pad,
    /// zero stride, groups not dividing C or F, kernel larger than the padded input).
    /// </exception>
    public static (Tensor Out, ConvCache Cache) Conv2dForward(
        Tensor x, Tensor w, Tensor b, int stride = 1, int pad = 0, int dilation = 1, int groups = 1,
        int? strideHeight = null, int? strideWidth = null, int? padHeight = null, int? padWidth = null)
    {
        var (o, c) = Conv.forward(
            ConvSettings(stride, pad, dilation, groups, strideHeight, strideWidth, padHeight, padWidth),
            Require.NotNull(x), Require.NotNull(w), Require.NotNull(b));
        return (o, c);
    }

    /// <summary>2-D convolution backward pass, the fast path (GEMM against the im2col columns, col2im for Dx).</summary>
    /// <param name="dout">Upstream gradient of shape (N, F, H', W').</param>
    /// <param name="cache">The cache from <see cref="Conv2dForward"/> or <see cref="Conv2dForwardNaive"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dw of shape (F, C/groups, HH, WW), Db of shape (F,).</returns>
    /// <exception cref="ArgumentException"><paramref name="dout"/> does not have the output's shape.</exception>
    public static ConvGrads Conv2dBackward(Tensor dout, ConvCache cache) =>
        Conv.backward(Require.NotNull(dout), Require.NotNull(cache));

    /// <summary>
    /// 2-D convolution forward pass, the naive path: the readable loops, the reference the fast path is checked
    /// against. Same arguments and result as <see cref="Conv2dForward"/>.
    /// </summary>
    /// <param name="x">Input of shape (N, C, H, W).</param>
    /// <param name="w">Filters of shape (F, C/groups, HH, WW).</param>
    /// <param name="b">Bias of shape (F,).</param>
    /// <param name="stride">Stride along both axes, ≥ 1.</param>
    /// <param name="pad">Zero padding on every side, ≥ 0.</param>
    /// <param name="dilation">Spacing between kernel taps, ≥ 1.</param>
    /// <param name="groups">Groups, ≥ 1, dividing C and F.</param>
    /// <param name="strideHeight">Overrides <paramref name="stride"/> along the height.</param>
    /// <param name="strideWidth">Overrides <paramref name="stride"/> along the width.</param>
    /// <param name="padHeight">Overrides <paramref name="pad"/> above and below.</param>
    /// <param name="padWidth">Overrides <paramref name="pad"/> left and right.</param>
    /// <returns>The output of shape (N, F, H', W') and the cache for <see cref="Conv2dBackwardNaive"/>.</returns>
    /// <exception cref="ArgumentException">A shape or setting does not fit (as for <see cref="Conv2dForward"/>).</exception>
    public static (Tensor Out, ConvCache Cache) Conv2dForwardNaive(
        Tensor x, Tensor w, Tensor b, int stride = 1, int pad = 0, int dilation = 1, int groups = 1,
        int? strideHeight = null, int? strideWidth = null, int? padHeight = null, int? padWidth = null)
    {
        var (o, c) = Conv.forwardNaive(
            ConvSettings(stride, pad, dilation, groups, strideHeight, strideWidth, padHeight, padWidth),
            Require.NotNull(x), Require.NotNull(w), Require.NotNull(b));
        return (o, c);
    }

    /// <summary>2-D convolution backward pass, the naive path (the readable loops).</summary>
    /// <param name="dout">Upstream gradient of shape (N, F, H', W').</param>
    /// <param name="cache">The cache from <see cref="Conv2dForwardNaive"/> or <see cref="Conv2dForward"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dw of shape (F, C/groups, HH, WW), Db of shape (F,).</returns>
    /// <exception cref="ArgumentException"><paramref name="dout"/> does not have the output's shape.</exception>
    public static ConvGrads Conv2dBackwardNaive(Tensor dout, ConvCache cache) =>
        Conv.backwardNaive(Require.NotNull(dout), Require.NotNull(cache));

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
        var (o, c) = MaxPool.forward(PoolSettings(poolHeight, poolWidth, stride, strideHeight, strideWidth), Require.NotNull(x));
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
        MaxPool.backward(Require.NotNull(dout), Require.NotNull(cache));

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
        var (o, c) = MaxPool.forwardNaive(PoolSettings(poolHeight, poolWidth, stride, strideHeight, strideWidth), Require.NotNull(x));
        return (o, c);
    }

    /// <summary>Max pooling backward pass, the naive path (first maximum on ties).</summary>
    /// <param name="dout">Upstream gradient of shape (N, C, H', W').</param>
    /// <param name="cache">The cache from <see cref="MaxPoolForwardNaive"/> or <see cref="MaxPoolForward"/>.</param>
    /// <returns>Dx, of shape (N, C, H, W).</returns>
    public static Tensor MaxPoolBackwardNaive(Tensor dout, MaxPoolCache cache) =>
        MaxPool.backwardNaive(Require.NotNull(dout), Require.NotNull(cache));

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
        var (o, c) = AvgPool.forward(PoolSettings(poolHeight, poolWidth, stride, strideHeight, strideWidth), Require.NotNull(x));
        return (o, c);
    }

    /// <summary>Average pooling backward pass: each upstream gradient is shared equally by its window.</summary>
    /// <param name="dout">Upstream gradient of shape (N, C, H', W').</param>
    /// <param name="cache">The cache from <see cref="AvgPoolForward"/>.</param>
    /// <returns>Dx, of shape (N, C, H, W).</returns>
    public static Tensor AvgPoolBackward(Tensor dout, AvgPoolCache cache) =>
        AvgPool.backward(Require.NotNull(dout), Require.NotNull(cache));

    /// <summary>Convolution → ReLU forward pass (fast convolution).</summary>
    /// <param name="x">Input of shape (N, C, H, W).</param>
    /// <param name="w">Filters of shape (F, C/groups, HH, WW).</param>
    /// <param name="b">Bias of shape (F,).</param>
    /// <param name="stride">Convolution stride, ≥ 1.</param>
    /// <param name="pad">Zero padding, ≥ 0.</param>
    /// <param name="dilation">Spacing between kernel taps, ≥ 1.</param>
    /// <param name="groups">Groups, ≥ 1, dividing C and F.</param>
    /// <param name="strideHeight">Overrides <paramref name="stride"/> along the height.</param>
    /// <param name="strideWidth">Overrides <paramref name="stride"/> along the width.</param>
    /// <param name="padHeight">Overrides <paramref name="pad"/> above and below.</param>
    /// <param name="padWidth">Overrides <paramref name="pad"/> left and right.</param>
    /// <returns>The output of shape (N, F, H', W') and the cache for <see cref="ConvReluBackward"/>.</returns>
    public static (Tensor Out, ConvReluCache Cache) ConvReluForward(
        Tensor x, Tensor w, Tensor b, int stride = 1, int pad = 0, int dilation = 1, int groups = 1,
        int? strideHeight = null, int? strideWidth = null, int? padHeight = null, int? padWidth = null)
    {
        var (o, c) = ConvRelu.forward(
            ConvSettings(stride, pad, dilation, groups, strideHeight, strideWidth, padHeight, padWidth),
            Require.NotNull(x), Require.NotNull(w), Require.NotNull(b));
        return (o, c);
    }

    /// <summary>Convolution → ReLU backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, F, H', W').</param>
    /// <param name="cache">The cache from <see cref="ConvReluForward"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dw of shape (F, C/groups, HH, WW), Db of shape (F,).</returns>
    public static ConvGrads ConvReluBackward(Tensor dout, ConvReluCache cache) =>
        ConvRelu.backward(Require.NotNull(dout), Require.NotNull(cache));

    /// <summary>Convolution → ReLU → max-pool forward pass (fast convolution and pooling).</summary>
    /// <param name="x">Input of shape (N, C, H, W).</param>
    /// <param name="w">Filters of shape (F, C/groups, HH, WW).</param>
    /// <param name="b">Bias of shape (F,).</param>
    /// <param name="stride">Convolution stride, ≥ 1.</param>
    /// <param name="pad">Zero padding of the convolution, ≥ 0.</param>
    /// <param name="poolHeight">Pool window height.</param>
    /// <param name="poolWidth">Pool window width.</param>
    /// <param name="poolStride">Pool stride.</param>
    /// <param name="dilation">Spacing between kernel taps, ≥ 1.</param>
    /// <param name="groups">Groups, ≥ 1, dividing C and F.</param>
    /// <param name="strideHeight">Overrides <paramref name="stride"/> along the height.</param>
    /// <param name="strideWidth">Overrides <paramref name="stride"/> along the width.</param>
    /// <param name="padHeight">Overrides <paramref name="pad"/> above and below.</param>
    /// <param name="padWidth">Overrides <paramref name="pad"/> left and right.</param>
    /// <param name="poolStrideHeight">Overrides <paramref name="poolStride"/> along the height.</param>
    /// <param name="poolStrideWidth">Overrides <paramref name="poolStride"/> along the width.</param>
    /// <returns>The pooled output of shape (N, F, H'', W'') and the cache for <see cref="ConvReluPoolBackward"/>.</returns>
    public static (Tensor Out, ConvReluPoolCache Cache) ConvReluPoolForward(
        Tensor x, Tensor w, Tensor b, int stride = 1, int pad = 0, int poolHeight = 2, int poolWidth = 2,
        int poolStride = 2, int dilation = 1, int groups = 1, int? strideHeight = null, int? strideWidth = null,
        int? padHeight = null, int? padWidth = null, int? poolStrideHeight = null, int? poolStrideWidth = null)
    {
        var (o, c) = ConvReluPool.forward(
            ConvSettings(stride, pad, dilation, groups, strideHeight, strideWidth, padHeight, padWidth),
            PoolSettings(poolHeight, poolWidth, poolStride, poolStrideHeight, poolStrideWidth),
            Require.NotNull(x), Require.NotNull(w), Require.NotNull(b));
        return (o, c);
    }

    /// <summary>Convolution → ReLU → max-pool backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, F, H'', W'').</param>
    /// <param name="cache">The cache from <see cref="ConvReluPoolForward"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dw of shape (F, C/groups, HH, WW), Db of shape (F,).</returns>
    public static ConvGrads ConvReluPoolBackward(Tensor dout, ConvReluPoolCache cache) =>
        ConvReluPool.backward(Require.NotNull(dout), Require.NotNull(cache));
}
