namespace Functional

/// <summary>What a value is compared with: the library's reference layer, or the numeric gradient (centered
/// differences) of the checked layer's own forward pass.</summary>
type Oracle =
    /// <summary>The library's reference computation on the same inputs.</summary>
    | Reference = 0
    /// <summary>The numeric gradient of the checked forward pass itself.</summary>
    | Numeric = 1

/// <summary>The verdict on one function.</summary>
type VerifyStatus =
    /// <summary>Every output of every case within its bound.</summary>
    | Pass = 0
    /// <summary>Some output of some case out of its bound.</summary>
    | Fail = 1
    /// <summary>The function is still a stub.</summary>
    | NotImplemented = 2
    /// <summary>The function does not exist.</summary>
    | NotFound = 3
    /// <summary>The function threw.</summary>
    | Error = 4
    /// <summary>The function did not return in time.</summary>
    | Timeout = 5

namespace Functional.FSharp

open Functional

/// <summary>One output of one case: the value the checked function produced and the value it should have.</summary>
[<NoComparison>]
type Comparison = {
    /// <summary>The output's name in the course's terms (out, dx, dw, loss, next_w step 2, …).</summary>
    Output: string
    /// <summary>The expected value (the reference, or the numeric gradient).</summary>
    Expected: Tensor
    /// <summary>The checked function's value.</summary>
    Actual: Tensor
    /// <summary>What produced Expected.</summary>
    Oracle: Oracle
}

/// <summary>What running the checked function on one case gave.</summary>
[<RequireQualifiedAccess; NoComparison>]
type Outcome =
    /// <summary>It returned; these are its outputs, each with the value it should have.</summary>
    | Compared of Comparison list
    /// <summary>It threw (or returned something unusable); the message says what.</summary>
    | Error of string
    /// <summary>It did not return within its time limit.</summary>
    | Timeout
    /// <summary>It is still a stub (raises NotImplementedError, returns None).</summary>
    | NotImplemented
    /// <summary>It does not exist.</summary>
    | NotFound

/// <summary>A case as a person reads it: its parameters (in the course's names: N, stride, pad, pool_height, T, …)
/// and the shapes of its inputs.</summary>
[<NoComparison>]
type CaseDescription = {
    /// <summary>Named numeric parameters of the case.</summary>
    Parameters: (string * float) list
    /// <summary>Named input shapes of the case.</summary>
    Shapes: (string * int[]) list
} with

    /// <summary>The parameter of the given name, if the case has it.</summary>
    member d.TryParameter(name: string) =
        d.Parameters |> List.tryFind (fun (n, _) -> n = name) |> Option.map snd

    /// <summary>"N=2 stride=1, x (2, 3, 4, 4) w (…)".</summary>
    override d.ToString() =
        let ps = d.Parameters |> List.map (fun (n, v) -> $"{n}={v:G6}") |> String.concat " "

        let ss =
            d.Shapes
            |> List.map (fun (n, s) -> $"{n} {Guard.shapeText s}")
            |> String.concat ", "

        if ss = "" then ps
        elif ps = "" then ss
        else $"{ps}; {ss}"

/// <summary>The verdict on one output (under one oracle) over all the cases run.</summary>
[<NoComparison>]
type OutputVerdict = {
    /// <summary>The output's name.</summary>
    Output: string
    /// <summary>What it was compared with.</summary>
    Oracle: Oracle
    /// <summary>True when it was within its bound in every case.</summary>
    Passed: bool
    /// <summary>The number of cases in which it was out of its bound.</summary>
    FailedCases: int
    /// <summary>The largest relative error over the cases.</summary>
    WorstRelError: float
}

/// <summary>The smallest failing case found (the first failure, shrunk while it kept failing).</summary>
[<NoComparison>]
type Counterexample = {
    /// <summary>The output that is wrong.</summary>
    Output: string
    /// <summary>What it was compared with.</summary>
    Oracle: Oracle
    /// <summary>The shrunk case (sizes and seed).</summary>
    Case: string
    /// <summary>Its parameters and input shapes.</summary>
    Description: CaseDescription
    /// <summary>The multi-index of the worst element of the output.</summary>
    Index: int[]
    /// <summary>The expected value there.</summary>
    Expected: float
    /// <summary>The checked function's value there.</summary>
    Actual: float
    /// <summary>The relative error there.</summary>
    RelError: float
    /// <summary>How many shrinking steps led from the first failing case to this one.</summary>
    ShrinkSteps: int
}

/// <summary>The report of verifying one function over random cases.</summary>
[<NoComparison>]
type VerifyReport = {
    /// <summary>The function's name.</summary>
    Name: string
    /// <summary>The verdict.</summary>
    Status: VerifyStatus
    /// <summary>The number of cases run (before shrinking).</summary>
    Cases: int
    /// <summary>The largest relative error over every output and case.</summary>
    WorstRelError: float
    /// <summary>The verdict per output and oracle.</summary>
    Outputs: OutputVerdict list
    /// <summary>The shrunk counterexample of a failure.</summary>
    Failure: Counterexample option
    /// <summary>What kind of bug the failures point to, with the evidence; only when a pattern of the catalogue
    /// (Hints.catalogue) is recognized.</summary>
    Hint: string option
    /// <summary>The error message of an Error status (the first case that threw, shrunk).</summary>
    Message: string option
    /// <summary>The wall-clock time of the verification, in seconds.</summary>
    Seconds: float
} with

    /// <summary>A readable multi-line report: verdict, per-output table, counterexample and hint.</summary>
    override r.ToString() =
        let b = System.Text.StringBuilder()
        let line (s: string) = b.AppendLine s |> ignore
        let status = (string r.Status).ToLowerInvariant()
        line $"{r.Name}: {status} ({r.Cases} cases, worst relative error {r.WorstRelError:E2}, {r.Seconds:F2} s)"

        for o in r.Outputs do
            let verdict =
                if o.Passed then
                    "pass"
                else
                    $"FAIL in {o.FailedCases} cases"

            let against =
                match o.Oracle with
                | Oracle.Reference -> "vs reference"
                | _ -> "vs numeric"

            line $"  {o.Output, -14} {against, -13} worst {o.WorstRelError:E2}  {verdict}"

        match r.Message with
        | Some m -> line $"  error: {m}"
        | None -> ()

        match r.Failure with
        | Some f ->
            let against =
                match f.Oracle with
                | Oracle.Reference -> "the reference"
                | _ -> "the numeric gradient of the forward pass"

            line $"  smallest failing case ({f.ShrinkSteps} shrinking steps): {f.Case}"
            line $"    {f.Description}"

            line
                $"    {f.Output} at {Guard.shapeText f.Index}: expected {f.Expected:G10} ({against}), actual {f.Actual:G10}, relative error {f.RelError:E2}"
        | None -> ()

        match r.Hint with
        | Some h -> line $"  hint: {h}"
        | None -> ()

        b.ToString().TrimEnd()
