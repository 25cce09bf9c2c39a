using System.Reflection;

namespace Functional.Api.Tests;

/// <summary>
/// A C# developer should never meet an F# function, list, option, map or set: this scans every public member of
/// the facade assembly and every public type of the core in the <c>Functional</c> namespace.
/// </summary>
public class FacadeSurfaceTests
{
    private static readonly string[] Forbidden =
        ["FSharpFunc", "FSharpList", "FSharpOption", "FSharpValueOption", "FSharpMap", "FSharpSet", "FSharpAsync"];

    private static bool IsForbidden(Type t) =>
        Forbidden.Any(f => t.Name.StartsWith(f, StringComparison.Ordinal))
        || (t.HasElementType && IsForbidden(t.GetElementType()!))
        || (t.IsGenericType && t.GetGenericArguments().Any(IsForbidden));

    private static IEnumerable<string> Violations(Type type)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var m in type.GetMembers(flags))
        {
            IEnumerable<Type> types = m switch
            {
                PropertyInfo p => [p.PropertyType],
                FieldInfo f => [f.FieldType],
                MethodInfo mi => mi.GetParameters().Select(p => p.ParameterType).Append(mi.ReturnType),
                ConstructorInfo c => c.GetParameters().Select(p => p.ParameterType),
                _ => [],
            };
            foreach (var t in types.Where(IsForbidden))
                yield return $"{type.FullName}.{m.Name}: {t}";
        }
    }

    public static IEnumerable<Type> CSharpFacingTypes() =>
        typeof(Layers).Assembly.GetExportedTypes()
            .Concat(typeof(Tensor).Assembly.GetExportedTypes().Where(t => t.Namespace == "Functional"));

    [Fact]
    public void NoFSharpTypeAppearsInThePublicSurfaceACSharpUserSees()
    {
        var violations = CSharpFacingTypes().SelectMany(Violations).Distinct().ToList();
        Assert.True(violations.Count == 0, "F# types in the C# surface:\n" + string.Join("\n", violations));
    }
}
