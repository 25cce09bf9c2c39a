using Functional.FSharp;

namespace Functional;

/// <summary>
/// A differentiable value: a tensor and how it was computed, for reverse-mode automatic differentiation. Build a loss
/// from variables with the operators (+, −, *, / with numpy broadcasting; a double on either side is a constant) and
/// <see cref="Ops"/>, and get the gradients with <see cref="Autodiff.Gradients"/>. Variables are immutable; building
/// one records the computational graph the gradients flow back through.
/// </summary>
/// <remarks>The C# face of the F# core's <c>Functional.FSharp.Value</c> (one mechanism, two faces).</remarks>
public sealed class Variable
{
    internal Variable(Value core) => Core = core;

    internal Value Core { get; }

    /// <summary>A constant: a tensor that is not differentiated (data, fixed masks).</summary>
    /// <param name="value">The tensor.</param>
    /// <returns>The constant.</returns>
    /// <exception cref="ArgumentNullException">The tensor is null.</exception>
    public static Variable Constant(Tensor value) =>
        new(Functional.FSharp.AutodiffModule.constant(Require.NotNull(value)));

    /// <summary>The forward value.</summary>
    public Tensor Value => Core.Tensor;

    /// <summary>The shape of the forward value.</summary>
    public IReadOnlyList<int> Shape => Core.Tensor.Shape;

    /// <summary>The gate that made the value (e.g. "+", "matmul", "affine"), or the name of a parameter.</summary>
    public string Gate => Core.Gate;

    /// <summary>Elementwise sum with numpy broadcasting.</summary>
    public static Variable operator +(Variable a, Variable b) => new(FSharp.OpsModule.add(Of(a), Of(b)));

    /// <summary>Elementwise difference with numpy broadcasting.</summary>
    public static Variable operator -(Variable a, Variable b) => new(FSharp.OpsModule.sub(Of(a), Of(b)));

    /// <summary>Elementwise product with numpy broadcasting.</summary>
    public static Variable operator *(Variable a, Variable b) => new(FSharp.OpsModule.mul(Of(a), Of(b)));

    /// <summary>Elementwise quotient with numpy broadcasting.</summary>
    public static Variable operator /(Variable a, Variable b) => new(FSharp.OpsModule.div(Of(a), Of(b)));

    /// <summary>Negation.</summary>
    public static Variable operator -(Variable a) => new(FSharp.OpsModule.neg(Of(a)));

    /// <summary>Adds a constant to every element.</summary>
    public static Variable operator +(Variable a, double s) => new(FSharp.OpsModule.addScalar(s, Of(a)));

    /// <summary>Adds a constant to every element.</summary>
    public static Variable operator +(double s, Variable a) => new(FSharp.OpsModule.addScalar(s, Of(a)));

    /// <summary>Subtracts a constant from every element.</summary>
    public static Variable operator -(Variable a, double s) => new(FSharp.OpsModule.addScalar(-s, Of(a)));

    /// <summary>Subtracts every element from a constant.</summary>
    public static Variable operator -(double s, Variable a) => new(FSharp.OpsModule.addScalar(s, FSharp.OpsModule.neg(Of(a))));

    /// <summary>Multiplies every element by a constant.</summary>
    public static Variable operator *(Variable a, double s) => new(FSharp.OpsModule.mulScalar(s, Of(a)));

    /// <summary>Multiplies every element by a constant.</summary>
    public static Variable operator *(double s, Variable a) => new(FSharp.OpsModule.mulScalar(s, Of(a)));

    /// <summary>Divides every element by a constant.</summary>
    public static Variable operator /(Variable a, double s) => new(FSharp.OpsModule.divScalar(s, Of(a)));

    /// <summary>Divides a constant by every element (the lecture's 1/x gate for s = 1).</summary>
    public static Variable operator /(double s, Variable a) => new(FSharp.OpsModule.scalarDiv(s, Of(a)));

    /// <inheritdoc/>
    public override string ToString() => $"Variable {Gate} {Value}";

    /// <summary>The core value of a variable argument, or an ArgumentNullException naming the member called and
    /// the argument.</summary>
    internal static Value Of(
        Variable? v,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(v))] string? name = null,
        [System.Runtime.CompilerServices.CallerMemberName] string? member = null) =>
        Require.NotNull(v, name, member).Core;
}
