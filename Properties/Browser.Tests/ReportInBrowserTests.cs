using System.Diagnostics;
using System.Text.Json;
using Microsoft.Playwright;
using StbImageSharp;
using Xunit.Abstractions;

namespace Functional.Browser.Tests;

/// <summary>
/// A fact that needs Debian's Chromium. Without it the test is skipped with a message naming the package, except
/// when FUNCTIONAL_REQUIRE_BROWSER=1 (set by .ci/run, which installs chromium): then it runs and fails.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (ReportInBrowserTests.Chromium is null && Environment.GetEnvironmentVariable("FUNCTIONAL_REQUIRE_BROWSER") != "1")
            Skip = "Debian's chromium is not installed (no /usr/bin/chromium): run 'sudo apt-get install chromium' to run " +
                   "the browser test. CI (.ci/run) installs it and sets FUNCTIONAL_REQUIRE_BROWSER=1, so there it never skips.";
    }
}

/// <summary>
/// Opens the report of a short real training run in headless Chromium, with the network off, and checks that every
/// figure rendered: the plot containers, the traces drawn in each SVG, the axis titles, no console errors, no
/// request leaving the file, and a screenshot that is not blank.
/// </summary>
public sealed class ReportInBrowserTests(ITestOutputHelper output)
{
    public static string? Chromium =>
        new[] { Environment.GetEnvironmentVariable("FUNCTIONAL_CHROMIUM"), "/usr/bin/chromium" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));

    /// <summary>The report's figures in order: trace type, trace count, axis titles (null: an image without axes).</summary>
    private static readonly (string Name, string Type, int Traces, string? XTitle, string? YTitle)[] Expected =
    [
        ("loss", "scatter", 2, "iteration", "loss"),
        ("accuracy", "scatter", 2, "epoch", "accuracy"),
        ("learning rate", "scatter", 1, "epoch", "learning rate"),
        ("first layer", "image", 1, null, null),
        ("predictions", "image", 1, null, null),
        ("confusion", "heatmap", 1, "predicted label", "true label"),
    ];

    [ChromiumFact]
    public async Task TheTrainingReportRendersEveryFigureOfflineWithoutErrors()
    {
        var chromium = Chromium ?? throw new InvalidOperationException(
            "FUNCTIONAL_REQUIRE_BROWSER=1 but Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium.");
        var folder = Directory.CreateTempSubdirectory("functional-report-").FullName;
        try
        {
            var report = Train(folder);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = chromium,
                Headless = true,
                // The flags that work on this machine's closed network (no background connections).
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync"],
            });
            var context = await browser.NewContextAsync(new BrowserNewContextOptions
            {
                Offline = true,
                ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            });
            var external = new List<string>();
            await context.RouteAsync("**/*", async route =>
            {
                if (route.Request.Url.StartsWith("file:", StringComparison.Ordinal))
                    await route.ContinueAsync();
                else
                {
                    external.Add(route.Request.Url);
                    await route.AbortAsync();
                }
            });
            var page = await context.NewPageAsync();
            var errors = new List<string>();
            page.Console += (_, m) =>
            {
                if (m.Type == "error")
                    errors.Add(m.Text);
            };
            page.PageError += (_, e) => errors.Add(e);

            await page.GotoAsync(new Uri(report).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
            try
            {
                await page.WaitForFunctionAsync(
                    "n => { const g = [...document.querySelectorAll('.figure .js-plotly-plot')]; " +
                    "return g.length === n && g.every(d => d._fullLayout && d.querySelector('svg.main-svg')); }",
                    Expected.Length, new PageWaitForFunctionOptions { Timeout = 60_000 });
            }
            catch (TimeoutException)
            {
                Assert.Fail($"the {Expected.Length} figures were not drawn within 60 s. JavaScript errors: " +
                            $"[{string.Join(" | ", errors)}]; requests that left the file: [{string.Join(" ", external)}]");
            }

            var figures = JsonSerializer.Deserialize<JsonElement>(await page.EvaluateAsync<string>(
                """
                () => JSON.stringify([...document.querySelectorAll('.figure .js-plotly-plot')].map(g => ({
                    traces: g.data.length,
                    types: g.data.map(t => t.type),
                    drawn: g.querySelectorAll('.cartesianlayer .plot g.trace, .cartesianlayer .plot g.hm, .cartesianlayer .plot g.im').length,
                    svg: g.querySelectorAll('svg.main-svg').length,
                    xtitle: g.querySelector('.g-xtitle')?.textContent ?? null,
                    ytitle: g.querySelector('.g-ytitle')?.textContent ?? null,
                    title: g.querySelector('.g-gtitle')?.textContent ?? null,
                })))
                """));
            output.WriteLine(figures.ToString());

            Assert.Equal(Expected.Length, figures.GetArrayLength());
            for (var i = 0; i < Expected.Length; i++)
            {
                var (name, type, traces, xTitle, yTitle) = Expected[i];
                var f = figures[i];
                Assert.True(f.GetProperty("svg").GetInt32() > 0, $"{name}: no SVG");
                Assert.Equal(traces, f.GetProperty("traces").GetInt32());
                Assert.All(f.GetProperty("types").EnumerateArray(), t => Assert.Equal(type, t.GetString()));
                Assert.True(traces == f.GetProperty("drawn").GetInt32(),
                    $"{name}: {traces} traces in the data but {f.GetProperty("drawn").GetInt32()} drawn in the SVG");
                Assert.False(string.IsNullOrWhiteSpace(f.GetProperty("title").GetString()), $"{name}: no title");
                if (xTitle is not null)
                {
                    Assert.Equal(xTitle, f.GetProperty("xtitle").GetString());
                    Assert.Equal(yTitle, f.GetProperty("ytitle").GetString());
                }
            }

            Assert.True(errors.Count == 0, "JavaScript errors: " + string.Join(" | ", errors));
            Assert.True(external.Count == 0, "requests left the file: " + string.Join(" ", external));

            var shot = Path.Combine(folder, "report-screenshot.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            var variance = PixelVariance(await File.ReadAllBytesAsync(shot));
            output.WriteLine($"screenshot variance {variance:F1}");
            Assert.True(variance > 200, $"the screenshot looks blank: gray-level variance {variance:F1} (expected > 200)");

            foreach (var (plot, i) in (await page.QuerySelectorAllAsync(".figure .js-plotly-plot")).Select((p, i) => (p, i)))
            {
                var v = PixelVariance(await plot.ScreenshotAsync());
                Assert.True(v > 100, $"{Expected[i].Name}: the figure looks blank (gray-level variance {v:F1}, expected > 100)");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Runs `functional train` (a small fully connected net, one epoch) and returns report.html's path.</summary>
    private string Train(string folder)
    {
        var app = Path.Combine(AppContext.BaseDirectory, "functional.dll");
        Assert.True(File.Exists(app), $"the app is not next to the test: {app}");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { app, "train", "--model", "fc", "--hidden", "32", "--epochs", "1", "--output", folder })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        output.WriteLine(stdout);
        Assert.True(p.ExitCode == 0, $"functional train exited with {p.ExitCode}: {stdout} {stderr.Result}");
        Assert.Contains("report.html", stdout);
        var report = Path.Combine(folder, "report.html");
        Assert.True(File.Exists(report), $"no {report}");
        return report;
    }

    /// <summary>The variance of the gray level (0..255) over all pixels of a PNG.</summary>
    private static double PixelVariance(byte[] png)
    {
        var image = ImageResult.FromMemory(png, ColorComponents.Grey);
        double sum = 0, sumSq = 0;
        foreach (var b in image.Data)
        {
            sum += b;
            sumSq += (double)b * b;
        }

        var n = image.Data.Length;
        var mean = sum / n;
        return sumSq / n - mean * mean;
    }
}
