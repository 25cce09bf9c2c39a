/// Keeps the README honest: its code blocks must be the code the tests compile and run.
module Functional.Properties.ReadmeExamples

open System
open System.IO
open Xunit
open Functional
open Functional.FSharp

let rec private findUp (dir: DirectoryInfo) (name: string) =
    if isNull dir then
        failwith $"{name} not found above the test directory"
    elif File.Exists(Path.Combine(dir.FullName, name)) then
        Path.Combine(dir.FullName, name)
    else
        findUp dir.Parent name

/// The meaningful lines of a code text: trimmed, without blank lines and `using` directives.
let normalize (lines: string seq) =
    lines
    |> Seq.map (fun l -> l.Trim())
    |> Seq.filter (fun l -> l <> "" && not (l.StartsWith "using "))
    |> List.ofSeq

/// The fenced block of the given language that follows the given heading in README.md.
let readmeBlock (heading: string) (lang: string) =
    let lines =
        File.ReadAllLines(findUp (DirectoryInfo AppContext.BaseDirectory) "README.md")

    let start = lines |> Array.findIndex (fun l -> l.Trim() = heading)

    let fence =
        [ start .. lines.Length - 1 ]
        |> List.find (fun i -> lines.[i].Trim() = "```" + lang)

    let close =
        [ fence + 1 .. lines.Length - 1 ]
        |> List.find (fun i -> lines.[i].Trim() = "```")

    lines.[fence + 1 .. close - 1] |> normalize

/// The lines between README-BEGIN and README-END markers of a source file in the repository.
let sourceRegionNamed (marker: string) (relativePath: string) =
    let root =
        Path.GetDirectoryName(findUp (DirectoryInfo AppContext.BaseDirectory) "Functional.sln")

    let lines = File.ReadAllLines(Path.Combine(root, relativePath))

    let b =
        lines |> Array.findIndex (fun l -> l.Trim().EndsWith("README-BEGIN" + marker))

    let e = lines |> Array.findIndex (fun l -> l.Trim().EndsWith("README-END" + marker))
    lines.[b + 1 .. e - 1] |> normalize

/// The lines between the unnamed README-BEGIN and README-END markers.
let sourceRegion (relativePath: string) = sourceRegionNamed "" relativePath

[<Fact>]
let ``the README's F# example is the code that runs here, and its gradient check passes`` () =
    Assert.Equal<string list>(
        sourceRegion "Properties/Core.Properties/ReadmeFSharpExample.fs",
        readmeBlock "## F# example" "fsharp"
    )

    Assert.True(ReadmeFSharpExample.report.Passed, string ReadmeFSharpExample.report)

[<Fact>]
let ``the README's C# example is the code the C# tests run`` () =
    Assert.Equal<string list>(
        sourceRegion "Properties/Api.Tests/ReadmeExample.cs",
        readmeBlock "## C# example" "csharp"
    )

[<Fact>]
let ``the README's convolution examples are the code that runs here`` () =
    Assert.Equal<string list>(
        sourceRegionNamed " conv" "Properties/Core.Properties/ReadmeFSharpExample.fs",
        readmeBlock "### Convolution in F#" "fsharp"
    )

    Assert.Equal<string list>(
        sourceRegionNamed " conv" "Properties/Api.Tests/ReadmeExample.cs",
        readmeBlock "### Convolution in C#" "csharp"
    )

    Assert.True(ReadmeFSharpExample.Conv.sameAsNaive)
    Assert.True(ReadmeFSharpExample.Conv.dxReport.Passed, string ReadmeFSharpExample.Conv.dxReport)

[<Fact>]
let ``the README's autodiff examples are the code that runs here, with the lecture's numbers`` () =
    Assert.Equal<string list>(
        sourceRegionNamed " autodiff" "Properties/Core.Properties/ReadmeFSharpExample.fs",
        readmeBlock "### Autodiff in F#" "fsharp"
    )

    Assert.Equal<string list>(
        sourceRegionNamed " autodiff" "Properties/Api.Tests/ReadmeExample.cs",
        readmeBlock "### Autodiff in C#" "csharp"
    )

    let e = ReadmeFSharpExample.AutodiffExample.grads
    Assert.Equal(-12.0, ReadmeFSharpExample.AutodiffExample.value)
    Assert.Equal<float list>([ -4.0; -4.0; 3.0 ], [ for n in [ "x"; "y"; "z" ] -> Tensor.item e.[n] ])
    Assert.Contains("label=\"*\"", ReadmeFSharpExample.AutodiffExample.dot)

    let numeric =
        GradCheck.numericGradient
            1e-5
            (fun w ->
                fst (
                    Autodiff.gradients
                        ReadmeFSharpExample.AutodiffExample.loss
                        (Map.add "W1" w ReadmeFSharpExample.AutodiffExample.parameters)
                ))
            ReadmeFSharpExample.AutodiffExample.parameters.["W1"]

    Prop.gradClose "readme" "dW1" ReadmeFSharpExample.AutodiffExample.netGrads.["W1"] numeric
