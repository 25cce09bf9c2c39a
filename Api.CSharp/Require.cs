using System.Runtime.CompilerServices;

namespace Functional;

/// <summary>Argument checks shared by the facade.</summary>
internal static class Require
{
    /// <summary>Returns the value, or throws <see cref="ArgumentNullException"/> naming the argument.</summary>
    public static T NotNull<T>(T? value, [CallerArgumentExpression(nameof(value))] string? name = null)
        where T : class =>
        value ?? throw new ArgumentNullException(name, $"{name} must not be null.");

    /// <summary>Copies a label list into an array, rejecting null.</summary>
    public static int[] Labels(IReadOnlyList<int>? labels, [CallerArgumentExpression(nameof(labels))] string? name = null) =>
        labels switch
        {
            null => throw new ArgumentNullException(name, $"{name} must not be null."),
            int[] array => array,
            _ => labels.ToArray(),
        };
}
