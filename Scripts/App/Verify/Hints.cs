namespace Functional.App.Verify;

/// <summary>The hint for a failing function (the library's catalogue, wired when it lands).</summary>
internal static class Hints
{
    public static string? Find(CourseFunction f, IReadOnlyList<CaseVerdict> cases, CaseVerdict failure) => null;
}
