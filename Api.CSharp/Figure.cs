using Functional.FSharp;
using Microsoft.FSharp.Collections;
using Plotly.NET;
using FFigure = Functional.FSharp.FigureModule;

namespace Functional;

/// <summary>
/// A figure made by <see cref="Plot"/>: save it as a self-contained HTML file (plotly.js 2.28 embedded, opens
/// offline, asks no CDN) or as a PNG through Debian's headless Chromium (package <c>chromium</c>).
/// </summary>
public sealed class Figure
{
    internal Figure(GenericChart chart) => Chart = chart;

    internal GenericChart Chart { get; }

    /// <summary>The number of traces (curves, bar series, heatmaps, images) the figure draws.</summary>
    public int TraceCount => GenericChart.getTraces(Chart).Length;

    /// <summary>The figure as a self-contained HTML page (about 3.6 MB: plotly.js is inside).</summary>
    public string ToHtml() => FFigure.toHtml(Chart);

    /// <summary>Writes the figure as a self-contained HTML file, atomically.</summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public void SaveHtml(string path) => FFigure.saveHtml(Require.NotNull(path), Chart);

    /// <summary>
    /// Writes the figure as a PNG of its own size through headless Chromium (<see cref="ChromiumPath"/>), atomically.
    /// </summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <exception cref="InvalidOperationException">
    /// No Chromium is installed (the message names Debian's package <c>chromium</c>), or Chromium failed.
    /// </exception>
    public void SavePng(string path) => FFigure.savePng(Require.NotNull(path), Chart);

    /// <summary>
    /// The Chromium used for PNG: the environment variable FUNCTIONAL_CHROMIUM, else /usr/bin/chromium; null when
    /// none is installed.
    /// </summary>
    public static string? ChromiumPath => FFigure.chromium() is { } p ? p.Value : null;

    /// <summary>
    /// Writes several figures as one self-contained HTML page (plotly.js inlined once): a title, a table of
    /// settings, then the figures in order, each in a <c>div</c> of class <c>figure</c>.
    /// </summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <param name="title">The page's title and first heading.</param>
    /// <param name="settings">(name, value) rows shown as a table before the figures; may be empty.</param>
    /// <param name="figures">The figures.</param>
    public static void SavePage(
        string path, string title, IEnumerable<KeyValuePair<string, string>> settings, IEnumerable<Figure> figures)
    {
        var blocks = new List<FFigure.Block>
        {
            FFigure.Block.NewTable(ListModule.OfSeq(Require.NotNull(settings).Select(kv => Tuple.Create(kv.Key, kv.Value)))),
        };
        blocks.AddRange(Require.NotNull(figures).Select(f => FFigure.Block.NewChart(Require.NotNull(f).Chart)));
        FFigure.savePage(Require.NotNull(path), Require.NotNull(title), ListModule.OfSeq(blocks));
    }

    /// <inheritdoc/>
    public override string ToString() => $"Figure ({TraceCount} traces)";
}
