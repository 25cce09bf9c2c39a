using Functional.FSharp;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Functional;

/// <summary>What a net's training-mode loss returns for one batch.</summary>
/// <param name="Loss">The data loss (softmax) plus the L2 regularization.</param>
/// <param name="Gradients">The gradients of the loss, one per parameter and with the parameter's name and shape.</param>
/// <param name="State">
/// The net's new non-trainable state after this batch (batchnorm running statistics <c>running_mean1</c>,
/// <c>running_var1</c>, …); empty when the net has none.
/// </param>
public sealed record LossAndGradients(
    double Loss,
    IReadOnlyDictionary<string, Tensor> Gradients,
    IReadOnlyDictionary<string, Tensor> State);

/// <summary>The calls shared by the nets of the facade, over the F# <see cref="Model"/> they hold.</summary>
internal static class NetCore
{
    /// <summary>The model's test-mode scores (N, C) for a batch.</summary>
    public static Tensor Scores(Model core, Tensor x) =>
        FSharpFunc<FSharpMap<string, Tensor>, FSharpMap<string, Tensor>>.InvokeFast(
            core.Scores, core.Params, core.State, Require.NotNull(x));

    /// <summary>The model's training-mode loss, gradients and new state for a batch.</summary>
    public static LossAndGradients Loss(Model core, Tensor x, IReadOnlyList<int> labels, Rng rng)
    {
        var r = FSharpFunc<FSharpMap<string, Tensor>, FSharpMap<string, Tensor>>.InvokeFast(
            core.Loss, core.Params, core.State, rng, Require.NotNull(x), Require.Labels(labels));
        return new LossAndGradients(r.Loss, r.Grads, r.State);
    }

    /// <summary>An F# map from a dictionary (keys and values must not be null).</summary>
    public static FSharpMap<string, Tensor> ToMap(IReadOnlyDictionary<string, Tensor> d, string name)
    {
        Require.NotNull(d, name);
        foreach (var (k, v) in d)
        {
            if (v is null)
            {
                throw new ArgumentNullException(name, $"{name}['{k}'] must not be null.");
            }
        }

        return d as FSharpMap<string, Tensor> ?? new FSharpMap<string, Tensor>(d.Select(kv => Tuple.Create(kv.Key, kv.Value)));
    }

    /// <summary>The model with other parameter and state values of the same names and shapes.</summary>
    public static Model With(
        Model core, IReadOnlyDictionary<string, Tensor> parameters, IReadOnlyDictionary<string, Tensor>? state) =>
        Compose.withParameters(
            ToMap(parameters, nameof(parameters)), state is null ? core.State : ToMap(state, nameof(state)), core);

    /// <summary>The key a net uses for its dropout masks when the caller gives none: derived from the seed.</summary>
    public static Rng DefaultKey(long seed) => Rng.Create(seed).Derive(-1);
}
