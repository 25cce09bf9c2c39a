/// Properties of the verification's hint rules (Core.FSharp/Verification/Hints.fs and the engine's variant matching):
/// a case pattern tolerates a coincidental pass in its group, the constant-factor hint needs two elements of
/// evidence, and a known wrong formula that does not apply to the shrunk case is matched on the first failing case
/// where it applies.
module Functional.Properties.VerificationHintProperties

open Xunit
open Functional
open Functional.FSharp

let private toy (variants: Variant<VerificationCase> list) : VerifySpec<VerificationCase> = {
    Name = "toy"
    Arbitrary = Cases.over [ "N", 1, 9; "K", 0, 5 ]
    Describe =
        fun c -> {
            Parameters = [ "N", float c.["N"]; "K", float c.["K"] ]
            Shapes = []
        }
    Variants = variants
}

let private compared (expected: float[]) (actual: float[]) =
    Outcome.Compared [
        {
            Output = "y"
            Expected = Tensor.ofArray [| expected.Length |] expected
            Actual = Tensor.ofArray [| actual.Length |] actual
            Oracle = Oracle.Reference
        }
    ]

[<Fact>]
let ``a case pattern tolerates a coincidental pass in its group`` () =
    // Fails every N = 1 case but the first one met (a wrong formula agreeing with the right one by chance).
    let seen = ref 0

    let r =
        Verification.run (toy []) 200 5 (fun c ->
            if c.["N"] = 1 then
                seen.Value <- seen.Value + 1
                compared [| 1.0; 2.0 |] (if seen.Value = 1 then [| 1.0; 2.0 |] else [| 1.0; 3.0 |])
            else
                compared [| 1.0; 2.0 |] [| 1.0; 2.0 |])

    Prop.ensure
        (r.Hint
         |> Option.exists (fun h -> h.Contains " of " && h.Contains "with N = 1, passes all"))
        (fun () -> string r)

[<Fact>]
let ``the constant-factor hint needs at least two elements`` () =
    let one = Verification.run (toy []) 30 1 (fun _ -> compared [| 2.0 |] [| 4.0 |])

    Prop.ensure (one.Status = VerifyStatus.Fail) (fun () -> string one)
    Prop.ensure (one.Hint |> Option.forall (fun h -> not (h.Contains "constant factor"))) (fun () -> string one)

    // N elements, each twice the expected: the shrunk case (N = 1) has one element, so the factor is read on the
    // first failing case.
    let many =
        Verification.run (toy []) 30 1 (fun c -> compared (Array.create c.["N"] 1.5) (Array.create c.["N"] 3.0))

    Prop.ensure
        (many.Failure
         |> Option.exists (fun f -> f.Description.TryParameter "N" = Some 1.0))
        (fun () -> string many)

    Prop.ensure (many.Hint |> Option.exists (fun h -> h.Contains "off by a constant factor 2")) (fun () -> string many)

[<Fact>]
let ``a known wrong formula that does not apply to the smallest case is matched on the first failing case`` () =
    let wrong (c: VerificationCase) = [| float c.["N"]; 0.0 |]

    let spec =
        toy [
            {
                Hint = "normalization-axis"
                Outputs =
                    fun c ->
                        if c.["N"] >= 3 then
                            [ "y", Tensor.ofArray [| 2 |] (wrong c) ]
                        else
                            []
            }
        ]

    let r = Verification.run spec 50 2 (fun c -> compared [| 1.0; 1.0 |] (wrong c))

    Prop.ensure (r.Failure |> Option.exists (fun f -> f.Description.TryParameter "N" = Some 1.0)) (fun () -> string r)

    Prop.ensure
        (r.Hint
         |> Option.exists (fun h ->
             h.Contains "equals the known wrong formula on a failing case"
             && h.Contains "wrong axis"))
        (fun () -> string r)

    // A formula the function does not compute is not claimed.
    let other =
        Verification.run spec 50 2 (fun c -> compared [| 1.0; 1.0 |] [| 0.0; float c.["N"] |])

    Prop.ensure (other.Hint |> Option.forall (fun h -> not (h.Contains "wrong axis"))) (fun () -> string other)
