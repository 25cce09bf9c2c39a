namespace Functional

open System
open System.Collections
open System.Globalization
open Microsoft.FSharp.Reflection

/// <summary>
/// The text of a record for C# and F# users alike, in C# record notation on one line:
/// <c>AffineGrads { Dx = Tensor(4, 6) […], Dw = …, Db = … }</c> (F#'s own record text is multi-line F# notation,
/// with <c>map [...]</c> and <c>Some</c>, which a C# user does not read). Numbers in the invariant culture,
/// sequences as <c>[a, b, c, …]</c> (at most 8 items), None as <c>null</c>.
/// </summary>
module internal Display =
    let private isGeneric (definition: Type) (t: Type) =
        t.IsGenericType && t.GetGenericTypeDefinition() = definition

    let private property (v: obj) (name: string) : obj | null =
        match v.GetType().GetProperty name with
        | null -> null
        | p -> p.GetValue v

    let rec private value (v: obj | null) : string =
        match v with
        | Null -> "null"
        | NonNull(:? string as s) -> s
        | NonNull(:? IFormattable as f) -> f.ToString(null, CultureInfo.InvariantCulture)
        | NonNull v when isGeneric typedefof<option<_>> (v.GetType()) -> value (property v "Value")
        | NonNull(:? IEnumerable as items) ->
            let shown =
                items |> Seq.cast<obj | null> |> Seq.truncate 9 |> Seq.map item |> Seq.toList

            let text = shown |> List.truncate 8 |> String.concat ", "
            if shown.Length > 8 then $"[{text}, …]" else $"[{text}]"
        | NonNull v -> string v

    and private item (v: obj | null) =
        match v with
        | NonNull v when isGeneric typedefof<Collections.Generic.KeyValuePair<_, _>> (v.GetType()) ->
            value (property v "Key") + ": " + value (property v "Value")
        | _ -> value v

    /// <summary><c>TypeName { Field = value, … }</c> for an F# record (its fields, internal ones too).</summary>
    let record (r: obj) =
        let t = r.GetType()

        let fields =
            FSharpType.GetRecordFields(t, true)
            |> Array.map (fun p -> p.Name + " = " + value (p.GetValue r))
            |> String.concat ", "

        $"{t.Name} {{ {fields} }}"
