using Functional.FSharp;

namespace Functional;

// Normalization: batch, layer, spatial batch, group, instance and spatial layer normalization. State (running
// statistics, the mode) is passed in and returned; nothing is mutated.
public static partial class Layers
{
    /// <summary>
    /// Batch normalization forward pass over a minibatch: each of the D features is normalized with the batch mean
    /// and biased variance (training) or the running ones (test), then scaled by gamma and shifted by beta.
    /// </summary>
    /// <param name="x">Input of shape (N, D); training mode needs N ≥ 2.</param>
    /// <param name="gamma">Scale of shape (D,).</param>
    /// <param name="beta">Shift of shape (D,).</param>
    /// <param name="state">Running mean and variance, (D,) each; start from <see cref="BatchNormState.Initial"/>.</param>
    /// <param name="mode"><see cref="Mode.Train"/> or <see cref="Mode.Test"/>.</param>
    /// <param name="eps">Added to the variance before the square root, &gt; 0.</param>
    /// <param name="momentum">running = momentum · running + (1 − momentum) · batch, in [0, 1].</param>
    /// <returns>
    /// The output of shape (N, D), the new state (the same state in test mode) and the cache for
    /// <see cref="BatchNormBackward"/> and <see cref="BatchNormBackwardAlt"/>.
    /// </returns>
    /// <exception cref="ArgumentException">A shape, eps, momentum or mode is invalid, or N = 1 in training mode.</exception>
    public static (Tensor Out, BatchNormState State, BatchNormCache Cache) BatchNormForward(
        Tensor x, Tensor gamma, Tensor beta, BatchNormState state, Mode mode, double eps = 1e-5, double momentum = 0.9)
    {
        var (o, s, c) = Facade.Call(nameof(Layers), () => BatchNorm.forward(
            new BatchNormConfig(eps, momentum), mode, Require.NotNull(state),
            Require.NotNull(gamma), Require.NotNull(beta), Require.NotNull(x)));
        return (o, s, c);
    }

    /// <summary>Batch normalization backward pass through the full computation graph (the staged derivation).</summary>
    /// <param name="dout">Upstream gradient of shape (N, D).</param>
    /// <param name="cache">The cache from <see cref="BatchNormForward"/>.</param>
    /// <returns>Dx of shape (N, D), Dgamma and Dbeta of shape (D,).</returns>
    public static NormGrads BatchNormBackward(Tensor dout, BatchNormCache cache) =>
        Facade.Call(nameof(Layers), () => BatchNorm.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>
    /// Batch normalization backward pass in the simplified closed form
    /// dx = γ/√(var + eps) · (dout − mean(dout) − x̂ · mean(dout · x̂)); equal to <see cref="BatchNormBackward"/>.
    /// </summary>
    /// <param name="dout">Upstream gradient of shape (N, D).</param>
    /// <param name="cache">The cache from <see cref="BatchNormForward"/>.</param>
    /// <returns>Dx of shape (N, D), Dgamma and Dbeta of shape (D,).</returns>
    public static NormGrads BatchNormBackwardAlt(Tensor dout, BatchNormCache cache) =>
        Facade.Call(nameof(Layers), () => BatchNorm.backwardAlt(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>
    /// Layer normalization forward pass: each sample is normalized over its D features, then scaled by gamma and
    /// shifted by beta. The same in training and test, so no mode and no state.
    /// </summary>
    /// <param name="x">Input of shape (N, D); N = 1 is fine.</param>
    /// <param name="gamma">Scale of shape (D,).</param>
    /// <param name="beta">Shift of shape (D,).</param>
    /// <param name="eps">Added to the variance before the square root, &gt; 0.</param>
    /// <returns>The output of shape (N, D) and the cache for <see cref="LayerNormBackward"/>.</returns>
    /// <exception cref="ArgumentException">A shape or eps is invalid.</exception>
    public static (Tensor Out, LayerNormCache Cache) LayerNormForward(
        Tensor x, Tensor gamma, Tensor beta, double eps = 1e-5)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => LayerNorm.forward(eps, Require.NotNull(gamma), Require.NotNull(beta), Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>Layer normalization backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, D).</param>
    /// <param name="cache">The cache from <see cref="LayerNormForward"/>.</param>
    /// <returns>Dx of shape (N, D), Dgamma and Dbeta of shape (D,).</returns>
    public static NormGrads LayerNormBackward(Tensor dout, LayerNormCache cache) =>
        Facade.Call(nameof(Layers), () => LayerNorm.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>
    /// Spatial batch normalization forward pass: each channel is normalized with statistics over (N, H, W), then
    /// scaled by gamma[c] and shifted by beta[c]. Equal to batch normalization of x transposed to (N·H·W, C).
    /// </summary>
    /// <param name="x">Input of shape (N, C, H, W); training mode needs N·H·W ≥ 2.</param>
    /// <param name="gamma">Scale of shape (C,).</param>
    /// <param name="beta">Shift of shape (C,).</param>
    /// <param name="state">Running mean and variance, (C,) each.</param>
    /// <param name="mode"><see cref="Mode.Train"/> or <see cref="Mode.Test"/>.</param>
    /// <param name="eps">Added to the variance before the square root, &gt; 0.</param>
    /// <param name="momentum">running = momentum · running + (1 − momentum) · batch, in [0, 1].</param>
    /// <returns>The output of shape (N, C, H, W), the new state and the cache for <see cref="SpatialBatchNormBackward"/>.</returns>
    /// <exception cref="ArgumentException">A shape, eps, momentum or mode is invalid, or N·H·W = 1 in training mode.</exception>
    public static (Tensor Out, BatchNormState State, SpatialBatchNormCache Cache) SpatialBatchNormForward(
        Tensor x, Tensor gamma, Tensor beta, BatchNormState state, Mode mode, double eps = 1e-5, double momentum = 0.9)
    {
        var (o, s, c) = Facade.Call(nameof(Layers), () => SpatialBatchNorm.forward(
            new BatchNormConfig(eps, momentum), mode, Require.NotNull(state),
            Require.NotNull(gamma), Require.NotNull(beta), Require.NotNull(x)));
        return (o, s, c);
    }

    /// <summary>Spatial batch normalization backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, C, H, W).</param>
    /// <param name="cache">The cache from <see cref="SpatialBatchNormForward"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dgamma and Dbeta of shape (C,).</returns>
    public static NormGrads SpatialBatchNormBackward(Tensor dout, SpatialBatchNormCache cache) =>
        Facade.Call(nameof(Layers), () => SpatialBatchNorm.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>
    /// Group normalization forward pass: the C channels are split into <paramref name="groups"/> groups of C/G
    /// consecutive channels; each sample's group is normalized over its channels and (H, W), then each channel is
    /// scaled by gamma[c] and shifted by beta[c].
    /// </summary>
    /// <param name="x">Input of shape (N, C, H, W); N = 1 is fine.</param>
    /// <param name="gamma">Scale of shape (C,) or the course's (1, C, 1, 1); Dgamma and Dbeta come back in its shape.</param>
    /// <param name="beta">Shift, of gamma's shape.</param>
    /// <param name="groups">The number of groups G ≥ 1; C must be divisible by G.</param>
    /// <param name="eps">Added to the variance before the square root, &gt; 0.</param>
    /// <returns>The output of shape (N, C, H, W) and the cache for <see cref="GroupNormBackward"/>.</returns>
    /// <exception cref="ArgumentException">A shape or eps is invalid, or C is not divisible by G.</exception>
    public static (Tensor Out, GroupNormCache Cache) GroupNormForward(
        Tensor x, Tensor gamma, Tensor beta, int groups, double eps = 1e-5)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => GroupNorm.forward(eps, groups, Require.NotNull(gamma), Require.NotNull(beta), Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>Group normalization backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, C, H, W).</param>
    /// <param name="cache">The cache from <see cref="GroupNormForward"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dgamma and Dbeta of shape (C,).</returns>
    public static NormGrads GroupNormBackward(Tensor dout, GroupNormCache cache) =>
        Facade.Call(nameof(Layers), () => GroupNorm.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>
    /// Instance normalization forward pass: each (sample, channel) plane is normalized over (H, W), then scaled by
    /// gamma[c] and shifted by beta[c]. Group normalization with G = C.
    /// </summary>
    /// <param name="x">Input of shape (N, C, H, W).</param>
    /// <param name="gamma">Scale of shape (C,).</param>
    /// <param name="beta">Shift of shape (C,).</param>
    /// <param name="eps">Added to the variance before the square root, &gt; 0.</param>
    /// <returns>The output of shape (N, C, H, W) and the cache for <see cref="InstanceNormBackward"/>.</returns>
    /// <exception cref="ArgumentException">A shape or eps is invalid.</exception>
    public static (Tensor Out, GroupNormCache Cache) InstanceNormForward(
        Tensor x, Tensor gamma, Tensor beta, double eps = 1e-5)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => InstanceNorm.forward(eps, Require.NotNull(gamma), Require.NotNull(beta), Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>Instance normalization backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, C, H, W).</param>
    /// <param name="cache">The cache from <see cref="InstanceNormForward"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dgamma and Dbeta of shape (C,).</returns>
    public static NormGrads InstanceNormBackward(Tensor dout, GroupNormCache cache) =>
        Facade.Call(nameof(Layers), () => InstanceNorm.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>
    /// Layer normalization of a spatial input: each sample is normalized over all of (C, H, W), then each channel is
    /// scaled by gamma[c] and shifted by beta[c]. Group normalization with G = 1.
    /// </summary>
    /// <param name="x">Input of shape (N, C, H, W).</param>
    /// <param name="gamma">Scale of shape (C,).</param>
    /// <param name="beta">Shift of shape (C,).</param>
    /// <param name="eps">Added to the variance before the square root, &gt; 0.</param>
    /// <returns>The output of shape (N, C, H, W) and the cache for <see cref="SpatialLayerNormBackward"/>.</returns>
    /// <exception cref="ArgumentException">A shape or eps is invalid.</exception>
    public static (Tensor Out, GroupNormCache Cache) SpatialLayerNormForward(
        Tensor x, Tensor gamma, Tensor beta, double eps = 1e-5)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => SpatialLayerNorm.forward(eps, Require.NotNull(gamma), Require.NotNull(beta), Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>Spatial layer normalization backward pass.</summary>
    /// <param name="dout">Upstream gradient of shape (N, C, H, W).</param>
    /// <param name="cache">The cache from <see cref="SpatialLayerNormForward"/>.</param>
    /// <returns>Dx of shape (N, C, H, W), Dgamma and Dbeta of shape (C,).</returns>
    public static NormGrads SpatialLayerNormBackward(Tensor dout, GroupNormCache cache) =>
        Facade.Call(nameof(Layers), () => SpatialLayerNorm.backward(Require.NotNull(dout), Require.NotNull(cache)));
}
