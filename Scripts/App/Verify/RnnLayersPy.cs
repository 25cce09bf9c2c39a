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
    private static readonly CourseModule Module = new("cs231n/rnn_layers.py");

    private static string F(string name) => Module.F(name);

    private static CourseFunction Function(string name, VerifySpec<VerificationCase> spec, Func<VerificationCase, PyCase, CaseRun> build) =>
        Module.Function(name, Named(name, spec), build);

    /// <summary>The recurrent gradients by their inputs' positions (x, h0 or prev_h, Wx, Wh, b).</summary>
    private static (string, int)[] RecurrentWrt(string h) => [("dx", 0), (h, 1), ("dWx", 2), ("dWh", 3), ("db", 4)];

    public static IEnumerable<CourseFunction> All()
    {
        // ---- vanilla RNN ----
        yield return Function("rnn_step_forward", LibVerify.rnnStepSpec, (c, py) =>
        {
            var (x, h, wx, wh, b, _) = LibVerify.recurrentInputs(true, 1, c);
            py.Call(F("rnn_step_forward"), [x, h, wx, wh, b], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.RnnStepForward(x, h, wx, wh, b).NextH, v[0])]);
        });
        yield return Function("rnn_step_backward", LibVerify.rnnStepSpec, (c, py) =>
        {
            var (x, h, wx, wh, b, dout) = LibVerify.recurrentInputs(true, 1, c);
            var numeric = Module.ForwardBackward(py, "rnn_step_forward", [x, h, wx, wh, b], "rnn_step_backward", [dout], RecurrentWrt("dprev_h"));
            return new CaseRun(v =>
            {
                var g = Layers.RnnStepBackward(dout, Layers.RnnStepForward(x, h, wx, wh, b).Cache);
                return Grads(v, "rnn_step_backward", numeric, ("dx", g.Dx), ("dprev_h", g.DprevH), ("dWx", g.DWx), ("dWh", g.DWh), ("db", g.Db));
            });
        });
        yield return Function("rnn_forward", LibVerify.rnnSpec, (c, py) =>
        {
            var (x, h0, wx, wh, b, _) = LibVerify.recurrentInputs(false, 1, c);
            py.Call(F("rnn_forward"), [x, h0, wx, wh, b], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.RnnForward(x, h0, wx, wh, b).H, v[0])]);
        });
        yield return Function("rnn_backward", LibVerify.rnnSpec, (c, py) =>
        {
            var (x, h0, wx, wh, b, dout) = LibVerify.recurrentInputs(false, 1, c);
            var numeric = Module.ForwardBackward(py, "rnn_forward", [x, h0, wx, wh, b], "rnn_backward", [dout], RecurrentWrt("dh0"));
            return new CaseRun(v =>
            {
                var g = Layers.RnnBackward(dout, Layers.RnnForward(x, h0, wx, wh, b).Cache);
                return Grads(v, "rnn_backward", numeric, ("dx", g.Dx), ("dh0", g.Dh0), ("dWx", g.DWx), ("dWh", g.DWh), ("db", g.Db));
            });
        });

        // ---- word embedding (x: integer indices (N, T)) ----
        yield return Function("word_embedding_forward", LibVerify.wordEmbeddingSpec, (c, py) =>
        {
            var (x, w, _) = LibVerify.wordEmbeddingInputs(c);
            py.Call(F("word_embedding_forward"), [new PyInts(LayersPy.Ints(x.ToArray(), c.Item("N"), c.Item("T"))), w], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.WordEmbeddingForward(x, w).Out, v[0])]);
        });
        yield return Function("word_embedding_backward", LibVerify.wordEmbeddingSpec, (c, py) =>
        {
            var (x, w, dout) = LibVerify.wordEmbeddingInputs(c);
            var numeric = Module.ForwardBackward(py, "word_embedding_forward", [new PyInts(LayersPy.Ints(x.ToArray(), c.Item("N"), c.Item("T"))), w],
                "word_embedding_backward", [dout], ("dW", 1));
            return new CaseRun(v =>
                [Compare("dW", Layers.WordEmbeddingBackward(dout, Layers.WordEmbeddingForward(x, w).Cache), v[1]), .. Directional.Checks(numeric, v, [("dW", v[1])])]);
        });

        // ---- temporal affine ----
        yield return Function("temporal_affine_forward", LibVerify.temporalAffineSpec, (c, py) =>
        {
            var (x, w, b, _) = LibVerify.temporalAffineInputs(c);
            py.Call(F("temporal_affine_forward"), [x, w, b], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.TemporalAffineForward(x, w, b).Out, v[0])]);
        });
        yield return Function("temporal_affine_backward", LibVerify.temporalAffineSpec, (c, py) =>
        {
            var (x, w, b, dout) = LibVerify.temporalAffineInputs(c);
            var numeric = Module.ForwardBackward(py, "temporal_affine_forward", [x, w, b], "temporal_affine_backward", [dout], ("dx", 0), ("dw", 1), ("db", 2));
            return new CaseRun(v =>
            {
                var g = Layers.TemporalAffineBackward(dout, Layers.TemporalAffineForward(x, w, b).Cache);
                return Grads(v, "temporal_affine_backward", numeric, ("dx", g.Dx), ("dw", g.Dw), ("db", g.Db));
            });
        });

        // ---- temporal softmax loss (x, y, mask): summed over the kept steps, divided by N ----
        yield return Function("temporal_softmax_loss", LibVerify.temporalSoftmaxLossSpec, (c, py) =>
        {
            var (x, y, mask) = LibVerify.temporalSoftmaxInputs(c);
            int n = c.Item("N"), t = c.Item("T");
            py.Call(F("temporal_softmax_loss"),
                [x, new PyInts(LayersPy.Ints(y.ToArray(), n, t)), new PyBools(Tensor.FromArray(mask.ToArray().Select(m => m ? 1.0 : 0.0).ToArray(), n, t))]);
            return new CaseRun(v =>
            {
                var r = Losses.TemporalSoftmax(x, y, mask);
                return [Compare("loss", Tensor.Scalar(r.Loss), Item(v[0], 0, "temporal_softmax_loss")),
                        Compare("dx", r.Dscores, Item(v[0], 1, "temporal_softmax_loss"))];
            });
        });

        // ---- LSTM (gates i, f, o, g) ----
        yield return Function("lstm_step_forward", LibVerify.lstmStepSpec, (c, py) =>
        {
            var (x, h, wx, wh, b, _) = LibVerify.recurrentInputs(true, 4, c);
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
            var (x, h, wx, wh, b, dnextH) = LibVerify.recurrentInputs(true, 4, c);
            var prevC = Normal(c, 6, c.Item("N"), c.Item("H"));
            var dnextC = Normal(c, 7, c.Item("N"), c.Item("H"));
            Module.ForwardBackward(py, "lstm_step_forward", [x, h, prevC, wx, wh, b], "lstm_step_backward", [dnextH, dnextC]);
            return new CaseRun(v =>
            {
                var g = Layers.LstmStepBackward(dnextH, dnextC, Layers.LstmStepForward(x, h, prevC, wx, wh, b).Cache);
                return Grads(v, "lstm_step_backward", null,
                    ("dx", g.Dx), ("dprev_h", g.DprevH), ("dprev_c", g.DprevC), ("dWx", g.DWx), ("dWh", g.DWh), ("db", g.Db));
            });
        });
        yield return Function("lstm_forward", LibVerify.lstmSpec, (c, py) =>
        {
            var (x, h0, wx, wh, b, _) = LibVerify.recurrentInputs(false, 4, c);
            py.Call(F("lstm_forward"), [x, h0, wx, wh, b], pick: 0);
            return new CaseRun(v => [Compare("out", Layers.LstmForward(x, h0, wx, wh, b).H, v[0])]);
        });
        yield return Function("lstm_backward", LibVerify.lstmSpec, (c, py) =>
        {
            var (x, h0, wx, wh, b, dout) = LibVerify.recurrentInputs(false, 4, c);
            var numeric = Module.ForwardBackward(py, "lstm_forward", [x, h0, wx, wh, b], "lstm_backward", [dout], RecurrentWrt("dh0"));
            return new CaseRun(v =>
            {
                var g = Layers.LstmBackward(dout, Layers.LstmForward(x, h0, wx, wh, b).Cache);
                return Grads(v, "lstm_backward", numeric, ("dx", g.Dx), ("dh0", g.Dh0), ("dWx", g.DWx), ("dWh", g.DWh), ("db", g.Db));
            });
        });
    }
}
