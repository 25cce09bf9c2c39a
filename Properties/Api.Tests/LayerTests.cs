namespace Functional.Api.Tests;

public class LayerTests
{
    private static Tensor Normal(int seed, params int[] shape) => Tensor.RandomNormal(Rng.Create(seed), 1.0, shape);

    [Fact]
    public void AffineForwardBackwardMatchNumericGradients()
    {
        var x = Normal(1, 3, 2, 2);
        var w = Normal(2, 4, 5);
        var b = Normal(3, 5);
        var dout = Normal(4, 3, 5);
        var (outp, cache) = Layers.AffineForward(x, w, b);
        Assert.Equal([3, 5], outp.Shape);
        var g = Layers.AffineBackward(dout, cache);
        Assert.True(GradCheck.RelativeError(g.Dx, GradCheck.NumericOf(t => Layers.AffineForward(t, w, b).Out, x, dout)) < 1e-7);
        Assert.True(GradCheck.RelativeError(g.Dw, GradCheck.NumericOf(t => Layers.AffineForward(x, t, b).Out, w, dout)) < 1e-7);
        Assert.True(GradCheck.RelativeError(g.Db, GradCheck.NumericOf(t => Layers.AffineForward(x, w, t).Out, b, dout)) < 1e-7);
    }

    [Fact]
    public void AffineRejectsMismatchedWeightsWithAClearMessage()
    {
        var ex = Assert.Throws<ArgumentException>(() => Layers.AffineForward(Tensor.Zeros(2, 6), Tensor.Zeros(5, 3), Tensor.Zeros(3)));
        Assert.StartsWith("Layers.AffineForward: ", ex.Message);
        Assert.Contains("(5, 3)", ex.Message);
        Assert.Equal("w", ex.ParamName);
        Assert.Throws<ArgumentNullException>(() => Layers.AffineForward(null!, Tensor.Zeros(5, 3), Tensor.Zeros(3)));
    }

    [Fact]
    public void ActivationsForwardAndBackward()
    {
        var x = Tensor.FromArray([-2.0, -0.5, 0.5, 2.0], 2, 2);
        var ones = Tensor.Ones(2, 2);
        var (r, rc) = Layers.ReluForward(x);
        Assert.Equal([0.0, 0.0, 0.5, 2.0], r.ToArray());
        Assert.Equal([0.0, 0.0, 1.0, 1.0], Layers.ReluBackward(ones, rc).ToArray());
        var (l, lc) = Layers.LeakyReluForward(x, slope: 0.1);
        Assert.Equal([-0.2, -0.05, 0.5, 2.0], l.ToArray());
        Assert.Equal([0.1, 0.1, 1.0, 1.0], Layers.LeakyReluBackward(ones, lc).ToArray());
        var (s, sc) = Layers.SigmoidForward(x);
        Assert.Equal(1.0 / (1.0 + Math.Exp(2.0)), s[0, 0], 14);
        Assert.Equal(s[1, 1] * (1 - s[1, 1]), Layers.SigmoidBackward(ones, sc)[1, 1], 14);
        var (t, tc) = Layers.TanhForward(x);
        Assert.Equal(Math.Tanh(0.5), t[1, 0], 14);
        Assert.Equal(1 - t[1, 0] * t[1, 0], Layers.TanhBackward(ones, tc)[1, 0], 14);
        var (ar, arc) = Layers.AffineReluForward(x, Tensor.FromArray([1.0, -1.0], 2, 1), Tensor.Zeros(1));
        Assert.Equal([0.0, 0.0], ar.ToArray());
        Assert.Equal([0.0, 0.0, 0.0, 0.0], Layers.AffineReluBackward(Tensor.Ones(2, 1), arc).Dx.ToArray());
        Assert.Throws<ArgumentException>(() => Layers.ReluBackward(Tensor.Ones(3), rc));
    }

    [Fact]
    public void LossesAndTheirValidation()
    {
        var scores = Tensor.FromArray([1.0, 2.0, 3.0, 1.0, 1.0, 1.0], 2, 3);
        var softmax = Losses.Softmax(scores, [2, 0]);
        Assert.True(softmax.Loss > 0);
        Assert.Equal([2, 3], softmax.Dscores.Shape);
        Assert.Equal(Math.Log(3), Losses.Softmax(Tensor.Zeros(4, 3), [0, 1, 2, 0]).Loss, 12);
        var svm = Losses.Svm(scores, new List<int> { 2, 0 });
        Assert.Equal(1.0, svm.Loss, 12);
        var (penalty, grad) = Losses.L2(Tensor.FromArray([3.0, 4.0], 2), reg: 0.5);
        Assert.Equal(6.25, penalty, 12);
        Assert.Equal([1.5, 2.0], grad.ToArray());
        Assert.Equal(0.5, Losses.Accuracy(scores, [2, 1]), 12);
        var ex = Assert.Throws<ArgumentException>(() => Losses.Softmax(scores, [0, 3]));
        Assert.Contains("y[1] = 3", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Losses.Svm(scores, [0]));
        Assert.Contains("expected 2 labels", ex.Message);
    }

    [Fact]
    public void GradientCheckFindsAWrongGradientAndPassesARightOne()
    {
        var x = Tensor.Linspace(-1, 1, 3, 4);
        Func<Tensor, double> f = t => (t * t * t).SumAll();
        var right = x * x * 3.0;
        var wrong = x * x * 3.0 + 0.01;
        Assert.True(GradCheck.Check("cube", f, x, right, tolerance: 1e-6).Passed);
        var report = GradCheck.Check("cube", f, x, wrong, tolerance: 1e-6);
        Assert.False(report.Passed);
        Assert.Equal(2, report.WorstIndex.Length);
        Assert.True(GradCheck.Sparse("cube", f, x, right, count: 5, rng: Rng.Create(1), tolerance: 1e-6).Passed);
        Assert.Equal(5, GradCheck.Sparse("cube", f, x, right, count: 5, rng: Rng.Create(1)).Checked);
        Assert.True(GradCheck.CheckOf("exp", t => t.Exp(), x, Tensor.Ones(3, 4), x.Exp(), tolerance: 1e-7).Passed);
        Assert.True(GradCheck.Compare("same", right, right).Passed);
        Assert.True(GradCheck.RelativeError(GradCheck.Numeric(f, x), right) < 1e-7);
        Assert.Throws<ArgumentException>(() => GradCheck.Numeric(f, x, h: 0.0));
    }
}
