namespace Functional.Api.Tests;

public class ConvTests
{
    private static Tensor Normal(int seed, params int[] shape) => Tensor.RandomNormal(Rng.Create(seed), 1.0, shape);

    /// <summary>Σₖ (f(x + h·eᵢ) − f(x − h·eᵢ))ₖ · upstreamₖ / 2h per coordinate (the course's eval_numerical_gradient_array).</summary>
    private static Tensor Numeric(Func<Tensor, Tensor> f, Tensor x, Tensor upstream, double h = 1e-5)
    {
        var xs = x.ToArray();
        var up = upstream.ToArray();
        var shape = x.Shape.ToArray();
        var grad = new double[xs.Length];
        for (var i = 0; i < xs.Length; i++)
        {
            var p = (double[])xs.Clone();
            var m = (double[])xs.Clone();
            p[i] += h;
            m[i] -= h;
            var fp = f(Tensor.FromArray(p, shape)).ToArray();
            var fm = f(Tensor.FromArray(m, shape)).ToArray();
            for (var k = 0; k < fp.Length; k++) grad[i] += (fp[k] - fm[k]) * up[k];
            grad[i] /= 2 * h;
        }

        return Tensor.FromArray(grad, shape);
    }

    private static void Close(Tensor analytic, Tensor numeric, double tolerance = 1e-7)
    {
        var report = GradCheck.Compare("grad", analytic, numeric, tolerance, floor: 1e-2);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void ConvForwardBackwardMatchNumericGradientsWithTheCommonCall()
    {
        var x = Normal(1, 2, 3, 7, 7);
        var w = Normal(2, 4, 3, 3, 3);
        var b = Normal(3, 4);
        var (outp, cache) = Layers.ConvForward(x, w, b, stride: 2, pad: 1, dilation: 1, groups: 1);
        Assert.Equal([2, 4, 4, 4], outp.Shape);
        var dout = Normal(4, 2, 4, 4, 4);
        var g = Layers.ConvBackward(dout, cache);
        Assert.Equal(x.Shape, g.Dx.Shape);
        Assert.Equal(w.Shape, g.Dw.Shape);
        Assert.Equal([4], g.Db.Shape);
        Close(g.Dx, Numeric(t => Layers.ConvForward(t, w, b, stride: 2, pad: 1).Out, x, dout));
        Close(g.Dw, Numeric(t => Layers.ConvForward(x, t, b, stride: 2, pad: 1).Out, w, dout));
        Close(g.Db, Numeric(t => Layers.ConvForward(x, w, t, stride: 2, pad: 1).Out, b, dout));
    }

    [Fact]
    public void Conv2dFastEqualsNaiveWithSeparateStridesPadsDilationAndGroups()
    {
        var x = Normal(5, 2, 4, 9, 8);
        var w = Normal(6, 6, 2, 3, 2);
        var b = Normal(7, 6);
        var (fast, fc) = Layers.ConvForward(x, w, b, dilation: 2, groups: 2, strideHeight: 2, strideWidth: 1, padHeight: 2, padWidth: 0);
        var (naive, nc) = Layers.ConvForwardNaive(x, w, b, dilation: 2, groups: 2, strideHeight: 2, strideWidth: 1, padHeight: 2, padWidth: 0);
        // H' = (9 + 4 − 5) / 2 + 1 = 5, W' = (8 − 3) / 1 + 1 = 6.
        Assert.Equal([2, 6, 5, 6], fast.Shape);
        Assert.True(GradCheck.RelativeError(fast, naive) < 1e-10);
        var dout = Normal(8, 2, 6, 5, 6);
        var gf = Layers.ConvBackward(dout, fc);
        var gn = Layers.ConvBackwardNaive(dout, nc);
        Assert.True(GradCheck.RelativeError(gf.Dx, gn.Dx) < 1e-10);
        Assert.True(GradCheck.RelativeError(gf.Dw, gn.Dw) < 1e-10);
        Assert.True(GradCheck.RelativeError(gf.Db, gn.Db) < 1e-10);
        Close(gn.Dx, Numeric(t => Layers.ConvForwardNaive(t, w, b, dilation: 2, groups: 2, strideHeight: 2, padHeight: 2).Out, x, dout));
    }

    [Fact]
    public void Conv2dErrorsNameTheArgumentAndTheSizes()
    {
        var x = Tensor.Zeros(2, 3, 5, 5);
        var w = Tensor.Zeros(4, 3, 3, 3);
        var b = Tensor.Zeros(4);

        var ex = Assert.Throws<ArgumentException>(() => Layers.ConvForward(x, Tensor.Zeros(4, 2, 3, 3), b));
        Assert.Equal("w", ex.ParamName);
        Assert.Contains("channel mismatch", ex.Message);
        Assert.Contains("(2, 3, 5, 5)", ex.Message);
        Assert.Contains("(4, 2, 3, 3)", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => Layers.ConvForward(x, w, b, pad: -1));
        Assert.Equal("pad", ex.ParamName);
        Assert.Contains("(-1, -1)", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => Layers.ConvForwardNaive(x, w, b, stride: 0));
        Assert.Equal("stride", ex.ParamName);
        Assert.StartsWith("Layers.ConvForwardNaive: ", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => Layers.ConvForward(x, Tensor.Zeros(4, 3, 8, 3), b, pad: 1));
        Assert.Contains("larger than the padded input 7×7", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => Layers.ConvForward(x, Tensor.Zeros(4, 1, 3, 3), b, groups: 2));
        Assert.Equal("groups", ex.ParamName);
        Assert.Contains("C = 3", ex.Message);

        var (_, cache) = Layers.ConvForward(x, w, b, pad: 1);
        ex = Assert.Throws<ArgumentException>(() => Layers.ConvBackward(Tensor.Zeros(2, 4, 3, 3), cache));
        Assert.Equal("dout", ex.ParamName);
        Assert.Contains("(2, 4, 5, 5)", ex.Message);
        Assert.Throws<ArgumentException>(() => Layers.ConvBackwardNaive(Tensor.Zeros(2, 4, 3, 3), cache));
        Assert.Throws<ArgumentNullException>(() => Layers.ConvForward(null!, w, b));
        Assert.Throws<ArgumentNullException>(() => Layers.ConvBackward(Tensor.Zeros(2, 4, 5, 5), null!));
    }

    [Fact]
    public void MaxPoolRoutesTheGradientToTheFirstMaximumAndFastEqualsNaive()
    {
        // One window 2×2 holding 1 4 / 4 2: the first 4 gets the gradient (ties go to the first in row-major order).
        var x = Tensor.FromArray([1.0, 4.0, 4.0, 2.0], 1, 1, 2, 2);
        var (o, c) = Layers.MaxPoolForward(x, poolHeight: 2, poolWidth: 2, stride: 2);
        Assert.Equal([4.0], o.ToArray());
        Assert.Equal([0.0, 7.0, 0.0, 0.0], Layers.MaxPoolBackward(Tensor.Full(7.0, 1, 1, 1, 1), c).ToArray());
        var (on, cn) = Layers.MaxPoolForwardNaive(x);
        Assert.Equal([4.0], on.ToArray());
        Assert.Equal([0.0, 7.0, 0.0, 0.0], Layers.MaxPoolBackwardNaive(Tensor.Full(7.0, 1, 1, 1, 1), cn).ToArray());

        var y = Normal(9, 2, 3, 7, 8);
        var (fast, fc) = Layers.MaxPoolForward(y, poolHeight: 3, poolWidth: 2, strideHeight: 2, strideWidth: 1);
        var (naive, nc) = Layers.MaxPoolForwardNaive(y, poolHeight: 3, poolWidth: 2, strideHeight: 2, strideWidth: 1);
        Assert.Equal([2, 3, 3, 7], fast.Shape);
        Assert.Equal(naive.ToArray(), fast.ToArray());
        var dout = Normal(10, 2, 3, 3, 7);
        Assert.Equal(Layers.MaxPoolBackwardNaive(dout, nc).ToArray(), Layers.MaxPoolBackward(dout, fc).ToArray());
        Close(Layers.MaxPoolBackward(dout, fc), Numeric(t => Layers.MaxPoolForwardNaive(t, 3, 2, strideHeight: 2, strideWidth: 1).Out, y, dout));

        var ex = Assert.Throws<ArgumentException>(() => Layers.MaxPoolForward(Tensor.Zeros(1, 1, 3, 3), poolHeight: 4));
        Assert.Contains("4×2", ex.Message);
        Assert.Contains("3×3", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Layers.MaxPoolForward(Tensor.Zeros(1, 1, 4, 4), stride: 0));
        Assert.Equal("stride", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => Layers.MaxPoolBackward(Tensor.Zeros(1, 1, 2, 2), c));
        Assert.Contains("(1, 1, 1, 1)", ex.Message);
    }

    [Fact]
    public void AvgPoolForwardAndBackward()
    {
        var x = Tensor.FromArray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], 1, 1, 2, 4);
        var (o, c) = Layers.AvgPoolForward(x);
        Assert.Equal([3.5, 5.5], o.ToArray());
        Assert.Equal([1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0], Layers.AvgPoolBackward(Tensor.FromArray([4.0, 8.0], 1, 1, 1, 2), c).ToArray());
        var y = Normal(11, 2, 2, 5, 6);
        var (oy, cy) = Layers.AvgPoolForward(y, poolHeight: 3, poolWidth: 2, stride: 1);
        var dout = Normal(12, 2, 2, 3, 5);
        Close(Layers.AvgPoolBackward(dout, cy), Numeric(t => Layers.AvgPoolForward(t, 3, 2, 1).Out, y, dout));
        Assert.Equal([2, 2, 3, 5], oy.Shape);
        var ex = Assert.Throws<ArgumentException>(() => Layers.AvgPoolBackward(Tensor.Zeros(2), c));
        Assert.Equal("dout", ex.ParamName);
    }

    [Fact]
    public void ConvReluAndConvReluPoolSandwiches()
    {
        var x = Normal(13, 2, 3, 6, 6);
        var w = Normal(14, 4, 3, 3, 3);
        var b = Normal(15, 4);
        var (a, ac) = Layers.ConvReluForward(x, w, b, stride: 1, pad: 1);
        var (conv, _) = Layers.ConvForward(x, w, b, stride: 1, pad: 1);
        Assert.Equal(conv.Map(v => Math.Max(v, 0.0)).ToArray(), a.ToArray());
        var ga = Layers.ConvReluBackward(Tensor.Ones(2, 4, 6, 6), ac);
        Assert.Equal(w.Shape, ga.Dw.Shape);

        var (p, pc) = Layers.ConvReluPoolForward(x, w, b, stride: 1, pad: 1, poolHeight: 2, poolWidth: 2, poolStride: 2);
        Assert.Equal([2, 4, 3, 3], p.Shape);
        var (expected, _) = Layers.MaxPoolForward(a);
        Assert.Equal(expected.ToArray(), p.ToArray());
        var dout = Normal(16, 2, 4, 3, 3);
        var g = Layers.ConvReluPoolBackward(dout, pc);
        // The chain by hand: pool, relu, conv.
        var (_, mc) = Layers.MaxPoolForward(a);
        var (_, cc) = Layers.ConvForward(x, w, b, stride: 1, pad: 1);
        var byHand = Layers.ConvBackward(Layers.MaxPoolBackward(dout, mc) * conv.Map(v => v > 0 ? 1.0 : 0.0), cc);
        Assert.Equal(byHand.Dx.ToArray(), g.Dx.ToArray());
        Assert.Equal(byHand.Dw.ToArray(), g.Dw.ToArray());
        Assert.Equal(byHand.Db.ToArray(), g.Db.ToArray());
        Assert.Throws<ArgumentNullException>(() => Layers.ConvReluPoolBackward(dout, null!));
        Assert.Throws<ArgumentException>(() => Layers.ConvReluBackward(dout, ac));
    }

    [Fact]
    public void TheSandwichesTakeThePerAxisStrideAndPadThatConvTakes()
    {
        var x = Normal(17, 2, 3, 7, 8);
        var w = Normal(18, 4, 3, 3, 3);
        var b = Normal(19, 4);
        var (conv, _) = Layers.ConvForward(x, w, b, strideHeight: 2, strideWidth: 1, padHeight: 0, padWidth: 1);
        var relu = conv.Map(v => Math.Max(v, 0.0));
        var (a, _) = Layers.ConvReluForward(x, w, b, strideHeight: 2, strideWidth: 1, padHeight: 0, padWidth: 1);
        Assert.Equal([2, 4, 3, 8], a.Shape);
        Assert.Equal(relu.ToArray(), a.ToArray());

        var (p, _) = Layers.ConvReluPoolForward(x, w, b, strideHeight: 2, strideWidth: 1, padHeight: 0, padWidth: 1,
            poolHeight: 1, poolWidth: 2, poolStrideHeight: 1, poolStrideWidth: 2);
        var (expected, _) = Layers.MaxPoolForward(relu, poolHeight: 1, poolWidth: 2, strideHeight: 1, strideWidth: 2);
        Assert.Equal([2, 4, 3, 4], p.Shape);
        Assert.Equal(expected.ToArray(), p.ToArray());
    }
}
