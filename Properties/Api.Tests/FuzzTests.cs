using System.Reflection;
using System.Text.RegularExpressions;

namespace Functional.Api.Tests;

/// <summary>
/// A fuzz test over the public surface a C# user reaches: by reflection, every public method and constructor of the
/// facade and of the core's <c>Functional</c> types is called with bad inputs of every kind (null, empty, negative,
/// zero and huge dimensions, shapes that overflow int32, mismatched shapes, NaN and infinite values and tolerances,
/// out-of-range indices and labels, broken callbacks), one argument at a time with the others plausible. Every call
/// must return, or throw a documented exception type whose message names the function (or, for a null argument,
/// the member and the argument), within a time limit. NaN in a layer's input must give NaN in its output.
/// </summary>
public partial class FuzzTests
{
    /// <summary>How long one call may take: far above any of these tiny calls.</summary>
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(20);

    private static Tensor T(params int[] shape) => Tensor.Linspace(-1.0, 1.0, shape);

    private static Tensor Filled(double v, params int[] shape) => Tensor.Full(v, shape);

    private static readonly Tensor[] Tensors =
    [
        T(2, 2, 4, 4), T(2, 3), null!, T(0, 3), Tensor.Scalar(1.0), Filled(double.NaN, 2, 2, 4, 4),
        Filled(double.PositiveInfinity, 2, 3), T(1, 1, 1, 1), T(3), T(2, 2, 2, 2, 2),
    ];

    private static readonly CancellationTokenSource Canceled = new();

    static FuzzTests() => Canceled.Cancel();

    /// <summary>Valid caches, from forward passes on small inputs, so that backward passes are fuzzed on dout.</summary>
    private static readonly Dictionary<Type, Func<object>> Caches = new()
    {
        [typeof(ReluCache)] = () => Layers.ReluForward(T(2, 3)).Cache,
        [typeof(LeakyReluCache)] = () => Layers.LeakyReluForward(T(2, 3)).Cache,
        [typeof(SigmoidCache)] = () => Layers.SigmoidForward(T(2, 3)).Cache,
        [typeof(TanhCache)] = () => Layers.TanhForward(T(2, 3)).Cache,
        [typeof(AffineCache)] = () => Layers.AffineForward(T(2, 3), T(3, 4), T(4)).Cache,
        [typeof(AffineReluCache)] = () => Layers.AffineReluForward(T(2, 3), T(3, 4), T(4)).Cache,
        [typeof(ConvCache)] = () => Layers.ConvForward(T(2, 2, 4, 4), T(3, 2, 3, 3), T(3), pad: 1).Cache,
        [typeof(ConvReluCache)] = () => Layers.ConvReluForward(T(2, 2, 4, 4), T(3, 2, 3, 3), T(3), pad: 1).Cache,
        [typeof(ConvReluPoolCache)] = () =>
            Layers.ConvReluPoolForward(T(2, 2, 4, 4), T(3, 2, 3, 3), T(3), pad: 1).Cache,
        [typeof(MaxPoolCache)] = () => Layers.MaxPoolForward(T(2, 2, 4, 4)).Cache,
        [typeof(AvgPoolCache)] = () => Layers.AvgPoolForward(T(2, 2, 4, 4)).Cache,
        [typeof(BatchNormCache)] = () =>
            Layers.BatchNormForward(T(2, 3), Filled(1, 3), Filled(0, 3), BatchNormState.Initial(3), Mode.Train).Cache,
        [typeof(LayerNormCache)] = () => Layers.LayerNormForward(T(2, 3), Filled(1, 3), Filled(0, 3)).Cache,
        [typeof(SpatialBatchNormCache)] = () => Layers.SpatialBatchNormForward(
            T(2, 2, 4, 4), Filled(1, 2), Filled(0, 2), BatchNormState.Initial(2), Mode.Train).Cache,
        [typeof(GroupNormCache)] = () => Layers.GroupNormForward(T(2, 2, 4, 4), Filled(1, 2), Filled(0, 2), 2).Cache,
        [typeof(DropoutCache)] = () => Layers.DropoutForward(T(2, 3), 0.5, Mode.Train, Rng.Create(1)).Cache,
    };

    /// <summary>The values tried for a parameter of a type: the first is the plausible one the other calls use.</summary>
    private static IEnumerable<object?> Values(Type t)
    {
        var nullable = Nullable.GetUnderlyingType(t);
        if (nullable != null)
            return Values(nullable).Prepend(null);
        if (t == typeof(Tensor)) return Tensors;
        if (t == typeof(int))
            return new object?[] { 2, 1, 0, -1, 3, int.MaxValue, int.MinValue, 46341, 65537 };
        if (t == typeof(long)) return new object?[] { 1L, 0L, -1L, long.MaxValue, long.MinValue };
        if (t == typeof(ulong)) return new object?[] { 1UL, 0UL, ulong.MaxValue };
        if (t == typeof(double))
            return new object?[]
            {
                0.5, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, -1.0, 1e308, 1e-320, 2.0,
            };
        if (t == typeof(bool)) return new object?[] { true, false };
        if (t == typeof(string)) return new object?[] { "x", null, "", " ", "/nonexistent-dir/x.npz" };
        if (t == typeof(int[]))
            return new object?[]
            {
                new[] { 2, 3 }, null, Array.Empty<int>(), new[] { -1 }, new[] { 0 }, new[] { 65536, 65537 },
                new[] { 46341, 46341 }, new[] { int.MaxValue, 2 }, new[] { 2, 2, 4, 4 }, new[] { 5 },
            };
        if (t == typeof(double[]))
            return new object?[] { new[] { 1.0, 2.0, 3.0 }, null, Array.Empty<double>(), new[] { double.NaN } };
        if (t == typeof(IReadOnlyList<int>))
            return new object?[]
            {
                new[] { 0, 1 }, null, Array.Empty<int>(), new[] { -1, 0 }, new[] { int.MaxValue, 0 },
                new[] { 0, 1, 0, 1 },
            };
        if (t == typeof(Rng)) return new object?[] { Rng.Create(7), null };
        if (t == typeof(Func<Tensor, double>))
            return new object?[]
            {
                (Func<Tensor, double>)(x => x.SumAll()), null, (Func<Tensor, double>)(_ => double.NaN),
            };
        if (t == typeof(Func<Tensor, Tensor>))
            return new object?[] { (Func<Tensor, Tensor>)(x => x), null, (Func<Tensor, Tensor>)(_ => null!) };
        if (t == typeof(Func<double, double>))
            return new object?[] { (Func<double, double>)(v => v), null };
        if (t == typeof(BatchNormState))
            return new object?[] { BatchNormState.Initial(3), null, BatchNormState.Initial(2) };
        if (t == typeof(BatchNormConfig))
            return new object?[]
            {
                BatchNormConfig.Default, null, new BatchNormConfig(double.NaN, 0.9), new BatchNormConfig(1e-5, 2.0),
            };
        if (t == typeof(ConvConfig))
            return new object?[]
            {
                ConvConfig.Default, null, ConvConfig.Create(0, 0), ConvConfig.Create(1, -1),
                ConvConfig.Create(1, 1 << 30, 1 << 30), ConvConfig.Create(1, 0, 1, 0),
            };
        if (t == typeof(PoolConfig))
            return new object?[]
            {
                PoolConfig.Create(2, 2, 2), null, PoolConfig.Create(0, 0, 0), PoolConfig.Create(int.MaxValue, 1, 1),
            };
        if (t == typeof(CancellationToken)) return new object?[] { CancellationToken.None, Canceled.Token };
        if (t.IsEnum)
            return Enum.GetValues(t).Cast<object?>().Append(Enum.ToObject(t, 99));
        if (Caches.TryGetValue(t, out var make)) return new[] { make(), null };
        return t.IsValueType ? new[] { Activator.CreateInstance(t) } : new object?[] { null };
    }

    /// <summary>Instances to call instance methods on.</summary>
    private static IEnumerable<object> Receivers(Type t) =>
        t == typeof(Tensor) ? Tensors.Where(x => x is not null)
        : t == typeof(Rng) ? [Rng.Create(3)]
        : Caches.TryGetValue(t, out var make) ? [make()]
        : [];

    private static readonly string[] Skipped =
        ["Equals", "GetHashCode", "ToString", "CompareTo", "GetType", "Deconstruct", "<Clone>$"];

    /// <summary>The methods and constructors a C# user can call: the facade's and the core's Functional types.</summary>
    private static IEnumerable<MethodBase> Surface() =>
        FacadeSurfaceTests.CSharpFacingTypes()
            .Where(t => !t.IsGenericTypeDefinition && !typeof(Delegate).IsAssignableFrom(t))
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Cast<MethodBase>()
                .Concat(t.IsAbstract ? [] : t.GetConstructors()))
            .Where(m => !Skipped.Contains(m.Name) && !m.IsSpecialName || m.Name.StartsWith("get_") || m.IsConstructor)
            // [Obsolete] former names forward to the current member, which is fuzzed under its own name.
            .Where(m => m.GetCustomAttribute<ObsoleteAttribute>() is null && m.DeclaringType!.GetCustomAttribute<ObsoleteAttribute>() is null)
            .Where(m => !m.IsGenericMethodDefinition
                        && m.GetParameters().All(p => !p.ParameterType.IsByRef && !p.ParameterType.IsPointer));

    /// <summary>A bad call's outcome: null when acceptable, else what is wrong.</summary>
    private static string? Judge(MethodBase m, Exception? e)
    {
        if (e is null) return null;
        var name = m.IsConstructor ? m.DeclaringType!.Name : m.Name.Replace("get_", "");
        var namesFunction = e.Message.Contains(name, StringComparison.Ordinal)
                            || FunctionName().IsMatch(e.Message);
        // A null argument of a constructor: the exception's type and parameter name say which (the message cannot
        // name a constructor from inside the shared check).
        var namesParameter = e is ArgumentNullException ane && m.IsConstructor
                             && m.GetParameters().Any(p => p.Name == ane.ParamName);
        return e switch
        {
            ArgumentException when namesFunction || namesParameter => null,
            ArgumentException => $"{e.GetType().Name} whose message names no function: {e.Message}",
            OutOfMemoryException when e.Message.Contains("bytes") => null,
            CheckpointException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
                or UnauthorizedAccessException => null,
            OperationCanceledException => null,
            _ => $"{e.GetType().Name}: {e.Message}",
        };
    }

    /// <summary>"Module.function:" at the start of the message, or "Type.Member:" after a prefix.</summary>
    [GeneratedRegex(@"\b[A-Z][A-Za-z0-9]*\.[A-Za-z][A-Za-z0-9]*:")]
    private static partial Regex FunctionName();

    private static Exception? Invoke(MethodBase m, object? receiver, object?[] args)
    {
        var task = Task.Run(() =>
        {
            try
            {
                var result = m is ConstructorInfo c ? c.Invoke(args) : m.Invoke(receiver, args);
                return (Exception?)null;
            }
            catch (TargetInvocationException tie)
            {
                return tie.InnerException;
            }
        });
        if (!task.Wait(CallLimit))
            return new TimeoutException($"no answer within {CallLimit.TotalSeconds} s");
        return task.Result;
    }

    private static string Show(object? v) => v switch
    {
        null => "null",
        Tensor t => t.ToString(),
        int[] a => "[" + string.Join(", ", a) + "]",
        double[] a => "[" + string.Join(", ", a) + "]",
        IReadOnlyList<int> l => "[" + string.Join(", ", l) + "]",
        Delegate => "a function",
        _ => v.ToString() ?? "?",
    };

    [Fact]
    public void EveryPublicMethodGivenBadInputsReturnsOrThrowsADocumentedErrorNamingTheFunction()
    {
        var failures = new List<string>();
        var calls = 0;
        var methods = Surface().ToList();
        Assert.True(methods.Count > 100, $"only {methods.Count} methods found");

        foreach (var m in methods)
        {
            var ps = m.GetParameters();
            var candidates = ps.Select(p => Values(p.ParameterType).ToArray()).ToArray();
            var receivers = m.IsStatic || m.IsConstructor
                ? new object?[] { null }
                : Receivers(m.DeclaringType!).Cast<object?>().ToArray();

            foreach (var receiver in receivers)
            {
                // The plausible call, then each argument in turn through its bad values.
                var calls0 = new List<object?[]> { candidates.Select(c => c[0]).ToArray() };
                for (var i = 0; i < ps.Length; i++)
                    foreach (var v in candidates[i].Skip(1))
                    {
                        var args = candidates.Select(c => c[0]).ToArray();
                        args[i] = v;
                        calls0.Add(args);
                    }

                foreach (var args in calls0)
                {
                    calls++;
                    var problem = Judge(m, Invoke(m, receiver, args));
                    if (problem != null)
                        failures.Add(
                            $"{m.DeclaringType!.Name}.{m.Name}({string.Join(", ", args.Select(Show))})"
                            + (receiver is null ? "" : $" on {Show(receiver)}") + $": {problem}");
                }
            }
        }

        Assert.True(failures.Count == 0,
            $"{failures.Count} of {calls} calls over {methods.Count} methods failed:\n" + string.Join("\n", failures.Take(60)));
    }

    private static bool HasNaN(object? o) => o switch
    {
        Tensor t => t.ToArray().Any(double.IsNaN),
        double d => double.IsNaN(d),
        LossResult r => double.IsNaN(r.Loss),
        System.Runtime.CompilerServices.ITuple tuple => HasNaN(tuple[0]),
        _ => false,
    };

    /// <summary>x with a NaN at flat index k.</summary>
    private static Tensor WithNaN(Tensor x, int k)
    {
        var d = x.ToArray();
        d[k % d.Length] = double.NaN;
        return Tensor.FromArray(d, x.Shape.ToArray());
    }

    [Fact]
    public void NaNInALayersInputGivesNaNInItsOutputOrAnError()
    {
        var x2 = T(4, 3);
        var x4 = T(2, 2, 4, 4);
        var rng = Rng.Create(5);
        var layers = new (string Name, Tensor X, Func<Tensor, object> Run)[]
        {
            ("ReluForward", x2, x => Layers.ReluForward(x)),
            ("LeakyReluForward", x2, x => Layers.LeakyReluForward(x)),
            ("SigmoidForward", x2, x => Layers.SigmoidForward(x)),
            ("TanhForward", x2, x => Layers.TanhForward(x)),
            ("AffineForward", x2, x => Layers.AffineForward(x, T(3, 5), T(5))),
            ("AffineReluForward", x2, x => Layers.AffineReluForward(x, T(3, 5), T(5))),
            ("ConvForward", x4, x => Layers.ConvForward(x, T(3, 2, 3, 3), T(3), pad: 1)),
            ("ConvForwardNaive", x4, x => Layers.ConvForwardNaive(x, T(3, 2, 3, 3), T(3), pad: 1)),
            ("ConvReluForward", x4, x => Layers.ConvReluForward(x, T(3, 2, 3, 3), T(3), pad: 1)),
            ("ConvReluPoolForward", x4, x => Layers.ConvReluPoolForward(x, T(3, 2, 3, 3), T(3), pad: 1)),
            ("MaxPoolForward", x4, x => Layers.MaxPoolForward(x)),
            ("MaxPoolForwardNaive", x4, x => Layers.MaxPoolForwardNaive(x)),
            ("MaxPoolForward 3x3", x4, x => Layers.MaxPoolForward(x, 3, 3, 1)),
            ("AvgPoolForward", x4, x => Layers.AvgPoolForward(x)),
            ("BatchNormForward", x2,
                x => Layers.BatchNormForward(x, Filled(1, 3), Filled(0, 3), BatchNormState.Initial(3), Mode.Train)),
            ("LayerNormForward", x2, x => Layers.LayerNormForward(x, Filled(1, 3), Filled(0, 3))),
            ("SpatialBatchNormForward", x4, x => Layers.SpatialBatchNormForward(
                x, Filled(1, 2), Filled(0, 2), BatchNormState.Initial(2), Mode.Train)),
            ("GroupNormForward", x4, x => Layers.GroupNormForward(x, Filled(1, 2), Filled(0, 2), 1)),
            ("InstanceNormForward", x4, x => Layers.InstanceNormForward(x, Filled(1, 2), Filled(0, 2))),
            ("SpatialLayerNormForward", x4, x => Layers.SpatialLayerNormForward(x, Filled(1, 2), Filled(0, 2))),
            ("DropoutForward", x2, x => Layers.DropoutForward(x, 0.5, Mode.Train, rng)),
            ("Softmax", x2, x => Losses.Softmax(x, [0, 1, 2, 0])),
            ("Svm", x2, x => Losses.Svm(x, [0, 1, 2, 0])),
            // The relative error is +∞ (a failed check) where an element is NaN: reported here as NaN.
            ("RelativeError", x2, x => GradCheck.RelativeError(x, x2) is var r && double.IsPositiveInfinity(r) ? double.NaN : r),
            ("Tensor.Max", x2, x => x.Max([], false)),
            ("Tensor.Maximum", x2, x => Tensor.Maximum(x, Tensor.Zeros(3))),
            ("Tensor.MatMul", x2, x => Tensor.MatMul(x, T(3, 2))),
        };

        var failures = new List<string>();
        foreach (var (name, x, run) in layers)
            for (var k = 0; k < x.Count; k += 3)
            {
                object? result;
                try
                {
                    result = run(WithNaN(x, k));
                }
                catch (ArgumentException)
                {
                    continue;
                }

                if (!HasNaN(result))
                    failures.Add($"{name}: NaN at {k} gave {Show(result is System.Runtime.CompilerServices.ITuple t ? t[0] : result)}");
            }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
