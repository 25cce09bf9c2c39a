namespace Functional.App.Course;

/// <summary>Every course function the <c>verify</c> verb knows, in the order of the assignments.</summary>
internal static class CourseCatalogue
{
    public static IEnumerable<CourseFunction> All() => LayersPy.All().Concat(OptimPy.All()).Concat(NetsPy.All()).Concat(RnnLayersPy.All()).Concat(CaptioningPy.All());
}
