namespace Functional.Api.Tests;

public class NormTests
{
    private static Tensor Normal(int seed, params int[] shape) => Tensor.RandomNormal(Rng.Create(seed), 1.0, shape);

    private static Tensor Input(int seed, params int[] shape) => Normal(seed, shape) * 2.0 + 1.0;

    private static void AssertGradient(Tensor analytic, Func<Tensor, Tensor> f, Tensor at, Tensor upstream)
    {
        var report = GradCheck.Compare("grad", analytic, GradCheck.NumericOf(f, at, upstream), tolerance: 1e-7, floor: 1e-2);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void BatchNormTrainsWithBatchStatisticsAndReturnsTheNewState()
    {
        var x = Input(1, 8, 3);
        var gamma = Tensor.FromArray([1.0, 2.0, 3.0], 3);
        var beta = Tensor.FromArray([0.0, -1.0, 5.0], 3);
        var state = BatchNormState.Initial(3);
        var (outp, newState, cache) = Layers.BatchNormForward(x, gamma, beta, state, Mode.Train);
        Assert.Equal([8, 3], outp.Shape);
        var mean = outp.Mean([0], false);
        Assert.True(mean.AllClose(beta, 1e-12, 1e-12));
        // running = 0.9 · 0 + 0.1 · batch mean
        Assert.True(newState.RunningMean.AllClose(x.Mean([0], false) * 0.1, 1e-12, 1e-12));
        Assert.Equal([0.0, 0.0, 0.0], state.RunningMean.ToArray());

        var dout = Normal(2, 8, 3);
        var g = Layers.BatchNormBackward(dout, cache);
        var alt = Layers.BatchNormBackwardAlt(dout, cache);
        Assert.True(GradCheck.RelativeError(g.Dx, alt.Dx) < 1e-9);
        Assert.True(GradCheck.RelativeError(g.Dgamma, alt.Dgamma) < 1e-9);
        AssertGradient(g.Dx, t => Layers.BatchNormForward(t, gamma, beta, state, Mode.Train).Out, x, dout);
        AssertGradient(g.Dgamma, t => Layers.BatchNormForward(x, t, beta, state, Mode.Train).Out, gamma, dout);
        AssertGradient(g.Dbeta, t => Layers.BatchNormForward(x, gamma, t, state, Mode.Train).Out, beta, dout);
    }

    [Fact]
    public void BatchNormTestModeUsesTheRunningStatisticsAndKeepsTheState()
    {
        var state = new BatchNormState(Tensor.FromArray([1.0, -1.0], 2), Tensor.FromArray([4.0, 0.25], 2));
        var x = Tensor.FromArray([3.0, 0.0], 1, 2);
        var (outp, same, cache) = Layers.BatchNormForward(x, Tensor.Ones(2), Tensor.Zeros(2), state, Mode.Test, eps: 0.0001);
        Assert.Same(state, same);
        Assert.Equal(2.0 / Math.Sqrt(4.0001), outp[0, 0], 12);
        Assert.Equal(1.0 / Math.Sqrt(0.2501), outp[0, 1], 12);
        var g = Layers.BatchNormBackward(Tensor.Ones(1, 2), cache);
        Assert.Equal(1.0 / Math.Sqrt(4.0001), g.Dx[0, 0], 12);
        // A different momentum changes the update.
        var (_, s2, _) = Layers.BatchNormForward(Input(3, 4, 2), Tensor.Ones(2), Tensor.Zeros(2), state, Mode.Train, momentum: 0.0);
        Assert.True(s2.RunningMean.AllClose(Input(3, 4, 2).Mean([0], false), 1e-12, 1e-12));
    }

    [Fact]
    public void BatchNormErrorsNameTheProblem()
    {
        var state = BatchNormState.Initial(3);
        var ex = Assert.Throws<ArgumentException>(() =>
            Layers.BatchNormForward(Tensor.Ones(1, 3), Tensor.Ones(3), Tensor.Zeros(3), state, Mode.Train));
        Assert.Contains("N >= 2", ex.Message);
        Assert.Equal("x", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() =>
            Layers.BatchNormForward(Tensor.Ones(4, 3), Tensor.Ones(2), Tensor.Zeros(3), state, Mode.Train));
        Assert.Contains("gamma must have shape (D,) = (3,), got (2,)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() =>
            Layers.BatchNormForward(Tensor.Ones(4, 3), Tensor.Ones(3), Tensor.Zeros(3), state, Mode.Train, eps: -1));
        Assert.Contains("eps must be finite and > 0", ex.Message);
        ex = Assert.Throws<ArgumentException>(() =>
            Layers.BatchNormForward(Tensor.Ones(4, 3), Tensor.Ones(3), Tensor.Zeros(3), state, Mode.Train, momentum: 2));
        Assert.Contains("momentum must be in [0, 1]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() =>
            Layers.BatchNormForward(Tensor.Ones(4, 3), Tensor.Ones(3), Tensor.Zeros(3), BatchNormState.Initial(2), Mode.Test));
        Assert.Contains("state.RunningMean must have shape (3,), got (2,)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => BatchNormState.Initial(0));
        Assert.Contains("BatchNormState.Initial", ex.Message);
        Assert.Throws<ArgumentNullException>(() =>
            Layers.BatchNormForward(Tensor.Ones(4, 3), Tensor.Ones(3), Tensor.Zeros(3), null!, Mode.Train));
        var (_, _, cache) = Layers.BatchNormForward(Tensor.Ones(4, 3), Tensor.Ones(3), Tensor.Zeros(3), state, Mode.Train);
        ex = Assert.Throws<ArgumentException>(() => Layers.BatchNormBackward(Tensor.Ones(3, 4), cache));
        Assert.Contains("dout must have the forward output's shape (4, 3), got (3, 4)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Layers.BatchNormBackwardAlt(Tensor.Ones(4), cache));
        Assert.StartsWith("Layers.BatchNormBackwardAlt: ", ex.Message);
    }

    [Fact]
    public void LayerNormNormalizesEachSampleAndChecksItsGradients()
    {
        var x = Input(4, 1, 5);
        var gamma = Normal(5, 5);
        var beta = Normal(6, 5);
        var (outp, cache) = Layers.LayerNormForward(x, gamma, beta);
        var (plain, _) = Layers.LayerNormForward(x, Tensor.Ones(5), Tensor.Zeros(5));
        Assert.Equal(0.0, plain.Mean([1], false)[0], 12);
        Assert.True(outp.AllClose(plain * gamma + beta, 1e-12, 1e-12));
        var dout = Normal(7, 1, 5);
        var g = Layers.LayerNormBackward(dout, cache);
        AssertGradient(g.Dx, t => Layers.LayerNormForward(t, gamma, beta).Out, x, dout);
        AssertGradient(g.Dgamma, t => Layers.LayerNormForward(x, t, beta).Out, gamma, dout);
        AssertGradient(g.Dbeta, t => Layers.LayerNormForward(x, gamma, t).Out, beta, dout);
        var ex = Assert.Throws<ArgumentException>(() => Layers.LayerNormForward(Tensor.Ones(2, 5, 1), gamma, beta));
        Assert.StartsWith("Layers.LayerNormForward: ", ex.Message);
        Assert.Contains("rank-2", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Layers.LayerNormBackward(Tensor.Ones(2, 5), cache));
        Assert.Contains("(1, 5)", ex.Message);
    }

    [Fact]
    public void SpatialBatchNormIsBatchNormOverTheTransposedData()
    {
        var x = Input(8, 2, 3, 2, 2);
        var gamma = Normal(9, 3);
        var beta = Normal(10, 3);
        var state = BatchNormState.Initial(3);
        var (outp, s, cache) = Layers.SpatialBatchNormForward(x, gamma, beta, state, Mode.Train);
        var rows = x.Transpose(0, 2, 3, 1).Reshape(8, 3);
        var (outRows, sRows, _) = Layers.BatchNormForward(rows, gamma, beta, state, Mode.Train);
        Assert.True(outp.AllClose(outRows.Reshape(2, 2, 2, 3).Transpose(0, 3, 1, 2), 1e-12, 1e-12));
        Assert.True(s.RunningVar.AllClose(sRows.RunningVar, 1e-12, 1e-12));
        var dout = Normal(11, 2, 3, 2, 2);
        var g = Layers.SpatialBatchNormBackward(dout, cache);
        AssertGradient(g.Dx, t => Layers.SpatialBatchNormForward(t, gamma, beta, state, Mode.Train).Out, x, dout);
        AssertGradient(g.Dgamma, t => Layers.SpatialBatchNormForward(x, t, beta, state, Mode.Train).Out, gamma, dout);
        var (testOut, same, _) = Layers.SpatialBatchNormForward(x, gamma, beta, s, Mode.Test);
        Assert.Same(s, same);
        Assert.Equal([2, 3, 2, 2], testOut.Shape);
        var ex = Assert.Throws<ArgumentException>(() =>
            Layers.SpatialBatchNormForward(Tensor.Ones(1, 3, 1, 1), gamma, beta, state, Mode.Train));
        Assert.Contains("N*H*W >= 2", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Layers.SpatialBatchNormBackward(Tensor.Ones(2, 3, 2), cache));
        Assert.StartsWith("Layers.SpatialBatchNormBackward: ", ex.Message);
    }

    [Fact]
    public void GroupInstanceAndSpatialLayerNorm()
    {
        var x = Input(12, 2, 4, 2, 3);
        var gamma = Normal(13, 4);
        var beta = Normal(14, 4);
        var dout = Normal(15, 2, 4, 2, 3);
        var (outp, cache) = Layers.GroupNormForward(x, gamma, beta, groups: 2);
        Assert.Equal([2, 4, 2, 3], outp.Shape);
        var g = Layers.GroupNormBackward(dout, cache);
        AssertGradient(g.Dx, t => Layers.GroupNormForward(t, gamma, beta, 2).Out, x, dout);
        AssertGradient(g.Dgamma, t => Layers.GroupNormForward(x, t, beta, 2).Out, gamma, dout);
        AssertGradient(g.Dbeta, t => Layers.GroupNormForward(x, gamma, t, 2).Out, beta, dout);

        var (inst, instCache) = Layers.InstanceNormForward(x, gamma, beta);
        Assert.Equal(Layers.GroupNormForward(x, gamma, beta, groups: 4).Out.ToArray(), inst.ToArray());
        AssertGradient(Layers.InstanceNormBackward(dout, instCache).Dx, t => Layers.InstanceNormForward(t, gamma, beta).Out, x, dout);

        var (layer, layerCache) = Layers.SpatialLayerNormForward(x, gamma, beta);
        Assert.Equal(Layers.GroupNormForward(x, gamma, beta, groups: 1).Out.ToArray(), layer.ToArray());
        AssertGradient(Layers.SpatialLayerNormBackward(dout, layerCache).Dx, t => Layers.SpatialLayerNormForward(t, gamma, beta).Out, x, dout);

        var ex = Assert.Throws<ArgumentException>(() => Layers.GroupNormForward(x, gamma, beta, groups: 3));
        Assert.Contains("C = 4", ex.Message);
        Assert.Contains("G = 3", ex.Message);
        Assert.Equal("groups", ex.ParamName);
        // The course's (1, C, 1, 1) gamma and beta: the same output, the gradients in that shape with the same values.
        var (course, courseCache) = Layers.GroupNormForward(x, gamma.Reshape(1, 4, 1, 1), beta.Reshape(1, 4, 1, 1), groups: 2);
        var (flat, flatCache) = Layers.GroupNormForward(x, gamma, beta, groups: 2);
        Assert.Equal(flat.ToArray(), course.ToArray());
        var (courseGrads, flatGrads) = (Layers.GroupNormBackward(dout, courseCache), Layers.GroupNormBackward(dout, flatCache));
        Assert.Equal([1, 4, 1, 1], courseGrads.Dgamma.Shape);
        Assert.Equal([1, 4, 1, 1], courseGrads.Dbeta.Shape);
        Assert.Equal(flatGrads.Dgamma.ToArray(), courseGrads.Dgamma.ToArray());
        Assert.Equal(flatGrads.Dbeta.ToArray(), courseGrads.Dbeta.ToArray());
        Assert.Equal(flatGrads.Dx.ToArray(), courseGrads.Dx.ToArray());
        ex = Assert.Throws<ArgumentException>(() => Layers.GroupNormForward(x, gamma.Reshape(1, 4, 1, 1), beta, groups: 2));
        Assert.Contains("the same shape", ex.Message);
        Assert.Equal("beta", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => Layers.InstanceNormForward(x, gamma, beta, eps: 0));
        Assert.StartsWith("Layers.InstanceNormForward: ", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Layers.SpatialLayerNormForward(Tensor.Ones(2, 4), gamma, beta));
        Assert.Contains("rank-4", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Layers.InstanceNormBackward(Tensor.Ones(1), instCache));
        Assert.StartsWith("Layers.InstanceNormBackward: ", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Layers.SpatialLayerNormBackward(Tensor.Ones(1), layerCache));
        Assert.StartsWith("Layers.SpatialLayerNormBackward: ", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Layers.GroupNormBackward(Tensor.Ones(1), cache));
        Assert.StartsWith("Layers.GroupNormBackward: ", ex.Message);
    }

    [Fact]
    public void DropoutKeepsUnitsWithProbabilityKeepProbAndIsReproducible()
    {
        var x = Normal(16, 40, 50);
        var rng = Rng.Create(17);
        var (outp, cache) = Layers.DropoutForward(x, keepProb: 0.75, Mode.Train, rng);
        var mask = Layers.DropoutMask(0.75, rng, 40, 50);
        Assert.True(outp.AllClose(x * mask / 0.75, 1e-15, 0));
        // 2000 units, kept fraction within 7 standard deviations (0.068) of 0.75.
        Assert.InRange(mask.SumAll() / 2000, 0.75 - 0.068, 0.75 + 0.068);
        Assert.Equal(outp.ToArray(), Layers.DropoutForward(x, 0.75, Mode.Train, Rng.Create(17)).Out.ToArray());
        var dout = Normal(18, 40, 50);
        Assert.True(Layers.DropoutBackward(dout, cache).AllClose(dout * mask / 0.75, 1e-15, 0));

        var (same, testCache) = Layers.DropoutForward(x, 0.5, Mode.Test, rng);
        Assert.Equal(x.ToArray(), same.ToArray());
        Assert.Equal(dout.ToArray(), Layers.DropoutBackward(dout, testCache).ToArray());
        Assert.Equal(x.ToArray(), Layers.DropoutForward(x, 1.0, Mode.Train, rng).Out.ToArray());

        var ex = Assert.Throws<ArgumentException>(() => Layers.DropoutForward(x, 0.0, Mode.Train, rng));
        Assert.Contains("probability of keeping a unit", ex.Message);
        Assert.Equal("keepProb", ex.ParamName);
        Assert.Throws<ArgumentException>(() => Layers.DropoutMask(1.5, rng, 2));
        ex = Assert.Throws<ArgumentException>(() => Layers.DropoutForward(x, 0.5, Mode.Train));
        Assert.Contains("required in training mode", ex.Message);
        Assert.Equal("rng", ex.ParamName);
        // Test mode needs no key.
        var (noKey, noKeyCache) = Layers.DropoutForward(x, 0.5, Mode.Test);
        Assert.Equal(x.ToArray(), noKey.ToArray());
        Assert.Equal(dout.ToArray(), Layers.DropoutBackward(dout, noKeyCache).ToArray());
        ex = Assert.Throws<ArgumentException>(() => Layers.DropoutBackward(Tensor.Ones(2), cache));
        Assert.Contains("(40, 50)", ex.Message);
    }
}
