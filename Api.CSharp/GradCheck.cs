using Functional.FSharp;
using Microsoft.FSharp.Core;

namespace Functional;

/// <summary>
/// Numeric gradients by centered differences and their comparison with analytic gradients, for checking your own
/// backward passes (written in C#, F#, or exported from numpy). PyTorch's <c>torch.autograd.gradcheck</c>, the
/// course's <c>gradient_check.py</c>.
/// </summary>
/// <remarks>
/// Errors, for every member: a null argument throws <see cref="ArgumentNullException"/>; a step, tolerance or floor
/// that is not finite and positive, shapes that differ, or a callback that returns null or a tensor of the wrong shape
/// throw <see cref="ArgumentException"/> whose message starts with the member called (<c>GradCheck.Compare: …</c>).
/// An exception thrown by your callback propagates unchanged.
/// </remarks>
public static class GradCheck
{
    /// <summary>The default centered-difference step, 1e-5.</summary>
    public const double DefaultStep = 1e-5;

    /// <summary>Numeric gradient of a scalar function at <paramref name="x"/>: (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h.</summary>
    /// <param name="f">The scalar function.</param>
    /// <param name="x">The point, any shape.</param>
    /// <param name="h">The step, finite and &gt; 0.</param>
    /// <returns>A tensor of x's shape.</returns>
    /// <exception cref="ArgumentNullException">f or x is null.</exception>
    /// <exception cref="ArgumentException">h is not finite and positive.</exception>
    public static Tensor Numeric(Func<Tensor, double> f, Tensor x, double h = DefaultStep)
    {
        Require.PositiveFinite(h, "GradCheck.Numeric");
        return Facade.Call(nameof(GradCheck), () => GradCheckModule.numericGradient(h, Facade.Callback(Require.NotNull(f)), Require.NotNull(x)));
    }

    /// <summary>
    /// Numeric gradient of a tensor-valued function against an upstream gradient: the gradient of Σ f(x) · upstream
    /// (the course's <c>eval_numerical_gradient_array</c>).
    /// </summary>
    /// <param name="f">The function; its output must have the upstream gradient's shape.</param>
    /// <param name="x">The point, any shape.</param>
    /// <param name="upstream">The upstream gradient, f(x)'s shape.</param>
    /// <param name="h">The step, finite and &gt; 0.</param>
    /// <returns>A tensor of x's shape.</returns>
    /// <exception cref="ArgumentNullException">f, x or upstream is null.</exception>
    /// <exception cref="ArgumentException">h is not finite and positive.</exception>
    /// <exception cref="ArgumentException">f returns null, or a tensor not of upstream's shape.</exception>
    public static Tensor NumericOf(Func<Tensor, Tensor> f, Tensor x, Tensor upstream, double h = DefaultStep)
    {
        Require.PositiveFinite(h, "GradCheck.NumericOf");
        return Facade.Call(nameof(GradCheck), () => GradCheckModule.numericGradientOf(h, Facade.Callback(Require.NotNull(f)), Require.NotNull(x), Require.NotNull(upstream)));
    }

    /// <summary>
    /// The course's rel_error: max |a − b| / max(1e-8, |a| + |b|) over all elements; +∞ where an element is NaN in
    /// either, or infinite in one and not the same infinity in the other.
    /// </summary>
    /// <param name="a">A tensor.</param>
    /// <param name="b">A tensor of a's shape.</param>
    /// <returns>The largest elementwise relative error.</returns>
    public static double RelativeError(Tensor a, Tensor b) =>
        Facade.Call(nameof(GradCheck), () => GradCheckModule.relativeError(Require.NotNull(a), Require.NotNull(b)));

    /// <summary>Compares an analytic gradient with a numeric one of the same shape.</summary>
    /// <param name="name">What is checked, for the report.</param>
    /// <param name="analytic">The analytic gradient.</param>
    /// <param name="numeric">The numeric gradient, same shape.</param>
    /// <param name="tolerance">The bound on the relative error, finite and &gt; 0.</param>
    /// <param name="floor">The floor of the relative error's denominator (1e-8 as in the course), finite and &gt; 0.</param>
    /// <returns>The report: worst element, where, and pass or fail. A NaN in either gradient, or an infinity the
    /// other does not match, fails and is the reported worst element.</returns>
    /// <exception cref="ArgumentNullException">name, analytic or numeric is null.</exception>
    /// <exception cref="ArgumentException">tolerance or floor is not finite and positive.</exception>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static GradCheckReport Compare(
        string name, Tensor analytic, Tensor numeric, double tolerance = 1e-7, double floor = GradCheckModule.DefaultFloor) =>
        Facade.Call(nameof(GradCheck), () => GradCheckModule.compareWith(
            Require.PositiveFinite(floor, "GradCheck.Compare"), Require.NotNull(name),
            Require.PositiveFinite(tolerance, "GradCheck.Compare"), Require.NotNull(analytic),
            Require.NotNull(numeric)));

    /// <summary>Checks the analytic gradient of a scalar function over every coordinate of x.</summary>
    /// <param name="name">What is checked, for the report.</param>
    /// <param name="f">The scalar function.</param>
    /// <param name="x">The point.</param>
    /// <param name="analytic">Your gradient of f at x (x's shape).</param>
    /// <param name="tolerance">The bound on the relative error, finite and &gt; 0.</param>
    /// <returns>The report (a NaN or unmatched infinity fails).</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">tolerance is not finite and positive.</exception>
    public static GradCheckReport Check(
        string name, Func<Tensor, double> f, Tensor x, Tensor analytic, double tolerance = 1e-7)
    {
        Require.PositiveFinite(tolerance, "GradCheck.Check");
        return Facade.Call(nameof(GradCheck), () => GradCheckModule.check(Require.NotNull(name), tolerance, Facade.Callback(Require.NotNull(f)),
            Require.NotNull(x), Require.NotNull(analytic)));
    }

    /// <summary>
    /// Checks the analytic gradient of a tensor-valued function against an upstream gradient, over every coordinate.
    /// </summary>
    /// <param name="name">What is checked, for the report.</param>
    /// <param name="f">The function.</param>
    /// <param name="x">The point.</param>
    /// <param name="upstream">The upstream gradient (f(x)'s shape).</param>
    /// <param name="analytic">Your gradient (x's shape).</param>
    /// <param name="tolerance">The bound on the relative error, finite and &gt; 0.</param>
    /// <returns>The report (a NaN or unmatched infinity fails).</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">tolerance is not finite and positive.</exception>
    public static GradCheckReport CheckOf(
        string name, Func<Tensor, Tensor> f, Tensor x, Tensor upstream, Tensor analytic, double tolerance = 1e-7)
    {
        Require.PositiveFinite(tolerance, "GradCheck.CheckOf");
        return Facade.Call(nameof(GradCheck), () => GradCheckModule.checkOf(Require.NotNull(name), tolerance, Facade.Callback(Require.NotNull(f)),
            Require.NotNull(x), Require.NotNull(upstream), Require.NotNull(analytic)));
    }

    /// <summary>Checks <paramref name="count"/> randomly chosen coordinates only (for large parameters).</summary>
    /// <param name="name">What is checked, for the report.</param>
    /// <param name="f">The scalar function.</param>
    /// <param name="x">The point.</param>
    /// <param name="analytic">Your gradient (x's shape).</param>
    /// <param name="count">How many coordinates to sample.</param>
    /// <param name="rng">The key that picks the coordinates.</param>
    /// <param name="tolerance">The bound on the relative error, finite and &gt; 0.</param>
    /// <returns>The report (a NaN or unmatched infinity fails).</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">tolerance is not finite and positive.</exception>
    public static GradCheckReport Sparse(
        string name, Func<Tensor, double> f, Tensor x, Tensor analytic, int count, Rng rng, double tolerance = 1e-7)
    {
        Require.PositiveFinite(tolerance, "GradCheck.Sparse");
        return Facade.Call(nameof(GradCheck), () => GradCheckModule.sparse(Require.NotNull(rng), count, Require.NotNull(name), tolerance,
            Facade.Callback(Require.NotNull(f)), Require.NotNull(x), Require.NotNull(analytic)));
    }
}

/// <summary>The former name of <see cref="GradCheck"/>, kept so that existing code compiles.</summary>
[Obsolete("Use GradCheck: the same checks under the library's one name for them (PyTorch's gradcheck).")]
public static class GradientCheck
{
    /// <summary>The default centered-difference step, 1e-5.</summary>
    public const double DefaultStep = GradCheck.DefaultStep;

    /// <summary>Forwards to <see cref="GradCheck.Numeric"/>.</summary>
    /// <param name="f">See <see cref="GradCheck.Numeric"/>.</param>
    /// <param name="x">See <see cref="GradCheck.Numeric"/>.</param>
    /// <param name="h">See <see cref="GradCheck.Numeric"/>.</param>
    /// <returns>See <see cref="GradCheck.Numeric"/>.</returns>
    public static Tensor Numeric(Func<Tensor, double> f, Tensor x, double h = DefaultStep) =>
        GradCheck.Numeric(f, x, h);

    /// <summary>Forwards to <see cref="GradCheck.NumericOf"/>.</summary>
    /// <param name="f">See <see cref="GradCheck.NumericOf"/>.</param>
    /// <param name="x">See <see cref="GradCheck.NumericOf"/>.</param>
    /// <param name="upstream">See <see cref="GradCheck.NumericOf"/>.</param>
    /// <param name="h">See <see cref="GradCheck.NumericOf"/>.</param>
    /// <returns>See <see cref="GradCheck.NumericOf"/>.</returns>
    public static Tensor NumericOf(Func<Tensor, Tensor> f, Tensor x, Tensor upstream, double h = DefaultStep) =>
        GradCheck.NumericOf(f, x, upstream, h);

    /// <summary>Forwards to <see cref="GradCheck.RelativeError"/>.</summary>
    /// <param name="a">See <see cref="GradCheck.RelativeError"/>.</param>
    /// <param name="b">See <see cref="GradCheck.RelativeError"/>.</param>
    /// <returns>See <see cref="GradCheck.RelativeError"/>.</returns>
    public static double RelativeError(Tensor a, Tensor b) =>
        GradCheck.RelativeError(a, b);

    /// <summary>Forwards to <see cref="GradCheck.Compare"/>.</summary>
    /// <param name="name">See <see cref="GradCheck.Compare"/>.</param>
    /// <param name="analytic">See <see cref="GradCheck.Compare"/>.</param>
    /// <param name="numeric">See <see cref="GradCheck.Compare"/>.</param>
    /// <param name="tolerance">See <see cref="GradCheck.Compare"/>.</param>
    /// <param name="floor">See <see cref="GradCheck.Compare"/>.</param>
    /// <returns>See <see cref="GradCheck.Compare"/>.</returns>
    public static GradCheckReport Compare(string name, Tensor analytic, Tensor numeric, double tolerance = 1e-7, double floor = GradCheckModule.DefaultFloor) =>
        GradCheck.Compare(name, analytic, numeric, tolerance, floor);

    /// <summary>Forwards to <see cref="GradCheck.Check"/>.</summary>
    /// <param name="name">See <see cref="GradCheck.Check"/>.</param>
    /// <param name="f">See <see cref="GradCheck.Check"/>.</param>
    /// <param name="x">See <see cref="GradCheck.Check"/>.</param>
    /// <param name="analytic">See <see cref="GradCheck.Check"/>.</param>
    /// <param name="tolerance">See <see cref="GradCheck.Check"/>.</param>
    /// <returns>See <see cref="GradCheck.Check"/>.</returns>
    public static GradCheckReport Check(string name, Func<Tensor, double> f, Tensor x, Tensor analytic, double tolerance = 1e-7) =>
        GradCheck.Check(name, f, x, analytic, tolerance);

    /// <summary>Forwards to <see cref="GradCheck.CheckOf"/>.</summary>
    /// <param name="name">See <see cref="GradCheck.CheckOf"/>.</param>
    /// <param name="f">See <see cref="GradCheck.CheckOf"/>.</param>
    /// <param name="x">See <see cref="GradCheck.CheckOf"/>.</param>
    /// <param name="upstream">See <see cref="GradCheck.CheckOf"/>.</param>
    /// <param name="analytic">See <see cref="GradCheck.CheckOf"/>.</param>
    /// <param name="tolerance">See <see cref="GradCheck.CheckOf"/>.</param>
    /// <returns>See <see cref="GradCheck.CheckOf"/>.</returns>
    public static GradCheckReport CheckOf(string name, Func<Tensor, Tensor> f, Tensor x, Tensor upstream, Tensor analytic, double tolerance = 1e-7) =>
        GradCheck.CheckOf(name, f, x, upstream, analytic, tolerance);

    /// <summary>Forwards to <see cref="GradCheck.Sparse"/>.</summary>
    /// <param name="name">See <see cref="GradCheck.Sparse"/>.</param>
    /// <param name="f">See <see cref="GradCheck.Sparse"/>.</param>
    /// <param name="x">See <see cref="GradCheck.Sparse"/>.</param>
    /// <param name="analytic">See <see cref="GradCheck.Sparse"/>.</param>
    /// <param name="count">See <see cref="GradCheck.Sparse"/>.</param>
    /// <param name="rng">See <see cref="GradCheck.Sparse"/>.</param>
    /// <param name="tolerance">See <see cref="GradCheck.Sparse"/>.</param>
    /// <returns>See <see cref="GradCheck.Sparse"/>.</returns>
    public static GradCheckReport Sparse(string name, Func<Tensor, double> f, Tensor x, Tensor analytic, int count, Rng rng, double tolerance = 1e-7) =>
        GradCheck.Sparse(name, f, x, analytic, count, rng, tolerance);
}
