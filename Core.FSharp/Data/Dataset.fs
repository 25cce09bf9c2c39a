namespace Functional

/// <summary>Per-channel statistics computed on a training set, for <c>Preprocess.normalizePerChannel</c>.</summary>
[<NoComparison>]
type ChannelStats = {
    /// <summary>The mean of each channel over all images and pixels, length C.</summary>
    Mean: float[]
    /// <summary>
    /// The standard deviation of each channel (population, divisor N·H·W), length C. A constant channel has 0 here
    /// and is divided by 1 instead when normalizing.
    /// </summary>
    Std: float[]
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open Functional

/// <summary>The dataset types, in a module opened with <c>Functional.FSharp</c> so that C# code importing both namespaces sees only the facade's <c>Dataset</c> and <c>DataSplit</c>.</summary>
[<AutoOpen>]
module DatasetTypes =
    /// <summary>
    /// A labelled set of images: <c>X</c> of shape (N, C, H, W) (floats), <c>Y</c> the N labels, each in
    /// [0, Classes.Length), and the class names.
    /// </summary>
    /// <remarks>Build one with <c>Dataset.create</c>, which checks that the parts fit together.</remarks>
    type Dataset = {
        /// <summary>The images, shape (N, C, H, W).</summary>
        X: Tensor
        /// <summary>The N labels, each in [0, Classes.Length).</summary>
        Y: int[]
        /// <summary>The class names; label i names class <c>Classes[i]</c>.</summary>
        Classes: string[]
    } with

        /// <summary>In C# record notation on one line (see Display.record).</summary>
        override r.ToString() = Display.record r

        /// <summary>The number of examples N.</summary>
        member d.Count = d.Y.Length

    /// <summary>A dataset split into training, validation and test sets (same classes, same image shape).</summary>
    type DataSplit = {
        /// <summary>The training set.</summary>
        Train: Dataset
        /// <summary>The validation set (for choosing hyperparameters).</summary>
        Val: Dataset
        /// <summary>The test set (for the final score only).</summary>
        Test: Dataset
    } with

        /// <summary>In C# record notation on one line (see Display.record).</summary>
        override r.ToString() = Display.record r

/// <summary>Building, subsetting and splitting datasets.</summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Dataset =
    let internal validate (fn: string) (x: Tensor) (y: int[]) (classes: string[]) =
        if isNull (box x) then
            Guard.fail fn "x" "x must not be null."

        if isNull (box y) then
            Guard.fail fn "y" "y must not be null."

        if isNull (box classes) then
            Guard.fail fn "classes" "classes must not be null."

        if classes.Length = 0 then
            Guard.fail fn "classes" "expected at least one class name."

        if x.Rank <> 4 then
            Guard.fail fn "x" $"x must be (N, C, H, W), got shape {Guard.shapeText x.Dims}."

        if x.Dims.[0] <> y.Length then
            Guard.fail fn "y" $"expected {x.Dims.[0]} labels for x {Guard.shapeText x.Dims}, got {y.Length}."

        y
        |> Array.iteri (fun i label ->
            if label < 0 || label >= classes.Length then
                Guard.fail fn "y" $"label y[{i}] = {label} is out of range [0, {classes.Length}).")

    /// <summary>
    /// A dataset from images x (N, C, H, W), labels y (N,) in [0, classes.Length) and class names. The arrays are
    /// copied.
    /// </summary>
    let create (x: Tensor) (y: int[]) (classes: string[]) : Dataset =
        validate "Dataset.create" x y classes

        {
            X = x
            Y = Array.copy y
            Classes = Array.copy classes
        }

    /// <summary>The number of examples N.</summary>
    let count (d: Dataset) = d.Count

    /// <summary>The examples at the given indices, in that order: X (k, C, H, W), Y (k,).</summary>
    let take (indices: int[]) (d: Dataset) : Dataset =
        if isNull (box indices) then
            Guard.fail "Dataset.take" "indices" "indices must not be null."

        indices
        |> Array.iteri (fun j i ->
            if i < 0 || i >= d.Count then
                Guard.fail "Dataset.take" "indices" $"indices[{j}] = {i} is out of range [0, {d.Count}).")

        {
            X = d.X.Take indices
            Y = indices |> Array.map (fun i -> d.Y.[i])
            Classes = d.Classes
        }

    /// <summary>The first n examples (the course's <c>X_train[:n]</c>), 0 ≤ n ≤ N.</summary>
    let head (n: int) (d: Dataset) : Dataset =
        if n < 0 || n > d.Count then
            Guard.fail "Dataset.head" "n" $"n must be in [0, {d.Count}], got {n}."

        take (Array.init n id) d

    /// <summary>How many examples each class has: an array of length Classes.Length.</summary>
    let classCounts (d: Dataset) : int[] =
        let counts = Array.zeroCreate d.Classes.Length

        for label in d.Y do
            counts.[label] <- counts.[label] + 1

        counts

    /// <summary>
    /// Largest-remainder apportionment: splits <paramref name="total"/> over classes in proportion to
    /// <paramref name="counts"/> (exact integer arithmetic; ties go to the lower class index). Every share is at most
    /// its class's count when total ≤ Σ counts.
    /// </summary>
    let internal apportion (counts: int[]) (total: int) : int[] =
        let n = Array.sum counts

        if n = 0 then
            Array.zeroCreate counts.Length
        else
            let quotas = counts |> Array.map (fun c -> int64 c * int64 total)
            let shares = quotas |> Array.map (fun q -> int (q / int64 n))
            let left = total - Array.sum shares

            let byRemainder =
                Array.init counts.Length id
                |> Array.sortWith (fun a b ->
                    let ra, rb = quotas.[a] % int64 n, quotas.[b] % int64 n
                    if ra <> rb then compare rb ra else compare a b)

            for i in 0 .. left - 1 do
                shares.[byRemainder.[i]] <- shares.[byRemainder.[i]] + 1

            shares

    /// <summary>
    /// The index sets of a stratified split: for each class, its examples (in index order) are permuted with the key
    /// <c>rng.Derive(class)</c>; the first ones go to validation, the next to test, the rest to training. The
    /// validation share of each class is its proportional share of <paramref name="validation"/>
    /// (largest remainder), the test share the proportional share of <paramref name="test"/> among the rest. Each set
    /// is then shuffled (keys <c>rng.Derive(-1)</c>, <c>-2</c>, <c>-3</c>) so that its classes are interleaved.
    /// </summary>
    let internal stratifiedIndices (rng: Rng) (validation: int) (test: int) (labels: int[]) (classCount: int) =
        let byClass =
            Array.init classCount (fun c ->
                labels |> Array.indexed |> Array.filter (fun (_, l) -> l = c) |> Array.map fst)

        let counts = byClass |> Array.map Array.length
        let valShares = apportion counts validation
        let rest = Array.map2 (-) counts valShares
        let testShares = apportion rest test

        let parts =
            byClass
            |> Array.mapi (fun c idx ->
                let p = rng.Derive(c).Permutation idx.Length |> Array.map (fun j -> idx.[j])
                let v, t = valShares.[c], testShares.[c]
                p.[v + t ..], p.[.. v - 1], p.[v .. v + t - 1])

        let shuffle (key: int) (idx: int[]) =
            rng.Derive(key).Permutation idx.Length |> Array.map (fun j -> idx.[j])

        shuffle -1 (parts |> Array.collect (fun (tr, _, _) -> tr)),
        shuffle -2 (parts |> Array.collect (fun (_, v, _) -> v)),
        shuffle -3 (parts |> Array.collect (fun (_, _, t) -> t))

    /// <summary>
    /// A deterministic stratified split into training, validation (<paramref name="validation"/> examples) and test
    /// (<paramref name="test"/> examples) sets; training gets the remaining N − validation − test. Every class is
    /// represented in each set in proportion to its size (largest-remainder rounding), the same key gives the same
    /// split, and the three sets are disjoint and cover the dataset.
    /// </summary>
    let splitStratified (rng: Rng) (validation: int) (test: int) (d: Dataset) : DataSplit =
        if isNull (box rng) then
            Guard.fail "Dataset.splitStratified" "rng" "rng must not be null."

        if validation < 0 || test < 0 || int64 validation + int64 test > int64 d.Count then
            Guard.fail
                "Dataset.splitStratified"
                "validation"
                $"validation and test sizes must be >= 0 with validation + test <= N = {d.Count}, got validation = {validation}, test = {test}."

        let tr, v, t = stratifiedIndices rng validation test d.Y d.Classes.Length

        {
            Train = take tr d
            Val = take v d
            Test = take t d
        }
