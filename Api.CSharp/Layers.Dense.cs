using Functional.FSharp;

namespace Functional;

/// <summary>
/// The layers as pure forward/backward pairs. A forward pass returns its output and an opaque cache; the backward
/// pass takes the upstream gradient and that cache and returns the gradients. Nothing is mutated.
/// </summary>
public static partial class Layers
{
    /// <summary>Affine (fully connected) forward pass: out = reshape(x, (N, D)) · w + b.</summary>
    /// <param name="x">Input of shape (N, d1, …, dk); it is flattened to (N, D) with D = d1·…·dk.</param>
    /// <param name="w">Weights of shape (D, M).</param>
    /// <param name="b">Bias of shape (M,).</param>
    /// <returns>The output of shape (N, M) and the cache for <see cref="AffineBackward"/>.</returns>
    /// <exception cref="ArgumentException">The shapes do not fit together.</exception>
    public static (Tensor Out, AffineCache Cache) AffineForward(Tensor x, Tensor w, Tensor b)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => Affine.forward(Require.NotNull(x), Require.NotNull(w), Require.NotNull(b)));
        return (o, c);
    }

    /// <summary>Affine backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, M).</param>
    /// <param name="cache">The cache from <see cref="AffineForward"/>.</param>
    /// <returns>Dx of shape (N, d1, …, dk), Dw of shape (D, M), Db of shape (M,).</returns>
    public static AffineGrads AffineBackward(Tensor dout, AffineCache cache) =>
        Facade.Call(nameof(Layers), () => Affine.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>Affine → ReLU forward pass.</summary>
    /// <param name="x">Input of shape (N, d1, …, dk).</param>
    /// <param name="w">Weights of shape (D, M).</param>
    /// <param name="b">Bias of shape (M,).</param>
    /// <returns>The output of shape (N, M) and the cache for <see cref="AffineReluBackward"/>.</returns>
    public static (Tensor Out, AffineReluCache Cache) AffineReluForward(Tensor x, Tensor w, Tensor b)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => AffineRelu.forward(Require.NotNull(x), Require.NotNull(w), Require.NotNull(b)));
        return (o, c);
    }

    /// <summary>Affine → ReLU backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, M).</param>
    /// <param name="cache">The cache from <see cref="AffineReluForward"/>.</param>
    /// <returns>Dx of shape (N, d1, …, dk), Dw of shape (D, M), Db of shape (M,).</returns>
    public static AffineGrads AffineReluBackward(Tensor dout, AffineReluCache cache) =>
        Facade.Call(nameof(Layers), () => AffineRelu.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>ReLU forward pass: max(0, x), elementwise, any shape.</summary>
    /// <param name="x">Input of any shape.</param>
    /// <returns>The output (x's shape) and the cache for <see cref="ReluBackward"/>.</returns>
    public static (Tensor Out, ReluCache Cache) ReluForward(Tensor x)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => Relu.forward(Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>ReLU backward pass: the upstream gradient where x &gt; 0, else 0.</summary>
    /// <param name="dout">Upstream gradient (x's shape).</param>
    /// <param name="cache">The cache from <see cref="ReluForward"/>.</param>
    /// <returns>Dx, of x's shape.</returns>
    public static Tensor ReluBackward(Tensor dout, ReluCache cache) =>
        Facade.Call(nameof(Layers), () => Relu.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>Leaky ReLU forward pass: x where x &gt; 0, slope·x elsewhere.</summary>
    /// <param name="x">Input of any shape.</param>
    /// <param name="slope">The slope for negative inputs.</param>
    /// <returns>The output (x's shape) and the cache for <see cref="LeakyReluBackward"/>.</returns>
    public static (Tensor Out, LeakyReluCache Cache) LeakyReluForward(Tensor x, double slope = 0.01)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => LeakyRelu.forward(slope, Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>Leaky ReLU backward pass.</summary>
    /// <param name="dout">Upstream gradient (x's shape).</param>
    /// <param name="cache">The cache from <see cref="LeakyReluForward"/>.</param>
    /// <returns>Dx, of x's shape.</returns>
    public static Tensor LeakyReluBackward(Tensor dout, LeakyReluCache cache) =>
        Facade.Call(nameof(Layers), () => LeakyRelu.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>Sigmoid forward pass: 1 / (1 + e^-x), elementwise, stable for large |x|.</summary>
    /// <param name="x">Input of any shape.</param>
    /// <returns>The output (x's shape) and the cache for <see cref="SigmoidBackward"/>.</returns>
    public static (Tensor Out, SigmoidCache Cache) SigmoidForward(Tensor x)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => Sigmoid.forward(Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>Sigmoid backward pass: dout · s · (1 − s).</summary>
    /// <param name="dout">Upstream gradient (x's shape).</param>
    /// <param name="cache">The cache from <see cref="SigmoidForward"/>.</param>
    /// <returns>Dx, of x's shape.</returns>
    public static Tensor SigmoidBackward(Tensor dout, SigmoidCache cache) =>
        Facade.Call(nameof(Layers), () => Sigmoid.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>Tanh forward pass, elementwise.</summary>
    /// <param name="x">Input of any shape.</param>
    /// <returns>The output (x's shape) and the cache for <see cref="TanhBackward"/>.</returns>
    public static (Tensor Out, TanhCache Cache) TanhForward(Tensor x)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => Tanh.forward(Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>Tanh backward pass: dout · (1 − t²).</summary>
    /// <param name="dout">Upstream gradient (x's shape).</param>
    /// <param name="cache">The cache from <see cref="TanhForward"/>.</param>
    /// <returns>Dx, of x's shape.</returns>
    public static Tensor TanhBackward(Tensor dout, TanhCache cache) =>
        Facade.Call(nameof(Layers), () => Tanh.backward(Require.NotNull(dout), Require.NotNull(cache)));
}
