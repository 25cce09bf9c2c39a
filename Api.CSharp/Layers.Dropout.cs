using Functional.FSharp;

namespace Functional;

// Inverted dropout. The key and the mode are passed in; nothing is mutated.
public static partial class Layers
{
    /// <summary>
    /// Inverted dropout forward pass. <paramref name="keepProb"/> is the probability of KEEPING a unit (the course's
    /// p since 2019): in training mode each unit is kept with that probability and scaled by 1/keepProb, so the
    /// expected output is x; in test mode the output is x. The mask is a pure function of <paramref name="rng"/>:
    /// the same key gives the same mask.
    /// </summary>
    /// <param name="x">Input of any shape.</param>
    /// <param name="keepProb">The probability of keeping a unit, in (0, 1]; 1 is the identity.</param>
    /// <param name="mode"><see cref="Mode.Train"/> (drop) or <see cref="Mode.Test"/> (identity).</param>
    /// <param name="rng">The key of the mask: required in training mode; test mode needs none (null, the default).</param>
    /// <returns>The output (x's shape) and the cache for <see cref="DropoutBackward"/>.</returns>
    /// <exception cref="ArgumentException">keepProb is outside (0, 1], the mode is invalid, or rng is null in training mode.</exception>
    public static (Tensor Out, DropoutCache Cache) DropoutForward(Tensor x, double keepProb, Mode mode, Rng? rng = null)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => Dropout.forward(keepProb, mode, rng!, Require.NotNull(x)));
        return (o, c);
    }

    /// <summary>Inverted dropout backward pass: dout times the scaled mask (training) or dout (test).</summary>
    /// <param name="dout">Upstream gradient (x's shape).</param>
    /// <param name="cache">The cache from <see cref="DropoutForward"/>.</param>
    /// <returns>Dx, of x's shape.</returns>
    public static Tensor DropoutBackward(Tensor dout, DropoutCache cache) =>
        Facade.Call(nameof(Layers), () => Dropout.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>The 0/1 keep-mask that <see cref="DropoutForward"/> draws in training mode from the same key.</summary>
    /// <param name="keepProb">The probability of keeping a unit, in (0, 1].</param>
    /// <param name="rng">The key of the mask.</param>
    /// <param name="shape">The input's shape.</param>
    /// <returns>A tensor of the given shape: 1 where the unit is kept, 0 where it is dropped.</returns>
    public static Tensor DropoutMask(double keepProb, Rng rng, params int[] shape) =>
        Facade.Call(nameof(Layers), () => Dropout.mask(keepProb, Require.NotNull(rng), Require.NotNull(shape)));
}
