namespace Functional.Api.Tests;

public class CaptioningTests
{
    private static readonly CaptionedImageSplit Data = Datasets.DigitCaptions(numTrain: 60, numValidation: 10, numTest: 10);

    [Fact]
    public void DigitCaptionsHaveTheCourseLayout()
    {
        Assert.Equal(60, Data.Train.Count);
        Assert.Equal([60, 6], Data.Train.Captions.Shape);
        Assert.Equal([4, 1, 28, 112], Data.Test.Images([0, 1, 2, 3]).Shape);
        Assert.Equal(14, Data.Vocabulary.Count);
        Assert.Equal(["<NULL>", "<START>", "<END>", "<UNK>", "zero"], Data.Vocabulary.Take(5));
        var row = Data.Train.Captions.ToArray()[..6];
        Assert.Equal(1, row[0]);
        var words = Data.Train.Decode(row).Split(' ');
        Assert.InRange(words.Length, 1, 4);
        Assert.All(words, w => Assert.Contains(w, Data.Vocabulary.Skip(4)));
        Assert.Equal(Data.Train.Captions.ToArray(), Datasets.DigitCaptions(60, 10, 10).Train.Captions.ToArray());
        Assert.Throws<ArgumentException>(() => Datasets.DigitCaptions(numTrain: 0));
    }

    [Fact]
    public void LossSampleAndBeamSearchThroughTheFacade()
    {
        var features = CaptionFeatureExtractor.Pixels.Compute(Data.Train, [0, 1, 2]);
        Assert.Equal([3, 3136], features.Shape);
        var net = new CaptioningRnn(inputDim: 3136, cell: RecurrentCell.Gru, wordVecDim: 8, hiddenDim: 16, seed: 4);
        var captions = Indices.FromArray(Data.Train.Captions.ToArray()[..18], 3, 6);
        var loss = net.Loss(features, captions);
        Assert.True(loss.Loss > 0);
        Assert.Equal(
            new[] { "W_embed", "W_proj", "W_vocab", "Wh", "Wx", "b", "b_h", "b_proj", "b_vocab" },
            loss.Gradients.Keys.Order(StringComparer.Ordinal));
        var sampled = net.Sample(features, maxLength: 4);
        Assert.Equal([3, 4], sampled.Shape);
        Assert.Equal(sampled.ToArray(), net.Sample(features, maxLength: 4).ToArray());
        Assert.Equal(sampled.ToArray(), net.BeamSearch(features, width: 1, maxLength: 4).ToArray());
        Assert.Equal([3, 4], net.BeamSearch(features, width: 3, maxLength: 4).Shape);
        Assert.InRange(CaptionMetrics.Bleu(1, sampled, captions), 0.0, 1.0);
    }

    [Fact]
    public void MetricsOfThePerfectCaptionsAreOne()
    {
        var reference = Data.Test.Captions;
        var predicted = Indices.FromArray(
            Enumerable.Range(0, Data.Test.Count).SelectMany(i => reference.ToArray()[(i * 6 + 1)..(i * 6 + 6)]).ToArray(),
            Data.Test.Count, 5);
        Assert.Equal(1.0, CaptionMetrics.ExactAccuracy(predicted, reference));
        Assert.Equal(1.0, CaptionMetrics.TokenAccuracy(predicted, reference));
        Assert.Equal(1.0, CaptionMetrics.Bleu(1, predicted, reference), 12);
    }

    [Fact]
    public void BadInputsAreClearErrors()
    {
        var net = new CaptioningRnn(inputDim: 5, hiddenDim: 4, wordVecDim: 3);
        var ex = Assert.Throws<ArgumentException>(() => net.Sample(Tensor.Zeros(2, 4)));
        Assert.Contains("Captioning.sample", ex.Message);
        Assert.Contains("D = 5", ex.Message);
        Assert.Throws<ArgumentException>(() => net.BeamSearch(Tensor.Zeros(2, 5), width: 0));
        Assert.Throws<ArgumentException>(() => new CaptioningRnn(inputDim: 5, endToken: 14));
        Assert.Throws<ArgumentException>(() => net.Train(Data, CaptionFeatureExtractor.Pixels, UpdateRule.Adam(1e-3)));
    }
}
