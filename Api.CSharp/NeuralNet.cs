using Functional.FSharp;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Functional;

/// <summary>What a net's training-mode loss gives for one batch.</summary>
/// <param name="Loss">The data loss plus any regularization.</param>
/// <param name="Gradients">The gradient of the loss for every parameter, by name, each of its parameter's shape.</param>
public sealed record NetLoss(double Loss, IReadOnlyDictionary<string, Tensor> Gradients)
{
    /// <summary>The net's non-trainable state after the batch (e.g. batchnorm running statistics); empty if none.</summary>
    public IReadOnlyDictionary<string, Tensor> State { get; init; } = new Dictionary<string, Tensor>();

    /// <summary>The loss and the shape of each gradient and state tensor, in C# notation (the maps come from F#).</summary>
    /// <returns>For example <c>NetLoss { Loss = 2.3026, Gradients = [W1: (784, 100), b1: (100,)], State = [] }</c>.</returns>
    public override string ToString()
    {
        static string Shapes(IReadOnlyDictionary<string, Tensor> d) =>
            "[" + string.Join(", ", d.Select(kv => $"{kv.Key}: ({string.Join(", ", kv.Value.Shape)}{(kv.Value.Rank == 1 ? "," : "")})")) + "]";
        return $"NetLoss {{ Loss = {Loss.ToString(System.Globalization.CultureInfo.InvariantCulture)}, Gradients = {Shapes(Gradients)}, State = {Shapes(State)} }}";
    }
}

/// <summary>
/// A neural network the <see cref="Solver"/> can train: named parameters (W1, b1, …), a non-trainable state, and two
/// pure functions — the test-mode scores and the training-mode loss with its gradients. The library's nets
/// derive from this class; <c>Create</c> makes one from your own functions, or from a forward pass written with
/// <see cref="Variable"/>s and <see cref="Ops"/> (gradients by autodiff). A net is immutable: training
/// returns new parameters and leaves the net's own (initial) parameters as they were.
/// </summary>
/// <remarks>
/// Internally a net wraps a <c>Functional.FSharp.Model</c> value (the F# core's net written as functions over differentiable values); classes in
/// this assembly derive from it by passing that value to the constructor.
/// </remarks>
public abstract class NeuralNet
{
    /// <summary>Wraps an F# model (for the library's own nets).</summary>
    /// <param name="core">The model.</param>
    private protected NeuralNet(Model core) => Core = Require.NotNull(core);

    /// <summary>The F# model this net wraps.</summary>
    internal Model Core { get; }

    /// <summary>A short description of the net (e.g. "fc [100; 100] batchnorm").</summary>
    public string Name => Core.Name;

    /// <summary>The initial parameters, by name (W1, b1, gamma1, …).</summary>
    public IReadOnlyDictionary<string, Tensor> Parameters => Core.Params;

    /// <summary>The initial non-trainable state (e.g. running_mean1); empty when there is none.</summary>
    public IReadOnlyDictionary<string, Tensor> State => Core.State;

    /// <summary>Test-mode class scores of a batch.</summary>
    /// <param name="x">The inputs, (N, d1, …, dk).</param>
    /// <param name="parameters">The parameters to use (e.g. a training result's best ones); the net's own when null.</param>
    /// <param name="state">The state to use; the net's own when null.</param>
    /// <returns>Scores of shape (N, C).</returns>
    public Tensor Scores(
        Tensor x, IReadOnlyDictionary<string, Tensor>? parameters = null, IReadOnlyDictionary<string, Tensor>? state = null) =>
        FSharpFunc<FSharpMap<string, Tensor>, FSharpMap<string, Tensor>>.InvokeFast(
            Core.Scores, Maps.Of(parameters, Core.Params), Maps.Of(state, Core.State), Require.NotNull(x));

    /// <summary>Training-mode loss and gradients of a batch.</summary>
    /// <param name="x">The inputs, (N, d1, …, dk).</param>
    /// <param name="labels">N class labels in [0, C).</param>
    /// <param name="parameters">The parameters to use; the net's own when null.</param>
    /// <param name="state">The state to use; the net's own when null.</param>
    /// <param name="rng">The key for randomness such as dropout; a fixed key when null.</param>
    /// <returns>The loss, the gradients by parameter name, and the new state.</returns>
    public NetLoss Loss(
        Tensor x,
        IReadOnlyList<int> labels,
        IReadOnlyDictionary<string, Tensor>? parameters = null,
        IReadOnlyDictionary<string, Tensor>? state = null,
        Rng? rng = null)
    {
        var r = FSharpFunc<FSharpMap<string, Tensor>, FSharpMap<string, Tensor>>.InvokeFast(
            Core.Loss, Maps.Of(parameters, Core.Params), Maps.Of(state, Core.State), rng ?? Rng.Create(0),
            Require.NotNull(x), Require.Labels(labels));
        return new NetLoss(r.Loss, r.Grads) { State = r.State };
    }

    /// <summary>The predicted class of every example: the arg-max of its scores.</summary>
    /// <param name="x">The inputs, (N, d1, …, dk).</param>
    /// <param name="parameters">The parameters to use; the net's own when null.</param>
    /// <param name="state">The state to use; the net's own when null.</param>
    /// <returns>N class indices.</returns>
    public IReadOnlyList<int> Predict(
        Tensor x, IReadOnlyDictionary<string, Tensor>? parameters = null, IReadOnlyDictionary<string, Tensor>? state = null) =>
        Scores(x, parameters, state).ArgMax(1);

    /// <summary>
    /// The fraction of examples whose predicted class is the label, scored in batches of
    /// <paramref name="batchSize"/> so that large sets do not build one huge activation.
    /// </summary>
    /// <param name="x">The inputs, (N, d1, …, dk).</param>
    /// <param name="labels">N class labels.</param>
    /// <param name="parameters">The parameters to use; the net's own when null.</param>
    /// <param name="state">The state to use; the net's own when null.</param>
    /// <param name="batchSize">How many examples to score at once, ≥ 1.</param>
    /// <returns>A value in [0, 1].</returns>
    public double Accuracy(
        Tensor x,
        IReadOnlyList<int> labels,
        IReadOnlyDictionary<string, Tensor>? parameters = null,
        IReadOnlyDictionary<string, Tensor>? state = null,
        int batchSize = 500)
    {
        Require.NotNull(x);
        var y = Require.Labels(labels);
        if (batchSize < 1)
            throw new ArgumentException($"NeuralNet.Accuracy: batchSize must be >= 1, got {batchSize}.", nameof(batchSize));
        if (x.Rank < 1 || x.Shape[0] != y.Length)
            throw new ArgumentException(
                $"NeuralNet.Accuracy: expected {(x.Rank < 1 ? 0 : x.Shape[0])} labels for x of shape ({string.Join(", ", x.Shape)}), got {y.Length}.",
                nameof(labels));
        if (y.Length == 0)
            throw new ArgumentException("NeuralNet.Accuracy: expected at least one example, got 0.", nameof(x));
        return Functional.FSharp.Solver.checkAccuracy(
            Core, Maps.Of(parameters, Core.Params), Maps.Of(state, Core.State), x, y,
            Microsoft.FSharp.Core.FSharpOption<int>.None, batchSize, Rng.Create(0));
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{GetType().Name} \"{Name}\" with parameters {string.Join(", ", Parameters.Keys)}";

    /// <summary>
    /// A net from your own functions (no non-trainable state, no randomness): its parameters, its test-mode scores
    /// and its training-mode loss with the gradient of every parameter.
    /// </summary>
    /// <param name="name">A short description.</param>
    /// <param name="parameters">The initial parameters, by name.</param>
    /// <param name="scores">(parameters, x) → scores of shape (N, C).</param>
    /// <param name="loss">(parameters, x, labels) → loss and gradients, one per parameter.</param>
    /// <returns>The net.</returns>
    /// <exception cref="ArgumentException">The name is empty or there are no parameters.</exception>
    public static NeuralNet Create(
        string name,
        IReadOnlyDictionary<string, Tensor> parameters,
        Func<IReadOnlyDictionary<string, Tensor>, Tensor, Tensor> scores,
        Func<IReadOnlyDictionary<string, Tensor>, Tensor, IReadOnlyList<int>, NetLoss> loss)
    {
        Require.NotNull(name);
        Require.NotNull(scores);
        Require.NotNull(loss);
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("NeuralNet.Create: the name must not be empty.", nameof(name));
        var p = Maps.Of(Require.NotNull(parameters), MapModule.Empty<string, Tensor>());
        if (p.IsEmpty)
            throw new ArgumentException("NeuralNet.Create: the net needs at least one parameter.", nameof(parameters));

        var model = new Model(
            name,
            p,
            MapModule.Empty<string, Tensor>(),
            FuncConvert.FromFunc<FSharpMap<string, Tensor>, FSharpMap<string, Tensor>, Tensor, Tensor>(
                (ps, _, x) => Require.NotNull(scores(ps, x), "scores(parameters, x)")),
            FuncConvert.FromFunc<FSharpMap<string, Tensor>, FSharpMap<string, Tensor>, Rng, Tensor, int[], ModelLoss>(
                (ps, st, _, x, y) =>
                {
                    var r = Require.NotNull(loss(ps, x, y), "loss(parameters, x, labels)");
                    return new ModelLoss(r.Loss, Maps.Of(Require.NotNull(r.Gradients, "NetLoss.Gradients"), st), st);
                }));
        return new CustomNet(model);
    }

    /// <summary>
    /// A net from a forward pass written with <see cref="Variable"/>s and <see cref="Ops"/>: its test-mode scores are
    /// the forward pass, and its training loss is the softmax loss of the scores plus 0.5 · reg · Σ‖w‖² over the
    /// parameters named in <paramref name="regularized"/>, with the gradients by reverse-mode autodiff.
    /// </summary>
    /// <param name="name">A short description.</param>
    /// <param name="parameters">The initial parameters, by name.</param>
    /// <param name="forward">(parameters, x) → scores of shape (N, C).</param>
    /// <param name="reg">The L2 regularization strength, ≥ 0.</param>
    /// <param name="regularized">The names of the regularized parameters (none when null).</param>
    /// <returns>The net, ready for the <see cref="Solver"/>.</returns>
    /// <exception cref="ArgumentException">The name is empty, there are no parameters, reg is negative or not finite, or
    /// a regularized name is not a parameter.</exception>
    public static NeuralNet Create(
        string name,
        IReadOnlyDictionary<string, Tensor> parameters,
        Func<IReadOnlyDictionary<string, Variable>, Variable, Variable> forward,
        double reg = 0.0,
        IReadOnlyList<string>? regularized = null)
    {
        Require.NotNull(name);
        Require.NotNull(forward);
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("NeuralNet.Create: the name must not be empty.", nameof(name));
        var p = Maps.Of(Require.NotNull(parameters), MapModule.Empty<string, Tensor>());
        if (p.IsEmpty)
            throw new ArgumentException("NeuralNet.Create: the net needs at least one parameter.", nameof(parameters));

        var empty = MapModule.Empty<string, Tensor>();
        var net = new Net(
            name,
            FuncConvert.FromFunc<int[], Rng, Tuple<FSharpMap<string, Tensor>, FSharpMap<string, Tensor>>>(
                (_, _) => Tuple.Create(p, empty)),
            FuncConvert.FromFunc<FSharpMap<string, Value>, FSharpMap<string, Tensor>, Mode, Rng, Value,
                Tuple<Value, FSharpMap<string, Tensor>>>(
                (vs, _, _, _, x) =>
                {
                    var variables = vs.ToDictionary(kv => kv.Key, kv => new Variable(kv.Value));
                    var scores = Require.NotNull(forward(variables, new Variable(x)), "forward(parameters, x)");
                    return Tuple.Create(scores.Core, empty);
                }));
        var model = Functional.FSharp.NetModule.model(
            net,
            [],
            Rng.Create(0),
            FuncConvert.FromFunc<Value, int[], Value>((scores, y) => Functional.FSharp.Layers.softmaxLoss(scores, y)),
            reg,
            ListModule.OfSeq(regularized ?? []));
        return new CustomNet(model);
    }

    private sealed class CustomNet(Model core) : NeuralNet(core);
}

/// <summary>Conversions between C# dictionaries and F# maps.</summary>
internal static class Maps
{
    /// <summary>The dictionary as an F# map (the fallback when null); null values are rejected.</summary>
    public static FSharpMap<string, Tensor> Of(IReadOnlyDictionary<string, Tensor>? d, FSharpMap<string, Tensor> fallback)
    {
        switch (d)
        {
            case null: return fallback;
            case FSharpMap<string, Tensor> m: return m;
        }

        var map = MapModule.Empty<string, Tensor>();
        foreach (var (k, v) in d)
            map = map.Add(k, v ?? throw new ArgumentException($"the tensor named '{k}' is null.", nameof(d)));
        return map;
    }
}
