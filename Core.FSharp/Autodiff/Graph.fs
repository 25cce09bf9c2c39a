namespace Functional.FSharp

open System
open System.Diagnostics
open System.IO
open System.Text
open Functional

/// <summary>
/// Computational graphs drawn as on the backpropagation lecture's slides: Graphviz DOT with a node per gate labelled
/// with the gate (leaves with their names), and on every edge the forward value (green, above) and the gradient of
/// the output (red, below); SVG through Graphviz's <c>dot</c> when it is installed (Debian package <c>graphviz</c>).
/// A net's graph drawn the same way shows its architecture.
/// </summary>
[<RequireQualifiedAccess>]
module Graph =
    /// A tensor as edge text: its values when there are at most 4 (3 significant digits, as on the slides), else its
    /// shape.
    let private text (t: Tensor) =
        let g (v: float) =
            v.ToString("0.###", Globalization.CultureInfo.InvariantCulture)

        match t.Count with
        | 1 -> g t.Data.[0]
        | n when n <= 4 -> "[" + String.Join(", ", t.Data |> Array.map g) + "]"
        | _ -> Guard.shapeText t.Dims

    let private escape (s: string) =
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;")

    let private edgeLabel (value: Tensor) (grad: Tensor option) =
        let v = $"<font color=\"darkgreen\">{escape (text value)}</font>"

        match grad with
        | Some g -> $"<{v}<br/><font color=\"red\">{escape (text g)}</font>>"
        | None -> $"<{v}>"

    /// <summary>
    /// The DOT text of the graph that computed <paramref name="output"/>: one node per value (gates as circles,
    /// variables and constants as plain labels), an edge from each input to its gate labelled with the input's
    /// forward value and, when <paramref name="withGradients"/>, the gradient of the output with respect to it; a last
    /// edge carries the output's value (and gradient 1). With gradients the output must have one element.
    /// </summary>
    let toDot (withGradients: bool) (output: Value) : string =
        let nodes = Autodiff.nodes output |> Array.ofList
        let ids = Collections.Generic.Dictionary<Value, int>(HashIdentity.Reference)
        nodes |> Array.iteri (fun i v -> ids.[v] <- i)

        let grads =
            if withGradients then
                if output.Primal.Count <> 1 then
                    Guard.fail
                        "Graph.toDot"
                        "output"
                        $"gradients are drawn for an output with one element (a loss), got shape {Guard.shapeText output.Primal.Dims}."

                Some(Sweep.runKeeping true output (Tensor.full output.Primal.Dims 1.0))
            else
                None

        let gradOf (v: Value) =
            grads
            |> Option.filter (fun _ -> v.Tracked)
            |> Option.map (fun d ->
                match d.TryGetValue v with
                | true, g -> g
                | _ -> Tensor.zeros v.Primal.Dims)

        let sb = StringBuilder()
        let line (s: string) = sb.Append(s).Append('\n') |> ignore
        line "digraph G {"
        line "  rankdir=LR;"
        line "  node [fontname=\"Helvetica\"];"
        line "  edge [fontname=\"Helvetica\", fontsize=10];"

        for i, v in Array.indexed nodes do
            let shape = if v.Parents.Length = 0 then "plaintext" else "circle"
            line $"  n{i} [label=\"{escape v.Op}\", shape={shape}];"

        for v in nodes do
            for p in v.Parents do
                line $"  n{ids.[p]} -> n{ids.[v]} [label={edgeLabel p.Primal (gradOf p)}];"

        line "  out [label=\"\", shape=point];"
        line $"  n{ids.[output]} -> out [label={edgeLabel output.Primal (gradOf output)}];"
        line "}"
        sb.ToString()

    /// <summary>The path of Graphviz's <c>dot</c> on the PATH, if it is installed.</summary>
    let dotExecutable () : string option =
        match Environment.GetEnvironmentVariable "PATH" with
        | null -> None
        | path ->
            path.Split(Path.PathSeparator)
            |> Array.filter (fun dir -> dir <> "")
            |> Array.map (fun dir -> Path.Combine(dir, "dot"))
            |> Array.tryFind File.Exists

    /// <summary>
    /// The SVG rendering of DOT text by Graphviz's <c>dot -Tsvg</c>, or None when <c>dot</c> is not installed. Throws
    /// InvalidOperationException with dot's message when dot rejects the text.
    /// </summary>
    let toSvg (dot: string) : string option =
        Guard.notNull "Graph.toSvg" "dot" dot

        dotExecutable ()
        |> Option.map (fun exe ->
            let info = ProcessStartInfo(exe, "-Tsvg")
            info.RedirectStandardInput <- true
            info.RedirectStandardOutput <- true
            info.RedirectStandardError <- true
            info.UseShellExecute <- false

            use proc =
                match Process.Start info with
                | null -> invalidOp $"Graph.toSvg: could not start {exe}."
                | p -> p

            let out = proc.StandardOutput.ReadToEndAsync()
            let err = proc.StandardError.ReadToEndAsync()
            proc.StandardInput.Write dot
            proc.StandardInput.Close()
            proc.WaitForExit()

            if proc.ExitCode <> 0 then
                invalidOp $"Graph.toSvg: dot exited with code {proc.ExitCode}: {err.Result}"

            out.Result)

    /// <summary>
    /// Writes the DOT text to <paramref name="basePath"/>.dot and, when Graphviz is installed, the SVG to
    /// <paramref name="basePath"/>.svg (each atomically). Returns what was written; without Graphviz, a message saying
    /// how to install it and render the DOT file.
    /// </summary>
    let save (basePath: string) (dot: string) : string =
        if String.IsNullOrWhiteSpace basePath then
            Guard.fail "Graph.save" "basePath" "basePath must not be empty."

        let dotPath = basePath + ".dot"
        AtomicFile.writeBytes "Graph.save" dotPath (Text.UTF8Encoding(false).GetBytes dot)

        match toSvg dot with
        | Some svg ->
            AtomicFile.writeBytes "Graph.save" (basePath + ".svg") (Text.UTF8Encoding(false).GetBytes svg)
            $"wrote {dotPath} and {basePath}.svg"
        | None ->
            $"wrote {dotPath}; Graphviz's dot is not on the PATH (Debian: apt-get install graphviz), so no SVG: render it with dot -Tsvg {dotPath} -o {basePath}.svg"
