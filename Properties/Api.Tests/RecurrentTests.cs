namespace Functional.Api.Tests;

public class RecurrentTests
{
    private static Tensor Normal(int seed, params int[] shape) => Tensor.RandomNormal(Rng.Create(seed), 1.0, shape);

    private static void Close(Tensor analytic, Tensor numeric, double tolerance = 1e-7)
    {
        var report = GradCheck.Compare("grad", analytic, numeric, tolerance, floor: 1e-2);
        Assert.True(report.Passed, report.ToString());
    }

    private static void Values(double[,] expected, Tensor actual)
    {
        Assert.Equal([expected.GetLength(0), expected.GetLength(1)], actual.Shape);
        for (var i = 0; i < expected.GetLength(0); i++)
            for (var j = 0; j < expected.GetLength(1); j++)
                if (!double.IsNaN(expected[i, j]))
                    Assert.Equal(expected[i, j], actual[i, j], 7);
    }

    [Fact]
    public void RnnStepForwardGivesTheCoursesCheckValues()
    {
        // RNN_Captioning.ipynb: N, D, H = 3, 10, 4, inputs from linspace.
        var x = Tensor.Linspace(-0.4, 0.7, 3, 10);
        var prevH = Tensor.Linspace(-0.2, 0.5, 3, 4);
        var wx = Tensor.Linspace(-0.1, 0.9, 10, 4);
        var wh = Tensor.Linspace(-0.3, 0.7, 4, 4);
        var b = Tensor.Linspace(-0.2, 0.4, 4);
        var (nextH, _) = Layers.RnnStepForward(x, prevH, wx, wh, b);
        Values(new[,]
        {
            { -0.58172089, -0.50182032, -0.41232771, -0.31410098 },
            { 0.66854692, 0.79562378, 0.87755553, 0.92795967 },
            { 0.97934501, 0.99144213, 0.99646691, 0.99854353 },
        }, nextH);
    }

    [Fact]
    public void LstmStepForwardGivesTheCoursesCheckValues()
    {
        // LSTM_Captioning.ipynb: N, D, H = 3, 4, 5, gate order i, f, o, g. The last next_h entry is left out (NaN):
        // the value recalled for it, 0.85637183, disagrees with o ⊙ tanh(next_c) while all fifteen next_c entries
        // and the other fourteen next_h entries agree to 1e-8, so the recollection is taken to be wrong.
        var x = Tensor.Linspace(-0.4, 1.2, 3, 4);
        var prevH = Tensor.Linspace(-0.3, 0.7, 3, 5);
        var prevC = Tensor.Linspace(-0.4, 0.9, 3, 5);
        var wx = Tensor.Linspace(-2.1, 1.3, 4, 20);
        var wh = Tensor.Linspace(-0.7, 2.2, 5, 20);
        var b = Tensor.Linspace(0.3, 0.7, 20);
        var (nextH, nextC, _) = Layers.LstmStepForward(x, prevH, prevC, wx, wh, b);
        Values(new[,]
        {
            { 0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904 },
            { 0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181 },
            { 0.56735664, 0.66310127, 0.74419266, 0.80889665, double.NaN },
        }, nextH);
        Values(new[,]
        {
            { 0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407 },
            { 0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345 },
            { 0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676 },
        }, nextC);
    }

    [Fact]
    public void RnnSequenceBackwardMatchesNumericGradientsAndChainedSteps()
    {
        var x = Normal(1, 2, 3, 4);
        var h0 = Normal(2, 2, 5);
        var wx = Normal(3, 4, 5) * 0.5;
        var wh = Normal(4, 5, 5) * 0.4;
        var b = Normal(5, 5);
        var dh = Normal(6, 2, 3, 5);
        var (h, cache) = Layers.RnnForward(x, h0, wx, wh, b);
        Assert.Equal([2, 3, 5], h.Shape);
        var g = Layers.RnnBackward(dh, cache);
        Close(g.Dx, GradCheck.NumericOf(t => Layers.RnnForward(t, h0, wx, wh, b).H, x, dh));
        Close(g.Dh0, GradCheck.NumericOf(t => Layers.RnnForward(x, t, wx, wh, b).H, h0, dh));
        Close(g.DWx, GradCheck.NumericOf(t => Layers.RnnForward(x, h0, t, wh, b).H, wx, dh));
        Close(g.DWh, GradCheck.NumericOf(t => Layers.RnnForward(x, h0, wx, t, b).H, wh, dh));
        Close(g.Db, GradCheck.NumericOf(t => Layers.RnnForward(x, h0, wx, wh, t).H, b, dh));

        // The last step of the sequence is a step from the previous hidden state.
        var xLast = Tensor.FromArray(x.Slice(1, 2, 3).ToArray(), 2, 4);
        var hPrev = Tensor.FromArray(h.Slice(1, 1, 2).ToArray(), 2, 5);
        var (nextH, _) = Layers.RnnStepForward(xLast, hPrev, wx, wh, b);
        Assert.True(nextH.AllClose(Tensor.FromArray(h.Slice(1, 2, 3).ToArray(), 2, 5), 1e-12, 1e-14));
    }

    [Fact]
    public void LstmAndGruBackwardMatchNumericGradients()
    {
        var x = Normal(1, 2, 3, 4);
        var h0 = Normal(2, 2, 3);
        var dh = Normal(3, 2, 3, 3);
        var (wx, wh, b) = (Normal(4, 4, 12) * 0.5, Normal(5, 3, 12) * 0.5, Normal(6, 12));
        var lstm = Layers.LstmBackward(dh, Layers.LstmForward(x, h0, wx, wh, b).Cache);
        Close(lstm.Dx, GradCheck.NumericOf(t => Layers.LstmForward(t, h0, wx, wh, b).H, x, dh));
        Close(lstm.DWh, GradCheck.NumericOf(t => Layers.LstmForward(x, h0, wx, t, b).H, wh, dh));

        var (gx, gh, bx, bh) = (Normal(7, 4, 9) * 0.5, Normal(8, 3, 9) * 0.5, Normal(9, 9), Normal(10, 9));
        var gru = Layers.GruBackward(dh, Layers.GruForward(x, h0, gx, gh, bx, bh).Cache);
        Close(gru.Dh0, GradCheck.NumericOf(t => Layers.GruForward(x, t, gx, gh, bx, bh).H, h0, dh));
        Close(gru.Dbh, GradCheck.NumericOf(t => Layers.GruForward(x, h0, gx, gh, bx, t).H, bh, dh));

        var prevC = Normal(11, 2, 3);
        var (dnh, dnc) = (Normal(12, 2, 3), Normal(13, 2, 3));
        var x0 = Normal(14, 2, 4);
        var step = Layers.LstmStepBackward(dnh, dnc, Layers.LstmStepForward(x0, h0, prevC, wx, wh, b).Cache);
        Close(step.DprevC, GradCheck.NumericOf(t =>
        {
            var (nh, nc, _) = Layers.LstmStepForward(x0, h0, t, wx, wh, b);
            return nh * dnh + nc * dnc;
        }, prevC, Tensor.Ones(2, 3)));
    }

    [Fact]
    public void LstmWeightsConvertFromPyTorch()
    {
        var (wih, whh, bih, bhh) = (Normal(1, 8, 3), Normal(2, 8, 2), Normal(3, 8), Normal(4, 8));
        var (wx, wh, b) = Layers.LstmFromPyTorch(wih, whh, bih, bhh);
        Assert.Equal([3, 8], wx.Shape);
        Assert.Equal([2, 8], wh.Shape);
        // Course order i, f, o, g against PyTorch's i, f, g, o: column 4 (o) of Wx is row 6 (o) of weight_ih, column 6 (g) is row 4.
        Assert.Equal(wih[6, 1], wx[1, 4]);
        Assert.Equal(wih[4, 0], wx[0, 6]);
        Assert.Equal(bih[7] + bhh[7], b[5]);
        Assert.Equal(wx.ToArray(), Layers.LstmSwapGateOrder(Layers.LstmSwapGateOrder(wx)).ToArray());
    }

    [Fact]
    public void WordEmbeddingAccumulatesRepeatedIndices()
    {
        var x = Indices.FromArray([0, 3, 1, 3, 3, 0], 2, 3);
        var w = Tensor.Linspace(0, 1, 4, 2);
        var (o, cache) = Layers.WordEmbeddingForward(x, w);
        Assert.Equal([2, 3, 2], o.Shape);
        Assert.Equal(w[3, 1], o[1, 0, 1]);
        var dw = Layers.WordEmbeddingBackward(Tensor.Ones(2, 3, 2), cache);
        Assert.Equal([2.0, 2.0, 1.0, 1.0, 0.0, 0.0, 3.0, 3.0], dw.ToArray());
    }

    [Fact]
    public void TemporalAffineMatchesNumericGradients()
    {
        var x = Normal(1, 2, 3, 4);
        var w = Normal(2, 4, 5);
        var b = Normal(3, 5);
        var dout = Normal(4, 2, 3, 5);
        var (o, cache) = Layers.TemporalAffineForward(x, w, b);
        Assert.Equal([2, 3, 5], o.Shape);
        var g = Layers.TemporalAffineBackward(dout, cache);
        Close(g.Dx, GradCheck.NumericOf(t => Layers.TemporalAffineForward(t, w, b).Out, x, dout));
        Close(g.Dw, GradCheck.NumericOf(t => Layers.TemporalAffineForward(x, t, b).Out, w, dout));
        Close(g.Db, GradCheck.NumericOf(t => Layers.TemporalAffineForward(x, w, t).Out, b, dout));
    }

    [Fact]
    public void TemporalSoftmaxSumsUnmaskedStepsOverN()
    {
        var scores = Tensor.Zeros(2, 3, 4);
        var y = Indices.FromArray([0, 1, 2, 3, 0, 1], 2, 3);
        var mask = Mask.FromArray([true, true, false, true, false, false], 2, 3);
        // Uniform scores: each unmasked step costs log V; three of them, divided by N = 2.
        var r = Losses.TemporalSoftmax(scores, y, mask);
        Assert.Equal(3 * Math.Log(4) / 2, r.Loss, 12);
        Assert.Equal(0.0, r.Dscores[0, 2, 1]);
        Assert.Equal((0.25 - 1) / 2, r.Dscores[1, 0, 3], 12);
        Assert.Equal(6 * Math.Log(4) / 2, Losses.TemporalSoftmax(scores, y).Loss, 12);
        var low = Losses.TemporalSoftmax(scores - 1e4, y, mask);
        Assert.Equal(r.Loss, low.Loss, 9);
        var numeric = GradCheck.Numeric(s => Losses.TemporalSoftmax(s, y, mask).Loss, Normal(5, 2, 3, 4));
        Close(Losses.TemporalSoftmax(Normal(5, 2, 3, 4), y, mask).Dscores, numeric);
    }

    [Fact]
    public void BadInputGetsAClearMessage()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Layers.RnnForward(Tensor.Zeros(2, 3, 4), Tensor.Zeros(3, 5), Tensor.Zeros(4, 5), Tensor.Zeros(5, 5), Tensor.Zeros(5)));
        Assert.Equal("h0", ex.ParamName);
        Assert.StartsWith("Layers.RnnForward: ", ex.Message);
        Assert.Contains("N = 2", ex.Message);
        Assert.Contains("(3, 5)", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => Layers.WordEmbeddingForward(Indices.FromArray([0, 7], 1, 2), Tensor.Zeros(5, 3)));
        Assert.Equal("x", ex.ParamName);
        Assert.Contains("x[0, 1] = 7", ex.Message);

        ex = Assert.Throws<ArgumentException>(() =>
            Losses.TemporalSoftmax(Tensor.Zeros(2, 3, 4), Indices.FromArray([0, 1, 2, 3, 0, 1], 2, 3), Mask.Full(true, 3, 2)));
        Assert.Equal("mask", ex.ParamName);
        Assert.StartsWith("Losses.TemporalSoftmax: ", ex.Message);
        Assert.Contains("(3, 2)", ex.Message);

        Assert.Throws<ArgumentNullException>(() => Layers.LstmForward(null!, Tensor.Zeros(1, 1), Tensor.Zeros(1, 4), Tensor.Zeros(1, 4), Tensor.Zeros(4)));
        Assert.Throws<ArgumentNullException>(() => Losses.TemporalSoftmax(Tensor.Zeros(1, 1, 2), null!));
    }

    [Fact]
    public void TheReadmeRecurrentExampleRunsAndItsGradientCheckPasses()
    {
        // README-BEGIN recurrent
        var key = Rng.Create(1);
        var x = Tensor.RandomNormal(key.Derive(0), 1.0, 2, 5, 3);              // (N, T, D)
        var h0 = Tensor.Zeros(2, 4);                                            // (N, H)
        var wx = Tensor.RandomNormal(key.Derive(1), 0.5, 3, 16);                // (D, 4H), gates i, f, o, g
        var wh = Tensor.RandomNormal(key.Derive(2), 0.5, 4, 16);                // (H, 4H)
        var b = Tensor.Zeros(16);
        var wVocab = Tensor.RandomNormal(key.Derive(3), 0.5, 4, 10);            // (H, V)
        var bVocab = Tensor.Zeros(10);
        var y = Indices.FromArray([1, 2, 3, 0, 0, 4, 5, 6, 7, 0], 2, 5);       // targets (N, T) in [0, V)

        double Loss(Tensor wx2)
        {
            var (hs, _) = Layers.LstmForward(x, h0, wx2, wh, b);                // (N, T, H)
            var (s, _) = Layers.TemporalAffineForward(hs, wVocab, bVocab);      // (N, T, V)
            return Losses.TemporalSoftmax(s, y, mask: y.NotEqual(0)).Loss;      // sum over unmasked steps / N
        }

        var (h, lstmCache) = Layers.LstmForward(x, h0, wx, wh, b);
        var (scores, affineCache) = Layers.TemporalAffineForward(h, wVocab, bVocab);
        var loss = Losses.TemporalSoftmax(scores, y, mask: y.NotEqual(0));
        var dh = Layers.TemporalAffineBackward(loss.Dscores, affineCache).Dx;
        var grads = Layers.LstmBackward(dh, lstmCache);                         // Dx, Dh0, DWx, DWh, Db
        var report = GradCheck.Check("lstm dWx", Loss, wx, grads.DWx);
        // README-END recurrent
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(loss.Loss, Loss(wx));
    }
}
