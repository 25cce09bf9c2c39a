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
}
