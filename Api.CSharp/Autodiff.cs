using Functional.FSharp;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Functional;

/// <summary>A loss and its gradients, by parameter name.</summary>
/// <param name="Loss">The value of the loss.</param>
/// <param name="Gradients">The gradient of the loss for every parameter, by name, each of its parameter's shape.</param>
public sealed record LossAndGradients(double Loss, IReadOnlyDictionary<string, Tensor> Gradients);

/// <summary>
/// Reverse-mode automatic differentiation: the gradients of a loss built from <see cref="Variable"/>s and
/// <see cref="Ops"/> (the course's backpropagation over a computational graph, with gradients adding where a value is
/// used twice). Labels, masks and indices are plain arguments your function closes over.
/// </summary>
public static class Autodiff
{
    /// <summary>
    /// The loss and its gradient for every parameter: each entry of <paramref name="parameters"/> becomes a variable
    /// named like it, <paramref name="loss"/> builds the loss from them, and the gradients come back under the same
    /// names (zeros for a parameter the loss does not use).
    /// </summary>
    /// <param name="parameters">The parameters, by name.</param>
    /// <param name="loss">Builds the loss, a variable with one element, from the parameters.</param>
    /// <returns>The loss and the gradients.</returns>
    /// <exception cref="ArgumentException">The loss has more than one element, or an op got shapes that do not fit.</exception>
    public static LossAndGradients Gradients(
        IReadOnlyDictionary<string, Tensor> parameters, Func<IReadOnlyDictionary<string, Variable>, Variable> loss)
    {
        Require.NotNull(loss);
        var p = Maps.Of(Require.NotNull(parameters), MapModule.Empty<string, Tensor>());
        var r = FSharp.AutodiffModule.gradients(
            FuncConvert.FromFunc<FSharpMap<string, Value>, Value>(vs =>
                Variable.Of(loss(Variables(vs)), "loss(parameters)")),
            p);
        return new LossAndGradients(r.Item1, r.Item2);
    }

    /// <summary>The gradient of a function with one-element output at <paramref name="x"/> (x's shape).</summary>
    /// <param name="f">The function, from a variable to a one-element variable.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <returns>The gradient, of x's shape.</returns>
    /// <exception cref="ArgumentException">f's result has more than one element.</exception>
    public static Tensor Gradient(Func<Variable, Variable> f, Tensor x)
    {
        Require.NotNull(f);
        return FSharp.AutodiffModule.grad(
            FuncConvert.FromFunc<Value, Value>(v => Variable.Of(f(new Variable(v)), "f(x)")), Require.NotNull(x));
    }

    /// <summary>
    /// The Jacobian of f at x, of shape (f(x)'s shape, x's shape): one reverse sweep per output element, for small
    /// outputs.
    /// </summary>
    /// <param name="f">The function.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <returns>The Jacobian.</returns>
    public static Tensor Jacobian(Func<Variable, Variable> f, Tensor x)
    {
        Require.NotNull(f);
        return FSharp.AutodiffModule.jacobian(
            FuncConvert.FromFunc<Value, Value>(v => Variable.Of(f(new Variable(v)), "f(x)")), Require.NotNull(x));
    }

    /// <summary>Parameters as constants (for a test-mode forward pass that needs no gradients).</summary>
    /// <param name="parameters">The parameters, by name.</param>
    /// <returns>A constant per parameter, by the same name.</returns>
    public static IReadOnlyDictionary<string, Variable> Constants(IReadOnlyDictionary<string, Tensor> parameters) =>
        Require.NotNull(parameters).ToDictionary(kv => kv.Key, kv => Variable.Constant(kv.Value));

    /// <summary>
    /// The computational graph of a variable as Graphviz DOT: a node per gate, labelled with the gate, and on every
    /// edge the forward value (and, when <paramref name="withGradients"/>, the gradient of the output) as on the
    /// lecture's slides.
    /// </summary>
    /// <param name="output">The output (a loss, for gradients).</param>
    /// <param name="withGradients">Whether to compute and show the gradients (the output must have one element).</param>
    /// <returns>The DOT text.</returns>
    public static string ToDot(Variable output, bool withGradients = true) =>
        Graph.toDot(withGradients, Variable.Of(output));

    private static IReadOnlyDictionary<string, Variable> Variables(FSharpMap<string, Value> vs) =>
        vs.ToDictionary(kv => kv.Key, kv => new Variable(kv.Value));
}
