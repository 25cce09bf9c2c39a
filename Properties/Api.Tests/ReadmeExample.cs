using Functional;

namespace Functional.Api.Tests;

/// <summary>The README's C# example, verbatim between the markers (the F# ReadmeExamples test compares the texts).</summary>
public class ReadmeExample
{
    private static GradCheckReport Run()
    {
        // README-BEGIN
        var rng = Rng.Create(0);
        var x = Tensor.RandomNormal(rng.Derive(0), 1.0, 4, 10);
        var w = Tensor.RandomNormal(rng.Derive(1), 0.1, 10, 3);
        var b = Tensor.Zeros(3);
        int[] labels = [0, 1, 2, 0];

        var (scores, cache) = Layers.AffineForward(x, w, b);
        var loss = Losses.Softmax(scores, labels);
        var grads = Layers.AffineBackward(loss.Dscores, cache);

        // Is dW right? Compare it with the centered-difference gradient of the loss.
        var report = GradientCheck.Check("dW", w2 => Losses.Softmax(Layers.AffineForward(x, w2, b).Out, labels).Loss, w, grads.Dw);
        Console.WriteLine(report);
        // README-END
        return report;
    }

    [Fact]
    public void TheReadmeExampleRunsAndItsGradientCheckPasses() => Assert.True(Run().Passed);

    private static (double FastVsNaive, GradCheckReport Report) RunConv()
    {
        // README-BEGIN conv
        var key = Rng.Create(1);
        var x = Tensor.RandomNormal(key.Derive(0), 1.0, 2, 3, 8, 8);   // (N, C, H, W)
        var w = Tensor.RandomNormal(key.Derive(1), 0.1, 4, 3, 3, 3);   // (F, C, HH, WW)
        var b = Tensor.Zeros(4);

        var (outp, cache) = Layers.Conv2dForward(x, w, b, stride: 2, pad: 1);   // (2, 4, 4, 4)
        var dout = Tensor.RandomNormal(key.Derive(2), 1.0, [.. outp.Shape]);
        var grads = Layers.Conv2dBackward(dout, cache);                         // grads.Dx, grads.Dw, grads.Db

        var (pooled, poolCache) = Layers.MaxPoolForward(outp, poolHeight: 2, poolWidth: 2, stride: 2);
        var fastVsNaive = GradientCheck.RelativeError(outp, Layers.Conv2dForwardNaive(x, w, b, stride: 2, pad: 1).Out);
        var report = GradientCheck.CheckOf("conv dw", w2 => Layers.Conv2dForward(x, w2, b, stride: 2, pad: 1).Out, w, dout, grads.Dw);
        // README-END conv
        Assert.Equal([2, 4, 2, 2], pooled.Shape);
        Assert.Equal([2, 4, 4, 4], Layers.MaxPoolBackward(Tensor.Ones(2, 4, 2, 2), poolCache).Shape);
        return (fastVsNaive, report);
    }

    [Fact]
    public void TheReadmeConvolutionExampleRuns()
    {
        var (fastVsNaive, report) = RunConv();
        Assert.True(fastVsNaive < 1e-10);
        Assert.True(report.Passed, report.ToString());
    }
}
