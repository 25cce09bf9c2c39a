using System.Formats.Tar;
using System.IO.Compression;

namespace Functional.App.Tests;

/// <summary>CIFAR-10 straight from the downloaded cifar-10-binary.tar.gz, on a tiny archive made here.</summary>
public class CifarArchiveTests
{
    private const int RecordSize = 3073;

    /// <summary>A batch of <paramref name="count"/> records: label (first + r) % 10, every pixel of record r = (first + r) % 256.</summary>
    private static byte[] Batch(int first, int count)
    {
        var bytes = new byte[count * RecordSize];
        for (var r = 0; r < count; r++)
        {
            bytes[r * RecordSize] = (byte)((first + r) % 10);
            Array.Fill(bytes, (byte)((first + r) % 256), r * RecordSize + 1, RecordSize - 1);
        }

        return bytes;
    }

    /// <summary>The layout of the real archive: cifar-10-batches-bin/ with five data batches, the test batch and a text file.</summary>
    private static void WriteArchive(string path, int perBatch, bool withTest = true)
    {
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        void Add(string name, byte[] bytes) =>
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "cifar-10-batches-bin/" + name) { DataStream = new MemoryStream(bytes) });
        Add("batches.meta.txt", "airplane\nautomobile\n"u8.ToArray());
        for (var i = 1; i <= 5; i++)
            Add($"data_batch_{i}.bin", Batch((i - 1) * perBatch, perBatch));
        if (withTest)
            Add("test_batch.bin", Batch(1000, perBatch));
    }

    [Fact]
    public void TheLoaderReadsTheArchiveAsItReadsTheFolder()
    {
        using var tmp = AppProcess.TempFolder();
        WriteArchive(tmp["cifar-10-binary.tar.gz"], perBatch: 4);
        var split = Cifar10.Load(tmp["cifar-10-binary.tar.gz"], validationSize: 3);
        Assert.Equal(17, split.Train.Count);
        Assert.Equal(3, split.Validation.Count);
        Assert.Equal(4, split.Test.Count);
        Assert.Equal([17, 3, 32, 32], split.Train.X.Shape);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6], split.Train.Labels);
        Assert.Equal([7, 8, 9], split.Validation.Labels);       // the last records of the training batches
        Assert.Equal(19.0, split.Validation.X[2, 0, 0, 0]);
        Assert.Equal(1003.0 % 256, split.Test.X[3, 2, 31, 31]);

        // The same data extracted into a folder load the same.
        Directory.CreateDirectory(tmp["x"]);
        using (var gzip = new GZipStream(File.OpenRead(tmp["cifar-10-binary.tar.gz"]), CompressionMode.Decompress))
            TarFile.ExtractToDirectory(gzip, tmp["x"], overwriteFiles: false);
        var fromFolder = Cifar10.Load(tmp["x"], validationSize: 3);
        Assert.Equal(fromFolder.Train.X.ToArray(), split.Train.X.ToArray());
        Assert.Equal(fromFolder.Test.Labels, split.Test.Labels);
    }

    [Fact]
    public void AnArchiveWithoutATestBatchOrNotGzipIsRejectedClearly()
    {
        using var tmp = AppProcess.TempFolder();
        WriteArchive(tmp["partial.tar.gz"], perBatch: 2, withTest: false);
        var ex = Assert.Throws<ArgumentException>(() => Cifar10.Load(tmp["partial.tar.gz"]));
        Assert.Contains("test_batch.bin", ex.Message);
        File.WriteAllText(tmp["text.tar.gz"], "not an archive");
        ex = Assert.Throws<ArgumentException>(() => Cifar10.Load(tmp["text.tar.gz"]));
        Assert.Contains("text.tar.gz", ex.Message);
    }

    [Fact]
    public void TheAppTrainsOnTheArchive()
    {
        using var tmp = AppProcess.TempFolder();
        WriteArchive(tmp["cifar-10-binary.tar.gz"], perBatch: 250);
        var run = AppProcess.Run(["train", "--data", "cifar10", "--data-dir", tmp["cifar-10-binary.tar.gz"], "--model", "fc",
            "--hidden", "10", "--epochs", "1", "--batch-size", "50", "--output", tmp["out"]]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Data: 250 train, 1000 validation, 250 test images of shape (3, 32, 32)", run.Out);
    }
}
