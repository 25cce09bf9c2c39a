namespace Functional.Api.Tests;

/// <summary>
/// A C# caller reads the member it called at the start of an argument error, never the F# core's function
/// (<c>Layers.ConvForwardNaive: …</c>, not <c>Conv.forwardNaive: …</c>); the argument name and the rest of the
/// message are the core's, and the core's exception is the inner one.
/// </summary>
public class ErrorNamingTests
{
    private static readonly Tensor X4 = Tensor.Ones(2, 3, 4, 4);

    public static TheoryData<string, string, Action> Cases() => new()
    {
        { "Layers.ConvForwardNaive", "stride", () => Layers.ConvForwardNaive(X4, Tensor.Ones(2, 3, 3, 3), Tensor.Zeros(2), stride: 0) },
        { "Layers.ConvForward", "w", () => Layers.ConvForward(X4, Tensor.Ones(2, 5, 3, 3), Tensor.Zeros(2)) },
        { "Layers.ConvReluPoolForward", "pad", () => Layers.ConvReluPoolForward(X4, Tensor.Ones(2, 3, 3, 3), Tensor.Zeros(2), pad: -1) },
        { "Layers.MaxPoolForward", "x", () => Layers.MaxPoolForward(Tensor.Ones(2, 3)) },
        { "Layers.AvgPoolBackward", "dout", () => Layers.AvgPoolBackward(Tensor.Ones(1), Layers.AvgPoolForward(X4).Cache) },
        { "Layers.AffineForward", "w", () => Layers.AffineForward(Tensor.Ones(2, 3), Tensor.Ones(4, 5), Tensor.Zeros(5)) },
        { "Layers.BatchNormForward", "eps", () => Layers.BatchNormForward(Tensor.Ones(4, 3), Tensor.Ones(3), Tensor.Zeros(3), BatchNormState.Initial(3), Mode.Train, eps: 0) },
        { "Layers.GroupNormForward", "groups", () => Layers.GroupNormForward(X4, Tensor.Ones(3), Tensor.Zeros(3), groups: 2) },
        { "Layers.DropoutForward", "keepProb", () => Layers.DropoutForward(X4, 1.5, Mode.Train, Rng.Create(0)) },
        { "Layers.RnnStepForward", "wh", () => Layers.RnnStepForward(Tensor.Ones(2, 3), Tensor.Ones(2, 4), Tensor.Ones(3, 4), Tensor.Ones(3, 4), Tensor.Zeros(4)) },
        { "Losses.Softmax", "y", () => Losses.Softmax(Tensor.Ones(2, 3), [0, 3]) },
        { "Losses.L2", "reg", () => Losses.L2(Tensor.Ones(2), -1.0) },
        { "GradCheck.Compare", "numeric", () => GradCheck.Compare("w", Tensor.Ones(2), Tensor.Ones(3)) },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void AnArgumentErrorNamesTheMemberTheUserCalled(string member, string argument, Action call)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(call);
        Assert.StartsWith(member + ": ", ex.Message);
        Assert.Equal(argument, ex.ParamName);
        Assert.DoesNotMatch(@"\b[A-Z][A-Za-z0-9]*\.[a-z][A-Za-z0-9]*: ", ex.Message);
        Assert.Equal(2, ex.Message.Split($"(Parameter '{argument}')").Length);
        if (ex.GetType() == typeof(ArgumentException))
            Assert.IsAssignableFrom<ArgumentException>(ex.InnerException);
    }

    [Fact]
    public void AnErrorOfTheUsersOwnCallbackIsNotRenamed()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            GradCheck.Numeric(_ => throw new ArgumentException("Mine.check: my own message", "mine"), Tensor.Ones(2)));
        Assert.StartsWith("Mine.check: my own message", ex.Message);
        Assert.Null(ex.InnerException);
    }

    [Fact]
    public void ACoreErrorRaisedInsideTheUsersCallbackIsNotRenamed()
    {
        // The callback calls the F# core itself: the error is the core's, but the user's call raised it.
        var ex = Assert.Throws<ArgumentException>(() =>
            GradCheck.Numeric(_ => Functional.FSharp.LossesModule.softmax(Tensor.Ones(1, 2), [5]).Loss, Tensor.Ones(2)));
        Assert.StartsWith("Losses.softmax: label y[0] = 5", ex.Message);
        Assert.Equal("y", ex.ParamName);
    }

    [Theory]
    [InlineData("Layers.BatchNormForward", "gamma")]
    [InlineData("Losses.Softmax", "scores")]
    [InlineData("GradCheck.Numeric", "f")]
    public void ANullArgumentNamesTheTypeAndMemberTheUserCalled(string member, string argument)
    {
        Action call = member switch
        {
            "Layers.BatchNormForward" => () => Layers.BatchNormForward(Tensor.Ones(2, 3), null!, Tensor.Ones(3), BatchNormState.Initial(3), Mode.Train),
            "Losses.Softmax" => () => Losses.Softmax(null!, [0]),
            _ => () => GradCheck.Numeric(null!, Tensor.Ones(2)),
        };
        var ex = Assert.Throws<ArgumentNullException>(call);
        Assert.StartsWith($"{member}: {argument} must not be null.", ex.Message);
        Assert.Equal(argument, ex.ParamName);
    }

    [Fact]
    public void AnErrorOfTheUsersOwnCallbackIsNotRenamedEvenWhenItNamesACoreFunction()
    {
        // The message looks like the core's ("Losses.softmax: "), but the core did not raise it: no mark.
        var ex = Assert.Throws<ArgumentException>(() =>
            GradCheck.Numeric(_ => throw new ArgumentException("Losses.softmax: my own message", "x"), Tensor.Ones(2)));
        Assert.StartsWith("Losses.softmax: my own message", ex.Message);
        Assert.Null(ex.InnerException);
    }
}
