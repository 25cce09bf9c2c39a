using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Functional.Api.Tests;

/// <summary>
/// What a C# developer meets after <c>using Functional;</c>: every public type of the <c>Functional</c> namespace
/// in both assemblies (the facade and the core), and every type reachable from their public signatures. None may
/// show an F# function, list, map, set, option or a <c>System.Tuple</c> (value tuples are C#'s own), a camelCase
/// member, F#'s structural-comparison members, or a <c>ToString()</c> in F# notation.
/// </summary>
public class FacadeSurfaceTests
{
    private const BindingFlags Declared =
        BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Assembly[] Ours = [typeof(Layers).Assembly, typeof(Tensor).Assembly];

    /// <summary>F#'s own types (FSharp.Core) and System.Tuple, with or without generic arguments.</summary>
    private static bool IsForbidden(Type t) =>
        t.Assembly == typeof(Microsoft.FSharp.Core.Unit).Assembly
        || (t.IsGenericType && t.GetGenericTypeDefinition().FullName?.StartsWith("System.Tuple`", StringComparison.Ordinal) == true)
        || (t.HasElementType && IsForbidden(t.GetElementType()!))
        || (t.IsGenericType && t.GetGenericArguments().Any(IsForbidden));

    /// <summary>The types a public member's signature shows (parameters, return, property, field, event).</summary>
    private static IEnumerable<Type> SignatureTypes(MemberInfo m) => m switch
    {
        PropertyInfo p => p.GetIndexParameters().Select(i => i.ParameterType).Append(p.PropertyType),
        FieldInfo f => [f.FieldType],
        MethodInfo mi => mi.GetParameters().Select(p => p.ParameterType).Append(mi.ReturnType),
        ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
        EventInfo e => e.EventHandlerType is { } h ? [h] : [],
        _ => [],
    };

    /// <summary>Public members a user can call (accessors are reported through their properties and events).</summary>
    private static IEnumerable<MemberInfo> UserMembers(Type type) =>
        type.GetMembers(Declared).Where(m => m is not MethodBase { IsSpecialName: true } and not FieldInfo { IsSpecialName: true });

    /// <summary>The base type, the interfaces and the types named by the signatures: what a user meets next.</summary>
    private static IEnumerable<Type> Neighbours(Type type)
    {
        static IEnumerable<Type> Unwrap(Type t) =>
            t.HasElementType ? Unwrap(t.GetElementType()!)
            : t.IsGenericType ? t.GetGenericArguments().SelectMany(Unwrap).Prepend(t)
            : [t];
        var named = UserMembers(type).SelectMany(SignatureTypes).Concat(type.GetInterfaces());
        if (type.BaseType is { } b)
            named = named.Append(b);
        return named.SelectMany(Unwrap).Where(t => Ours.Contains(t.Assembly) && (t.IsPublic || t.IsNestedPublic));
    }

    /// <summary>Every public type of the Functional namespace, and the closure of what their signatures show.</summary>
    public static IReadOnlyList<Type> CSharpFacingTypes()
    {
        var seen = new HashSet<Type>();
        var queue = new Queue<Type>(Ours.SelectMany(a => a.GetExportedTypes()).Where(t => t.Namespace == "Functional"));
        while (queue.TryDequeue(out var t))
        {
            if (t.IsGenericType && !t.IsGenericTypeDefinition)
                t = t.GetGenericTypeDefinition();
            if (!seen.Add(t))
                continue;
            foreach (var n in Neighbours(t))
                queue.Enqueue(n);
        }

        return [.. seen.OrderBy(t => t.FullName, StringComparer.Ordinal)];
    }

    private static void AssertNone(string what, IEnumerable<string> violations)
    {
        var list = violations.Distinct().ToList();
        Assert.True(list.Count == 0, $"{what} ({list.Count}):\n" + string.Join("\n", list));
    }

    [Fact]
    public void TheSurfaceReachesBothAssembliesAndTheirSignatures()
    {
        var types = CSharpFacingTypes();
        Assert.Contains(typeof(Tensor), types);       // the core's Functional namespace
        Assert.Contains(typeof(Solver), types);       // the facade
        Assert.Contains(typeof(TrainingProgress), types);
        Assert.Contains(typeof(OptimState), types);   // reached through UpdateRule.Init's signature
    }

    [Fact]
    public void NoFSharpTypeOrSystemTupleAppearsInAPublicSignature() =>
        AssertNone("F# types or System.Tuple in the C# surface",
            from type in CSharpFacingTypes()
            from m in UserMembers(type)
            from t in SignatureTypes(m)
            where IsForbidden(t)
            select $"{type.FullName}.{m.Name}: {t}");

    [Fact]
    public void NoTypeFromAnFSharpOnlyNamespaceIsReachable() =>
        AssertNone("types of Functional.FSharp (or other F#-only namespaces) reachable from Functional",
            from type in CSharpFacingTypes()
            where type.Namespace != "Functional"
            select type.FullName!);

    [Fact]
    public void EveryPublicMemberIsPascalCase() =>
        AssertNone("camelCase public members",
            from type in CSharpFacingTypes()
            from m in UserMembers(type)
            where m is not ConstructorInfo && char.IsLower(m.Name[0])
            select $"{type.FullName}.{m.Name}");

    /// <summary>
    /// F# records and unions implement <c>IStructuralComparable</c>/<c>IComparable</c>, which shows C# users
    /// <c>CompareTo(object, IComparer)</c> and <c>CompareTo(object)</c> on types that have no meaningful order
    /// (configurations, reports); F# code marks them <c>[&lt;NoComparison&gt;]</c>.
    /// </summary>
    [Fact]
    public void NoStructuralComparisonNoise() =>
        AssertNone("F# structural comparison on types without a meaningful order",
            from type in CSharpFacingTypes()
            where typeof(IStructuralComparable).IsAssignableFrom(type)
            select $"{type.FullName}: CompareTo(object, IComparer)");

    /// <summary>
    /// F# gives every record and union a <c>ToString()</c> that prints multi-line F# notation (<c>{ Dx =\n …</c>,
    /// <c>map [...]</c>, <c>Some</c>); each type of the core that users meet overrides it (<c>Display.record</c>).
    /// </summary>
    [Fact]
    public void NoCoreTypeKeepsFSharpsGeneratedToString() =>
        AssertNone("types of the core with F#'s generated ToString()",
            from type in CSharpFacingTypes()
            where type.Assembly == typeof(Tensor).Assembly && !type.IsEnum
            let toString = type.GetMethod(nameof(ToString), Type.EmptyTypes)
            where toString?.DeclaringType == type && toString.GetCustomAttribute<CompilerGeneratedAttribute>() is not null
            select type.FullName!);

    /// <summary>The results users print, built through the API: no F# notation in their text.</summary>
    public static TheoryData<string, object> Results()
    {
        var rng = Rng.Create(0);
        var x = Tensor.RandomNormal(rng.Derive(0), 1.0, 4, 6);
        int[] y = [0, 1, 2, 0];
        var net = new TwoLayerNet(inputDim: 6, hiddenDim: 5, numClasses: 3, weightScale: 0.1);
        var (scores, cache) = Layers.AffineForward(x, Tensor.RandomNormal(rng.Derive(1), 0.1, 6, 3), Tensor.Zeros(3));
        var loss = Losses.Softmax(scores, y);
        var rule = UpdateRule.Adam();
        var w = Tensor.Zeros(2, 2);
        return new TheoryData<string, object>
        {
            { "ModelLoss", net.Loss(x, y) },
            { "LossResult", loss },
            { "AffineGrads", Layers.AffineBackward(loss.Dscores, cache) },
            { "GradCheckReport", GradCheck.Check("w", _ => 0.0, w, w) },
            { "OptimState", rule.Init(w) },
            { "OptimConfig", rule.Config },
            { "UpdateRule", rule },
            { "Tensor", x },
            { "Model", net },
            { "TrainingResult", new Solver(net, UpdateRule.Sgd(), new SolverConfig { NumEpochs = 1, BatchSize = 4 }).Train(x, y, x, y) },
        };
    }

    [Theory]
    [MemberData(nameof(Results))]
    public void ResultsPrintInCSharpTerms(string name, object value)
    {
        var text = value.ToString()!;
        string[] fsharpNotation = ["map [", "Some(", "Some ", "None", "[|", "|]", "FSharp", "Tuple`", "seq [", "set ["];
        var found = fsharpNotation.Where(text.Contains).ToList();
        Assert.True(found.Count == 0, $"{name}.ToString() uses F# notation ({string.Join(", ", found)}): {text}");
        Assert.False(text.StartsWith("{ ", StringComparison.Ordinal) && text.Contains(" = "), $"{name}.ToString() is F# record syntax: {text}");
    }
}
