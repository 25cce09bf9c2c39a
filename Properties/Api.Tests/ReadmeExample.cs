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
        var report = GradCheck.Check("dW", w2 => Losses.Softmax(Layers.AffineForward(x, w2, b).Out, labels).Loss, w, grads.Dw);
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

        var (outp, cache) = Layers.ConvForward(x, w, b, stride: 2, pad: 1);   // (2, 4, 4, 4)
        var dout = Tensor.RandomNormal(key.Derive(2), 1.0, [.. outp.Shape]);
        var grads = Layers.ConvBackward(dout, cache);                         // grads.Dx, grads.Dw, grads.Db

        var (pooled, poolCache) = Layers.MaxPoolForward(outp, poolHeight: 2, poolWidth: 2, stride: 2);
        var fastVsNaive = GradCheck.RelativeError(outp, Layers.ConvForwardNaive(x, w, b, stride: 2, pad: 1).Out);
        var report = GradCheck.CheckOf("conv dw", w2 => Layers.ConvForward(x, w2, b, stride: 2, pad: 1).Out, w, dout, grads.Dw);
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

    private static (LossAndGradients Lecture, ModelLoss Loss, Model Net, Tensor X, int[] Labels) RunAutodiff()
    {
        // README-BEGIN autodiff
        // The lecture's graph f = (x + y)·z, differentiated by the reverse sweep.
        var r = Autodiff.Gradients(
            new Dictionary<string, Tensor> { ["x"] = Tensor.Scalar(-2), ["y"] = Tensor.Scalar(5), ["z"] = Tensor.Scalar(-4) },
            p => (p["x"] + p["y"]) * p["z"]);
        // r.Loss = -12; r.Gradients: x -> -4, y -> -4, z -> 3

        // A net written with Variables and Ops; the Solver trains it like the library's own nets.
        var key = Rng.Create(2);
        var x = Tensor.RandomNormal(key.Derive(0), 1.0, 5, 4);
        int[] labels = [0, 1, 2, 0, 1];
        var net = Model.Create(
            "two-layer, with Ops",
            new Dictionary<string, Tensor>
            {
                ["W1"] = Tensor.RandomNormal(key.Derive(1), 0.5, 4, 8), ["b1"] = Tensor.Zeros(8),
                ["W2"] = Tensor.RandomNormal(key.Derive(2), 0.5, 8, 3), ["b2"] = Tensor.Zeros(3),
            },
            (p, input) => Ops.Affine(Ops.Relu(Ops.Affine(input, p["W1"], p["b1"])), p["W2"], p["b2"]));
        var loss = net.Loss(x, labels);   // loss.Loss, loss.Gradients["W1"]: (4, 8), …
        // README-END autodiff
        return (r, loss, net, x, labels);
    }

    [Fact]
    public void TheReadmeAutodiffExampleGivesTheLecturesNumbersAndMatchesTheFSharpOne()
    {
        var (lecture, loss, net, x, labels) = RunAutodiff();
        Assert.Equal(-12.0, lecture.Loss);
        Assert.Equal([-4.0, -4.0, 3.0], new[] { "x", "y", "z" }.Select(n => lecture.Gradients[n].Item0));
        Assert.Equal(net.Parameters.Keys.Order(StringComparer.Ordinal), loss.Gradients.Keys.Order(StringComparer.Ordinal));
        var report = GradCheck.Check(
            "dW1",
            w => net.Loss(x, labels, parameters: new Dictionary<string, Tensor>(net.Parameters) { ["W1"] = w }).Loss,
            net.Parameters["W1"],
            loss.Gradients["W1"]);
        Assert.True(report.Passed, report.ToString());
    }
}
