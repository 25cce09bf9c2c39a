using Functional.FSharp;

namespace Functional;

// Convolution and the conv → ReLU (→ max-pool) sandwiches, fast and naive paths.
public static partial class Layers
{
    private static ConvConfig ConvSettings(
        int stride, int pad, int dilation, int groups, int? strideHeight, int? strideWidth, int? padHeight, int? padWidth) =>
        new(strideHeight ?? stride, strideWidth ?? stride, padHeight ?? pad, padWidth ?? pad, dilation, groups);

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
    /// <returns>The output of shape (N, F, H', W') and the cache for <see cref="ConvBackward"/>.</returns>
    /// <exception cref="ArgumentException">
    /// A shape or setting does not fit: the message names the argument and the sizes (channel mismatch, negative pad,
    /// zero stride, groups not dividing C or F, kernel larger than the padded input).
    /// </exception>
    public static (Tensor Out, ConvCache Cache) ConvForward(
        Tensor x, Tensor w, Tensor b, int stride = 1, int pad = 0, int dilation = 1, int groups = 1,
        int? strideHeight = null, int? strideWidth = null, int? padHeight = null, int? padWidth = null)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => Conv.forward(
            ConvSettings(stride, pad, dilation, groups, strideHeight, strideWidth, padHeight, padWidth),
            Require.NotNull(x), Require.NotNull(w), Require.NotNull(b)));
        return (o, c);
    }

    /// <summary>2-D convolution backward pass, the fast path (GEMM against the im2col columns, col2im for Dx).</summary>
    /// <param name="dout">Upstream gradient of shape (N, F, H', W').</param>
    /// <param name="cache">The cache from <see cref="ConvForward"/> or <see cref="ConvForwardNaive"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dw of shape (F, C/groups, HH, WW), Db of shape (F,).</returns>
    /// <exception cref="ArgumentException"><paramref name="dout"/> does not have the output's shape.</exception>
    public static ConvGrads ConvBackward(Tensor dout, ConvCache cache) =>
        Facade.Call(nameof(Layers), () => Conv.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>
    /// 2-D convolution forward pass, the naive path: the readable loops, the reference the fast path is checked
    /// against. Same arguments and result as <see cref="ConvForward"/>.
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
    /// <returns>The output of shape (N, F, H', W') and the cache for <see cref="ConvBackwardNaive"/>.</returns>
    /// <exception cref="ArgumentException">A shape or setting does not fit (as for <see cref="ConvForward"/>).</exception>
    public static (Tensor Out, ConvCache Cache) ConvForwardNaive(
        Tensor x, Tensor w, Tensor b, int stride = 1, int pad = 0, int dilation = 1, int groups = 1,
        int? strideHeight = null, int? strideWidth = null, int? padHeight = null, int? padWidth = null)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => Conv.forwardNaive(
            ConvSettings(stride, pad, dilation, groups, strideHeight, strideWidth, padHeight, padWidth),
            Require.NotNull(x), Require.NotNull(w), Require.NotNull(b)));
        return (o, c);
    }

    /// <summary>2-D convolution backward pass, the naive path (the readable loops).</summary>
    /// <param name="dout">Upstream gradient of shape (N, F, H', W').</param>
    /// <param name="cache">The cache from <see cref="ConvForwardNaive"/> or <see cref="ConvForward"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dw of shape (F, C/groups, HH, WW), Db of shape (F,).</returns>
    /// <exception cref="ArgumentException"><paramref name="dout"/> does not have the output's shape.</exception>
    public static ConvGrads ConvBackwardNaive(Tensor dout, ConvCache cache) =>
        Facade.Call(nameof(Layers), () => Conv.backwardNaive(Require.NotNull(dout), Require.NotNull(cache)));

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
        var (o, c) = Facade.Call(nameof(Layers), () => ConvRelu.forward(
            ConvSettings(stride, pad, dilation, groups, strideHeight, strideWidth, padHeight, padWidth),
            Require.NotNull(x), Require.NotNull(w), Require.NotNull(b)));
        return (o, c);
    }

    /// <summary>Convolution → ReLU backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, F, H', W').</param>
    /// <param name="cache">The cache from <see cref="ConvReluForward"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dw of shape (F, C/groups, HH, WW), Db of shape (F,).</returns>
    public static ConvGrads ConvReluBackward(Tensor dout, ConvReluCache cache) =>
        Facade.Call(nameof(Layers), () => ConvRelu.backward(Require.NotNull(dout), Require.NotNull(cache)));

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
        var (o, c) = Facade.Call(nameof(Layers), () => ConvReluPool.forward(
            ConvSettings(stride, pad, dilation, groups, strideHeight, strideWidth, padHeight, padWidth),
            PoolSettings(poolHeight, poolWidth, poolStride, poolStrideHeight, poolStrideWidth),
            Require.NotNull(x), Require.NotNull(w), Require.NotNull(b)));
        return (o, c);
    }

    /// <summary>Convolution → ReLU → max-pool backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, F, H'', W'').</param>
    /// <param name="cache">The cache from <see cref="ConvReluPoolForward"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dw of shape (F, C/groups, HH, WW), Db of shape (F,).</returns>
    public static ConvGrads ConvReluPoolBackward(Tensor dout, ConvReluPoolCache cache) =>
        Facade.Call(nameof(Layers), () => ConvReluPool.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>The former name of <see cref="ConvForward"/>.</summary>
    /// <param name="x">See <see cref="ConvForward"/>.</param>
    /// <param name="w">See <see cref="ConvForward"/>.</param>
    /// <param name="b">See <see cref="ConvForward"/>.</param>
    /// <param name="stride">See <see cref="ConvForward"/>.</param>
    /// <param name="pad">See <see cref="ConvForward"/>.</param>
    /// <param name="dilation">See <see cref="ConvForward"/>.</param>
    /// <param name="groups">See <see cref="ConvForward"/>.</param>
    /// <param name="strideHeight">See <see cref="ConvForward"/>.</param>
    /// <param name="strideWidth">See <see cref="ConvForward"/>.</param>
    /// <param name="padHeight">See <see cref="ConvForward"/>.</param>
    /// <param name="padWidth">See <see cref="ConvForward"/>.</param>
    /// <returns>See <see cref="ConvForward"/>.</returns>
    [Obsolete("Use Layers.ConvForward: the library's one name for convolution (the course's conv).")]
    public static (Tensor Out, ConvCache Cache) Conv2dForward(
        Tensor x, Tensor w, Tensor b, int stride = 1, int pad = 0, int dilation = 1, int groups = 1,
        int? strideHeight = null, int? strideWidth = null, int? padHeight = null, int? padWidth = null) =>
        ConvForward(x, w, b, stride, pad, dilation, groups, strideHeight, strideWidth, padHeight, padWidth);

    /// <summary>The former name of <see cref="ConvForwardNaive"/>.</summary>
    /// <param name="x">See <see cref="ConvForwardNaive"/>.</param>
    /// <param name="w">See <see cref="ConvForwardNaive"/>.</param>
    /// <param name="b">See <see cref="ConvForwardNaive"/>.</param>
    /// <param name="stride">See <see cref="ConvForwardNaive"/>.</param>
    /// <param name="pad">See <see cref="ConvForwardNaive"/>.</param>
    /// <param name="dilation">See <see cref="ConvForwardNaive"/>.</param>
    /// <param name="groups">See <see cref="ConvForwardNaive"/>.</param>
    /// <param name="strideHeight">See <see cref="ConvForwardNaive"/>.</param>
    /// <param name="strideWidth">See <see cref="ConvForwardNaive"/>.</param>
    /// <param name="padHeight">See <see cref="ConvForwardNaive"/>.</param>
    /// <param name="padWidth">See <see cref="ConvForwardNaive"/>.</param>
    /// <returns>See <see cref="ConvForwardNaive"/>.</returns>
    [Obsolete("Use Layers.ConvForwardNaive: the library's one name for convolution (the course's conv).")]
    public static (Tensor Out, ConvCache Cache) Conv2dForwardNaive(
        Tensor x, Tensor w, Tensor b, int stride = 1, int pad = 0, int dilation = 1, int groups = 1,
        int? strideHeight = null, int? strideWidth = null, int? padHeight = null, int? padWidth = null) =>
        ConvForwardNaive(x, w, b, stride, pad, dilation, groups, strideHeight, strideWidth, padHeight, padWidth);

    /// <summary>The former name of <see cref="ConvBackward"/>.</summary>
    /// <param name="dout">See <see cref="ConvBackward"/>.</param>
    /// <param name="cache">See <see cref="ConvBackward"/>.</param>
    /// <returns>See <see cref="ConvBackward"/>.</returns>
    [Obsolete("Use Layers.ConvBackward: the library's one name for convolution (the course's conv).")]
    public static ConvGrads Conv2dBackward(
        Tensor dout, ConvCache cache) =>
        ConvBackward(dout, cache);

    /// <summary>The former name of <see cref="ConvBackwardNaive"/>.</summary>
    /// <param name="dout">See <see cref="ConvBackwardNaive"/>.</param>
    /// <param name="cache">See <see cref="ConvBackwardNaive"/>.</param>
    /// <returns>See <see cref="ConvBackwardNaive"/>.</returns>
    [Obsolete("Use Layers.ConvBackwardNaive: the library's one name for convolution (the course's conv).")]
    public static ConvGrads Conv2dBackwardNaive(
        Tensor dout, ConvCache cache) =>
        ConvBackwardNaive(dout, cache);
}
