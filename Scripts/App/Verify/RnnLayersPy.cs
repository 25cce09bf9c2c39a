using Functional.FSharp;
using Comparison = Functional.FSharp.Comparison;
using LibVerify = Functional.FSharp.VerifyModule;
using static Functional.App.Course.Spec;

namespace Functional.App.Course;

/// <summary>
/// The functions of the course's <c>cs231n/rnn_layers.py</c> (assignment 3) against the library's recurrent and
/// temporal layers, on the library's recurrent cases (T = 1 and longer, repeated word indices, masks with zeros and
/// all ones). The LSTM's activations are split in the course's gate order i, f, o, g.
/// </summary>
internal static class RnnLayersPy
{
    private const string File = "cs231n/rnn_layers.py";

    private static string F(string name) => "cs231n.rnn_layers." + name;

    private static CourseFunction Function(string name, VerifySpec<VerificationCase> spec, Func<VerificationCase, PyCase, CaseRun> build) =>
        new(name, File, Named(name, spec), build);

    private static List<Comparison> Grads(object? returned, string what, params (string Name, Tensor Expected)[] grads) =>
        grads.Select((g, i) => Compare(g.Name, g.Expected, Item(returned, i, what))).ToList();

    private static PyRef ForwardBackward(PyCase py, string forward, object?[] args, string backward, params object[] upstream)
    {
        var fwd = py.Call(F(forward), args, returned: false);
        var cacheIndex = forward == "lstm_step_forward" ? 2 : 1;
        return py.Call(F(backward), [.. upstream, fwd[cacheIndex]], needs: fwd, needsName: forward);
    }

    public static IEnumerable<CourseFunction> All()
    {
        // ---- vanilla RNN ----
        yield return Function("rnn_step_forward", LibVerify.rnnStepSpec, (c, py) =>
        {
            var (x, h, wx, wh, b, _) = LibraryInputs.Recurrent(c, step: true, gates: 1);
            py.Call(F("rnn_step_forward"), [x, h, wx, wh, b], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.RnnStepForward(x, h, wx, wh, b).NextH, v[0])]);
        });
        yield return Function("rnn_step_backward", LibVerify.rnnStepSpec, (c, py) =>
        {
            var (x, h, wx, wh, b, dout) = LibraryInputs.Recurrent(c, step: true, gates: 1);
            ForwardBackward(py, "rnn_step_forward", [x, h, wx, wh, b], "rnn_step_backward", dout);
            return new CaseRun(v =>
            {
                var g = Layers.RnnStepBackward(dout, Layers.RnnStepForward(x, h, wx, wh, b).Cache);
                return Grads(v[1], "rnn_step_backward", ("dx", g.Dx), ("dprev_h", g.DprevH), ("dWx", g.DWx), ("dWh", g.DWh), ("db", g.Db));
            });
        });
        yield return Function("rnn_forward", LibVerify.rnnSpec, (c, py) =>
        {
            var (x, h0, wx, wh, b, _) = LibraryInputs.Recurrent(c, step: false, gates: 1);
            py.Call(F("rnn_forward"), [x, h0, wx, wh, b], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.RnnForward(x, h0, wx, wh, b).H, v[0])]);
        });
        yield return Function("rnn_backward", LibVerify.rnnSpec, (c, py) =>
        {
            var (x, h0, wx, wh, b, dout) = LibraryInputs.Recurrent(c, step: false, gates: 1);
            ForwardBackward(py, "rnn_forward", [x, h0, wx, wh, b], "rnn_backward", dout);
            return new CaseRun(v =>
            {
                var g = Layers.RnnBackward(dout, Layers.RnnForward(x, h0, wx, wh, b).Cache);
                return Grads(v[1], "rnn_backward", ("dx", g.Dx), ("dh0", g.Dh0), ("dWx", g.DWx), ("dWh", g.DWh), ("db", g.Db));
            });
        });

        // ---- word embedding (x: integer indices (N, T)) ----
        yield return Function("word_embedding_forward", LibVerify.wordEmbeddingSpec, (c, py) =>
        {
            var (x, w, _) = LibraryInputs.Embedding(c);
            var indices = Indices.FromArray(x, c.Item("N"), c.Item("T"));
            py.Call(F("word_embedding_forward"), [new PyInts(LayersPy.Ints(x, c.Item("N"), c.Item("T"))), w], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.WordEmbeddingForward(indices, w).Out, v[0])]);
        });
        yield return Function("word_embedding_backward", LibVerify.wordEmbeddingSpec, (c, py) =>
        {
            var (x, w, dout) = LibraryInputs.Embedding(c);
            var indices = Indices.FromArray(x, c.Item("N"), c.Item("T"));
            ForwardBackward(py, "word_embedding_forward", [new PyInts(LayersPy.Ints(x, c.Item("N"), c.Item("T"))), w], "word_embedding_backward", dout);
            return new CaseRun(v => [Compare("dW", Layers.WordEmbeddingBackward(dout, Layers.WordEmbeddingForward(indices, w).Cache), v[1])]);
        });

        // ---- temporal affine ----
        yield return Function("temporal_affine_forward", LibVerify.temporalAffineSpec, (c, py) =>
        {
            var (x, w, b, _) = LibraryInputs.TemporalAffine(c);
            py.Call(F("temporal_affine_forward"), [x, w, b], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.TemporalAffineForward(x, w, b).Out, v[0])]);
        });
        yield return Function("temporal_affine_backward", LibVerify.temporalAffineSpec, (c, py) =>
        {
            var (x, w, b, dout) = LibraryInputs.TemporalAffine(c);
            ForwardBackward(py, "temporal_affine_forward", [x, w, b], "temporal_affine_backward", dout);
            return new CaseRun(v =>
            {
                var g = Layers.TemporalAffineBackward(dout, Layers.TemporalAffineForward(x, w, b).Cache);
                return Grads(v[1], "temporal_affine_backward", ("dx", g.Dx), ("dw", g.Dw), ("db", g.Db));
            });
        });

        // ---- temporal softmax loss (x, y, mask): summed over the kept steps, divided by N ----
        yield return Function("temporal_softmax_loss", LibVerify.temporalSoftmaxLossSpec, (c, py) =>
        {
            var (x, y, mask) = LibraryInputs.TemporalSoftmax(c);
            int n = c.Item("N"), t = c.Item("T");
            py.Call(F("temporal_softmax_loss"),
                [x, new PyInts(LayersPy.Ints(y, n, t)), new PyBools(Tensor.FromArray(mask.Select(m => m ? 1.0 : 0.0).ToArray(), n, t))]);
            return new CaseRun(v =>
            {
                var r = Losses.TemporalSoftmax(x, Indices.FromArray(y, n, t), Mask.FromArray(mask, n, t));
                return [Compare("loss", Tensor.Scalar(r.Loss), Item(v[0], 0, "temporal_softmax_loss")),
                        Compare("dx", r.Dscores, Item(v[0], 1, "temporal_softmax_loss"))];
            });
        });

        // ---- LSTM (gates i, f, o, g) ----
        yield return Function("lstm_step_forward", LibVerify.lstmStepSpec, (c, py) =>
        {
            var (x, h, wx, wh, b, _) = LibraryInputs.Recurrent(c, step: true, gates: 4);
            var prevC = Normal(c, 6, c.Item("N"), c.Item("H"));
            py.Call(F("lstm_step_forward"), [x, h, prevC, wx, wh, b]);
            return new CaseRun(v =>
            {
                var (nh, nc, _) = Layers.LstmStepForward(x, h, prevC, wx, wh, b);
                return [Compare("next_h", nh, Item(v[0], 0, "lstm_step_forward")), Compare("next_c", nc, Item(v[0], 1, "lstm_step_forward"))];
            });
        });
        yield return Function("lstm_step_backward", LibVerify.lstmStepSpec, (c, py) =>
        {
            var (x, h, wx, wh, b, dnextH) = LibraryInputs.Recurrent(c, step: true, gates: 4);
            var prevC = Normal(c, 6, c.Item("N"), c.Item("H"));
            var dnextC = Normal(c, 7, c.Item("N"), c.Item("H"));
            ForwardBackward(py, "lstm_step_forward", [x, h, prevC, wx, wh, b], "lstm_step_backward", dnextH, dnextC);
            return new CaseRun(v =>
            {
                var g = Layers.LstmStepBackward(dnextH, dnextC, Layers.LstmStepForward(x, h, prevC, wx, wh, b).Cache);
                return Grads(v[1], "lstm_step_backward",
                    ("dx", g.Dx), ("dprev_h", g.DprevH), ("dprev_c", g.DprevC), ("dWx", g.DWx), ("dWh", g.DWh), ("db", g.Db));
            });
        });
        yield return Function("lstm_forward", LibVerify.lstmSpec, (c, py) =>
        {
            var (x, h0, wx, wh, b, _) = LibraryInputs.Recurrent(c, step: false, gates: 4);
            py.Call(F("lstm_forward"), [x, h0, wx, wh, b], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.LstmForward(x, h0, wx, wh, b).H, v[0])]);
        });
        yield return Function("lstm_backward", LibVerify.lstmSpec, (c, py) =>
        {
            var (x, h0, wx, wh, b, dout) = LibraryInputs.Recurrent(c, step: false, gates: 4);
            ForwardBackward(py, "lstm_forward", [x, h0, wx, wh, b], "lstm_backward", dout);
            return new CaseRun(v =>
            {
                var g = Layers.LstmBackward(dout, Layers.LstmForward(x, h0, wx, wh, b).Cache);
                return Grads(v[1], "lstm_backward", ("dx", g.Dx), ("dh0", g.Dh0), ("dWx", g.DWx), ("dWh", g.DWh), ("db", g.Db));
            });
        });
    }
}
