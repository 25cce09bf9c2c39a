namespace Functional.FSharp

open System
open System.Diagnostics
open System.IO
open System.Net
open System.Text
open Plotly.NET

/// <summary>
/// Writing charts: self-contained HTML (plotly.js 2.28, embedded in Plotly.NET, inlined in the page: it opens
/// offline and asks no CDN), pages of several charts (the reports of <c>train</c> and <c>check</c>), and PNG through
/// Debian's headless Chromium (<c>/usr/bin/chromium</c>, package <c>chromium</c>; never downloaded at run time).
/// Files are written atomically (a temporary file in the same folder, then a rename).
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Figure =

    /// <summary>plotly.js (minified) as Plotly.NET ships it.</summary>
    let plotlyJs =
        lazy
            (let asm = typeof<GenericChart>.Assembly

             let name =
                 asm.GetManifestResourceNames()
                 |> Array.find (fun n -> n.StartsWith "Plotly.NET.plotly-" && n.EndsWith ".min.js")

             use s =
                 match asm.GetManifestResourceStream name with
                 | null -> failwith $"Plotly.NET has no resource {name}."
                 | s -> s

             use r = new StreamReader(s)
             r.ReadToEnd())

    /// <summary>A chart's own &lt;div&gt; and &lt;script&gt; (plotly.js must be on the page already).</summary>
    let fragment (chart: GenericChart) =
        chart
        |> Chart.withDisplayOptionsStyle (PlotlyJSReference = PlotlyJSReference.NoReference)
        |> GenericChart.toChartHTML

    // Without plotly's mode bar (zoom, pan … buttons): a picture has no use for it.
    let private withoutModeBar = Chart.withConfig (Config.init (DisplayModeBar = false))

    /// <summary>One section of a page: a heading, paragraphs or a key/value table, or a chart.</summary>
    type Block =
        /// <summary>A second-level heading.</summary>
        | Heading of string
        /// <summary>A paragraph of plain text (HTML-escaped).</summary>
        | Text of string
        /// <summary>A two-column table of (name, value) rows (escaped).</summary>
        | Table of (string * string) list
        /// <summary>A chart.</summary>
        | Chart of GenericChart

    let private esc (s: string) = WebUtility.HtmlEncode s

    /// <summary>
    /// A self-contained HTML page: the title, then the blocks in order. plotly.js is inlined once in the head;
    /// every chart is a <c>div</c> of class <c>figure</c> holding its Plotly div.
    /// </summary>
    let page (title: string) (blocks: Block list) =
        let sb = StringBuilder()
        let add (s: string) = sb.Append(s).Append('\n') |> ignore
        add "<!DOCTYPE html>"
        add "<html lang=\"en\"><head><meta charset=\"utf-8\">"
        add $"<title>{esc title}</title>"

        add
            "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td{border:1px solid #ccc;padding:2px 8px}.figure{margin:1em 0}</style>"

        add "<script type=\"text/javascript\">"
        add plotlyJs.Value
        add "</script></head><body>"

        if title <> "" then
            add $"<h1>{esc title}</h1>"

        for block in blocks do
            match block with
            | Heading h -> add $"<h2>{esc h}</h2>"
            | Text t -> add $"<p>{esc t}</p>"
            | Table rows ->
                add "<table>"

                for k, v in rows do
                    add $"<tr><td>{esc k}</td><td>{esc v}</td></tr>"

                add "</table>"
            | Chart c -> add $"<div class=\"figure\">{fragment c}</div>"

        add "</body></html>"
        sb.ToString()

    /// <summary>A chart alone as a self-contained HTML page (plotly.js inlined).</summary>
    let toHtml (chart: GenericChart) = page "" [ Chart chart ]

    let private writeAtomically (path: string) (write: string -> unit) =
        let full = Path.GetFullPath path

        let dir =
            match Path.GetDirectoryName full with
            | null -> "/"
            | d -> d

        if not (Directory.Exists dir) then
            raise (DirectoryNotFoundException $"Figure: the folder '{dir}' of '{path}' does not exist.")

        let tmp = Path.Combine(dir, $".tmp-{Guid.NewGuid():N}-{Path.GetFileName full}")

        try
            write tmp
            File.Move(tmp, full, true)
        finally
            if File.Exists tmp then
                File.Delete tmp

    /// <summary>Writes text to a file atomically (UTF-8).</summary>
    let writeText (path: string) (text: string) =
        writeAtomically path (fun tmp -> File.WriteAllText(tmp, text, UTF8Encoding false))

    /// <summary>Saves a chart as a self-contained HTML file (about 3.6 MB: plotly.js is inside).</summary>
    let saveHtml (path: string) (chart: GenericChart) = writeText path (toHtml chart)

    /// <summary>Saves a page of blocks (<see cref="M:Functional.FSharp.FigureModule.page"/>) to a file.</summary>
    let savePage (path: string) (title: string) (blocks: Block list) = writeText path (page title blocks)

    /// <summary>
    /// The Chromium used for PNG: the file named by the environment variable FUNCTIONAL_CHROMIUM, else
    /// /usr/bin/chromium (Debian's package <c>chromium</c>), else /usr/bin/chromium-browser; None when none exists.
    /// </summary>
    let chromium () =
        let fromEnv =
            match Environment.GetEnvironmentVariable "FUNCTIONAL_CHROMIUM" with
            | null -> []
            | p -> [ p ]

        fromEnv @ [ "/usr/bin/chromium"; "/usr/bin/chromium-browser" ]
        |> List.tryFind (fun p -> p <> "" && File.Exists p)

    /// <summary>The message when no Chromium is installed.</summary>
    let noChromium =
        "PNG export needs a headless Chromium and none was found (FUNCTIONAL_CHROMIUM, /usr/bin/chromium). "
        + "Install Debian's package: sudo apt-get install chromium. The HTML figures need no browser to be written."

    /// <summary>
    /// The flags Chromium runs with: headless, no sandbox (CI runs as root), no GPU, and nothing that talks to the
    /// network in the background (this machine's network is closed; those connections only add errors).
    /// </summary>
    let chromiumFlags = [
        "--headless"
        "--no-sandbox"
        "--disable-gpu"
        "--disable-quic"
        "--no-first-run"
        "--disable-background-networking"
        "--disable-component-update"
        "--disable-sync"
        "--hide-scrollbars"
    ]

    /// <summary>
    /// Renders an HTML file to a PNG of width × height CSS pixels with Chromium's own <c>--screenshot</c> (after up
    /// to 10 s of page time, so that plotly has drawn). Throws InvalidOperationException naming the <c>chromium</c>
    /// package when Chromium is absent, or with Chromium's output when it fails.
    /// </summary>
    let renderPng (htmlPath: string) (pngPath: string) (width: int) (height: int) =
        let exe =
            match chromium () with
            | Some e -> e
            | None -> raise (InvalidOperationException noChromium)

        let profile =
            Path.Combine(Path.GetTempPath(), $"functional-chromium-{Guid.NewGuid():N}")

        try
            writeAtomically pngPath (fun tmp ->
                let psi = ProcessStartInfo(exe)

                for a in chromiumFlags do
                    psi.ArgumentList.Add a

                for a in
                    [
                        $"--user-data-dir={profile}"
                        $"--window-size={width},{height}"
                        "--virtual-time-budget=10000"
                        $"--screenshot={tmp}"
                        Uri(Path.GetFullPath htmlPath).AbsoluteUri
                    ] do
                    psi.ArgumentList.Add a

                psi.RedirectStandardError <- true
                psi.RedirectStandardOutput <- true

                use p =
                    match Process.Start psi with
                    | null -> raise (InvalidOperationException $"Chromium ({exe}) did not start.")
                    | p -> p

                let err = p.StandardError.ReadToEndAsync()
                p.StandardOutput.ReadToEnd() |> ignore

                if not (p.WaitForExit 120_000) then
                    p.Kill true

                    raise (
                        InvalidOperationException $"Chromium ({exe}) took more than 2 minutes to render '{htmlPath}'."
                    )

                if p.ExitCode <> 0 || not (File.Exists tmp) then
                    raise (
                        InvalidOperationException
                            $"Chromium ({exe}) could not render '{htmlPath}' (exit code {p.ExitCode}): {err.Result}"
                    ))
        finally
            if Directory.Exists profile then
                try
                    Directory.Delete(profile, true)
                with :? IOException ->
                    ()

    /// <summary>
    /// Saves a chart as a PNG of its own size (its layout's width and height, else 720 × 420) through headless
    /// Chromium (<see cref="M:Functional.FSharp.FigureModule.renderPng"/>).
    /// </summary>
    let savePng (path: string) (chart: GenericChart) =
        let layout = GenericChart.getLayout chart

        let size (name: string) fallback =
            match layout.TryGetTypedPropertyValue<int> name with
            | Some v -> v
            | None -> fallback

        let html =
            Path.Combine(Path.GetTempPath(), $"functional-figure-{Guid.NewGuid():N}.html")

        try
            File.WriteAllText(html, toHtml (withoutModeBar chart))
            renderPng html path (size "width" 720 + 40) (size "height" 420 + 80)
        finally
            File.Delete html
