using Functional.FSharp;

namespace Functional;

/// <summary>
/// The recurrent and temporal layers of cs231n's third assignment (<c>rnn_layers.py</c>), in its shapes: N examples,
/// T time steps, D input features, H hidden units, V words, M outputs. Every layer is a pure forward/backward pair:
/// the forward returns its output and an opaque cache, the backward the gradients. Bad shapes, indices outside
/// [0, V) and masks of another shape throw <see cref="ArgumentException"/> naming the function, the argument, the
/// expected and the actual value; null arguments throw <see cref="ArgumentNullException"/>.
/// </summary>
public static partial class Layers
{
    /// <summary>One vanilla RNN step: next_h = tanh(x·Wx + prev_h·Wh + b).</summary>
    /// <param name="x">Input of shape (N, D).</param>
    /// <param name="prevH">Previous hidden state of shape (N, H).</param>
    /// <param name="wx">Input-to-hidden weights of shape (D, H).</param>
    /// <param name="wh">Hidden-to-hidden weights of shape (H, H).</param>
    /// <param name="b">Bias of shape (H,).</param>
    /// <returns>next_h of shape (N, H) and the cache for <see cref="RnnStepBackward"/>.</returns>
    /// <exception cref="ArgumentException">A rank or a size does not fit (N, D, H).</exception>
    public static (Tensor NextH, RnnStepCache Cache) RnnStepForward(Tensor x, Tensor prevH, Tensor wx, Tensor wh, Tensor b)
    {
        var (h, c) = Facade.Call(nameof(Layers), () => Rnn.stepForward(Require.NotNull(x), Require.NotNull(prevH), Require.NotNull(wx), Require.NotNull(wh), Require.NotNull(b)));
        return (h, c);
    }

    /// <summary>Backward pass of one vanilla RNN step.</summary>
    /// <param name="dnextH">Upstream gradient of next_h, shape (N, H).</param>
    /// <param name="cache">The cache from <see cref="RnnStepForward"/>.</param>
    /// <returns>Dx (N, D), DprevH (N, H), DWx (D, H), DWh (H, H), Db (H,).</returns>
    /// <exception cref="ArgumentException">dnextH is not (N, H).</exception>
    public static RnnStepGrads RnnStepBackward(Tensor dnextH, RnnStepCache cache) =>
        Facade.Call(nameof(Layers), () => Rnn.stepBackward(Require.NotNull(dnextH), Require.NotNull(cache)));

    /// <summary>
    /// The vanilla RNN over a sequence: h[:, t] = tanh(x[:, t]·Wx + h[:, t−1]·Wh + b), with h[:, −1] = h0.
    /// PyTorch's <c>nn.RNN</c> (tanh, batch_first) is the same map with weight_ih = Wxᵀ, weight_hh = Whᵀ and
    /// b = bias_ih + bias_hh.
    /// </summary>
    /// <param name="x">Inputs of shape (N, T, D).</param>
    /// <param name="h0">Initial hidden state of shape (N, H).</param>
    /// <param name="wx">Input-to-hidden weights of shape (D, H).</param>
    /// <param name="wh">Hidden-to-hidden weights of shape (H, H).</param>
    /// <param name="b">Bias of shape (H,).</param>
    /// <returns>The hidden states h of shape (N, T, H) and the cache for <see cref="RnnBackward"/>.</returns>
    /// <exception cref="ArgumentException">A rank or a size does not fit (N, T, D, H).</exception>
    public static (Tensor H, RnnCache Cache) RnnForward(Tensor x, Tensor h0, Tensor wx, Tensor wh, Tensor b)
    {
        var (h, c) = Facade.Call(nameof(Layers), () => Rnn.forward(Require.NotNull(x), Require.NotNull(h0), Require.NotNull(wx), Require.NotNull(wh), Require.NotNull(b)));
        return (h, c);
    }

    /// <summary>Backward pass of the vanilla RNN over a sequence.</summary>
    /// <param name="dh">Upstream gradient of every hidden state, shape (N, T, H).</param>
    /// <param name="cache">The cache from <see cref="RnnForward"/>.</param>
    /// <returns>Dx (N, T, D), Dh0 (N, H), DWx (D, H), DWh (H, H), Db (H,).</returns>
    /// <exception cref="ArgumentException">dh is not (N, T, H).</exception>
    public static RnnGrads RnnBackward(Tensor dh, RnnCache cache) =>
        Facade.Call(nameof(Layers), () => Rnn.backward(Require.NotNull(dh), Require.NotNull(cache)));

    /// <summary>
    /// One LSTM step in the course's gate order i, f, o, g: a = x·Wx + prev_h·Wh + b (N, 4H) in four blocks of H;
    /// i, f, o = σ(a_i), σ(a_f), σ(a_o); g = tanh(a_g); next_c = f ⊙ prev_c + i ⊙ g; next_h = o ⊙ tanh(next_c).
    /// PyTorch orders the blocks i, f, g, o: see <see cref="LstmFromPyTorch"/>.
    /// </summary>
    /// <param name="x">Input of shape (N, D).</param>
    /// <param name="prevH">Previous hidden state of shape (N, H).</param>
    /// <param name="prevC">Previous cell state of shape (N, H).</param>
    /// <param name="wx">Input-to-hidden weights of shape (D, 4H).</param>
    /// <param name="wh">Hidden-to-hidden weights of shape (H, 4H).</param>
    /// <param name="b">Bias of shape (4H,).</param>
    /// <returns>next_h and next_c, each (N, H), and the cache for <see cref="LstmStepBackward"/>.</returns>
    /// <exception cref="ArgumentException">A rank or a size does not fit (N, D, H).</exception>
    public static (Tensor NextH, Tensor NextC, LstmStepCache Cache) LstmStepForward(
        Tensor x, Tensor prevH, Tensor prevC, Tensor wx, Tensor wh, Tensor b)
    {
        var r = Facade.Call(nameof(Layers), () => Lstm.stepForward(
            Require.NotNull(x), Require.NotNull(prevH), Require.NotNull(prevC), Require.NotNull(wx), Require.NotNull(wh), Require.NotNull(b)));
        return (r.Item1, r.Item2, r.Item3);
    }

    /// <summary>Backward pass of one LSTM step.</summary>
    /// <param name="dnextH">Upstream gradient of next_h, shape (N, H).</param>
    /// <param name="dnextC">Upstream gradient of next_c, shape (N, H).</param>
    /// <param name="cache">The cache from <see cref="LstmStepForward"/>.</param>
    /// <returns>Dx (N, D), DprevH (N, H), DprevC (N, H), DWx (D, 4H), DWh (H, 4H), Db (4H,).</returns>
    /// <exception cref="ArgumentException">dnextH or dnextC is not (N, H).</exception>
    public static LstmStepGrads LstmStepBackward(Tensor dnextH, Tensor dnextC, LstmStepCache cache) =>
        Facade.Call(nameof(Layers), () => Lstm.stepBackward(Require.NotNull(dnextH), Require.NotNull(dnextC), Require.NotNull(cache)));

    /// <summary>The LSTM over a sequence (gate order i, f, o, g), the initial cell state 0 as in the course.</summary>
    /// <param name="x">Inputs of shape (N, T, D).</param>
    /// <param name="h0">Initial hidden state of shape (N, H).</param>
    /// <param name="wx">Input-to-hidden weights of shape (D, 4H).</param>
    /// <param name="wh">Hidden-to-hidden weights of shape (H, 4H).</param>
    /// <param name="b">Bias of shape (4H,).</param>
    /// <returns>The hidden states h of shape (N, T, H) and the cache for <see cref="LstmBackward"/>.</returns>
    /// <exception cref="ArgumentException">A rank or a size does not fit (N, T, D, H).</exception>
    public static (Tensor H, LstmCache Cache) LstmForward(Tensor x, Tensor h0, Tensor wx, Tensor wh, Tensor b)
    {
        var (h, c) = Facade.Call(nameof(Layers), () => Lstm.forward(Require.NotNull(x), Require.NotNull(h0), Require.NotNull(wx), Require.NotNull(wh), Require.NotNull(b)));
        return (h, c);
    }

    /// <summary>Backward pass of the LSTM over a sequence.</summary>
    /// <param name="dh">Upstream gradient of every hidden state, shape (N, T, H).</param>
    /// <param name="cache">The cache from <see cref="LstmForward"/>.</param>
    /// <returns>Dx (N, T, D), Dh0 (N, H), DWx (D, 4H), DWh (H, 4H), Db (4H,).</returns>
    /// <exception cref="ArgumentException">dh is not (N, T, H).</exception>
    public static LstmGrads LstmBackward(Tensor dh, LstmCache cache) =>
        Facade.Call(nameof(Layers), () => Lstm.backward(Require.NotNull(dh), Require.NotNull(cache)));

    /// <summary>
    /// The course's LSTM parameters from PyTorch's <c>nn.LSTM</c> ones: Wx = weight_ihᵀ, Wh = weight_hhᵀ,
    /// b = bias_ih + bias_hh, with the gate blocks reordered from PyTorch's i, f, g, o to the course's i, f, o, g.
    /// </summary>
    /// <param name="weightIh">PyTorch's weight_ih_l0, shape (4H, D).</param>
    /// <param name="weightHh">PyTorch's weight_hh_l0, shape (4H, H).</param>
    /// <param name="biasIh">PyTorch's bias_ih_l0, shape (4H,).</param>
    /// <param name="biasHh">PyTorch's bias_hh_l0, shape (4H,).</param>
    /// <returns>Wx (D, 4H), Wh (H, 4H) and b (4H,) for <see cref="LstmForward"/>.</returns>
    /// <exception cref="ArgumentException">The shapes do not fit (4H, D), (4H, H), (4H,), (4H,).</exception>
    public static (Tensor Wx, Tensor Wh, Tensor B) LstmFromPyTorch(Tensor weightIh, Tensor weightHh, Tensor biasIh, Tensor biasHh)
    {
        var r = Facade.Call(nameof(Layers), () => Lstm.ofPyTorch(Require.NotNull(weightIh), Require.NotNull(weightHh), Require.NotNull(biasIh), Require.NotNull(biasHh)));
        return (r.Item1, r.Item2, r.Item3);
    }

    /// <summary>
    /// Swaps the gate blocks o and g along the last axis (4H) of an LSTM weight or bias: the course's order
    /// i, f, o, g to PyTorch's i, f, g, o and back (the swap is its own inverse).
    /// </summary>
    /// <param name="w">A tensor whose last axis has size 4H.</param>
    /// <returns>A tensor of the same shape with the third and fourth blocks swapped.</returns>
    /// <exception cref="ArgumentException">The last axis is missing or not a multiple of 4.</exception>
    public static Tensor LstmSwapGateOrder(Tensor w) => Facade.Call(nameof(Layers), () => Lstm.swapGateOrder(Require.NotNull(w)));

    /// <summary>
    /// One GRU step with PyTorch's equations (gate order r, z, n): gx = x·Wx + bx, gh = prev_h·Wh + bh;
    /// r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r ⊙ gh_n), next_h = (1 − z) ⊙ n + z ⊙ prev_h.
    /// bx is PyTorch's bias_ih and bh its bias_hh (kept apart: b_hn sits inside r ⊙ ·); Wx = weight_ihᵀ, Wh = weight_hhᵀ.
    /// </summary>
    /// <param name="x">Input of shape (N, D).</param>
    /// <param name="prevH">Previous hidden state of shape (N, H).</param>
    /// <param name="wx">Input-to-hidden weights of shape (D, 3H).</param>
    /// <param name="wh">Hidden-to-hidden weights of shape (H, 3H).</param>
    /// <param name="bx">Input bias of shape (3H,).</param>
    /// <param name="bh">Hidden bias of shape (3H,).</param>
    /// <returns>next_h of shape (N, H) and the cache for <see cref="GruStepBackward"/>.</returns>
    /// <exception cref="ArgumentException">A rank or a size does not fit (N, D, H).</exception>
    public static (Tensor NextH, GruStepCache Cache) GruStepForward(Tensor x, Tensor prevH, Tensor wx, Tensor wh, Tensor bx, Tensor bh)
    {
        var (h, c) = Facade.Call(nameof(Layers), () => Gru.stepForward(
            Require.NotNull(x), Require.NotNull(prevH), Require.NotNull(wx), Require.NotNull(wh), Require.NotNull(bx), Require.NotNull(bh)));
        return (h, c);
    }

    /// <summary>Backward pass of one GRU step.</summary>
    /// <param name="dnextH">Upstream gradient of next_h, shape (N, H).</param>
    /// <param name="cache">The cache from <see cref="GruStepForward"/>.</param>
    /// <returns>Dx (N, D), DprevH (N, H), DWx (D, 3H), DWh (H, 3H), Dbx (3H,), Dbh (3H,).</returns>
    /// <exception cref="ArgumentException">dnextH is not (N, H).</exception>
    public static GruStepGrads GruStepBackward(Tensor dnextH, GruStepCache cache) =>
        Facade.Call(nameof(Layers), () => Gru.stepBackward(Require.NotNull(dnextH), Require.NotNull(cache)));

    /// <summary>The GRU over a sequence (PyTorch's equations, see <see cref="GruStepForward"/>).</summary>
    /// <param name="x">Inputs of shape (N, T, D).</param>
    /// <param name="h0">Initial hidden state of shape (N, H).</param>
    /// <param name="wx">Input-to-hidden weights of shape (D, 3H).</param>
    /// <param name="wh">Hidden-to-hidden weights of shape (H, 3H).</param>
    /// <param name="bx">Input bias of shape (3H,).</param>
    /// <param name="bh">Hidden bias of shape (3H,).</param>
    /// <returns>The hidden states h of shape (N, T, H) and the cache for <see cref="GruBackward"/>.</returns>
    /// <exception cref="ArgumentException">A rank or a size does not fit (N, T, D, H).</exception>
    public static (Tensor H, GruCache Cache) GruForward(Tensor x, Tensor h0, Tensor wx, Tensor wh, Tensor bx, Tensor bh)
    {
        var (h, c) = Facade.Call(nameof(Layers), () => Gru.forward(
            Require.NotNull(x), Require.NotNull(h0), Require.NotNull(wx), Require.NotNull(wh), Require.NotNull(bx), Require.NotNull(bh)));
        return (h, c);
    }

    /// <summary>Backward pass of the GRU over a sequence.</summary>
    /// <param name="dh">Upstream gradient of every hidden state, shape (N, T, H).</param>
    /// <param name="cache">The cache from <see cref="GruForward"/>.</param>
    /// <returns>Dx (N, T, D), Dh0 (N, H), DWx (D, 3H), DWh (H, 3H), Dbx (3H,), Dbh (3H,).</returns>
    /// <exception cref="ArgumentException">dh is not (N, T, H).</exception>
    public static GruGrads GruBackward(Tensor dh, GruCache cache) =>
        Facade.Call(nameof(Layers), () => Gru.backward(Require.NotNull(dh), Require.NotNull(cache)));

    /// <summary>Word embedding: out[n, t] = W[x[n, t]].</summary>
    /// <param name="x">Word indices of shape (N, T), each in [0, V).</param>
    /// <param name="w">Word vectors of shape (V, D).</param>
    /// <returns>The embedded words of shape (N, T, D) and the cache for <see cref="WordEmbeddingBackward"/>.</returns>
    /// <exception cref="ArgumentException">x is not (N, T), w is not (V, D), or an index is outside [0, V).</exception>
    public static (Tensor Out, WordEmbeddingCache Cache) WordEmbeddingForward(Indices x, Tensor w)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => WordEmbedding.forward(Require.NotNull(x), Require.NotNull(w)));
        return (o, c);
    }

    /// <summary>Backward pass of the word embedding: repeated indices accumulate (numpy's <c>np.add.at</c>).</summary>
    /// <param name="dout">Upstream gradient of shape (N, T, D).</param>
    /// <param name="cache">The cache from <see cref="WordEmbeddingForward"/>.</param>
    /// <returns>dW of shape (V, D).</returns>
    /// <exception cref="ArgumentException">dout is not (N, T, D).</exception>
    public static Tensor WordEmbeddingBackward(Tensor dout, WordEmbeddingCache cache) =>
        Facade.Call(nameof(Layers), () => WordEmbedding.backward(Require.NotNull(dout), Require.NotNull(cache)));

    /// <summary>Temporal affine: the same affine map at every step, out = x·w + b.</summary>
    /// <param name="x">Inputs of shape (N, T, D).</param>
    /// <param name="w">Weights of shape (D, M).</param>
    /// <param name="b">Bias of shape (M,).</param>
    /// <returns>The output of shape (N, T, M) and the cache for <see cref="TemporalAffineBackward"/>.</returns>
    /// <exception cref="ArgumentException">A rank or a size does not fit (N, T, D, M).</exception>
    public static (Tensor Out, TemporalAffineCache Cache) TemporalAffineForward(Tensor x, Tensor w, Tensor b)
    {
        var (o, c) = Facade.Call(nameof(Layers), () => TemporalAffine.forward(Require.NotNull(x), Require.NotNull(w), Require.NotNull(b)));
        return (o, c);
    }

    /// <summary>Backward pass of the temporal affine layer.</summary>
    /// <param name="dout">Upstream gradient of shape (N, T, M).</param>
    /// <param name="cache">The cache from <see cref="TemporalAffineForward"/>.</param>
    /// <returns>Dx (N, T, D), Dw (D, M), Db (M,).</returns>
    /// <exception cref="ArgumentException">dout is not (N, T, M).</exception>
    public static AffineGrads TemporalAffineBackward(Tensor dout, TemporalAffineCache cache) =>
        Facade.Call(nameof(Layers), () => TemporalAffine.backward(Require.NotNull(dout), Require.NotNull(cache)));
}
