using Microsoft.FSharp.Core;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

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
        value ?? throw NullArgument(name, member);

    /// <summary>
    /// The key of <see cref="Exception.Data"/> that marks a null-argument error of <see cref="NotNull{T}"/>:
    /// <see cref="Facade.Call{T}"/> words it again with the type and member the user called.
    /// </summary>
    internal const string NullArgumentKey = "Functional.Facade.NullArgument";

    private static ArgumentNullException NullArgument(string? name, string? member)
    {
        var e = new ArgumentNullException(name, $"{Prefix(member)}{name} must not be null.");
        e.Data[NullArgumentKey] = true;
        return e;
    }

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
            null => throw NullArgument(name, member),
            int[] array => array,
            _ => labels.ToArray(),
        };
}

/// <summary>
/// Calls into the F# core on behalf of a facade member, so that a rejected argument names the member the user
/// called rather than the core's function: the core's "Conv.forwardNaive: x must be (N, C, H, W) …" reaches a caller
/// of <see cref="Layers.ConvForwardNaive"/> as "Layers.ConvForwardNaive: x must be (N, C, H, W) …". The exception
/// keeps its type (<see cref="ArgumentException"/>, <see cref="ArgumentNullException"/>,
/// <see cref="ArgumentOutOfRangeException"/>) and its ParamName, and carries the core's exception as inner exception
/// where the type allows one. Only the leading "Module.function: " of the core's messages (a capitalized module, a
/// camelCase function) of an exception thrown inside the core is replaced; every other exception passes through
/// untouched.
/// </summary>
internal static partial class Facade
{
    [GeneratedRegex(@"^[A-Z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+: ")]
    private static partial Regex CoreFunction();

    /// <summary>
    /// Runs <paramref name="body"/>; renames a core argument error, and a null argument rejected by
    /// <see cref="Require.NotNull{T}"/> inside it, to <c>type.member</c>.
    /// </summary>
    public static T Call<T>(string type, Func<T> body, [CallerMemberName] string member = "")
    {
        try
        {
            return body();
        }
        catch (ArgumentNullException e) when (e.Data[Require.NullArgumentKey] is true && e.Data[CallbackKey] is not true)
        {
            throw new ArgumentNullException(e.ParamName, $"{type}.{member}: {e.ParamName} must not be null.");
        }
        catch (ArgumentException e) when (FromCore(e))
        {
            throw Renamed(e, $"{type}.{member}");
        }
    }

    /// <summary>
    /// The user's callback <paramref name="f"/> as the core's function. An exception it throws is marked as the
    /// user's (<see cref="CallbackKey"/>), so that <see cref="Call{T}"/> never renames it, even when it is a core
    /// error raised by a core function the callback called itself.
    /// </summary>
    public static FSharpFunc<TIn, TOut> Callback<TIn, TOut>(Func<TIn, TOut> f) =>
        FuncConvert.FromFunc<TIn, TOut>(x =>
        {
            try
            {
                return f(x);
            }
            catch (Exception e)
            {
                e.Data[CallbackKey] = true;
                throw;
            }
        });

    /// <summary>The key of <see cref="Exception.Data"/> that marks an exception thrown by a user's callback.</summary>
    private const string CallbackKey = "Functional.Facade.Callback";

    /// <summary>
    /// An argument error raised by the core (Functional.Core): its <c>Guard.fail</c>, through which every argument
    /// error of the core goes, marks it in <see cref="Exception.Data"/> under <see cref="CoreErrorKey"/>. An error
    /// raised in a user's callback (e.g. the function given to <see cref="GradCheck.Numeric"/>, wrapped by
    /// <see cref="Callback{TIn, TOut}"/>) is never renamed, whatever its message says and whoever raised it.
    /// </summary>
    private static bool FromCore(ArgumentException e) =>
        e.Data[CoreErrorKey] is true && e.Data[CallbackKey] is not true && CoreFunction().IsMatch(e.Message);

    /// <summary>The core's mark of its own argument errors (Core.FSharp/Guard.fs, <c>Guard.CoreErrorKey</c>).</summary>
    private const string CoreErrorKey = "Functional.Core.ArgumentError";

    /// <summary>The same error, its message starting with <paramref name="name"/> instead of the core's function.</summary>
    internal static ArgumentException Renamed(ArgumentException e, string name)
    {
        var suffix = e.ParamName is { } p ? $" (Parameter '{p}')" : "";
        var raw = suffix.Length > 0 && e.Message.EndsWith(suffix, StringComparison.Ordinal)
            ? e.Message[..^suffix.Length]
            : e.Message;
        var message = CoreFunction().Replace(raw, name + ": ", 1);
        return e switch
        {
            ArgumentNullException => new ArgumentNullException(e.ParamName, message),
            ArgumentOutOfRangeException => new ArgumentOutOfRangeException(e.ParamName, message),
            _ => new ArgumentException(message, e.ParamName, e),
        };
    }
}
