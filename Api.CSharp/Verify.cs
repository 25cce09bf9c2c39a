using Functional.FSharp;
using Microsoft.FSharp.Core;
using FVerify = Functional.FSharp.VerifyModule;

namespace Functional;

/// <summary>The verdict on one output of a verified layer (under one oracle) over every case run.</summary>
/// <param name="Output">The output's name in the course's terms (out, dx, dw, dgamma, loss, next_w, …).</param>
/// <param name="Oracle">What it was compared with: the library's reference, or the numeric gradient of your
/// own forward pass.</param>
/// <param name="Passed">True when it was within its bound in every case.</param>
/// <param name="FailedCases">The number of cases in which it was out of its bound.</param>
/// <param name="WorstRelError">The largest relative error over the cases.</param>
public sealed record VerifiedOutput(string Output, Oracle Oracle, bool Passed, int FailedCases, double WorstRelError);

/// <summary>The smallest failing case found: the first failure, shrunk while it kept failing.</summary>
/// <param name="Output">The output that is wrong.</param>
/// <param name="Oracle">What it was compared with.</param>
/// <param name="Case">The shrunk case (its sizes and seed), e.g. <c>{N=1 C=1 H=3 … seed=17}</c>.</param>
/// <param name="Parameters">The case's parameters in the course's names (N, stride_h, pad_w, pool_height, T, …).</param>
/// <param name="Shapes">The shapes of the case's inputs, by name.</param>
/// <param name="Index">The multi-index of the worst element of the output.</param>
/// <param name="Expected">The expected value there.</param>
/// <param name="Actual">Your value there.</param>
/// <param name="RelError">The relative error there.</param>
/// <param name="ShrinkSteps">How many shrinking steps led from the first failing case to this one.</param>
public sealed record VerificationFailure(
    string Output,
    Oracle Oracle,
    string Case,
    IReadOnlyDictionary<string, double> Parameters,
    IReadOnlyDictionary<string, IReadOnlyList<int>> Shapes,
    IReadOnlyList<int> Index,
    double Expected,
    double Actual,
    double RelError,
    int ShrinkSteps);

/// <summary>
/// The report of verifying a layer over random cases: the verdict, per-output results, the shrunk counterexample of
/// a failure and a hint with its evidence. <see cref="ToString"/> prints it as a readable multi-line report.
/// </summary>
public sealed class VerificationReport
{
    private readonly string _text;

    internal VerificationReport(VerifyReport report)
    {
        Name = report.Name;
        Status = report.Status;
        Cases = report.Cases;
        WorstRelError = report.WorstRelError;
        Outputs = report.Outputs
            .Select(o => new VerifiedOutput(o.Output, o.Oracle, o.Passed, o.FailedCases, o.WorstRelError))
            .ToList();
        Failure = report.Failure is { } failure ? FailureOf(failure.Value) : null;
        Hint = report.Hint?.Value;
        Message = report.Message?.Value;
        Seconds = report.Seconds;
        _text = report.ToString();
    }

    private static VerificationFailure FailureOf(Counterexample f) =>
        new(
            f.Output,
            f.Oracle,
            f.Case,
            f.Description.Parameters.ToDictionary(p => p.Item1, p => p.Item2),
            f.Description.Shapes.ToDictionary(s => s.Item1, s => (IReadOnlyList<int>)s.Item2.ToList()),
            f.Index.ToList(),
            f.Expected,
            f.Actual,
            f.RelError,
            f.ShrinkSteps);

    /// <summary>The layer's name (e.g. "convolution").</summary>
    public string Name { get; }

    /// <summary>The verdict.</summary>
    public VerifyStatus Status { get; }

    /// <summary>True when <see cref="Status"/> is <see cref="VerifyStatus.Pass"/>.</summary>
    public bool Passed => Status == VerifyStatus.Pass;

    /// <summary>The number of cases run (before shrinking).</summary>
    public int Cases { get; }

    /// <summary>The largest relative error over every output and case.</summary>
    public double WorstRelError { get; }

    /// <summary>The verdict per output and oracle.</summary>
    public IReadOnlyList<VerifiedOutput> Outputs { get; }

    /// <summary>The shrunk counterexample of a failure; null when nothing failed.</summary>
    public VerificationFailure? Failure { get; }

    /// <summary>What kind of bug the failures point to, with the evidence; null when no known pattern fits.</summary>
    public string? Hint { get; }

    /// <summary>The error message when your layer threw; null otherwise.</summary>
    public string? Message { get; }

    /// <summary>The wall-clock time of the verification, in seconds.</summary>
    public double Seconds { get; }

    /// <summary>The report as readable lines: verdict, per-output table, counterexample, hint.</summary>
    public override string ToString() => _text;
}

/// <summary>
/// Verify your own layer: one method per library layer and update rule. Give your forward pass (returning the
/// output and a cache of your own type) and your backward pass (taking the upstream gradient and that cache); the
/// verification runs random cases (200 from seed 0 unless you say otherwise), compares your forward with the
/// library's reference and each gradient with both the reference and the numeric gradient of YOUR forward, shrinks
/// the first failure to the smallest case that still fails, and returns a <see cref="VerificationReport"/> with a
/// hint. A backward consistent with a wrong forward passes the numeric oracle and fails the reference; a wrong
/// backward of a right forward fails both. Your functions may throw: that is reported as
/// <see cref="VerifyStatus.Error"/> with the message, never thrown to you.
/// </summary>
/// <remarks>
/// The tolerance rule (one definition, <see cref="Functional.FSharp.Tolerance"/>): relative error |a − e| /
/// max(<see cref="ToleranceFloor"/>, |a| + |e|), at most <see cref="GradientTolerance"/> against a numeric gradient
/// and <see cref="ReferenceTolerance"/> against the reference.
/// </remarks>
public static class Verify
{
    /// <summary>The floor of the relative error's denominator, 1e-2.</summary>
    public const double ToleranceFloor = Tolerance.Floor;

    /// <summary>The bound on an analytic-vs-numeric gradient's relative error, 1e-7.</summary>
    public const double GradientTolerance = Tolerance.Gradient;

    /// <summary>The bound on a value-vs-reference relative error, 1e-9.</summary>
    public const double ReferenceTolerance = Tolerance.Reference;

    private static VerifyOptions Options(int cases, int seed, string function)
    {
        if (cases < 1)
            throw new ArgumentException($"Verify.{function}: cases must be >= 1, got {cases}.", nameof(cases));
        return new VerifyOptions(cases, seed);
    }

    private static VerificationReport Report(VerifyReport r) => new(r);

    private static FSharpFunc<A, FSharpFunc<B, R>> F<A, B, R>(Func<A, B, R> f) => FuncConvert.FromFunc(f);

    private static FSharpFunc<A, FSharpFunc<B, FSharpFunc<C, R>>> F<A, B, C, R>(Func<A, B, C, R> f) =>
        FuncConvert.FromFunc(f);

    private static FSharpFunc<A, FSharpFunc<B, FSharpFunc<C, FSharpFunc<D, R>>>> F<A, B, C, D, R>(
        Func<A, B, C, D, R> f) => FuncConvert.FromFunc(f);

    private static FSharpFunc<A, FSharpFunc<B, FSharpFunc<C, FSharpFunc<D, FSharpFunc<E, R>>>>> F<A, B, C, D, E, R>(
        Func<A, B, C, D, E, R> f) => FuncConvert.FromFunc(f);

    /// <summary>Verifies an affine layer: forward (x (N, D), w (D, M), b (M,)) → (out (N, M), cache); backward
    /// (dout, cache) → gradients.</summary>
    /// <typeparam name="TCache">Your cache type.</typeparam>
    /// <param name="forward">Your forward pass.</param>
    /// <param name="backward">Your backward pass.</param>
    /// <param name="cases">The number of random cases, ≥ 1.</param>
    /// <param name="seed">The seed of the cases.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentNullException">forward or backward is null.</exception>
    /// <exception cref="ArgumentException">cases &lt; 1.</exception>
    public static VerificationReport Affine<TCache>(
        Func<Tensor, Tensor, Tensor, (Tensor Out, TCache Cache)> forward,
        Func<Tensor, TCache, AffineGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.affineWith(
            Options(cases, seed, nameof(Affine)),
            F<Tensor, Tensor, Tensor, Tuple<Tensor, TCache>>((x, w, b) => forward(x, w, b).ToTuple()),
            F(backward)));
    }

    /// <summary>Verifies a ReLU layer: forward x (N, D) → (out, cache); backward (dout, cache) → dx.</summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport Relu<TCache>(
        Func<Tensor, (Tensor Out, TCache Cache)> forward, Func<Tensor, TCache, Tensor> backward,
        int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.reluWith(
            Options(cases, seed, nameof(Relu)),
            FuncConvert.FromFunc<Tensor, Tuple<Tensor, TCache>>(x => forward(x).ToTuple()),
            F(backward)));
    }

    /// <summary>Verifies a softmax loss: (scores (N, C), labels (N,)) → loss averaged over N and dscores.</summary>
    /// <param name="loss">Your loss.</param>
    /// <param name="cases">The number of random cases, ≥ 1.</param>
    /// <param name="seed">The seed of the cases.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentNullException">loss is null.</exception>
    /// <exception cref="ArgumentException">cases &lt; 1.</exception>
    public static VerificationReport SoftmaxLoss(
        Func<Tensor, IReadOnlyList<int>, LossResult> loss, int cases = 200, int seed = 0)
    {
        Require.NotNull(loss);
        return Report(FVerify.softmaxLossWith(
            Options(cases, seed, nameof(SoftmaxLoss)), F<Tensor, int[], LossResult>((s, y) => loss(s, y))));
    }

    /// <summary>Verifies a multiclass SVM loss (margin 1, averaged over N).</summary>
    /// <inheritdoc cref="SoftmaxLoss" path="/param|/returns|/exception"/>
    public static VerificationReport SvmLoss(
        Func<Tensor, IReadOnlyList<int>, LossResult> loss, int cases = 200, int seed = 0)
    {
        Require.NotNull(loss);
        return Report(FVerify.svmLossWith(
            Options(cases, seed, nameof(SvmLoss)), F<Tensor, int[], LossResult>((s, y) => loss(s, y))));
    }

    /// <summary>
    /// Verifies batch normalization: forward (x (N, D), gamma, beta (D,), state, mode) → (out, new state, cache)
    /// with eps 1e-5 and momentum 0.9; backward (dout, cache) → gradients (checked in training mode). The running
    /// mean and variance of the new state are compared with the reference's.
    /// </summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport BatchNorm<TCache>(
        Func<Tensor, Tensor, Tensor, BatchNormState, Mode, (Tensor Out, BatchNormState State, TCache Cache)> forward,
        Func<Tensor, TCache, NormGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.batchnormWith(
            Options(cases, seed, nameof(BatchNorm)), BatchNormForward(forward), F(backward)));
    }

    private static FSharpFunc<BatchNormConfig, FSharpFunc<Mode, FSharpFunc<BatchNormState, FSharpFunc<Tensor,
        FSharpFunc<Tensor, FSharpFunc<Tensor, Tuple<Tensor, BatchNormState, TCache>>>>>>> BatchNormForward<TCache>(
        Func<Tensor, Tensor, Tensor, BatchNormState, Mode, (Tensor Out, BatchNormState State, TCache Cache)> forward) =>
        FuncConvert.FromFunc<BatchNormConfig, FSharpFunc<Mode, FSharpFunc<BatchNormState, FSharpFunc<Tensor,
            FSharpFunc<Tensor, FSharpFunc<Tensor, Tuple<Tensor, BatchNormState, TCache>>>>>>>(
            _ => F<Mode, BatchNormState, Tensor, Tensor, Tensor, Tuple<Tensor, BatchNormState, TCache>>(
                (mode, state, gamma, beta, x) => forward(x, gamma, beta, state, mode).ToTuple()));

    /// <summary>Verifies layer normalization: forward (x (N, D), gamma, beta (D,)) → (out, cache) with eps 1e-5;
    /// backward (dout, cache) → gradients.</summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport LayerNorm<TCache>(
        Func<Tensor, Tensor, Tensor, (Tensor Out, TCache Cache)> forward,
        Func<Tensor, TCache, NormGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.layernormWith(
            Options(cases, seed, nameof(LayerNorm)),
            F<double, Tensor, Tensor, Tensor, Tuple<Tensor, TCache>>((_, gamma, beta, x) => forward(x, gamma, beta).ToTuple()),
            F(backward)));
    }

    /// <summary>
    /// Verifies inverted dropout: forward (x, keepProb, mode, rng) → (out, cache); backward (dout, cache) → dx. Your
    /// mask is your own (drawn from the rng given): in training mode the expected output keeps the units your output
    /// keeps, scaled by 1/keepProb; in test mode it is x.
    /// </summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport Dropout<TCache>(
        Func<Tensor, double, Mode, Rng, (Tensor Out, TCache Cache)> forward, Func<Tensor, TCache, Tensor> backward,
        int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.dropoutWith(
            Options(cases, seed, nameof(Dropout)),
            F<double, Mode, Rng, Tensor, Tuple<Tensor, TCache>>((p, mode, rng, x) => forward(x, p, mode, rng).ToTuple()),
            F(backward)));
    }

    /// <summary>
    /// Verifies a convolution: forward (x (N, C, H, W), w (F, C, HH, WW), b (F,), settings: strides and pads per
    /// axis) → (out (N, F, H', W'), cache); backward (dout, cache) → gradients. The cases reach pad 0, strides that
    /// do not divide the input, and non-square kernels; dilation and groups stay 1.
    /// </summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport Convolution<TCache>(
        Func<Tensor, Tensor, Tensor, ConvConfig, (Tensor Out, TCache Cache)> forward,
        Func<Tensor, TCache, ConvGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.convolutionWith(
            Options(cases, seed, nameof(Convolution)),
            F<ConvConfig, Tensor, Tensor, Tensor, Tuple<Tensor, TCache>>((cfg, x, w, b) => forward(x, w, b, cfg).ToTuple()),
            F(backward)));
    }

    /// <summary>
    /// Verifies max pooling: forward (x (N, C, H, W), settings: window and strides) → (out, cache); backward
    /// (dout, cache) → dx. The cases reach square and non-square windows and strides that do not divide the input.
    /// </summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport MaxPool<TCache>(
        Func<Tensor, PoolConfig, (Tensor Out, TCache Cache)> forward, Func<Tensor, TCache, Tensor> backward,
        int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.maxPoolWith(
            Options(cases, seed, nameof(MaxPool)),
            F<PoolConfig, Tensor, Tuple<Tensor, TCache>>((cfg, x) => forward(x, cfg).ToTuple()),
            F(backward)));
    }

    /// <summary>Verifies spatial batch normalization: <see cref="BatchNorm{TCache}"/> over x (N, C, H, W), per
    /// channel, in training mode.</summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport SpatialBatchNorm<TCache>(
        Func<Tensor, Tensor, Tensor, BatchNormState, Mode, (Tensor Out, BatchNormState State, TCache Cache)> forward,
        Func<Tensor, TCache, NormGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.spatialBatchnormWith(
            Options(cases, seed, nameof(SpatialBatchNorm)), BatchNormForward(forward), F(backward)));
    }

    /// <summary>Verifies spatial group normalization: forward (x (N, C, H, W), gamma, beta (C,), groups) → (out,
    /// cache) with eps 1e-5; backward (dout, cache) → gradients. G = 1 and G = C are among the cases.</summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport GroupNorm<TCache>(
        Func<Tensor, Tensor, Tensor, int, (Tensor Out, TCache Cache)> forward,
        Func<Tensor, TCache, NormGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.groupnormWith(
            Options(cases, seed, nameof(GroupNorm)),
            F<double, int, Tensor, Tensor, Tensor, Tuple<Tensor, TCache>>(
                (_, groups, gamma, beta, x) => forward(x, gamma, beta, groups).ToTuple()),
            F(backward)));
    }

    private static VerificationReport Update<TState>(
        Func<VerifyOptions, FSharpFunc<Tensor, TState>,
            FSharpFunc<OptimConfig, FSharpFunc<TState, FSharpFunc<Tensor, FSharpFunc<Tensor, Tuple<Tensor, TState>>>>>,
            VerifyReport> verify,
        Func<Tensor, TState> init, Func<Tensor, Tensor, TState, OptimConfig, (Tensor NextW, TState State)> step,
        int cases, int seed, string function)
    {
        Require.NotNull(init);
        Require.NotNull(step);
        return Report(verify(
            Options(cases, seed, function),
            FuncConvert.FromFunc(init),
            F<OptimConfig, TState, Tensor, Tensor, Tuple<Tensor, TState>>(
                (config, state, w, dw) => step(w, dw, state, config).ToTuple())));
    }

    /// <summary>
    /// Verifies an SGD step: init (w) → your state; step (w, dw, state, config) → (next w, next state), over 1–5
    /// consecutive steps with your state carried forward. The config is the library's default with the case's
    /// learning rate; the output next_w is every step's w stacked.
    /// </summary>
    /// <typeparam name="TState">Your state type.</typeparam>
    /// <param name="init">Your initial state for a parameter w.</param>
    /// <param name="step">Your update step.</param>
    /// <param name="cases">The number of random cases, ≥ 1.</param>
    /// <param name="seed">The seed of the cases.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentNullException">init or step is null.</exception>
    /// <exception cref="ArgumentException">cases &lt; 1.</exception>
    public static VerificationReport Sgd<TState>(
        Func<Tensor, TState> init, Func<Tensor, Tensor, TState, OptimConfig, (Tensor NextW, TState State)> step,
        int cases = 200, int seed = 0) =>
        Update<TState>((o, i, s) => FVerify.sgdWith(o, i, s), init, step, cases, seed, nameof(Sgd));

    /// <summary>Verifies SGD with momentum (momentum 0.9) as <see cref="Sgd{TState}"/> does.</summary>
    /// <inheritdoc cref="Sgd{TState}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport Momentum<TState>(
        Func<Tensor, TState> init, Func<Tensor, Tensor, TState, OptimConfig, (Tensor NextW, TState State)> step,
        int cases = 200, int seed = 0) =>
        Update<TState>((o, i, s) => FVerify.momentumWith(o, i, s), init, step, cases, seed, nameof(Momentum));

    /// <summary>Verifies RMSProp (decay rate 0.99, ε 1e-8) as <see cref="Sgd{TState}"/> does.</summary>
    /// <inheritdoc cref="Sgd{TState}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport RmsProp<TState>(
        Func<Tensor, TState> init, Func<Tensor, Tensor, TState, OptimConfig, (Tensor NextW, TState State)> step,
        int cases = 200, int seed = 0) =>
        Update<TState>((o, i, s) => FVerify.rmspropWith(o, i, s), init, step, cases, seed, nameof(RmsProp));

    /// <summary>Verifies Adam (β₁ 0.9, β₂ 0.999, ε 1e-8, bias-corrected) as <see cref="Sgd{TState}"/> does.</summary>
    /// <inheritdoc cref="Sgd{TState}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport Adam<TState>(
        Func<Tensor, TState> init, Func<Tensor, Tensor, TState, OptimConfig, (Tensor NextW, TState State)> step,
        int cases = 200, int seed = 0) =>
        Update<TState>((o, i, s) => FVerify.adamWith(o, i, s), init, step, cases, seed, nameof(Adam));

    /// <summary>Verifies a word embedding: forward (x indices (N, T), W (V, D)) → (out (N, T, D), cache); backward
    /// (dout, cache) → dW. Repeated indices are among the cases.</summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport WordEmbedding<TCache>(
        Func<Indices, Tensor, (Tensor Out, TCache Cache)> forward, Func<Tensor, TCache, Tensor> backward,
        int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.wordEmbeddingWith(
            Options(cases, seed, nameof(WordEmbedding)),
            F<Indices, Tensor, Tuple<Tensor, TCache>>((x, w) => forward(x, w).ToTuple()),
            F(backward)));
    }

    /// <summary>Verifies a temporal affine layer: forward (x (N, T, D), w (D, M), b (M,)) → (out (N, T, M), cache);
    /// backward (dout, cache) → gradients.</summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport TemporalAffine<TCache>(
        Func<Tensor, Tensor, Tensor, (Tensor Out, TCache Cache)> forward,
        Func<Tensor, TCache, AffineGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.temporalAffineWith(
            Options(cases, seed, nameof(TemporalAffine)),
            F<Tensor, Tensor, Tensor, Tuple<Tensor, TCache>>((x, w, b) => forward(x, w, b).ToTuple()),
            F(backward)));
    }

    /// <summary>Verifies a temporal softmax loss: (scores (N, T, V), targets (N, T), mask (N, T)) → the masked steps'
    /// losses summed and divided by N, and dscores. Masks with zeros and all ones are among the cases.</summary>
    /// <inheritdoc cref="SoftmaxLoss" path="/param|/returns|/exception"/>
    public static VerificationReport TemporalSoftmaxLoss(
        Func<Tensor, Indices, Mask, LossResult> loss, int cases = 200, int seed = 0)
    {
        Require.NotNull(loss);
        return Report(FVerify.temporalSoftmaxLossWith(Options(cases, seed, nameof(TemporalSoftmaxLoss)), F(loss)));
    }

    /// <summary>Verifies a vanilla RNN step: forward (x (N, D), prevH (N, H), wx (D, H), wh (H, H), b (H,)) →
    /// (nextH, cache); backward (dnextH, cache) → gradients.</summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport RnnStep<TCache>(
        Func<Tensor, Tensor, Tensor, Tensor, Tensor, (Tensor NextH, TCache Cache)> forward,
        Func<Tensor, TCache, RnnStepGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.rnnStepWith(
            Options(cases, seed, nameof(RnnStep)),
            F<Tensor, Tensor, Tensor, Tensor, Tensor, Tuple<Tensor, TCache>>((x, h, wx, wh, b) => forward(x, h, wx, wh, b).ToTuple()),
            F(backward)));
    }

    /// <summary>Verifies a vanilla RNN over a sequence: forward (x (N, T, D), h0 (N, H), wx, wh, b) → (h (N, T, H),
    /// cache); backward (dh, cache) → gradients. T = 1 and T &gt; 1 are among the cases.</summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport Rnn<TCache>(
        Func<Tensor, Tensor, Tensor, Tensor, Tensor, (Tensor H, TCache Cache)> forward,
        Func<Tensor, TCache, RnnGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.rnnWith(
            Options(cases, seed, nameof(Rnn)),
            F<Tensor, Tensor, Tensor, Tensor, Tensor, Tuple<Tensor, TCache>>((x, h, wx, wh, b) => forward(x, h, wx, wh, b).ToTuple()),
            F(backward)));
    }

    /// <summary>Verifies an LSTM step: forward (x (N, D), prevH, prevC (N, H), wx (D, 4H), wh (H, 4H), b (4H,)) →
    /// (nextH, nextC, cache) with the gates i, f, o, g; backward (dnextH, dnextC, cache) → gradients.</summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport LstmStep<TCache>(
        Func<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, (Tensor NextH, Tensor NextC, TCache Cache)> forward,
        Func<Tensor, Tensor, TCache, LstmStepGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        var curried = FuncConvert.FromFunc<Tensor, FSharpFunc<Tensor, FSharpFunc<Tensor, FSharpFunc<Tensor,
            FSharpFunc<Tensor, FSharpFunc<Tensor, Tuple<Tensor, Tensor, TCache>>>>>>>(
            x => F<Tensor, Tensor, Tensor, Tensor, Tensor, Tuple<Tensor, Tensor, TCache>>(
                (h, c, wx, wh, b) => forward(x, h, c, wx, wh, b).ToTuple()));
        return Report(FVerify.lstmStepWith(Options(cases, seed, nameof(LstmStep)), curried, F(backward)));
    }

    /// <summary>Verifies an LSTM over a sequence: forward (x (N, T, D), h0 (N, H), wx (D, 4H), wh (H, 4H), b (4H,))
    /// → (h (N, T, H), cache) with the gates i, f, o, g; backward (dh, cache) → gradients.</summary>
    /// <inheritdoc cref="Affine{TCache}" path="/typeparam|/param|/returns|/exception"/>
    public static VerificationReport Lstm<TCache>(
        Func<Tensor, Tensor, Tensor, Tensor, Tensor, (Tensor H, TCache Cache)> forward,
        Func<Tensor, TCache, LstmGrads> backward, int cases = 200, int seed = 0)
    {
        Require.NotNull(forward);
        Require.NotNull(backward);
        return Report(FVerify.lstmWith(
            Options(cases, seed, nameof(Lstm)),
            F<Tensor, Tensor, Tensor, Tensor, Tensor, Tuple<Tensor, TCache>>((x, h, wx, wh, b) => forward(x, h, wx, wh, b).ToTuple()),
            F(backward)));
    }
}
