namespace Functional.Api.Tests;

public class TensorTests
{
    [Fact]
    public void FactoriesShapeIndexerAndToArrayWorkFromCSharp()
    {
        var t = Tensor.FromArray([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
        Assert.Equal([2, 3], t.Shape);
        Assert.Equal(2, t.Rank);
        Assert.Equal(6, t.Count);
        Assert.Equal(6.0, t[1, 2]);
        Assert.Equal([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], t.ToArray());
        Assert.Equal(0.0, Tensor.Zeros(3, 2)[2, 1]);
        Assert.Equal(1.0, Tensor.Ones(2)[1]);
        Assert.Equal(7.5, Tensor.Full(7.5, 2, 2)[1, 1]);
        Assert.Equal(0.5, Tensor.Linspace(-0.1, 0.5, 2, 3)[1, 2], 12);
        Assert.Equal(3.0, Tensor.Scalar(3.0).Item0);
    }

    [Fact]
    public void OperatorsBroadcastAndReductions()
    {
        var a = Tensor.FromArray([1.0, 2.0, 3.0, 4.0], 2, 2);
        var row = Tensor.FromArray([10.0, 20.0], 2);
        Assert.Equal([11.0, 22.0, 13.0, 24.0], (a + row).ToArray());
        Assert.Equal([2.0, 4.0, 6.0, 8.0], (a * 2.0).ToArray());
        Assert.Equal([4.0, 6.0], a.Sum([0], keepDims: false).ToArray());
        Assert.Equal([1.5, 3.5], a.Mean([1], keepDims: false).ToArray());
        Assert.Equal([1, 1], a.ArgMax(1));
        Assert.Equal([7.0, 10.0, 15.0, 22.0], Tensor.MatMul(a, a).ToArray());
        Assert.Equal([1.0, 3.0, 2.0, 4.0], a.Transpose().ToArray());
        Assert.True(a.AllClose(a + 1e-12, rtol: 1e-9, atol: 0.0));
    }

    [Fact]
    public void MisuseThrowsArgumentExceptionNamingShapes()
    {
        var a = Tensor.Zeros(2, 3);
        var ex = Assert.Throws<ArgumentException>(() => a + Tensor.Zeros(4, 5));
        Assert.Contains("(2, 3)", ex.Message);
        Assert.Contains("(4, 5)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => a.Reshape(5));
        Assert.Contains("Tensor.Reshape", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => a[2, 0]);
        Assert.Contains("out of range", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Tensor.FromArray([1.0], 2));
        Assert.Contains("Tensor.FromArray", ex.Message);
    }

    [Fact]
    public void RandomTensorsAreAPureFunctionOfTheKey()
    {
        var a = Tensor.RandomNormal(Rng.Create(3), 0.1, 4, 4);
        var b = Tensor.RandomNormal(Rng.Create(3), 0.1, 4, 4);
        Assert.Equal(a.ToArray(), b.ToArray());
        var (k1, k2) = Rng.Create(3).Split();
        Assert.NotEqual(Tensor.RandomUniform(k1, 0, 1, 5).ToArray(), Tensor.RandomUniform(k2, 0, 1, 5).ToArray());
        Assert.All(Tensor.RandomUniform(k1, -2, 2, 100).ToArray(), v => Assert.InRange(v, -2.0, 2.0));
    }

    [Fact]
    public void OperatorsNameTheOperatorWhenAnOperandIsNull()
    {
        var a = Tensor.Ones(2, 3);
        Tensor? none = null;
        var ex = Assert.Throws<ArgumentException>(() => a + none!);
        Assert.Contains("Tensor.Add", ex.Message);
        Assert.Equal("b", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => none! * 2.0);
        Assert.Contains("Tensor.Multiply", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => 1.0 - none!);
        Assert.Contains("Tensor.Subtract", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => -none!);
        Assert.Contains("Tensor.Negate", ex.Message);
        // The vectorized same-shape path gives the same values as element-by-element arithmetic.
        var x = Tensor.FromArray([1.0, -2.0, 3.5, 0.25, 8.0, -0.5], 2, 3);
        var y = Tensor.FromArray([0.5, 4.0, -1.5, 2.0, 0.125, 3.0], 2, 3);
        Assert.Equal(new[] { 1.5, 2.0, 2.0, 2.25, 8.125, 2.5 }, (x + y).ToArray());
        Assert.Equal(new[] { 0.5, -6.0, 5.0, -1.75, 7.875, -3.5 }, (x - y).ToArray());
        Assert.Equal(new[] { 0.5, -8.0, -5.25, 0.5, 1.0, -1.5 }, (x * y).ToArray());
        Assert.Equal(new[] { 3.0, 0.0, 5.5, 2.25, 10.0, 1.5 }, (2.0 + x).ToArray());
        Assert.Equal(new[] { -2.0, 4.0, -7.0, -0.5, -16.0, 1.0 }, (x * -2.0).ToArray());
    }
}
