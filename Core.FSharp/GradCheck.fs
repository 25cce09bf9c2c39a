namespace Functional

open System

/// <summary>
/// The outcome of comparing an analytic gradient with a numeric one: the worst element, where it is, and whether
/// it is within the tolerance. Relative error is |a − n| / max(floor, |a| + |n|), the course's <c>rel_error</c>
/// with floor 1e-8. A coordinate where either gradient is NaN, or infinite without the other being the same
/// infinity, has relative error +∞: the check fails and the report names that coordinate (WorstIndex, with both
/// values).
/// </summary>
[<NoComparison>]
type GradCheckReport = {
    /// <summary>What was checked (e.g. "affine dw").</summary>
    Name: string
    /// <summary>The shape of the gradient.</summary>
    Shape: int[]
    /// <summary>The number of coordinates compared (all of them, or the sampled ones of a sparse check).</summary>
    Checked: int
    /// <summary>The largest relative error over the compared coordinates.</summary>
    MaxRelativeError: float
    /// <summary>The largest absolute difference over the compared coordinates.</summary>
    MaxAbsoluteError: float
    /// <summary>The multi-index of the coordinate with the largest relative error.</summary>
    WorstIndex: int[]
    /// <summary>The analytic value at <see cref="P:Functional.GradCheckReport.WorstIndex"/>.</summary>
    Analytic: float
    /// <summary>The numeric value at <see cref="P:Functional.GradCheckReport.WorstIndex"/>.</summary>
    Numeric: float
    /// <summary>The bound on the relative error.</summary>
    Tolerance: float
} with

    /// <summary>True when the largest relative error is within the tolerance (never when a gradient holds NaN, or an
    /// infinity the other does not match).</summary>
    member r.Passed = r.MaxRelativeError <= r.Tolerance

    /// <summary>One line: name, shape, worst element, errors, verdict.</summary>
    override r.ToString() =
        let verdict = if r.Passed then "pass" else "FAIL"

        $"{r.Name} {Guard.shapeText r.Shape}: max rel error {r.MaxRelativeError:E2} at {Guard.shapeText r.WorstIndex} (analytic {r.Analytic:G10}, numeric {r.Numeric:G10}, max abs error {r.MaxAbsoluteError:E2}) over {r.Checked} coordinates, tolerance {r.Tolerance:E1}: {verdict}"

namespace Functional.FSharp

open System
open Functional

/// <summary>
/// Numeric gradients by centered differences and their comparison with analytic gradients: the library's own
/// properties use these, and so can anyone checking their own backward pass.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module GradCheck =
    /// The default step of the centered difference.
    [<Literal>]
    let DefaultStep = 1e-5

    /// The default floor of the relative error's denominator (the course's rel_error).
    [<Literal>]
    let DefaultFloor = 1e-8

    let private checkStep (fn: string) (h: float) = Guard.positiveFinite fn "h" h

    /// The result of a user's function, checked: an ArgumentException naming the function, not a
    /// NullReferenceException, when it returns null.
    let private result (fn: string) (t: Tensor) =
        if isNull (box t) then
            Guard.fail fn "f" "f returned null; it must return a tensor of dout's shape."

        t

    /// The relative error of one coordinate: +∞ where either value is NaN, or infinite and not equal to the other
    /// (inf − inf is NaN and inf / inf is NaN, which a "worse than" comparison would skip).
    let private relAt (floor: float) (a: float) (n: float) =
        if Double.IsFinite a && Double.IsFinite n then
            abs (a - n) / max floor (abs a + abs n)
        elif a = n then
            0.0
        else
            Double.PositiveInfinity

    let private perturbed (x: Tensor) (i: int) (delta: float) =
        let d = Array.copy x.Data
        d.[i] <- d.[i] + delta
        Tensor.Wrap(x.Dims, d)

    let private multiIndex (shape: int[]) (flat: int) =
        let st = Guard.rowMajorStrides shape
        Array.init shape.Length (fun d -> (flat / st.[d]) % shape.[d])

    /// Numeric gradient at one flat coordinate of a scalar function: (f(x + h·e_i) − f(x − h·e_i)) / 2h.
    let numericAt (h: float) (f: Tensor -> float) (x: Tensor) (i: int) =
        (f (perturbed x i h) - f (perturbed x i -h)) / (2.0 * h)

    /// <summary>Numeric gradient of a scalar function f at x by centered differences (step h): a tensor of x's shape.</summary>
    let numericGradient (h: float) (f: Tensor -> float) (x: Tensor) =
        checkStep "GradCheck.numericGradient" h
        let x = Tensor.Operand "GradCheck.numericGradient" "x" x
        Tensor.Wrap(x.Dims, Array.init x.Count (numericAt h f x))

    /// <summary>
    /// Numeric gradient of a tensor-valued f at x against an upstream gradient dout (f's output shape):
    /// the gradient of sum(f(x) * dout), a tensor of x's shape. This is the course's eval_numerical_gradient_array.
    /// </summary>
    let numericGradientOf (h: float) (f: Tensor -> Tensor) (x: Tensor) (dout: Tensor) =
        let fn = "GradCheck.numericGradientOf"
        checkStep fn h
        let x = Tensor.Operand fn "x" x
        let dout = Tensor.Operand fn "dout" dout

        let at (i: int) =
            let plus = result fn (f (perturbed x i h))
            let minus = result fn (f (perturbed x i -h))
            Guard.sameShape fn "f(x)" plus.Dims "dout" dout.Dims
            Guard.sameShape fn "f(x)" plus.Dims "f(x)" minus.Dims
            // The course's formula: difference elementwise first, then weight by dout. Summing f·dout first and
            // then differencing loses digits to cancellation when the output is large.
            let mutable acc = 0.0

            for j in 0 .. dout.Count - 1 do
                acc <- acc + (plus.Data.[j] - minus.Data.[j]) * dout.Data.[j]

            acc / (2.0 * h)

        Tensor.Wrap(x.Dims, Array.init x.Count at)

    let private compareAt
        (name: string)
        (tolerance: float)
        (floor: float)
        (shape: int[])
        (coords: int[])
        (analytic: int -> float)
        (numeric: int -> float)
        =
        let mutable worst = -1.0
        let mutable worstAt = if coords.Length > 0 then coords.[0] else 0
        let mutable worstA = 0.0
        let mutable worstN = 0.0
        let mutable maxAbs = 0.0

        for i in coords do
            let a = analytic i
            let n = numeric i
            let rel = relAt floor a n
            let diff = if a = n then 0.0 else abs (a - n)

            if diff > maxAbs || Double.IsNaN diff then
                maxAbs <- (if Double.IsNaN diff then Double.PositiveInfinity else diff)

            if rel > worst then
                worst <- rel
                worstAt <- i
                worstA <- a
                worstN <- n

        {
            Name = name
            Shape = Array.copy shape
            Checked = coords.Length
            MaxRelativeError = max worst 0.0
            MaxAbsoluteError = maxAbs
            WorstIndex = (if shape.Length = 0 then [||] else multiIndex shape worstAt)
            Analytic = worstA
            Numeric = worstN
            Tolerance = tolerance
        }

    /// <summary>
    /// Compares an analytic and a numeric gradient of equal shape with a given floor of the relative error's
    /// denominator (use a floor above 1e-8 when gradients near zero are expected: the numeric error is absolute).
    /// Tolerance and floor must be finite and &gt; 0 (ArgumentException otherwise).
    /// </summary>
    let compareWith (floor: float) (name: string) (tolerance: float) (analytic: Tensor) (numeric: Tensor) =
        let fn = "GradCheck.compare"
        Guard.positiveFinite fn "floor" floor
        Guard.positiveFinite fn "tolerance" tolerance
        let analytic = Tensor.Operand fn "analytic" analytic
        let numeric = Tensor.Operand fn "numeric" numeric
        Guard.sameShape fn "analytic" analytic.Dims "numeric" numeric.Dims

        compareAt
            name
            tolerance
            floor
            analytic.Dims
            (Array.init analytic.Count id)
            (fun i -> analytic.Data.[i])
            (fun i -> numeric.Data.[i])

    /// <summary>Compares an analytic and a numeric gradient of equal shape (relative error floor 1e-8).</summary>
    let compare (name: string) (tolerance: float) (analytic: Tensor) (numeric: Tensor) =
        compareWith DefaultFloor name tolerance analytic numeric

    /// <summary>
    /// The course's rel_error: max |a − b| / max(1e-8, |a| + |b|) over all elements (shapes must match); +∞ when an
    /// element is NaN in either, or infinite in one and not the same infinity in the other.
    /// </summary>
    let relativeError (a: Tensor) (b: Tensor) =
        let fn = "GradCheck.relativeError"
        let a = Tensor.Operand fn "a" a
        let b = Tensor.Operand fn "b" b
        Guard.sameShape fn "a" a.Dims "b" b.Dims
        Array.fold2 (fun worst x y -> max worst (relAt DefaultFloor x y)) 0.0 a.Data b.Data

    /// <summary>
    /// Checks an analytic gradient of the scalar function f at x against the numeric one over every coordinate.
    /// </summary>
    let check (name: string) (tolerance: float) (f: Tensor -> float) (x: Tensor) (analytic: Tensor) =
        Guard.positiveFinite "GradCheck.check" "tolerance" tolerance
        let x = Tensor.Operand "GradCheck.check" "x" x
        let analytic = Tensor.Operand "GradCheck.check" "analytic" analytic
        Guard.sameShape "GradCheck.check" "x" x.Dims "analytic" analytic.Dims
        compare name tolerance analytic (numericGradient DefaultStep f x)

    /// <summary>
    /// Checks an analytic gradient of a tensor-valued f at x against an upstream gradient dout (the gradient of
    /// sum(f(x) * dout)) over every coordinate.
    /// </summary>
    let checkOf (name: string) (tolerance: float) (f: Tensor -> Tensor) (x: Tensor) (dout: Tensor) (analytic: Tensor) =
        Guard.positiveFinite "GradCheck.checkOf" "tolerance" tolerance
        let x = Tensor.Operand "GradCheck.checkOf" "x" x
        let analytic = Tensor.Operand "GradCheck.checkOf" "analytic" analytic
        Guard.sameShape "GradCheck.checkOf" "x" x.Dims "analytic" analytic.Dims
        compare name tolerance analytic (numericGradientOf DefaultStep f x dout)

    /// <summary>
    /// Sparse check: compares the analytic gradient of scalar f with the numeric one at k coordinates drawn from rng
    /// (all of them when k ≥ the size). For large parameters where a full numeric gradient is too slow.
    /// </summary>
    let sparse
        (rng: Rng)
        (k: int)
        (name: string)
        (tolerance: float)
        (f: Tensor -> float)
        (x: Tensor)
        (analytic: Tensor)
        =
        Guard.positiveFinite "GradCheck.sparse" "tolerance" tolerance
        let x = Tensor.Operand "GradCheck.sparse" "x" x
        let analytic = Tensor.Operand "GradCheck.sparse" "analytic" analytic
        Guard.sameShape "GradCheck.sparse" "x" x.Dims "analytic" analytic.Dims
        Guard.positive "GradCheck.sparse" "k" k

        if isNull (box rng) then
            Guard.fail "GradCheck.sparse" "rng" "rng must not be null."

        let coords =
            if k >= x.Count then
                Array.init x.Count id
            else
                (rng.Permutation x.Count).[.. k - 1]

        compareAt name tolerance DefaultFloor x.Dims coords (fun i -> analytic.Data.[i]) (numericAt DefaultStep f x)
