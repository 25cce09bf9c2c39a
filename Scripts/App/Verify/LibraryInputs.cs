using Functional.FSharp;
using static Functional.App.Course.Spec;

namespace Functional.App.Course;

/// <summary>
/// A case's tensors exactly as the library's specs draw them (Core.FSharp/Verification/Verify.fs, whose input
/// functions are private there): the same keys and distributions, so that the specs' known wrong formulas (their
/// Variants, evaluated by the engine on the library's own inputs) see the tensors the student's function saw.
/// To move: once Verify.fs makes its input functions public, these become calls to them.
/// </summary>
internal static class LibraryInputs
{
    /// <summary>batchnormSpec: x = 2·N(0,1)+1 (N, D), gamma, beta (D,), dout (N, D), running mean N(0,1), running var 0.5 + |N(0,1)|; mode 1 = test.</summary>
    public static (Tensor X, Tensor Gamma, Tensor Beta, Tensor Dout, BatchNormState State, bool Test) BatchNorm(VerificationCase c)
    {
        int n = c.Item("N"), d = c.Item("D");
        var state = new BatchNormState(Normal(c, 4, d), Normal(c, 5, d).Map(v => 0.5 + Math.Abs(v)));
        return (Cases.normInput(Key(c, 0), [n, d]), Normal(c, 1, d), Normal(c, 2, d), Normal(c, 3, n, d), state, c.Has("mode") && c.Item("mode") == 1);
    }

    /// <summary>layernormSpec: x = 2·N(0,1)+1 (N, D), gamma, beta (D,), dout (N, D).</summary>
    public static (Tensor X, Tensor Gamma, Tensor Beta, Tensor Dout) LayerNorm(VerificationCase c)
    {
        int n = c.Item("N"), d = c.Item("D");
        return (Cases.normInput(Key(c, 0), [n, d]), Normal(c, 1, d), Normal(c, 2, d), Normal(c, 3, n, d));
    }

    /// <summary>spatialBatchnormSpec and groupnormSpec: x = 2·N(0,1)+1 (N, C, H, W), gamma, beta (C,), dout (N, C, H, W).</summary>
    public static (Tensor X, Tensor Gamma, Tensor Beta, Tensor Dout) Spatial(VerificationCase c)
    {
        int n = c.Item("N"), ch = c.Item("C"), h = c.Item("H"), w = c.Item("W");
        return (Cases.normInput(Key(c, 0), [n, ch, h, w]), Normal(c, 1, ch), Normal(c, 2, ch), Normal(c, 3, n, ch, h, w));
    }

    /// <summary>The update specs: w (R, K), then one dw per step (keys 1 … steps).</summary>
    public static (Tensor W, IReadOnlyList<Tensor> Dws) Update(VerificationCase c)
    {
        int r = c.Item("R"), k = c.Item("K");
        return (Normal(c, 0, r, k), Enumerable.Range(1, c.Item("steps")).Select(i => Normal(c, i, r, k)).ToList());
    }

    /// <summary>wordEmbeddingSpec: indices (N, T) in [0, V), W (V, D), dout (N, T, D).</summary>
    public static (int[] X, Tensor W, Tensor Dout) Embedding(VerificationCase c)
    {
        int n = c.Item("N"), t = c.Item("T"), v = c.Item("V"), d = c.Item("D");
        return (Cases.indices(Key(c, 0), n, t, v), Normal(c, 1, v, d), Normal(c, 2, n, t, d));
    }

    /// <summary>temporalAffineSpec: x (N, T, D), w (D, M), b (M,), dout (N, T, M).</summary>
    public static (Tensor X, Tensor W, Tensor B, Tensor Dout) TemporalAffine(VerificationCase c)
    {
        int n = c.Item("N"), t = c.Item("T"), d = c.Item("D"), m = c.Item("M");
        return (Normal(c, 0, n, t, d), Normal(c, 1, d, m), Normal(c, 2, m), Normal(c, 3, n, t, m));
    }

    /// <summary>temporalSoftmaxLossSpec: scores (N, T, V), y (N, T), mask (N, T) (all ones when mask = 1).</summary>
    public static (Tensor X, int[] Y, bool[] Mask) TemporalSoftmax(VerificationCase c)
    {
        int n = c.Item("N"), t = c.Item("T"), v = c.Item("V");
        return (Normal(c, 0, n, t, v), Cases.indices(Key(c, 1), n, t, v), Cases.mask(Key(c, 2), n, t, c.Item("mask") == 1));
    }

    /// <summary>The recurrent specs: x, h0 (or prev_h), Wx, Wh (× 0.5), b with gates·H columns, and dout.</summary>
    public static (Tensor X, Tensor H0, Tensor Wx, Tensor Wh, Tensor B, Tensor Dout) Recurrent(VerificationCase c, bool step, int gates)
    {
        int n = c.Item("N"), d = c.Item("D"), h = c.Item("H");
        int[] xShape = step ? [n, d] : [n, c.Item("T"), d];
        int[] outShape = step ? [n, h] : [n, c.Item("T"), h];
        return (Normal(c, 0, xShape), Normal(c, 1, n, h), Normal(c, 2, d, gates * h) * 0.5, Normal(c, 3, h, gates * h) * 0.5,
            Normal(c, 4, gates * h), Normal(c, 5, outShape));
    }
}
