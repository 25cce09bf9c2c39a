using Functional.FSharp;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using CoreModel = Functional.FSharp.ModelTypes.Model;
using CoreModelLoss = Functional.FSharp.ModelTypes.ModelLoss;

namespace Functional;

/// <summary>What a model's training-mode loss gives for one batch (the F# <c>ModelLoss</c>).</summary>
/// <param name="Loss">The data loss plus any regularization.</param>
/// <param name="Gradients">The gradient of the loss for every parameter, by name, each of its parameter's shape.</param>
public sealed record ModelLoss(double Loss, IReadOnlyDictionary<string, Tensor> Gradients)
{
    /// <summary>The net's non-trainable state after the batch (e.g. batchnorm running statistics); empty if none.</summary>
    public IReadOnlyDictionary<string, Tensor> State { get; init; } = new Dictionary<string, Tensor>();

    /// <summary>The loss and the shape of each gradient and state tensor, in C# notation (the maps come from F#).</summary>
    /// <returns>For example <c>ModelLoss { Loss = 2.3026, Gradients = [W1: (784, 100), b1: (100,)], State = [] }</c>.</returns>
    public override string ToString()
    {
        static string Shapes(IReadOnlyDictionary<string, Tensor> d) =>
            "[" + string.Join(", ", d.Select(kv => $"{kv.Key}: ({string.Join(", ", kv.Value.Shape)}{(kv.Value.Rank == 1 ? "," : "")})")) + "]";
        return $"ModelLoss {{ Loss = {Loss.ToString(System.Globalization.CultureInfo.InvariantCulture)}, Gradients = {Shapes(Gradients)}, State = {Shapes(State)} }}";
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
/// Internally a model wraps the F# core's <c>Model</c> record (the F# core's net written as functions over differentiable values); classes in
/// this assembly derive from it by passing that value to the constructor.
/// </remarks>
public abstract class Model
{
    /// <summary>Wraps an F# model (for the library's own nets).</summary>
    /// <param name="core">The model.</param>
    private protected Model(CoreModel core) => Core = Require.NotNull(core);

    /// <summary>The F# model this net wraps.</summary>
    internal CoreModel Core { get; }

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
    /// <param name="rng">
    /// The key for randomness such as dropout's masks: required by a net with dropout (a fixed key would draw the same
    /// masks on every call); a model without randomness ignores it and may be given null.
    /// </param>
    /// <returns>The loss, the gradients by parameter name, and the new state.</returns>
    /// <exception cref="ArgumentNullException">rng is null and the net uses dropout.</exception>
    public ModelLoss Loss(
        Tensor x,
        IReadOnlyList<int> labels,
        IReadOnlyDictionary<string, Tensor>? parameters = null,
        IReadOnlyDictionary<string, Tensor>? state = null,
        Rng? rng = null)
    {
        var r = FSharpFunc<FSharpMap<string, Tensor>, FSharpMap<string, Tensor>>.InvokeFast(
            Core.Loss, Maps.Of(parameters, Core.Params), Maps.Of(state, Core.State), rng ?? NoKey(),
            Require.NotNull(x), Require.Labels(labels));
        return new ModelLoss(r.Loss, r.Grads) { State = r.State };
    }

    /// <summary>True when the training-mode loss draws random numbers (dropout), so that it needs a key.</summary>
    private protected virtual bool UsesRandomness => false;

    /// <summary>The key of a call without one: any fixed key for a model without randomness, an error otherwise.</summary>
    private Rng NoKey() =>
        UsesRandomness
            ? throw new ArgumentNullException(
                "rng",
                $"Model.Loss: \"{Name}\" uses dropout, so rng must be given: a fixed key would draw the same masks on every call.")
            : Rng.Create(0);

    /// <summary>
    /// The same model with other parameters and state: e.g. a training result's best ones, to predict with or to
    /// train further (the <see cref="Solver"/> starts from a model's own parameters). Nothing is copied: the tensors
    /// are immutable.
    /// </summary>
    /// <param name="parameters">Every parameter of the model, by name, each of its shape (<see cref="Parameters"/>).</param>
    /// <param name="state">Every state tensor, each of its shape; the model's own state when null.</param>
    /// <returns>A model of the same kind and settings (cast to it, e.g. <c>(TwoLayerNet)</c>, for its properties).</returns>
    /// <exception cref="ArgumentException">A name is missing or extra, or a shape differs (the message names it).</exception>
    public Model WithParameters(IReadOnlyDictionary<string, Tensor> parameters, IReadOnlyDictionary<string, Tensor>? state = null)
    {
        var p = Maps.Of(Require.NotNull(parameters), Core.Params);
        var s = Maps.Of(state, Core.State);
        SameNamesAndShapes(nameof(parameters), Core.Params, p);
        SameNamesAndShapes(nameof(state), Core.State, s);
        return Rebuild(new CoreModel(Core.Name, p, s, Core.Scores, Core.Loss));
    }

    /// <summary>
    /// The same model (same parameters and state) with another L2 regularization strength, e.g. for a search over reg
    /// without rebuilding the net.
    /// </summary>
    /// <param name="reg">The L2 regularization strength, finite and ≥ 0.</param>
    /// <returns>A model of the same kind and settings, its loss regularized with <paramref name="reg"/>.</returns>
    /// <exception cref="ArgumentException">reg is negative or not finite.</exception>
    /// <exception cref="NotSupportedException">The model's loss is your own function (<c>Create</c> with a loss), which
    /// has no regularization strength to change.</exception>
    public Model WithReg(double reg)
    {
        if (!double.IsFinite(reg) || reg < 0)
            throw new ArgumentException($"Model.WithReg: reg must be finite and >= 0, got {reg}.", nameof(reg));
        var other = WithRegCore(reg)
            ?? throw new NotSupportedException(
                $"Model.WithReg: \"{Name}\" computes its loss with your own function; set the regularization there.");
        return other.WithParameters(Parameters, State);
    }

    /// <summary>The model of the same kind built with <paramref name="reg"/> (its initial parameters), or null.</summary>
    private protected abstract Model? WithRegCore(double reg);

    /// <summary>A model of the same kind and settings around <paramref name="core"/>.</summary>
    private protected abstract Model Rebuild(CoreModel core);

    private void SameNamesAndShapes(
        string argument, IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> actual)
    {
        foreach (var (name, t) in expected)
        {
            if (!actual.TryGetValue(name, out var a))
                throw new ArgumentException($"Model.WithParameters: {argument} lacks '{name}' of {Name}.", argument);
            if (!a.Shape.SequenceEqual(t.Shape))
                throw new ArgumentException(
                    $"Model.WithParameters: {argument}['{name}'] must have shape ({string.Join(", ", t.Shape)}), got ({string.Join(", ", a.Shape)}).",
                    argument);
        }

        foreach (var name in actual.Keys.Where(k => !expected.ContainsKey(k)))
            throw new ArgumentException($"Model.WithParameters: {argument} has '{name}', which {Name} does not have.", argument);
    }

    /// <summary>The model-file format version this library writes (and the newest <see cref="Load"/> reads).</summary>
    public const int FileFormatVersion = ModelModule.Version;

    /// <summary>
    /// Writes the net to a model file that <see cref="Load"/> turns back into the same net, ready to predict: its kind
    /// and settings (sizes, normalization, eps and momentum, dropout keep probability, reg, seed) and its parameters and
    /// state — the net's own, or the given ones, e.g. a training result's best (running means and variances included).
    /// The file is a numpy <c>.npz</c> archive (<c>params/W1.npy</c>, …, <c>state/running_mean1.npy</c>, …, and a
    /// <c>model.json</c> entry with the kind and settings), written atomically: a temporary file in the same folder,
    /// then a rename; an existing file is replaced only on success. Values are stored bit for bit.
    /// </summary>
    /// <param name="path">The file, conventionally <c>*.npz</c>; its folder must exist.</param>
    /// <param name="parameters">The parameters to save, every one of the net's, each of its shape; the net's own when null.</param>
    /// <param name="state">The state to save, likewise; the net's own when null.</param>
    /// <exception cref="ArgumentException">The path is empty or its folder does not exist, or a parameter or state
    /// tensor is missing, extra or of another shape (the message names it, with the expected and actual shape).</exception>
    /// <exception cref="NotSupportedException">The net was made with <c>Create</c> from your own functions, which a
    /// file cannot hold (save its parameters with <see cref="Npz.Save"/>).</exception>
    /// <exception cref="IOException">The file cannot be written; nothing is left behind.</exception>
    public void Save(
        string path, IReadOnlyDictionary<string, Tensor>? parameters = null, IReadOnlyDictionary<string, Tensor>? state = null)
    {
        Require.NotNull(path);
        var config = FileConfig
            ?? throw new NotSupportedException(
                $"Model.Save: \"{Name}\" was made with Model.Create from your own functions, which a model file cannot hold; save its parameters with Npz.Save.");
        ModelModule.save(path, config, Maps.Of(parameters, Core.Params), Maps.Of(state, Core.State));
    }

    /// <summary>
    /// Reads a model file written by <see cref="Save"/> (or by the app's <c>train</c>, as <c>model.npz</c>): the net of
    /// the saved kind and settings with the saved parameters and state as its own, ready for <see cref="Predict"/>,
    /// <see cref="Scores"/> and <see cref="Accuracy"/> (test mode) and for <see cref="Loss"/>.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>A <see cref="TwoLayerNet"/>, <see cref="FullyConnectedNet"/> or <see cref="ThreeLayerConvNet"/> (cast to
    /// it for its settings).</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointException">The file is truncated, corrupted or not a model file (a training
    /// checkpoint, say), comes from a newer version, names an unknown model kind or an invalid configuration, or holds
    /// arrays that do not match its configuration (the message names the entry, the expected and the actual shape).</exception>
    public static Model Load(string path)
    {
        var (config, core) = ModelModule.load(Require.NotNull(path));
        return config switch
        {
            ModelConfig.TwoLayerNet c => TwoLayerNet.Loaded(core, c.Item),
            ModelConfig.FullyConnectedNet c => FullyConnectedNet.Loaded(core, c.Item),
            ModelConfig.ThreeLayerConvNet c => ThreeLayerConvNet.Loaded(core, c.Item),
            _ => throw new CheckpointException($"Model.Load: '{path}' holds a model kind this facade does not know.", path, null),
        };
    }

    /// <summary>The configuration a model file stores for this net, or null when it cannot be saved (<c>Create</c>).</summary>
    private protected virtual ModelConfig? FileConfig => null;

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
            throw new ArgumentException($"Model.Accuracy: batchSize must be >= 1, got {batchSize}.", nameof(batchSize));
        if (x.Rank < 1 || x.Shape[0] != y.Length)
            throw new ArgumentException(
                $"Model.Accuracy: expected {(x.Rank < 1 ? 0 : x.Shape[0])} labels for x of shape ({string.Join(", ", x.Shape)}), got {y.Length}.",
                nameof(labels));
        if (y.Length == 0)
            throw new ArgumentException("Model.Accuracy: expected at least one example, got 0.", nameof(x));
        return Functional.FSharp.SolverModule.checkAccuracy(
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
    public static Model Create(
        string name,
        IReadOnlyDictionary<string, Tensor> parameters,
        Func<IReadOnlyDictionary<string, Tensor>, Tensor, Tensor> scores,
        Func<IReadOnlyDictionary<string, Tensor>, Tensor, IReadOnlyList<int>, ModelLoss> loss)
    {
        Require.NotNull(name);
        Require.NotNull(scores);
        Require.NotNull(loss);
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("Model.Create: the name must not be empty.", nameof(name));
        var p = Maps.Of(Require.NotNull(parameters), MapModule.Empty<string, Tensor>());
        if (p.IsEmpty)
            throw new ArgumentException("Model.Create: the net needs at least one parameter.", nameof(parameters));

        var model = new CoreModel(
            name,
            p,
            MapModule.Empty<string, Tensor>(),
            FuncConvert.FromFunc<FSharpMap<string, Tensor>, FSharpMap<string, Tensor>, Tensor, Tensor>(
                (ps, _, x) => Require.NotNull(scores(ps, x), "scores(parameters, x)")),
            FuncConvert.FromFunc<FSharpMap<string, Tensor>, FSharpMap<string, Tensor>, Rng, Tensor, int[], CoreModelLoss>(
                (ps, st, _, x, y) =>
                {
                    var r = Require.NotNull(loss(ps, x, y), "loss(parameters, x, labels)");
                    return new CoreModelLoss(r.Loss, Maps.Of(Require.NotNull(r.Gradients, "ModelLoss.Gradients"), st), st);
                }));
        return new CustomNet(model, null);
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
    public static Model Create(
        string name,
        IReadOnlyDictionary<string, Tensor> parameters,
        Func<IReadOnlyDictionary<string, Variable>, Variable, Variable> forward,
        double reg = 0.0,
        IReadOnlyList<string>? regularized = null)
    {
        Require.NotNull(name);
        Require.NotNull(forward);
        if (string.IsNullOrWhiteSpace(name))
            throw new ArgumentException("Model.Create: the name must not be empty.", nameof(name));
        var p = Maps.Of(Require.NotNull(parameters), MapModule.Empty<string, Tensor>());
        if (p.IsEmpty)
            throw new ArgumentException("Model.Create: the net needs at least one parameter.", nameof(parameters));

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
        var names = ListModule.OfSeq(regularized ?? []);
        CoreModel WithReg(double r) =>
            Functional.FSharp.NetModule.model(
                net,
                [],
                Rng.Create(0),
                FuncConvert.FromFunc<Value, int[], Value>((scores, y) => Functional.FSharp.LayersModule.softmaxLoss(scores, y)),
                r,
                names);
        return new CustomNet(WithReg(reg), WithReg);
    }

    /// <summary>A model made by <c>Create</c>; <paramref name="withReg"/> rebuilds it with another reg, when it has one.</summary>
    private sealed class CustomNet(CoreModel core, Func<double, CoreModel>? withReg) : Model(core)
    {
        private protected override Model? WithRegCore(double reg) => withReg is null ? null : new CustomNet(withReg(reg), withReg);

        private protected override Model Rebuild(CoreModel core) => new CustomNet(core, withReg);
    }
}

/// <summary>The former name of <see cref="ModelLoss"/>, kept so that existing code compiles.</summary>
/// <param name="Loss">The data loss plus any regularization.</param>
/// <param name="Gradients">The gradient of the loss for every parameter, by name.</param>
[Obsolete("Use ModelLoss: the same result under the library's one name for it.")]
public sealed record NetLoss(double Loss, IReadOnlyDictionary<string, Tensor> Gradients);

/// <summary>The former name of <see cref="Model"/>'s factories, kept so that existing code compiles.</summary>
[Obsolete("Use Model: the Solver's model under the library's one name for it (Model.Create).")]
public static class NeuralNet
{
    /// <summary>Forwards to <see cref="Model.Create(string, IReadOnlyDictionary{string, Tensor}, Func{IReadOnlyDictionary{string, Tensor}, Tensor, Tensor}, Func{IReadOnlyDictionary{string, Tensor}, Tensor, IReadOnlyList{int}, ModelLoss})"/>.</summary>
    /// <param name="name">A short description.</param>
    /// <param name="parameters">The initial parameters, by name.</param>
    /// <param name="scores">(parameters, x) → scores of shape (N, C).</param>
    /// <param name="loss">(parameters, x, labels) → loss and gradients, one per parameter.</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentException">The name is empty or there are no parameters.</exception>
    public static Model Create(
        string name,
        IReadOnlyDictionary<string, Tensor> parameters,
        Func<IReadOnlyDictionary<string, Tensor>, Tensor, Tensor> scores,
        Func<IReadOnlyDictionary<string, Tensor>, Tensor, IReadOnlyList<int>, NetLoss> loss)
    {
        Require.NotNull(loss);
        return Model.Create(name, parameters, scores, (p, x, y) =>
        {
            var r = Require.NotNull(loss(p, x, y), "loss(parameters, x, labels)");
            return new ModelLoss(r.Loss, r.Gradients);
        });
    }

    /// <summary>Forwards to <see cref="Model.Create(string, IReadOnlyDictionary{string, Tensor}, Func{IReadOnlyDictionary{string, Variable}, Variable, Variable}, double, IReadOnlyList{string}?)"/>.</summary>
    /// <param name="name">A short description.</param>
    /// <param name="parameters">The initial parameters, by name.</param>
    /// <param name="forward">(parameters, x) → scores of shape (N, C).</param>
    /// <param name="reg">The L2 regularization strength, ≥ 0.</param>
    /// <param name="regularized">The names of the regularized parameters (none when null).</param>
    /// <returns>The model.</returns>
    /// <exception cref="ArgumentException">As for <see cref="Model.Create(string, IReadOnlyDictionary{string, Tensor}, Func{IReadOnlyDictionary{string, Variable}, Variable, Variable}, double, IReadOnlyList{string}?)"/>.</exception>
    public static Model Create(
        string name,
        IReadOnlyDictionary<string, Tensor> parameters,
        Func<IReadOnlyDictionary<string, Variable>, Variable, Variable> forward,
        double reg = 0.0,
        IReadOnlyList<string>? regularized = null) =>
        Model.Create(name, parameters, forward, reg, regularized);
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
