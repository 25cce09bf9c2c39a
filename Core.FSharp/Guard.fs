namespace Functional

open System

/// Helpers that build the library's error messages: every one names the function, the argument,
/// and what was expected against what was given.
module internal Guard =
    let shapeText (s: int[]) =
        match s.Length with
        | 1 -> $"({s.[0]},)"
        | _ -> "(" + String.Join(", ", s) + ")"

    /// The key of Exception.Data that marks an argument error raised by the core itself (value true). The C# facade
    /// renames only marked errors to the member the user called (Api.CSharp/Require.cs, Facade), so an error a user's
    /// callback raises keeps its own words whatever they are.
    [<Literal>]
    let CoreErrorKey = "Functional.Core.ArgumentError"

    /// Raises an ArgumentException "fn: message" for the named argument, marked as the core's (CoreErrorKey). Every
    /// argument error of the core is raised here.
    let fail (fn: string) (arg: string) (message: string) : 'a =
        let e = ArgumentException($"{fn}: {message}", arg)
        e.Data.[CoreErrorKey] <- true
        raise e

    /// The most elements a float[] (and so a tensor) can hold: Array.MaxLength.
    let maxElements = int64 Array.MaxLength

    /// The product of sizes in 64-bit arithmetic, saturating at Int64.MaxValue (0 when any size is 0): the one place
    /// sizes are multiplied before they are known to fit an array. Sizes must be >= 0.
    let product64 (sizes: int64 seq) =
        Seq.fold
            (fun (acc: int64) (d: int64) ->
                if acc = 0L || d = 0L then 0L
                elif acc > Int64.MaxValue / d then Int64.MaxValue
                else acc * d)
            1L
            sizes

    /// The element count of a shape in 64-bit arithmetic (saturating), dimensions >= 0.
    let count64 (s: int[]) = product64 (Seq.map int64 s)

    /// The element count of a shape that is known to fit an array (a tensor's own shape, a checked shape).
    let size (s: int[]) = int (count64 s)

    let private tooLarge (fn: string) (arg: string) (what: string) (count: int64) =
        let n =
            if count = Int64.MaxValue then
                "more than 9.2e18"
            else
                $"{count}"

        fail
            fn
            arg
            $"{what} has {n} elements, more than the {maxElements} an array can hold ({maxElements * 8L} bytes of float64)."

    /// An element count (computed with product64) checked against what an array can hold; returned as an int.
    let fits (fn: string) (arg: string) (what: string) (count: int64) =
        if count > maxElements then
            tooLarge fn arg what count

        int count

    /// The element count of a shape about to be allocated, checked: an ArgumentException naming the function, the
    /// argument and the shape when it exceeds what an array can hold.
    let elements (fn: string) (arg: string) (shape: int[]) =
        fits fn arg $"shape {shapeText shape}" (count64 shape)

    /// A zeroed float[] of n elements; an OutOfMemoryException stating the bytes wanted when memory runs out.
    let allocate (fn: string) (n: int) : float[] =
        try
            Array.zeroCreate n
        with :? OutOfMemoryException ->
            raise (OutOfMemoryException($"{fn}: cannot allocate {n} float64 elements ({int64 n * 8L} bytes)."))

    let checkShape (fn: string) (arg: string) (shape: int[]) =
        if isNull (box shape) then
            fail fn arg "shape must not be null."

        for d in shape do
            if d < 0 then
                fail fn arg $"every dimension must be >= 0, got shape {shapeText shape}."

        elements fn arg shape |> ignore

    /// Raises "fn: arg must not be null." (for the argument arg) when v is null: a clear ArgumentException at the
    /// call, not a NullReferenceException from inside it.
    let notNull (fn: string) (arg: string) (v: 'a) =
        if isNull (box v) then
            fail fn arg $"{arg} must not be null."

    /// Raises unless m is Mode.Train or Mode.Test (an integer cast to Mode from C# can be anything).
    let mode (fn: string) (m: Mode) =
        if m <> Mode.Train && m <> Mode.Test then
            fail fn "mode" $"mode must be Mode.Train or Mode.Test, got {int m}."

    /// Raises unless the upstream gradient's shape (actual) is the shape the forward pass returned (expected).
    let upstream (fn: string) (expected: int[]) (actual: int[]) =
        if actual <> expected then
            fail fn "dout" $"dout must have the forward output's shape {shapeText expected}, got {shapeText actual}."

    let rank (fn: string) (arg: string) (expected: int) (shape: int[]) =
        if shape.Length <> expected then
            fail fn arg $"expected a rank-{expected} tensor, got shape {shapeText shape}."

    let sameShape (fn: string) (argA: string) (a: int[]) (argB: string) (b: int[]) =
        if a <> b then
            fail fn argB $"{argB} must have the shape of {argA} {shapeText a}, got {shapeText b}."

    let finiteScalar (fn: string) (arg: string) (v: float) =
        if Double.IsNaN v || Double.IsInfinity v then
            fail fn arg $"{arg} must be finite, got {v}."

    /// Raises unless v is finite and > 0 (tolerances, floors, steps): NaN, ±∞, 0 and negatives are named.
    let positiveFinite (fn: string) (arg: string) (v: float) =
        if not (v > 0.0) || Double.IsInfinity v then
            fail fn arg $"{arg} must be finite and > 0, got {v}."

    let positive (fn: string) (arg: string) (v: int) =
        if v <= 0 then
            fail fn arg $"{arg} must be > 0, got {v}."

    let nonNegative (fn: string) (arg: string) (v: int) =
        if v < 0 then
            fail fn arg $"{arg} must be >= 0, got {v}."

    let rowMajorStrides (shape: int[]) =
        let s = Array.zeroCreate shape.Length
        let mutable acc = 1

        for i in shape.Length - 1 .. -1 .. 0 do
            s.[i] <- acc
            acc <- acc * shape.[i]

        s

    let normAxis (fn: string) (rank: int) (axis: int) =
        let a = if axis < 0 then axis + rank else axis

        if a < 0 || a >= rank then
            fail fn "axis" $"axis {axis} is out of range for a rank-{rank} tensor."

        a
