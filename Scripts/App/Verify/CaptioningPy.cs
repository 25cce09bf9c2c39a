using Functional.FSharp;
using Comparison = Functional.FSharp.Comparison;
using static Functional.App.Course.Spec;

namespace Functional.App.Course;

/// <summary>
/// The course's <c>CaptioningRNN</c> (classifiers/rnn.py, assignment 3) against the library's
/// <see cref="CaptioningRnn"/>: constructed with the course's signature (word_to_idx with &lt;NULL&gt; = 0,
/// &lt;START&gt; = 1, &lt;END&gt; = 2; input_dim, wordvec_dim, hidden_dim, cell_type "rnn" or "lstm", dtype float64),
/// the parameter names and shapes after construction; then, with the parameters set to the case's values, the loss
/// and every gradient of <c>loss(features, captions)</c> (captions with and without &lt;NULL&gt; padding, so the mask
/// matters) and the words of greedy <c>sample(features, max_length)</c>.
/// </summary>
internal static class CaptioningPy
{
    private const int Null = 0, Start = 1, End = 2;

    private static string Cell(VerificationCase c) => c.Item("cell") == 0 ? "rnn" : "lstm";

    /// <summary>
    /// A case's captions (N, T): &lt;START&gt;, then words in [2, V) (&lt;END&gt; and the vocabulary); when the case
    /// is masked, each row ends in 1 … T − 1 &lt;NULL&gt; tokens (key 1 of the seed).
    /// </summary>
    private static int[] Captions(VerificationCase c)
    {
        int n = c.Item("N"), t = c.Item("T"), v = c.Item("V");
        var u = Key(c, 1).Uniforms(2 * n * t);
        var caps = new int[n * t];
        for (var i = 0; i < n; i++)
        {
            var padding = c.Item("masked") == 1 ? 1 + Math.Min(t - 2, (int)(u[n * t + i] * (t - 1))) : 0;
            for (var j = 0; j < t; j++)
                caps[i * t + j] = j == 0 ? Start : j >= t - padding ? Null : 2 + Math.Min(v - 3, (int)(u[i * t + j] * (v - 2)));
        }

        return caps;
    }

    private static (CaptioningRnn Net, Tensor Features, int[] Captions, Dictionary<string, Tensor> Params) Setup(VerificationCase c)
    {
        var net = new CaptioningRnn(c.Item("D"), c.Item("cell") == 0 ? RecurrentCell.Rnn : RecurrentCell.Lstm, wordVecDim: c.Item("W"),
            hiddenDim: c.Item("H"), vocabSize: c.Item("V"), nullToken: Null, startToken: Start, endToken: End);
        var ps = net.Parameters.Select((kv, i) => (kv.Key, Value: Normal(c, 10 + i, [.. kv.Value.Shape]) * 0.5)).ToDictionary(p => p.Key, p => p.Value);
        return (net, Normal(c, 0, c.Item("N"), c.Item("D")), Captions(c), ps);
    }

    public static IEnumerable<CourseFunction> All()
    {
        var spec = Over("CaptioningRNN",
            [("N", 1, 3), ("D", 1, 4), ("W", 1, 4), ("H", 1, 4), ("V", 4, 7), ("T", 2, 5), ("cell", 0, 1), ("masked", 0, 1), ("max_length", 1, 4)],
            null,
            c => Describe(
                [("N", c.Item("N")), ("input_dim", c.Item("D")), ("wordvec_dim", c.Item("W")), ("hidden_dim", c.Item("H")), ("vocab_size", c.Item("V")),
                 ("lstm", c.Item("cell")), ("masked", c.Item("masked")), ("max_length", c.Item("max_length"))],
                [("features", [c.Item("N"), c.Item("D")]), ("captions", [c.Item("N"), c.Item("T")])]));
        yield return new CourseFunction("CaptioningRNN", "cs231n/classifiers/rnn.py", spec, (c, py) =>
        {
            var (net, features, captions, ps) = Setup(c);
            int n = c.Item("N"), t = c.Item("T"), maxLength = c.Item("max_length");
            var words = new Dictionary<string, object?> { ["<NULL>"] = Null, ["<START>"] = Start, ["<END>"] = End };
            for (var i = 3; i < c.Item("V"); i++)
                words[$"w{i}"] = i;
            var model = py.Call("cs231n.classifiers.rnn.CaptioningRNN", [words], returned: false, kwargs: Dict(
                ("input_dim", c.Item("D")), ("wordvec_dim", c.Item("W")), ("hidden_dim", c.Item("H")), ("cell_type", Cell(c)), ("dtype", "float64")));
            var built = py.Get(model[".params"]);
            foreach (var (name, value) in ps)
                py.SetItem(model[".params"], name, value);
            var loss = py.CallMethod(model, "loss", [features, new PyInts(LayersPy.Ints(captions, n, t))]);
            var sampled = py.CallMethod(model, "sample", [features, maxLength]);
            return new CaseRun(v =>
            {
                var checks = NetsPy.ParameterShapes(v[built.Step], net.Parameters, "CaptioningRNN");
                var r = net.Loss(features, Indices.FromArray(captions, n, t), ps);
                checks.Add(Compare("loss", Tensor.Scalar(r.Loss), Item(v[loss.Step], 0, "CaptioningRNN.loss")));
                var grads = Item(v[loss.Step], 1, "CaptioningRNN.loss") as IReadOnlyDictionary<string, object?>
                    ?? throw new NotAnsweredException("error", "CaptioningRNN.loss(features, captions) returned no grads dict.");
                foreach (var (name, g) in r.Gradients)
                    checks.Add(Compare($"grads[{name}]", g, grads.GetValueOrDefault(name)));
                checks.Add(Sample(net.Sample(features, maxLength, ps), Array(v[sampled.Step], "CaptioningRNN.sample")));
                return checks;
            });
        });
    }

    /// <summary>
    /// The sampled words against the library's greedy sample. The library stops a row at &lt;END&gt; (&lt;NULL&gt;
    /// after it) where the course's sample keeps feeding words: a row is compared up to and including its first
    /// &lt;END&gt;.
    /// </summary>
    private static Comparison Sample(Indices expected, Tensor actual)
    {
        var e = expected.ToArray();
        var exp = Tensor.FromArray(e.Select(x => (double)x).ToArray(), [.. expected.Shape]);
        if (!actual.Shape.SequenceEqual(exp.Shape))
            return Compare("sample", exp, actual);
        var a = actual.ToArray();
        int n = exp.Shape[0], len = exp.Shape[1];
        for (var i = 0; i < n; i++)
        {
            var end = Enumerable.Range(0, len).FirstOrDefault(j => e[i * len + j] == End, len);
            for (var j = end + 1; j < len; j++)
                a[i * len + j] = e[i * len + j];
        }

        return Compare("sample", exp, Tensor.FromArray(a, [.. exp.Shape]));
    }
}
