using Functional.FSharp;
using Microsoft.FSharp.Core;

namespace Functional;

/// <summary>
/// Numeric gradients by centered differences and their comparison with analytic gradients, for checking your own
/// backward passes (written in C#, F#, or exported from numpy).
/// </summary>
public static class GradientCheck
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
        Require.NotNull(f);
        Require.PositiveFinite(h, "GradientCheck.Numeric");
        return GradCheck.numericGradient(h, FuncConvert.FromFunc(f), Require.NotNull(x));
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
        Require.NotNull(f);
        Require.PositiveFinite(h, "GradientCheck.NumericOf");
        return GradCheck.numericGradientOf(h, FuncConvert.FromFunc(f), Require.NotNull(x), Require.NotNull(upstream));
    }

    /// <summary>
    /// The course's rel_error: max |a − b| / max(1e-8, |a| + |b|) over all elements; +∞ where an element is NaN in
    /// either, or infinite in one and not the same infinity in the other.
    /// </summary>
    /// <param name="a">A tensor.</param>
    /// <param name="b">A tensor of a's shape.</param>
    /// <returns>The largest elementwise relative error.</returns>
    public static double RelativeError(Tensor a, Tensor b) =>
        GradCheck.relativeError(Require.NotNull(a), Require.NotNull(b));

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
        string name, Tensor analytic, Tensor numeric, double tolerance = 1e-7, double floor = GradCheck.DefaultFloor) =>
        GradCheck.compareWith(
            Require.PositiveFinite(floor, "GradientCheck.Compare"), Require.NotNull(name),
            Require.PositiveFinite(tolerance, "GradientCheck.Compare"), Require.NotNull(analytic),
            Require.NotNull(numeric));

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
        Require.NotNull(f);
        Require.PositiveFinite(tolerance, "GradientCheck.Check");
        return GradCheck.check(Require.NotNull(name), tolerance, FuncConvert.FromFunc(f),
            Require.NotNull(x), Require.NotNull(analytic));
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
        Require.NotNull(f);
        Require.PositiveFinite(tolerance, "GradientCheck.CheckOf");
        return GradCheck.checkOf(Require.NotNull(name), tolerance, FuncConvert.FromFunc(f),
            Require.NotNull(x), Require.NotNull(upstream), Require.NotNull(analytic));
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
        Require.NotNull(f);
        Require.PositiveFinite(tolerance, "GradientCheck.Sparse");
        return GradCheck.sparse(Require.NotNull(rng), count, Require.NotNull(name), tolerance,
            FuncConvert.FromFunc(f), Require.NotNull(x), Require.NotNull(analytic));
    }
}
