namespace Functional.Api.Tests;

/// <summary>
/// Verify from C#: a correct layer (the library's own, wrapped) passes; deliberately broken C# layers fail with the
/// right output, a shrunk configuration that shows the bug, and the hint that names it.
/// </summary>
public class VerifyTests
{
    private const int Cases = 40;

    private static Tensor Zeros(IReadOnlyList<int> shape) =>
        Tensor.FromArray(new double[shape.Aggregate(1, (a, b) => a * b)], shape.ToArray());

    private static (Tensor Out, ConvCache Cache) LibraryConv(Tensor x, Tensor w, Tensor b, ConvConfig cfg) =>
        Layers.ConvForward(x, w, b, strideHeight: cfg.StrideH, strideWidth: cfg.StrideW,
            padHeight: cfg.PadH, padWidth: cfg.PadW);

    [Fact]
    public void TheLibrarysOwnLayersPass()
    {
        var reports = new[]
        {
            Verify.Convolution(LibraryConv, Layers.ConvBackward, cases: 10),
            Verify.MaxPool(
                (x, cfg) => Layers.MaxPoolForward(x, cfg.PoolHeight, cfg.PoolWidth,
                    strideHeight: cfg.StrideH, strideWidth: cfg.StrideW),
                Layers.MaxPoolBackward, cases: Cases),
            Verify.BatchNorm(
                (x, gamma, beta, state, mode) => Layers.BatchNormForward(x, gamma, beta, state, mode),
                Layers.BatchNormBackward, cases: Cases),
            Verify.Affine(Layers.AffineForward, Layers.AffineBackward, cases: Cases),
            Verify.SoftmaxLoss(Losses.Softmax, cases: Cases),
            Verify.Lstm(Layers.LstmForward, Layers.LstmBackward, cases: 10),
        };
        foreach (var r in reports)
            Assert.True(r.Passed, r.ToString());
    }

    [Fact]
    public void AConvolutionBackwardThatDropsDxAtPadZeroFailsWithThePadHint()
    {
        var r = Verify.Convolution(
            (x, w, b, cfg) =>
            {
                var (o, c) = LibraryConv(x, w, b, cfg);
                return (o, (Cache: c, Config: cfg));
            },
            (dout, cache) =>
            {
                var g = Layers.ConvBackward(dout, cache.Cache);
                return cache.Config is { PadH: 0, PadW: 0 } ? new ConvGrads(Zeros(g.Dx.Shape), g.Dw, g.Db) : g;
            },
            cases: 60, seed: 1);

        Assert.Equal(VerifyStatus.Fail, r.Status);
        Assert.NotNull(r.Failure);
        Assert.Equal("dx", r.Failure.Output);
        Assert.Equal(0.0, r.Failure.Parameters["pad_h"]);
        Assert.Equal(0.0, r.Failure.Parameters["pad_w"]);
        // Shrunk to the smallest convolution: one image, one channel, one filter.
        Assert.Equal(1.0, r.Failure.Parameters["N"]);
        Assert.Equal(1.0, r.Failure.Parameters["C"]);
        Assert.Equal(1.0, r.Failure.Parameters["F"]);
        Assert.Contains("pad 0", r.Hint);
        Assert.Contains(r.Outputs, o => o.Output == "out" && o.Passed);
        Assert.Contains(r.Outputs, o => o.Output == "dw" && o.Passed);
        Assert.Contains("smallest failing case", r.ToString());
    }

    /// <summary>Max-pool backward that finds the arg-max's row with pool_height where it needs pool_width.</summary>
    private static Tensor SwappedWindowBackward(Tensor dout, (Tensor X, PoolConfig Cfg) cache)
    {
        var (x, cfg) = cache;
        int n = x.Shape[0], ch = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int ho = dout.Shape[2], wo = dout.Shape[3];
        var xa = x.ToArray();
        var da = dout.ToArray();
        var dx = new double[xa.Length];
        for (var i = 0; i < n * ch; i++)
        for (var r = 0; r < ho; r++)
        for (var q = 0; q < wo; q++)
        {
            var best = 0;
            var bestValue = double.NegativeInfinity;
            for (var a = 0; a < cfg.PoolHeight; a++)
            for (var b = 0; b < cfg.PoolWidth; b++)
            {
                var v = xa[i * h * w + (r * cfg.StrideH + a) * w + q * cfg.StrideW + b];
                if (v > bestValue)
                {
                    bestValue = v;
                    best = a * cfg.PoolWidth + b;
                }
            }

            int row = r * cfg.StrideH + best / cfg.PoolHeight, col = q * cfg.StrideW + best % cfg.PoolHeight;
            if (row < h && col < w)
                dx[i * h * w + row * w + col] += da[(i * ho + r) * wo + q];
        }

        return Tensor.FromArray(dx, x.Shape.ToArray());
    }

    [Fact]
    public void AMaxPoolBackwardWithTheWrongWindowSizeFailsOnNonSquareWindows()
    {
        var r = Verify.MaxPool(
            (x, cfg) =>
            {
                var (o, _) = Layers.MaxPoolForward(x, cfg.PoolHeight, cfg.PoolWidth,
                    strideHeight: cfg.StrideH, strideWidth: cfg.StrideW);
                return (o, (X: x, Cfg: cfg));
            },
            SwappedWindowBackward, cases: 60, seed: 2);

        Assert.Equal(VerifyStatus.Fail, r.Status);
        Assert.NotNull(r.Failure);
        Assert.Equal("dx", r.Failure.Output);
        Assert.NotEqual(r.Failure.Parameters["pool_height"], r.Failure.Parameters["pool_width"]);
        Assert.Contains("wrong window size", r.Hint);
    }

    [Fact]
    public void AnAdamWithoutBiasCorrectionFailsAtTheFirstStep()
    {
        var r = Verify.Adam(
            w => (M: new double[w.Shape.Aggregate(1, (a, b) => a * b)], V: new double[w.Shape.Aggregate(1, (a, b) => a * b)]),
            (w, dw, state, config) =>
            {
                var ws = w.ToArray();
                var g = dw.ToArray();
                var m = state.M.Select((v, i) => config.Beta1 * v + (1 - config.Beta1) * g[i]).ToArray();
                var v2 = state.V.Select((v, i) => config.Beta2 * v + (1 - config.Beta2) * g[i] * g[i]).ToArray();
                var next = ws.Select((v, i) => v - config.LearningRate * m[i] / (Math.Sqrt(v2[i]) + config.Epsilon));
                return (Tensor.FromArray(next.ToArray(), w.Shape.ToArray()), (m, v2));
            },
            cases: Cases, seed: 3);

        Assert.Equal(VerifyStatus.Fail, r.Status);
        Assert.NotNull(r.Failure);
        Assert.Equal(1.0, r.Failure.Parameters["steps"]);
        Assert.Contains("bias-corrected", r.Hint);
    }

    [Fact]
    public void ABatchNormBackwardOffByTwoIsToldApartFromAWrongForward()
    {
        var r = Verify.BatchNorm(
            (x, gamma, beta, state, mode) => Layers.BatchNormForward(x, gamma, beta, state, mode),
            (dout, cache) =>
            {
                var g = Layers.BatchNormBackward(dout, cache);
                return new NormGrads(g.Dx * 2.0, g.Dgamma, g.Dbeta);
            },
            cases: Cases, seed: 4);

        Assert.Equal(VerifyStatus.Fail, r.Status);
        Assert.Equal("dx", r.Failure!.Output);
        Assert.Contains("forward pass is right but the backward is off by a constant factor 2", r.Hint);
        // Forward right, backward wrong: dx fails against both oracles, the forward passes.
        Assert.Contains(r.Outputs, o => o is { Output: "out", Passed: true });
        Assert.Contains(r.Outputs, o => o is { Output: "dx", Oracle: Oracle.Reference, Passed: false });
        Assert.Contains(r.Outputs, o => o is { Output: "dx", Oracle: Oracle.Numeric, Passed: false });
    }

    [Fact]
    public void AWrongForwardWithAConsistentBackwardFailsTheReferenceButNotTheNumericGradient()
    {
        // out = x·(2w) + b, with the gradients of that (wrong) forward.
        var r = Verify.Affine(
            (x, w, b) => Layers.AffineForward(x, w * 2.0, b),
            (dout, cache) =>
            {
                var g = Layers.AffineBackward(dout, cache);
                return new AffineGrads(g.Dx, g.Dw * 2.0, g.Db);
            },
            cases: Cases, seed: 5);

        Assert.Equal(VerifyStatus.Fail, r.Status);
        Assert.Contains(r.Outputs, o => o is { Output: "out", Passed: false });
        Assert.Contains(r.Outputs, o => o is { Output: "dw", Oracle: Oracle.Numeric, Passed: true });
        Assert.Contains(r.Outputs, o => o is { Output: "dx", Oracle: Oracle.Numeric, Passed: true });
        Assert.Contains(r.Outputs, o => o is { Output: "dx", Oracle: Oracle.Reference, Passed: false });
    }

    [Fact]
    public void ALayerThatThrowsIsReportedAsAnErrorWithItsMessage()
    {
        var r = Verify.Relu<int>(
            x => x.Shape[0] > 2 ? throw new InvalidOperationException("too many rows") : (x, 0),
            (dout, _) => dout, cases: Cases);

        Assert.Equal(VerifyStatus.Error, r.Status);
        Assert.Contains("too many rows", r.Message);
        Assert.Contains("N=3", r.Message);
    }

    [Fact]
    public void BadArgumentsThrowClearly()
    {
        var e = Assert.Throws<ArgumentException>(() => Verify.SoftmaxLoss(Losses.Softmax, cases: 0));
        Assert.Contains("Verify.SoftmaxLoss", e.Message);
        Assert.Throws<ArgumentNullException>(() => Verify.SoftmaxLoss(null!));
    }

    [Fact]
    public void TheReadmeExamplePasses()
    {
        // README-BEGIN verify
        var report = Verify.MaxPool(
            (x, pool) => Layers.MaxPoolForward(x, pool.PoolHeight, pool.PoolWidth,
                strideHeight: pool.StrideH, strideWidth: pool.StrideW),
            Layers.MaxPoolBackward,
            cases: 50, seed: 1);
        Console.WriteLine(report);   // report.Status, .Outputs, .Failure (shrunk case, index, expected, actual), .Hint
        // README-END verify
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void TheToleranceRuleIsTheLibrarysOne()
    {
        Assert.Equal(1e-7, Verify.GradientTolerance);
        Assert.Equal(1e-2, Verify.ToleranceFloor);
        Assert.Equal(1e-9, Verify.ReferenceTolerance);
    }
}
