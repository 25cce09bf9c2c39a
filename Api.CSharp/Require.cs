using System.Runtime.CompilerServices;

namespace Functional;

/// <summary>Argument checks shared by the facade.</summary>
internal static class Require
{
    /// <summary>
    /// Returns the value, or throws <see cref="ArgumentNullException"/> naming the member called and the argument.
    /// </summary>
    public static T NotNull<T>(
        T? value,
        [CallerArgumentExpression(nameof(value))] string? name = null,
        [CallerMemberName] string? member = null)
        where T : class =>
        value ?? throw new ArgumentNullException(name, $"{Prefix(member)}{name} must not be null.");

    /// <summary>"Member: " for a method or property; nothing for a constructor (the exception's type and parameter
    /// name it).</summary>
    private static string Prefix(string? member) => member is null or ".ctor" or ".cctor" ? "" : $"{member}: ";

    /// <summary>
    /// Returns the value when it is finite and &gt; 0 (a tolerance, a floor, a step), else throws
    /// <see cref="ArgumentException"/> naming the function and the argument.
    /// </summary>
    public static double PositiveFinite(
        double value, string function, [CallerArgumentExpression(nameof(value))] string? name = null) =>
        double.IsFinite(value) && value > 0
            ? value
            : throw new ArgumentException($"{function}: {name} must be finite and > 0, got {value}.", name);

    /// <summary>Copies a label list into an array, rejecting null.</summary>
    public static int[] Labels(
        IReadOnlyList<int>? labels,
        [CallerArgumentExpression(nameof(labels))] string? name = null,
        [CallerMemberName] string? member = null) =>
        labels switch
        {
            null => throw new ArgumentNullException(name, $"{Prefix(member)}{name} must not be null."),
            int[] array => array,
            _ => labels.ToArray(),
        };
}
