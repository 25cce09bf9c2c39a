/// Computational graphs drawn as on the lecture's slides: the DOT text of the lecture's examples (node count, gate
/// labels, forward values and gradients on the edges), a model's graph, and SVG through Graphviz when installed.
module Functional.Properties.AutodiffGraphProperties

open System
open System.IO
open Xunit
open Functional
open Functional.FSharp
open Functional.Properties.AutodiffLectureProperties

let private count (fragment: string) (text: string) =
    (text.Length - text.Replace(fragment, "").Length) / fragment.Length

/// The edge label of a forward value and its gradient, as the drawing writes it.
let private edge (value: string) (grad: string) =
    $"<font color=\"darkgreen\">{value}</font><br/><font color=\"red\">{grad}</font>"

let private dotOf (f: Map<string, Value> -> Value) (inputs: Map<string, Tensor>) =
    Graph.toDot true (f (inputs |> Map.map Autodiff.variable))

[<Fact>]
let ``the scalar graph (x + y)·z draws with its values and gradients on the edges`` () =
    let dot = dotOf lectureScalar lectureScalarInputs
    Assert.StartsWith("digraph", dot)
    // x, y, z, +, * and the output point
    Assert.Equal(5, count "shape=" dot - 1)
    Assert.Contains("label=\"+\", shape=circle", dot)
    Assert.Contains("label=\"*\", shape=circle", dot)
    Assert.Contains("label=\"x\", shape=plaintext", dot)
    Assert.Contains(edge "-2" "-4", dot) // x
    Assert.Contains(edge "5" "-4", dot) // y
    Assert.Contains(edge "-4" "3", dot) // z
    Assert.Contains(edge "3" "-4", dot) // q = x + y
    Assert.Contains(edge "-12" "1", dot) // f
    // x -> +, y -> +, + -> *, z -> *, * -> out
    Assert.Equal(5, count " -> " dot)

[<Fact>]
let ``the sigmoid neuron draws as the lecture's gates: with sigmoid as four gates, 13 nodes`` () =
    let four = dotOf (lectureNeuron sigmoidFromGates) lectureNeuronInputs
    // 5 leaves, 2 products, 2 sums, ·(−1), exp, +1, 1/x
    Assert.Equal(13, count "shape=" four - 1)

    for gate in [ "exp"; "+1"; "1/x"; "*-1" ] do
        Assert.Contains($"label=\"{gate}\"", four)

    Assert.Contains(edge "2" "-0.197", four) // w0
    Assert.Contains(edge "-1" "0.393", four) // x0
    Assert.Contains(edge "1" "0.197", four) // the neuron's pre-activation w·x + b
    Assert.Contains(edge "0.731" "1", four) // f
    let one = dotOf (lectureNeuron Layers.sigmoid) lectureNeuronInputs
    Assert.Equal(10, count "shape=" one - 1)
    Assert.Contains("label=\"sigmoid\"", one)

[<Fact>]
let ``the vector example draws q = W·x with its value and gradient`` () =
    let dot = dotOf lectureVector lectureVectorInputs
    Assert.Contains(edge "[0.22, 0.26]" "[0.44, 0.52]", dot)
    Assert.Contains(edge "[0.1, 0.5, -0.3, 0.8]" "[0.088, 0.176, 0.104, 0.208]", dot)
    Assert.Contains(edge "0.116" "1", dot)

[<Fact>]
let ``a model's graph shows its architecture, and drawing without gradients needs no scalar`` () =
    let cfg = {
        ConvNet.defaults with
            InputDims = (1, 6, 6)
            NumFilters = 2
            FilterSize = 3
            HiddenDim = 5
            Reg = 0.1
    }

    let m = ConvNet.threeLayer cfg
    let x = Tensor.randn (Rng.create 1L) 1.0 [| 2; 1; 6; 6 |]
    let p = m.Params |> Map.map Autodiff.variable

    let loss =
        Layers.softmaxLoss
            (Layers.affine
                (Layers.relu (
                    Layers.affine
                        (Layers.convReluPool
                            (ConvConfig.Create(1, 1))
                            (PoolConfig.Create(2, 2, 2))
                            (Autodiff.constant x)
                            p.["W1"]
                            p.["b1"])
                        p.["W2"]
                        p.["b2"]
                ))
                p.["W3"]
                p.["b3"])
            [| 0; 1 |]

    let dot = Graph.toDot true loss

    for gate in [ "conv-relu-pool"; "affine"; "relu"; "softmax loss"; "W1"; "b3" ] do
        Assert.Contains($"label=\"{gate}\"", dot)

    // a tensor with more than 4 entries shows its shape
    Assert.Contains("(2, 2, 3, 3)", dot)

    let scoresOnly =
        Graph.toDot
            false
            (Layers.affine
                (Autodiff.constant x)
                (Autodiff.constant (Tensor.ones [| 36; 3 |]))
                (Autodiff.constant (Tensor.zeros [| 3 |])))

    Assert.DoesNotContain("red", scoresOnly)
    Prop.throwsWith [ "Graph.toDot"; "one element" ] (fun () -> Graph.toDot true (Autodiff.constant x))

[<Fact>]
let ``with Graphviz installed the graph renders as SVG; without it, saving says how to render the DOT`` () =
    let dot = dotOf lectureScalar lectureScalarInputs
    let dir = Directory.CreateTempSubdirectory "functional-graph"
    let basePath = Path.Combine(dir.FullName, "scalar")

    try
        let message = Graph.save basePath dot
        Assert.Equal(dot, File.ReadAllText(basePath + ".dot"))

        match Graph.dotExecutable () with
        | Some _ ->
            let svg = (Graph.toSvg dot).Value
            Assert.Contains("<svg", svg)
            Assert.Contains("&#45;12</text>", svg) // dot writes the minus sign as an entity
            Assert.True(File.Exists(basePath + ".svg"), message)
            Assert.Contains("scalar.svg", message)
        | None ->
            Assert.Equal(None, Graph.toSvg dot)
            Assert.Contains("graphviz", message)
            Assert.False(File.Exists(basePath + ".svg"))
    finally
        dir.Delete true
