using Functional.FSharp;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using FCaptioning = Functional.FSharp.Captioning;
using FDigitCaptions = Functional.FSharp.DigitCaptions;
using CoreSolver = Functional.FSharp.SolverModule;

namespace Functional;

/// <summary>
/// One set of the digit-captions data (<see cref="Datasets.DigitCaptions"/>): N strips of 1–4 digits, 28 × 112
/// pixels, and their captions (N, 6) in the course's layout (&lt;START&gt;, digit words, &lt;END&gt;, &lt;NULL&gt;
/// padding). The strips are drawn on demand. Immutable.
/// </summary>
public sealed class CaptionedImages
{
    internal CaptionedImages(CaptionSet source, string[] vocabulary)
    {
        Source = source;
        Vocabulary = Array.AsReadOnly(vocabulary);
    }

    internal CaptionSet Source { get; }

    /// <summary>The number of strips N.</summary>
    public int Count => FDigitCaptions.count(Source);

    /// <summary>The captions (N, 6), token indices into <see cref="Vocabulary"/>.</summary>
    public Indices Captions => Source.Captions;

    /// <summary>The vocabulary: &lt;NULL&gt; = 0, &lt;START&gt; = 1, &lt;END&gt; = 2, &lt;UNK&gt; = 3, "zero" … "nine" = 4 … 13.</summary>
    public IReadOnlyList<string> Vocabulary { get; }

    /// <summary>Draws strips: (n, 1, 28, 112) with values in [0, 1].</summary>
    /// <param name="indices">Which strips, each in [0, N); all of them when null.</param>
    /// <returns>The strips.</returns>
    /// <exception cref="ArgumentException">An index is out of range.</exception>
    public Tensor Images(IReadOnlyList<int>? indices = null) =>
        FDigitCaptions.images(Source, indices is null ? Enumerable.Range(0, Count).ToArray() : indices.ToArray());

    /// <summary>A token row as words (e.g. "seven three one"): a leading &lt;START&gt; skipped, up to &lt;END&gt;, &lt;NULL&gt; dropped.</summary>
    /// <param name="tokens">A caption or a sampled row.</param>
    /// <returns>The words joined by spaces.</returns>
    public string Decode(IReadOnlyList<int> tokens) =>
        FDigitCaptions.decode(Vocabulary.ToArray(), Require.Labels(tokens));
}

/// <summary>The digit-captions data split into training, validation and test strips. Immutable.</summary>
public sealed class CaptionedImageSplit
{
    internal CaptionedImageSplit(CaptionSplit source)
    {
        Source = source;
        Train = new CaptionedImages(source.Train, source.Vocabulary);
        Validation = new CaptionedImages(source.Val, source.Vocabulary);
        Test = new CaptionedImages(source.Test, source.Vocabulary);
    }

    internal CaptionSplit Source { get; }

    /// <summary>Strips drawn from the training digits.</summary>
    public CaptionedImages Train { get; }

    /// <summary>Strips drawn from the validation digits.</summary>
    public CaptionedImages Validation { get; }

    /// <summary>Strips drawn from the test digits.</summary>
    public CaptionedImages Test { get; }

    /// <summary>The vocabulary (see <see cref="CaptionedImages.Vocabulary"/>).</summary>
    public IReadOnlyList<string> Vocabulary => Train.Vocabulary;
}

/// <summary>What a captioning net sees of a strip: raw pixels, or a trained digit classifier's class probabilities and the ink per (re-centred) slot.</summary>
public sealed class CaptionFeatureExtractor
{
    private CaptionFeatureExtractor(CaptionFeatures core) => Core = core;

    internal CaptionFeatures Core { get; }

    /// <summary>The strip's pixels, flattened: 3136 features.</summary>
    public static CaptionFeatureExtractor Pixels { get; } = new(CaptionFeatures.Pixels);

    /// <summary>
    /// A trained classifier of 28 × 28 digits (e.g. a <see cref="ThreeLayerConvNet"/> trained on
    /// <see cref="Datasets.Digits"/>) applied to each of the strip's 4 slots, each slot re-centred first as MNIST
    /// centres its digits (its ink's centre of mass moved to pixel (14, 14)): per slot the C class probabilities and
    /// the slot's ink (mean pixel value × 8, about 1 for a digit and 0 for an empty slot), concatenated slot by slot
    /// (4 · (C + 1) features).
    /// </summary>
    /// <param name="classifier">The net.</param>
    /// <param name="parameters">Its trained parameters (e.g. <see cref="TrainingResult.BestParameters"/>).</param>
    /// <param name="state">Its state (e.g. <see cref="TrainingResult.BestState"/>); the net's own when null.</param>
    /// <param name="oneHot">
    /// Whether each slot gives the one-hot vector of the classifier's most likely class (its decision) instead of
    /// the probabilities: a captioning net trained on strips of the digits the classifier learned then sees the same
    /// kind of features on new strips.
    /// </param>
    /// <returns>The extractor.</returns>
    public static CaptionFeatureExtractor FromClassifier(
        Model classifier,
        IReadOnlyDictionary<string, Tensor> parameters,
        IReadOnlyDictionary<string, Tensor>? state = null,
        bool oneHot = false)
    {
        var net = Require.NotNull(classifier);
        var reader = new SlotReader(net.Core, Maps.Of(Require.NotNull(parameters), net.Core.Params), Maps.Of(state, net.Core.State));
        return new(CaptionFeatures.NewConvScores(ListModule.Singleton(reader), oneHot));
    }

    /// <summary>
    /// An ensemble of classifier features (each made by <see cref="FromClassifier"/>): per slot the mean of the
    /// members' class probabilities, and the slot's ink; the same 4 · (C + 1) features as one member.
    /// </summary>
    /// <param name="members">Extractors made by <see cref="FromClassifier"/> (or ensembles), with the same class count.</param>
    /// <param name="oneHot">Whether each slot gives the one-hot vector of the ensemble's most likely class instead of the mean probabilities.</param>
    /// <returns>The extractor.</returns>
    /// <exception cref="ArgumentException">There is no member, a member is <see cref="Pixels"/>, or the class counts differ.</exception>
    public static CaptionFeatureExtractor Ensemble(IReadOnlyList<CaptionFeatureExtractor> members, bool oneHot = false)
    {
        Require.NotNull(members);
        if (members.Count == 0)
            throw new ArgumentException("CaptionFeatureExtractor.Ensemble: there must be at least one member.", nameof(members));
        var readers = members.SelectMany((m, i) => Require.NotNull(m).Core switch
        {
            CaptionFeatures.ConvScores c => c.Readers,
            _ => throw new ArgumentException(
                $"CaptionFeatureExtractor.Ensemble: members[{i}] is the pixel features; every member must come from FromClassifier.", nameof(members)),
        });
        var ensemble = new CaptionFeatureExtractor(CaptionFeatures.NewConvScores(ListModule.OfSeq(readers), oneHot));
        _ = ensemble.Dimension; // checks that the class counts agree
        return ensemble;
    }

    /// <summary>
    /// Shift augmentation for training the classifier behind <see cref="FromClassifier"/>: the images followed by a
    /// copy of each moved by a seeded offset, uniform in −<paramref name="maxShift"/> … <paramref name="maxShift"/>
    /// pixels in each direction (the border uncovered is black), labels repeated. Re-centring a slot leaves its
    /// digit up to about a pixel from where MNIST puts it; a classifier trained on these copies tolerates that.
    /// </summary>
    /// <param name="digits">The images (M, C, H, W) and labels, e.g. <c>Datasets.Digits().Train</c>.</param>
    /// <param name="maxShift">The largest shift in pixels (≥ 0).</param>
    /// <param name="seed">The seed of the offsets: the same seed gives the same copies.</param>
    /// <returns>2M images and labels.</returns>
    /// <exception cref="ArgumentException"><paramref name="maxShift"/> is negative.</exception>
    public static Dataset WithShiftedCopies(Dataset digits, int maxShift = 1, long seed = 0) =>
        new(FDigitCaptions.withShiftedCopies(seed, maxShift, Require.NotNull(digits).Source));

    /// <summary>
    /// Affine augmentation for training the classifier behind <see cref="FromClassifier"/> (small distortions of the
    /// digits, as Simard et al. 2003): the images followed by <paramref name="copies"/> distorted copies, each image
    /// rotated by up to ±<paramref name="maxDegrees"/>, scaled by 1 ± <paramref name="maxScale"/> and moved by up to
    /// ±<paramref name="maxShift"/> pixels in each direction (all uniform, continuous) about the image's centre,
    /// sampled bilinearly with a black surround; labels repeated.
    /// </summary>
    /// <param name="digits">The images (M, C, H, W) and labels, e.g. <c>Datasets.Digits().Train</c>.</param>
    /// <param name="copies">The number of distorted copies (≥ 0).</param>
    /// <param name="maxDegrees">The largest rotation in degrees (≥ 0).</param>
    /// <param name="maxScale">The largest relative change of size, in [0, 1).</param>
    /// <param name="maxShift">The largest shift in pixels (≥ 0).</param>
    /// <param name="seed">The seed of the distortions: the same seed gives the same copies.</param>
    /// <returns>(copies + 1)·M images and labels.</returns>
    /// <exception cref="ArgumentException">A count or bound is negative or not finite, or maxScale ≥ 1.</exception>
    public static Dataset WithAffineCopies(
        Dataset digits, int copies = 1, double maxDegrees = 10, double maxScale = 0.1, double maxShift = 1, long seed = 0) =>
        new(FDigitCaptions.withAffineCopies(seed, copies, maxDegrees, maxScale, maxShift, Require.NotNull(digits).Source));

    /// <summary>The number of features D.</summary>
    public int Dimension => FCaptioning.featureDim(Core);

    /// <summary>The features of strips of a set.</summary>
    /// <param name="set">The strips.</param>
    /// <param name="indices">Which strips; all when null.</param>
    /// <returns>Features (n, D).</returns>
    public Tensor Compute(CaptionedImages set, IReadOnlyList<int>? indices = null)
    {
        var s = Require.NotNull(set);
        var idx = indices is null ? Enumerable.Range(0, s.Count).ToArray() : indices.ToArray();
        return FCaptioning.featuresOf(Core, s.Source).Invoke(idx);
    }
}

/// <summary>The recurrent cell of a <see cref="CaptioningRnn"/>.</summary>
public enum RecurrentCell
{
    /// <summary>Vanilla RNN: h = tanh(x·Wx + h·Wh + b).</summary>
    Rnn,

    /// <summary>LSTM, the course's gate order i, f, o, g.</summary>
    Lstm,

    /// <summary>GRU, PyTorch's equations (r, z, n), with input bias b and hidden bias b_h.</summary>
    Gru,
}

/// <summary>The loss of a captioning net on a minibatch and its gradients, named like the parameters.</summary>
/// <param name="Loss">The temporal softmax loss: summed over unmasked steps, divided by N.</param>
/// <param name="Gradients">W_proj, b_proj, W_embed, Wx, Wh, b (and b_h for the GRU), W_vocab, b_vocab.</param>
public sealed record CaptioningLoss(double Loss, IReadOnlyDictionary<string, Tensor> Gradients);

/// <summary>Caption metrics: exact-caption accuracy, per-token accuracy and corpus BLEU.</summary>
public static class CaptionMetrics
{
    /// <summary>The fraction of rows whose words equal the reference's.</summary>
    /// <param name="predicted">Sampled rows (N, T').</param>
    /// <param name="reference">Captions (N, T).</param>
    /// <returns>A fraction in [0, 1].</returns>
    public static double ExactAccuracy(Indices predicted, Indices reference) =>
        FDigitCaptions.exactAccuracy(Require.NotNull(predicted), Require.NotNull(reference));

    /// <summary>Per-token accuracy over each reference's words and its &lt;END&gt;.</summary>
    /// <param name="predicted">Sampled rows (N, T').</param>
    /// <param name="reference">Captions (N, T).</param>
    /// <returns>A fraction in [0, 1].</returns>
    public static double TokenAccuracy(Indices predicted, Indices reference) =>
        FDigitCaptions.tokenAccuracy(Require.NotNull(predicted), Require.NotNull(reference));

    /// <summary>
    /// Corpus BLEU-n (Papineni et al., 2002; NLTK's corpus_bleu with uniform weights, no smoothing), one reference per
    /// caption, words without &lt;START&gt;, &lt;END&gt;, &lt;NULL&gt;.
    /// </summary>
    /// <param name="n">The largest n-gram order, 1 … 4.</param>
    /// <param name="predicted">Sampled rows (N, T').</param>
    /// <param name="reference">Captions (N, T).</param>
    /// <returns>BLEU in [0, 1].</returns>
    public static double Bleu(int n, Indices predicted, Indices reference) =>
        FDigitCaptions.bleu(n, Require.NotNull(predicted), Require.NotNull(reference));
}

/// <summary>
/// The course's image-captioning net (CaptioningRNN): image features (N, D) → h0 = features·W_proj + b_proj; the
/// caption's words embedded by W_embed (V, W) run through the cell (Wx, Wh, b); W_vocab (H, V) and b_vocab score the
/// vocabulary at every step. Tokens: &lt;NULL&gt; (padding, masked out of the loss), &lt;START&gt;, &lt;END&gt;.
/// </summary>
public sealed class CaptioningRnn
{
    /// <summary>A captioning net with the course's initialization.</summary>
    /// <param name="inputDim">D, the feature size.</param>
    /// <param name="cell">The recurrent cell.</param>
    /// <param name="wordVecDim">W, the word-vector size.</param>
    /// <param name="hiddenDim">H, the hidden size.</param>
    /// <param name="vocabSize">V, the vocabulary size (14 for the digit captions).</param>
    /// <param name="nullToken">The padding token.</param>
    /// <param name="startToken">The start token.</param>
    /// <param name="endToken">The end token.</param>
    /// <param name="seed">The seed of the initial weights.</param>
    /// <exception cref="ArgumentException">A size is not positive or a token is outside [0, V).</exception>
    public CaptioningRnn(
        int inputDim,
        RecurrentCell cell = RecurrentCell.Lstm,
        int wordVecDim = 256,
        int hiddenDim = 512,
        int vocabSize = 14,
        int nullToken = 0,
        int startToken = 1,
        int endToken = 2,
        long seed = 0)
    {
        var c = cell switch
        {
            RecurrentCell.Rnn => CaptioningCell.Rnn,
            RecurrentCell.Lstm => CaptioningCell.Lstm,
            RecurrentCell.Gru => CaptioningCell.Gru,
            _ => throw new ArgumentException($"CaptioningRnn: unknown cell {cell}.", nameof(cell)),
        };
        Config = new CaptioningConfig(c, inputDim, wordVecDim, hiddenDim, vocabSize, nullToken, startToken, endToken, seed);
        CoreParameters = FCaptioning.init(Config);
        Cell = cell;
    }

    internal CaptioningConfig Config { get; }

    internal Microsoft.FSharp.Collections.FSharpMap<string, Tensor> CoreParameters { get; }

    /// <summary>The cell.</summary>
    public RecurrentCell Cell { get; }

    /// <summary>A short description.</summary>
    public string Name => FCaptioning.name(Config);

    /// <summary>The initial parameters.</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters => CoreParameters;

    private Microsoft.FSharp.Collections.FSharpMap<string, Tensor> P(IReadOnlyDictionary<string, Tensor>? parameters) =>
        Maps.Of(parameters, CoreParameters);

    /// <summary>The loss and gradients on a minibatch (the course's CaptioningRNN.loss).</summary>
    /// <param name="features">Image features (N, D).</param>
    /// <param name="captions">Captions (N, T), T ≥ 2: captions_in = [:, :-1], captions_out = [:, 1:], mask = captions_out ≠ &lt;NULL&gt;.</param>
    /// <param name="parameters">The parameters; the initial ones when null.</param>
    /// <returns>The loss and the gradients.</returns>
    /// <exception cref="ArgumentException">A shape does not fit, or a token is outside [0, V).</exception>
    public CaptioningLoss Loss(Tensor features, Indices captions, IReadOnlyDictionary<string, Tensor>? parameters = null)
    {
        var r = FCaptioning.loss(Config, P(parameters), Require.NotNull(features), Require.NotNull(captions));
        return new CaptioningLoss(r.Loss, r.Grads);
    }

    /// <summary>Greedy sampling: the most likely word at each step, fed back; a row stops after &lt;END&gt; (&lt;NULL&gt; after it).</summary>
    /// <param name="features">Image features (N, D).</param>
    /// <param name="maxLength">The most words per row (≥ 1).</param>
    /// <param name="parameters">The parameters; the initial ones when null.</param>
    /// <returns>Tokens (N, maxLength), without &lt;START&gt;.</returns>
    public Indices Sample(Tensor features, int maxLength = 5, IReadOnlyDictionary<string, Tensor>? parameters = null) =>
        FCaptioning.sample(Config, P(parameters), Require.NotNull(features), maxLength);

    /// <summary>Beam search: keeps the <paramref name="width"/> most likely partial captions (summed log probabilities); width 1 is greedy.</summary>
    /// <param name="features">Image features (N, D).</param>
    /// <param name="width">The beam width k (≥ 1).</param>
    /// <param name="maxLength">The most words per row (≥ 1).</param>
    /// <param name="parameters">The parameters; the initial ones when null.</param>
    /// <returns>Tokens (N, maxLength), without &lt;START&gt;.</returns>
    public Indices BeamSearch(Tensor features, int width = 3, int maxLength = 5, IReadOnlyDictionary<string, Tensor>? parameters = null) =>
        FCaptioning.beamSearch(Config, P(parameters), Require.NotNull(features), maxLength, width);

    /// <summary>
    /// Trains the net on digit captions with the Solver. The per-epoch metric is BLEU-4 of greedy samples
    /// (<see cref="TrainingResult.TrainAccuracyHistory"/> and its siblings hold it, and the best parameters are
    /// those with the best validation BLEU-4); checkpoints, cancellation and progress work as for classifiers.
    /// </summary>
    /// <param name="data">The digit captions.</param>
    /// <param name="features">What the net sees of a strip; its <see cref="CaptionFeatureExtractor.Dimension"/> must be the net's D.</param>
    /// <param name="rule">The update rule.</param>
    /// <param name="solverConfig">The solver's configuration; the defaults when null.</param>
    /// <param name="progress">Progress reports (their metric is "bleu-4").</param>
    /// <param name="cancellationToken">Stops training after the current step.</param>
    /// <returns>The training result.</returns>
    /// <exception cref="ArgumentException">The feature size is not D, or an option is out of range.</exception>
    public TrainingResult Train(
        CaptionedImageSplit data,
        CaptionFeatureExtractor features,
        UpdateRule rule,
        SolverConfig? solverConfig = null,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var f = Require.NotNull(features);
        if (f.Dimension != Config.InputDim)
            throw new ArgumentException(
                $"CaptioningRnn.Train: the features have {f.Dimension} dimensions, the net takes {Config.InputDim}.", nameof(features));
        var config = (solverConfig ?? new SolverConfig()).ToCore();
        var trainable = FCaptioning.trainable(config, Config, CoreParameters, FCaptioning.dataOf(f.Core, Require.NotNull(data).Source));
        var hooks = new Functional.FSharp.SolverTypes.SolverHooks(
            progress is null
                ? FuncConvert.FromAction<TrainingProgress>(_ => { })
                : FuncConvert.FromAction<TrainingProgress>(progress.Report),
            cancellationToken);
        return new TrainingResult(CoreSolver.fit(hooks, Require.NotNull(rule).Core, config, trainable));
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
