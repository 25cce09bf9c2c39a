namespace Functional.Api.Tests;

public class DatasetTests
{
    private static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "functional-cs-cifar-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A batch file of <paramref name="n"/> records: label r % 10, pixel j of record r = (r + j) % 256.</summary>
    private static byte[] Batch(int n, int first)
    {
        var bytes = new byte[n * 3073];
        for (var r = 0; r < n; r++)
        {
            bytes[r * 3073] = (byte)((first + r) % 10);
            for (var j = 0; j < 3072; j++)
                bytes[r * 3073 + 1 + j] = (byte)((first + r + j) % 256);
        }
        return bytes;
    }

    /// <summary>Five training batches of 2 records (labels 0 … 9 in order) and a test batch of 3.</summary>
    private static string WriteCifar()
    {
        var dir = NewTempDir();
        for (var i = 1; i <= 5; i++)
            File.WriteAllBytes(Path.Combine(dir, $"data_batch_{i}.bin"), Batch(2, 2 * (i - 1)));
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), Batch(3, 100));
        return dir;
    }

    [Fact]
    public void DigitsAreAStratifiedSplitOfTenThousandImages()
    {
        var digits = Datasets.Digits();
        Assert.Equal(8000, digits.Train.Count);
        Assert.Equal(1000, digits.Validation.Count);
        Assert.Equal(1000, digits.Test.Count);
        Assert.Equal([8000, 1, 28, 28], digits.Train.X.Shape);
        Assert.Equal(1000, digits.Test.Labels.Count);
        Assert.Equal(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], digits.Train.Classes);
        Assert.Equal([100, 113, 99, 103, 98, 86, 102, 107, 94, 98], digits.Validation.ClassCounts());
        Assert.All(digits.Validation.X.ToArray(), v => Assert.InRange(v, 0.0, 1.0));
        Assert.Equal(digits.Train.Labels, Datasets.Digits().Train.Labels);
        var small = digits.Train.Head(100);
        Assert.Equal(100, small.Count);
        Assert.Equal(digits.Train.Labels.Take(100), small.Labels);
        Assert.Throws<NotSupportedException>(() => ((IList<int>)digits.Train.Labels)[0] = 3);
        Assert.Contains("8000 images of shape (1, 28, 28), 10 classes", digits.Train.ToString());
    }

    [Fact]
    public void Cifar10LoadsTheBinaryBatchesAndTheLastTrainingImagesAreValidation()
    {
        var dir = WriteCifar();
        try
        {
            var split = Cifar10.Load(dir, validationSize: 3);
            Assert.Equal(7, split.Train.Count);
            Assert.Equal(3, split.Validation.Count);
            Assert.Equal(3, split.Test.Count);
            Assert.Equal([7, 3, 32, 32], split.Train.X.Shape);
            Assert.Equal([0, 1, 2, 3, 4, 5, 6], split.Train.Labels);
            Assert.Equal([7, 8, 9], split.Validation.Labels);
            // Record r, channel c, row h, column w is byte 1 + c·1024 + h·32 + w of the record.
            Assert.Equal((8 + 2 * 1024 + 3 * 32 + 4) % 256, split.Validation.X[1, 2, 3, 4]);
            Assert.Equal(Cifar10.Classes, split.Test.Classes);
            Assert.Equal("airplane", Cifar10.Classes[0]);
            var test = Cifar10.LoadBatch(Path.Combine(dir, "test_batch.bin"));
            Assert.Equal(split.Test.X.ToArray(), test.X.ToArray());
            Assert.Equal([0, 1, 2], test.Labels);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Cifar10ErrorsSayWhatIsWrong()
    {
        var ex = Assert.Throws<ArgumentException>(() => Cifar10.Load("/no/such/cifar"));
        Assert.Contains("folder not found", ex.Message);
        Assert.Equal("dir", ex.ParamName);
        Assert.Throws<ArgumentNullException>(() => Cifar10.Load(null!));
        Assert.Throws<ArgumentNullException>(() => Cifar10.LoadBatch(null!));

        var dir = WriteCifar();
        try
        {
            ex = Assert.Throws<ArgumentException>(() => Cifar10.Load(dir));
            Assert.Contains($"validationSize must be in [0, 10)", ex.Message);
            Assert.Contains($"got {Cifar10.DefaultValidationSize}", ex.Message);
            File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), new byte[3000]);
            ex = Assert.Throws<ArgumentException>(() => Cifar10.Load(dir, validationSize: 1));
            Assert.Contains("test_batch.bin has 3000 bytes, not a multiple of the record size 3073", ex.Message);
            File.Delete(Path.Combine(dir, "data_batch_5.bin"));
            ex = Assert.Throws<ArgumentException>(() => Cifar10.Load(dir, validationSize: 1));
            Assert.Contains("data_batch_5.bin is missing", ex.Message);
            ex = Assert.Throws<ArgumentException>(() => Cifar10.LoadBatch(Path.Combine(dir, "data_batch_5.bin")));
            Assert.Contains("file not found", ex.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }

        var pickle = NewTempDir();
        try
        {
            File.WriteAllBytes(Path.Combine(pickle, "data_batch_1"), [0x80, 0x02, 0x7d]);
            ex = Assert.Throws<ArgumentException>(() => Cifar10.Load(pickle));
            Assert.Contains("python (pickle) version", ex.Message);
            Assert.Contains("cifar-10-binary.tar.gz", ex.Message);
        }
        finally
        {
            Directory.Delete(pickle, true);
        }
    }

    private static DataSplit SmallSplit()
    {
        string[] classes = ["a", "b"];
        var train = new Dataset(Tensor.FromArray([1.0, 10.0, 3.0, 30.0], 2, 2, 1, 1), [0, 1], classes);
        var validation = new Dataset(Tensor.FromArray([2.0, 20.0], 1, 2, 1, 1), [1], classes);
        var test = new Dataset(Tensor.FromArray([5.0, 0.0], 1, 2, 1, 1), [0], classes);
        return new DataSplit(train, validation, test);
    }

    [Fact]
    public void SubtractMeanUsesTheTrainingMeanImageForEverySet()
    {
        var (centred, mean) = SmallSplit().SubtractMean();
        Assert.Equal([2, 1, 1], mean.Shape);
        Assert.Equal([2.0, 20.0], mean.ToArray());
        Assert.Equal([-1.0, -10.0, 1.0, 10.0], centred.Train.X.ToArray());
        Assert.Equal([0.0, 0.0], centred.Validation.X.ToArray());
        Assert.Equal([3.0, -20.0], centred.Test.X.ToArray());
        Assert.Equal([3.0, -20.0], SmallSplit().Test.SubtractImage(mean).X.ToArray());
        Assert.Equal([1], centred.Validation.Labels);
        var ex = Assert.Throws<ArgumentException>(() => SmallSplit().Test.SubtractImage(Tensor.Zeros(3)));
        Assert.Contains("Preprocess.subtractImage", ex.Message);
    }

    [Fact]
    public void NormalizePerChannelUsesTheTrainingStatistics()
    {
        var (normalized, stats) = SmallSplit().NormalizePerChannel();
        Assert.Equal([2.0, 20.0], stats.Mean);
        Assert.Equal([1.0, 10.0], stats.Std);
        Assert.Equal([-1.0, -1.0, 1.0, 1.0], normalized.Train.X.ToArray());
        Assert.Equal([3.0, -2.0], normalized.Test.X.ToArray());
        Assert.Equal([3.0, -2.0], SmallSplit().Test.Normalize(stats).X.ToArray());
        var ex = Assert.Throws<ArgumentException>(() =>
            new Dataset(Tensor.Zeros(1, 3, 1, 1), [0], ["a"]).Normalize(stats));
        Assert.Contains("3 channels", ex.Message);
    }

    [Fact]
    public void LabeledImagesAndImageSplitCheckTheirParts()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Dataset(Tensor.Zeros(2, 1, 1, 1), [0, 2], ["a", "b"]));
        Assert.Contains("y[1] = 2", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new Dataset(Tensor.Zeros(2, 4), [0, 1], ["a", "b"]));
        Assert.Contains("(N, C, H, W)", ex.Message);
        Assert.Throws<ArgumentNullException>(() => new Dataset(Tensor.Zeros(1, 1, 1, 1), null!, ["a"]));
        var s = SmallSplit();
        var odd = new Dataset(Tensor.Zeros(1, 3, 1, 1), [0], ["a", "b"]);
        ex = Assert.Throws<ArgumentException>(() => new DataSplit(s.Train, odd, s.Test));
        Assert.Contains("validation images have shape (3, 1, 1)", ex.Message);
        var renamed = new Dataset(Tensor.Zeros(1, 2, 1, 1), [0], ["x", "y"]);
        ex = Assert.Throws<ArgumentException>(() => new DataSplit(s.Train, s.Validation, renamed));
        Assert.Contains("test classes [x, y] differ", ex.Message);
        Assert.Equal([1, 1], s.Train.ClassCounts());
        ex = Assert.Throws<ArgumentException>(() => s.Train.Head(3));
        Assert.Contains("Dataset.head", ex.Message);
    }
}
