namespace Functional.App;

/// <summary>
/// One analytic-vs-numeric check per gradient of every layer, on small fixed random inputs; the rows of the
/// <c>check</c> table. Everything goes through the C# facade.
/// </summary>
internal static class GradientSuite
{
    private static Tensor Normal(int seed, params int[] shape) => Tensor.RandomNormal(Rng.Create(seed), 1.0, shape);

    private static string Shapes(params Tensor[] tensors) =>
        string.Join(" ", tensors.Select(t => "(" + string.Join(",", t.Shape) + ")"));

    private static GradCheckReport Check(string name, Func<Tensor, Tensor> f, Tensor x, Tensor dout, Tensor analytic) =>
        GradientCheck.CheckOf(name, f, x, dout, analytic, CheckCommand.Tolerance);

    public static IEnumerable<(string Layer, string Shapes, GradCheckReport Report)> All()
    {
        {
            var (x, w, b, dout) = (Normal(1, 4, 3, 2), Normal(2, 6, 5), Normal(3, 5), Normal(4, 4, 5));
            var g = Layers.AffineBackward(dout, Layers.AffineForward(x, w, b).Cache);
            var shapes = Shapes(x, w, b);
            yield return ("affine", shapes, Check("dx", t => Layers.AffineForward(t, w, b).Out, x, dout, g.Dx));
            yield return ("affine", shapes, Check("dw", t => Layers.AffineForward(x, t, b).Out, w, dout, g.Dw));
            yield return ("affine", shapes, Check("db", t => Layers.AffineForward(x, w, t).Out, b, dout, g.Db));
            var gr = Layers.AffineReluBackward(dout, Layers.AffineReluForward(x, w, b).Cache);
            yield return ("affine-relu", shapes, Check("dx", t => Layers.AffineReluForward(t, w, b).Out, x, dout, gr.Dx));
            yield return ("affine-relu", shapes, Check("dw", t => Layers.AffineReluForward(x, t, b).Out, w, dout, gr.Dw));
            yield return ("affine-relu", shapes, Check("db", t => Layers.AffineReluForward(x, w, t).Out, b, dout, gr.Db));
        }
        {
            var x = Normal(5, 5, 6);
            var dout = Normal(6, 5, 6);
            var shapes = Shapes(x);
            yield return ("relu", shapes, Check("dx", t => Layers.ReluForward(t).Out, x, dout,
                Layers.ReluBackward(dout, Layers.ReluForward(x).Cache)));
            yield return ("leaky relu", shapes, Check("dx", t => Layers.LeakyReluForward(t, 0.01).Out, x, dout,
                Layers.LeakyReluBackward(dout, Layers.LeakyReluForward(x, 0.01).Cache)));
            yield return ("sigmoid", shapes, Check("dx", t => Layers.SigmoidForward(t).Out, x, dout,
                Layers.SigmoidBackward(dout, Layers.SigmoidForward(x).Cache)));
            yield return ("tanh", shapes, Check("dx", t => Layers.TanhForward(t).Out, x, dout,
                Layers.TanhBackward(dout, Layers.TanhForward(x).Cache)));
        }
        {
            var scores = Normal(7, 8, 5);
            int[] labels = [0, 1, 2, 3, 4, 0, 1, 2];
            var shapes = Shapes(scores);
            yield return ("softmax loss", shapes, GradientCheck.Check("dscores", s => Losses.Softmax(s, labels).Loss,
                scores, Losses.Softmax(scores, labels).Dscores, CheckCommand.Tolerance));
            yield return ("svm loss", shapes, GradientCheck.Check("dscores", s => Losses.Svm(s, labels).Loss,
                scores, Losses.Svm(scores, labels).Dscores, CheckCommand.Tolerance));
            yield return ("l2 regularization", shapes, GradientCheck.Check("dW", s => Losses.L2(s, 0.1).Loss,
                scores, Losses.L2(scores, 0.1).Gradient, CheckCommand.Tolerance));
        }
    }
}
