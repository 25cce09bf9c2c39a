using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace Functional.App;

/// <summary>
/// The <c>bench</c> verb: the workloads of the PyTorch peer (../shared/bench/torch_peer.py) through the public API,
/// printed in the peer's line format so the two outputs can be compared side by side
/// (<c>W1 conv_fwd functional-f64-2t median_ms=... min_ms=... max_ms=... reps=...</c>).
/// </summary>
internal static class BenchCommand
{
    private static readonly Option<string?> OnlyOpt = new Option<string?>("--only")
    {
        Description = "Run only the workloads whose tag or name contains this text (e.g. W5 or gemm).",
    };

    private static readonly Option<double> TargetOpt = new Option<double>("--seconds")
    {
        Description = "Target measuring time per workload (the peer uses 2).",
        DefaultValueFactory = _ => 2.0,
    }.Within(0, 3600, minInclusive: false);

    public static Command Create()
    {
        var command = new Command("bench", "Time the PyTorch peer's workloads W1-W8 and GEMM through Functional's API.");
        command.Options.Add(OnlyOpt);
        command.Options.Add(TargetOpt);
        command.SetAction(r => Run(r.GetValue(OnlyOpt), r.GetValue(TargetOpt)));
        return command;
    }

    private static Tensor Normal(Rng rng, int stream, params int[] shape) => Tensor.RandomNormal(rng.Derive(stream), 1.0, shape);

    private static int Run(string? only, double target)
    {
        var label = $"functional-f64-{Blas.Threads}t";
        Console.WriteLine($"# {Blas.Description}; {Environment.ProcessorCount} processors; server GC {System.Runtime.GCSettings.IsServerGC}");
        var rng = Rng.Create(0);

        void Report(string tag, string name, Action fn, double flops = 0)
        {
            if (only is not null && !tag.Contains(only, StringComparison.OrdinalIgnoreCase) &&
                !name.Contains(only, StringComparison.OrdinalIgnoreCase))
                return;
            var (med, lo, hi, reps, gcs, bytes) = Measure(fn, target);
            var extra = flops > 0 ? string.Create(CultureInfo.InvariantCulture, $" gflops={flops / med / 1e6:F1}") : "";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{tag} {name} {label} median_ms={med:F4} min_ms={lo:F4} max_ms={hi:F4} reps={reps}{extra} alloc_mb_per_rep={bytes / 1e6 / reps:F2} gen0_per_rep={(double)gcs / reps:F2}"));
        }

        var x = Normal(rng, 1, 100, 3, 31, 31);
        var w = Normal(rng, 2, 25, 3, 3, 3);
        var b = Normal(rng, 3, 25);
        var (out1, _) = Layers.ConvForward(x, w, b, stride: 2, pad: 1);
        double fl = 2.0 * out1.Count * 3 * 3 * 3;
        Report("W1", "conv_fwd", () => Layers.ConvForward(x, w, b, stride: 2, pad: 1), fl);
        var dout = Normal(rng, 4, out1.Shape.ToArray());
        Report("W2", "conv_fwdbwd", () => Layers.ConvBackward(dout, Layers.ConvForward(x, w, b, stride: 2, pad: 1).Cache), 3 * fl);

        var xp = Normal(rng, 5, 100, 3, 32, 32);
        var dp = Normal(rng, 6, 100, 3, 16, 16);
        Report("W3", "pool_fwdbwd", () => Layers.MaxPoolBackward(dp, Layers.MaxPoolForward(xp, 2, 2, 2).Cache));

        var x4 = Normal(rng, 7, 64, 32, 32, 32);
        var w4 = Normal(rng, 8, 64, 32, 3, 3);
        var b4 = Normal(rng, 9, 64);
        var d4 = Normal(rng, 10, 64, 64, 32, 32);
        double fl4 = 2.0 * 64 * 64 * 32 * 32 * 32 * 9;
        Report("W4", "bigconv_fwdbwd", () => Layers.ConvBackward(d4, Layers.ConvForward(x4, w4, b4, stride: 1, pad: 1).Cache), 3 * fl4);

        var net = new ThreeLayerConvNet(inputDims: (1, 28, 28), numFilters: 32, filterSize: 7, hiddenDim: 100, numClasses: 10,
            weightScale: 1e-3, reg: 0.0, seed: 0);
        var x5 = Normal(rng, 11, 50, 1, 28, 28);
        var y5 = Rng.Create(12).Permutation(50).Select(i => i % 10).ToArray();
        Report("W5", "train_iter", () => net.Loss(x5, y5));

        var x6 = Normal(rng, 13, 128, 3072);
        var w6 = Normal(rng, 14, 3072, 100);
        var b6 = Normal(rng, 15, 100);
        var d6 = Normal(rng, 16, 128, 100);
        Report("W6", "affine_fwdbwd", () => Layers.AffineBackward(d6, Layers.AffineForward(x6, w6, b6).Cache));

        var xb = Normal(rng, 17, 128, 1000);
        var gb = Normal(rng, 18, 1000);
        var bb = Normal(rng, 19, 1000);
        var db = Normal(rng, 20, 128, 1000);
        var state = BatchNormState.Initial(1000);
        Report("W6", "bn_fwdbwd", () => Layers.BatchNormBackwardAlt(db, Layers.BatchNormForward(xb, gb, bb, state, Mode.Train).Cache));

        // W7 / W8 (torch_peer.py): N = 50, T = 16, D = 64, H = 128, V = 1000; the recurrent layer over x with h0 = 0,
        // a temporal affine H -> V, the temporal softmax loss over all N·T steps divided by N (no mask), and the
        // gradients of x and every parameter. Uniform init in ±1/sqrt(fan-in) as PyTorch's defaults. PyTorch's two
        // biases (bias_ih, bias_hh) are one b here: their sum enters the same way and both get db.
        const int n7 = 50, t7 = 16, d7 = 64, h7 = 128, v7 = 1000;
        Tensor Uniform(int stream, int fanIn, params int[] shape) =>
            Tensor.RandomUniform(rng.Derive(stream), -1 / Math.Sqrt(fanIn), 1 / Math.Sqrt(fanIn), shape);
        Indices Targets(int stream) =>
            Indices.FromArray(rng.Derive(stream).Uniforms(n7 * t7).Select(u => Math.Min(v7 - 1, (int)(u * v7))).ToArray(), n7, t7);
        var h07 = Tensor.Zeros(n7, h7);
        var wv = Uniform(25, h7, h7, v7);
        var bv = Uniform(26, h7, v7);

        LossResult Recurrent(Tensor x, Indices y, Func<Tensor, (Tensor H, Func<Tensor, object> Backward)> layer)
        {
            var (h, back) = layer(x);
            var (scores, affine) = Layers.TemporalAffineForward(h, wv, bv);
            var loss = Losses.TemporalSoftmax(scores, y);
            back(Layers.TemporalAffineBackward(loss.Dscores, affine).Dx);
            return loss;
        }

        var x7 = Normal(rng, 23, n7, t7, d7);
        var y7 = Targets(24);
        var (wx7, wh7, b7) = (Uniform(27, h7, d7, h7), Uniform(28, h7, h7, h7), Uniform(29, h7, h7));
        (Tensor, Func<Tensor, object>) Rnn(Tensor x)
        {
            var (h, cache) = Layers.RnnForward(x, h07, wx7, wh7, b7);
            return (h, dh => Layers.RnnBackward(dh, cache));
        }

        var x8 = Normal(rng, 30, n7, t7, d7);
        var y8 = Targets(31);
        var (wx8, wh8, b8) = (Uniform(32, h7, d7, 4 * h7), Uniform(33, h7, h7, 4 * h7), Uniform(34, h7, 4 * h7));
        (Tensor, Func<Tensor, object>) Lstm(Tensor x)
        {
            var (h, cache) = Layers.LstmForward(x, h07, wx8, wh8, b8);
            return (h, dh => Layers.LstmBackward(dh, cache));
        }

        if (only is null || "W7 rnn_fwdbwd W8 lstm_fwdbwd".Contains(only, StringComparison.OrdinalIgnoreCase))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"# check: W7 loss={Recurrent(x7, y7, Rnn).Loss:R} W8 loss={Recurrent(x8, y8, Lstm).Loss:R} (about 16*ln(1000) = 110.5 at init)"));
        Report("W7", "rnn_fwdbwd", () => Recurrent(x7, y7, Rnn));
        Report("W8", "lstm_fwdbwd", () => Recurrent(x8, y8, Lstm));

        var a = Normal(rng, 21, 1024, 1024);
        var bm = Normal(rng, 22, 1024, 1024);
        Report("G", "gemm1024", () => Tensor.MatMul(a, bm), 2.0 * Math.Pow(1024, 3));
        return 0;
    }

    /// <summary>The peer's measuring scheme (with a warm-up of at least 1 s, see below): one timed estimate, then reps = clamp(target / estimate, 5, 100).</summary>
    private static (double Median, double Min, double Max, int Reps, int Gen0, long Bytes) Measure(Action fn, double target)
    {
        // Warm up for at least 3 calls and 1 s: the JIT compiles hot methods again, optimized (tier 1, with
        // profile-guided optimization), about 100 ms after they stop being new; measuring before that would time
        // tier-0 code that no long-running program runs.
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < 3 || sw.Elapsed.TotalSeconds < 1.0; i++)
            fn();
        sw.Restart();
        fn();
        var est = Math.Max(sw.Elapsed.TotalSeconds, 1e-4);
        var reps = (int)Math.Min(100, Math.Max(5, target / est));
        var times = new double[reps];
        var gen0 = GC.CollectionCount(0);
        var bytes = GC.GetTotalAllocatedBytes(precise: false);
        for (var i = 0; i < reps; i++)
        {
            sw.Restart();
            fn();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }

        bytes = GC.GetTotalAllocatedBytes(precise: false) - bytes;
        gen0 = GC.CollectionCount(0) - gen0;
        Array.Sort(times);
        var median = reps % 2 == 1 ? times[reps / 2] : (times[reps / 2 - 1] + times[reps / 2]) / 2;
        return (median, times[0], times[^1], reps, gen0, bytes);
    }
}
