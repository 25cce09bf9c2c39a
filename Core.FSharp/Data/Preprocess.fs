namespace Functional.FSharp

open Functional

/// <summary>
/// Preprocessing of image datasets, in the course's order: bytes to floats, then mean-image subtraction or
/// per-channel normalization with statistics computed on the training set only and applied to all three sets.
/// </summary>
[<RequireQualifiedAccess>]
module Preprocess =
    let private checkBytes (fn: string) (shape: int[]) (bytes: byte[]) =
        Guard.checkShape fn "shape" shape

        Guard.notNull fn "bytes" bytes

        if Guard.size shape <> bytes.Length then
            Guard.fail
                fn
                "shape"
                $"shape {Guard.shapeText shape} holds {Guard.size shape} elements but there are {bytes.Length} bytes."

    /// <summary>Bytes (e.g. 8-bit pixels) as floats with the same values 0 … 255, in the given shape (row-major).</summary>
    let toFloat (shape: int[]) (bytes: byte[]) : Tensor =
        checkBytes "Preprocess.toFloat" shape bytes
        Tensor.Wrap(Array.copy shape, Array.init bytes.Length (fun i -> float bytes.[i]))

    /// The 256 values k / 255 (a lookup is several times faster than a division per pixel, with the same results).
    let internal unitValues = Array.init 256 (fun k -> float k / 255.0)

    /// <summary>Bytes as floats scaled to [0, 1] (value / 255), in the given shape (row-major).</summary>
    let toUnitFloat (shape: int[]) (bytes: byte[]) : Tensor =
        checkBytes "Preprocess.toUnitFloat" shape bytes
        Tensor.Wrap(Array.copy shape, Array.init bytes.Length (fun i -> unitValues.[int bytes.[i]]))

    let private checkBatch (fn: string) (arg: string) (x: Tensor) =
        Guard.notNull fn arg x

        if x.Rank < 2 then
            Guard.fail fn arg $"{arg} must be a batch (N, d1, ..., dk) with k >= 1, got shape {Guard.shapeText x.Dims}."

    /// <summary>The mean image of a batch: x (N, d1, …, dk) → (d1, …, dk), the mean over axis 0. N must be ≥ 1.</summary>
    let meanImage (x: Tensor) : Tensor =
        checkBatch "Preprocess.meanImage" "x" x
        let n = x.Dims.[0]

        if n = 0 then
            Guard.fail
                "Preprocess.meanImage"
                "x"
                $"the mean of an empty batch is undefined, got shape {Guard.shapeText x.Dims}."

        let d = x.Data.Length / n
        let acc = Array.zeroCreate d

        for i in 0 .. n - 1 do
            let off = i * d

            for j in 0 .. d - 1 do
                acc.[j] <- acc.[j] + x.Data.[off + j]

        Tensor.Wrap(x.Dims.[1..], acc |> Array.map (fun s -> s / float n))

    /// <summary>x (N, d1, …, dk) minus a mean image of shape (d1, …, dk), from every example.</summary>
    let subtractImage (mean: Tensor) (x: Tensor) : Tensor =
        checkBatch "Preprocess.subtractImage" "x" x

        Guard.notNull "Preprocess.subtractImage" "mean" mean

        if mean.Dims <> x.Dims.[1..] then
            Guard.fail
                "Preprocess.subtractImage"
                "mean"
                $"mean must have the image shape {Guard.shapeText x.Dims.[1..]} of x {Guard.shapeText x.Dims}, got {Guard.shapeText mean.Dims}."

        let d = mean.Data.Length
        Tensor.Wrap(Array.copy x.Dims, Array.init x.Data.Length (fun k -> x.Data.[k] - mean.Data.[k % d]))

    /// <summary>
    /// Mean-image subtraction as in the course: the mean image (C, H, W) of the training set is subtracted from the
    /// training, validation and test images. Returns the new split and the mean image (to apply to new data with
    /// <c>subtractImage</c>).
    /// </summary>
    let subtractMean (split: DataSplit) : DataSplit * Tensor =
        let mean = meanImage split.Train.X
        let apply (d: Dataset) = { d with X = subtractImage mean d.X }

        {
            Train = apply split.Train
            Val = apply split.Val
            Test = apply split.Test
        },
        mean

    /// <summary>
    /// The mean and (population) standard deviation of every channel of x (N, C, d1, …, dk), over the examples and
    /// the positions d1 … dk. Needs N·d1·…·dk ≥ 1.
    /// </summary>
    let channelStats (x: Tensor) : ChannelStats =
        checkBatch "Preprocess.channelStats" "x" x
        let n, c = x.Dims.[0], x.Dims.[1]
        let inner = Guard.size x.Dims.[2..]

        if n * inner = 0 || c = 0 then
            Guard.fail
                "Preprocess.channelStats"
                "x"
                $"x must hold at least one value per channel, got shape {Guard.shapeText x.Dims}."

        let per = float (n * inner)
        let sum = Array.zeroCreate c

        for i in 0 .. n - 1 do
            for ch in 0 .. c - 1 do
                let off = (i * c + ch) * inner

                for j in 0 .. inner - 1 do
                    sum.[ch] <- sum.[ch] + x.Data.[off + j]

        let mean = sum |> Array.map (fun s -> s / per)
        let sq = Array.zeroCreate c

        for i in 0 .. n - 1 do
            for ch in 0 .. c - 1 do
                let off = (i * c + ch) * inner
                let m = mean.[ch]

                for j in 0 .. inner - 1 do
                    let v = x.Data.[off + j] - m
                    sq.[ch] <- sq.[ch] + v * v

        {
            Mean = mean
            Std = sq |> Array.map (fun s -> sqrt (s / per))
        }

    /// <summary>
    /// (x − mean[c]) / std[c] for every channel c of x (N, C, d1, …, dk); a channel whose std is 0 is only centred.
    /// </summary>
    let applyChannelStats (stats: ChannelStats) (x: Tensor) : Tensor =
        checkBatch "Preprocess.applyChannelStats" "x" x

        if isNull (box stats) || isNull (box stats.Mean) || isNull (box stats.Std) then
            Guard.fail "Preprocess.applyChannelStats" "stats" "stats and its Mean and Std must not be null."

        let c = x.Dims.[1]

        if stats.Mean.Length <> c || stats.Std.Length <> c then
            Guard.fail
                "Preprocess.applyChannelStats"
                "stats"
                $"stats must have {c} channels for x {Guard.shapeText x.Dims}, got {stats.Mean.Length} means and {stats.Std.Length} deviations."

        stats.Std
        |> Array.iteri (fun ch s ->
            if not (s >= 0.0) || System.Double.IsInfinity s then
                Guard.fail "Preprocess.applyChannelStats" "stats" $"Std[{ch}] must be finite and >= 0, got {s}.")

        let inner = Guard.size x.Dims.[2..]
        let scale = stats.Std |> Array.map (fun s -> if s > 0.0 then 1.0 / s else 1.0)

        Tensor.Wrap(
            Array.copy x.Dims,
            Array.init x.Data.Length (fun k ->
                let ch = (k / inner) % c
                (x.Data.[k] - stats.Mean.[ch]) * scale.[ch])
        )

    /// <summary>
    /// Per-channel normalization: the mean and standard deviation of every channel of the training set are used to
    /// map the training, validation and test images to (x − mean[c]) / std[c]. Returns the new split and the
    /// statistics (to apply to new data with <c>applyChannelStats</c>).
    /// </summary>
    let normalizePerChannel (split: DataSplit) : DataSplit * ChannelStats =
        let stats = channelStats split.Train.X

        let apply (d: Dataset) = {
            d with
                X = applyChannelStats stats d.X
        }

        {
            Train = apply split.Train
            Val = apply split.Val
            Test = apply split.Test
        },
        stats
