// Wrote the model files of format version 1 checked in beside this script, and the scores they gave
// (model-v1-expected.npz: "<kind>/x" and "<kind>/scores"), once, with the library of that version:
//     dotnet build Functional.sln -c Release && dotnet fsi Properties/Core.Properties/Fixtures/make-model-v1.fsx
// Do not rerun it to make ModelFileProperties pass: a failure there means the library no longer reads what it
// wrote. A new format version adds its own files beside these.
#load "../../../Scripts/Library.fsx"

open System.IO
open Functional
open Functional.FSharp

let configs = [
    TwoLayerNet {
        Nets.twoLayerDefaults with
            InputDim = 6
            HiddenDim = 4
            NumClasses = 3
            Reg = 0.01
            Seed = 1L
    }
    FullyConnectedNet {
        Nets.fullyConnectedDefaults with
            HiddenDims = [ 5; 4 ]
            InputDim = 6
            NumClasses = 3
            Normalization = Normalization.Batch
            Norm = { Eps = 1e-3; Momentum = 0.8 }
            DropoutKeepProbability = 0.75
            Reg = 0.01
            Seed = 2L
    }
    ThreeLayerConvNet {
        ConvNet.defaults with
            InputDims = (2, 5, 4)
            NumFilters = 3
            FilterSize = 3
            HiddenDim = 4
            NumClasses = 3
            Reg = 0.01
            Seed = 3L
    }
]

let expected =
    [
        for i, config in List.indexed configs do
            let key = Rng.create (int64 (100 + i))
            let m = Model.ofConfig config

            // "Trained" values: random parameters, running means and (positive) variances.
            let replace offset (group: Map<string, Tensor>) =
                group
                |> Map.toList
                |> List.mapi (fun j (name, t) ->
                    let n = key.Derive(offset + j).Normals(Tensor.size t)

                    name,
                    Tensor.ofArray (Tensor.shape t) (if name.StartsWith "running_var" then Array.map exp n else n))
                |> Map.ofList

            let p, s = replace 0 m.Params, replace 1000 m.State
            let kind = Model.kind config
            Model.save (Path.Combine(__SOURCE_DIRECTORY__, $"model-v1-{kind}.npz")) config p s

            let shape =
                match config with
                | ThreeLayerConvNet c ->
                    let ch, h, w = c.InputDims
                    [| 4; ch; h; w |]
                | _ -> [| 4; 6 |]

            let x = Tensor.randn (key.Derive 2000) 1.0 shape
            yield $"{kind}/x", x
            yield $"{kind}/scores", m.Scores p s x
    ]
    |> Map.ofList

Npz.save (Path.Combine(__SOURCE_DIRECTORY__, "model-v1-expected.npz")) expected
printfn "wrote %d model files and model-v1-expected.npz" configs.Length
