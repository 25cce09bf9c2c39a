using System.CommandLine;
using System.CommandLine.Parsing;

namespace Functional.App;

/// <summary>Range checks for options, run by the parser before any work starts.</summary>
internal static class Validate
{
    /// <summary>
    /// Adds a check of the option's value; a value that does not even parse (e.g. <c>--epochs many</c>) is reported
    /// with the parser's message instead.
    /// </summary>
    private static void Check<T>(Option<T> option, Action<OptionResult, T> check) =>
        option.Validators.Add(r =>
        {
            T value;
            try
            {
                value = r.GetValueOrDefault<T>();
            }
            catch (InvalidOperationException e)
            {
                r.AddError(e.Message);
                return;
            }

            check(r, value);
        });

    /// <summary>The option's value must be at least <paramref name="min"/>.</summary>
    public static Option<int> AtLeast(this Option<int> option, int min)
    {
        Check(option, (r, v) =>
        {
            if (v < min)
                r.AddError($"{option.Name} must be at least {min}, got {v}.");
        });
        return option;
    }

    /// <summary>The option's value must be odd.</summary>
    public static Option<int> Odd(this Option<int> option)
    {
        Check(option, (r, v) =>
        {
            if (v % 2 == 0)
                r.AddError($"{option.Name} must be odd, got {v}.");
        });
        return option;
    }

    /// <summary>The option's value, when given, must be at least <paramref name="min"/>.</summary>
    public static Option<int?> AtLeast(this Option<int?> option, int min)
    {
        Check(option, (r, v) =>
        {
            if (v is { } given && given < min)
                r.AddError($"{option.Name} must be at least {min}, got {given}.");
        });
        return option;
    }

    /// <summary>The option's value must be finite and within the bounds (each inclusive or not).</summary>
    public static Option<double> Within(this Option<double> option, double min, double max, bool minInclusive = true, bool maxInclusive = true)
    {
        Check(option, (r, v) => CheckRange(r, option.Name, v, min, max, minInclusive, maxInclusive));
        return option;
    }

    /// <summary>The option's value, when given, must be finite and within the bounds.</summary>
    public static Option<double?> Within(this Option<double?> option, double min, double max, bool minInclusive = true, bool maxInclusive = true)
    {
        Check(option, (r, v) =>
        {
            if (v is { } given)
                CheckRange(r, option.Name, given, min, max, minInclusive, maxInclusive);
        });
        return option;
    }

    private static void CheckRange(OptionResult r, string name, double v, double min, double max, bool minIn, bool maxIn)
    {
        var inside = double.IsFinite(v) && (minIn ? v >= min : v > min) && (maxIn ? v <= max : v < max);
        if (!inside)
        {
            var range = $"{(minIn ? "[" : "(")}{Text(min)}, {Text(max)}{(maxIn ? "]" : ")")}";
            r.AddError($"{name} must be a finite number in {range}, got {Text(v)}.");
        }
    }

    private static string Text(double v) =>
        double.IsPositiveInfinity(v) ? "∞" : v.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The option's value must be one of <paramref name="choices"/> (also offered as completions).</summary>
    public static Option<string> Choices(this Option<string> option, params string[] choices)
    {
        option.AcceptOnlyFromAmong(choices);
        return option;
    }

    /// <summary>Positive integers separated by commas ("256,128"), or null when the text is not that.</summary>
    public static int[]? ParseSizes(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var sizes = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
                return null;
        }

        return sizes;
    }

    /// <summary>The option's value must be positive integers separated by commas.</summary>
    public static Option<string> Sizes(this Option<string> option)
    {
        option.Validators.Add(r =>
        {
            var text = r.GetValueOrDefault<string>() ?? "";
            if (ParseSizes(text) is null)
                r.AddError($"{option.Name} must be positive integers separated by commas, got '{text}'.");
        });
        return option;
    }
}
