namespace Functional.FSharp

open System
open Functional

/// <summary>The recurrent cell of a captioning net.</summary>
type CaptioningCell =
    /// <summary>Vanilla RNN: h = tanh(x·Wx + h·Wh + b); Wx (W, H).</summary>
    | Rnn
    /// <summary>LSTM in the course's gate order i, f, o, g; Wx (W, 4H), c0 = 0.</summary>
    | Lstm
    /// <summary>GRU with PyTorch's equations (r, z, n); Wx (W, 3H), input bias b and hidden bias b_h.</summary>
    | Gru

/// <summary>The shape of a captioning net (the course's CaptioningRNN arguments) and its initialization seed.</summary>
type CaptioningConfig = {
    /// <summary>The recurrent cell.</summary>
    Cell: CaptioningCell
    /// <summary>D, the size of an image's feature vector.</summary>
    InputDim: int
    /// <summary>W, the size of a word vector.</summary>
    WordVecDim: int
    /// <summary>H, the size of the hidden state.</summary>
    HiddenDim: int
    /// <summary>V, the vocabulary size (token indices in [0, V)).</summary>
    VocabSize: int
    /// <summary>The padding token (the course's &lt;NULL&gt;, 0): masked out of the loss.</summary>
    Null: int
    /// <summary>The token every caption starts with (&lt;START&gt;).</summary>
    Start: int
    /// <summary>The token that ends a caption (&lt;END&gt;): sampling stops feeding a row after it.</summary>
    End: int
    /// <summary>The seed of the initial weights.</summary>
    Seed: int64
}

/// <summary>A training set and a validation set for a captioning net: image features and their captions.</summary>
type CaptioningData = {
    /// <summary>The number of training examples N.</summary>
    NumTrain: int
    /// <summary>The features (n, D) of the training examples at the given indices (computed or looked up on demand).</summary>
    TrainFeatures: int[] -> Tensor
    /// <summary>The training captions (N, T), &lt;START&gt; first.</summary>
    TrainCaptions: Indices
    /// <summary>The number of validation examples.</summary>
    NumVal: int
    /// <summary>The features of the validation examples at the given indices.</summary>
    ValFeatures: int[] -> Tensor
    /// <summary>The validation captions (N_val, T).</summary>
    ValCaptions: Indices
}

/// <summary>A trained classifier of 28 × 28 digits: the model, its parameters and its state.</summary>
type SlotReader = {
    /// <summary>The classifier (scores (N, C) of images (N, 1, 28, 28)).</summary>
    Model: Model
    /// <summary>Its trained parameters.</summary>
    Params: Map<string, Tensor>
    /// <summary>Its state (e.g. batchnorm running statistics).</summary>
    State: Map<string, Tensor>
}

/// <summary>What a captioning net sees of a digit strip.</summary>
type CaptionFeatures =
    /// <summary>The strip's raw pixels, flattened: D = 28 · 112 = 3136.</summary>
    | Pixels
    /// <summary>
    /// Trained digit classifiers (e.g. the three-layer convnet; one, or several as an ensemble) applied to each of
    /// the strip's 4 slots after re-centring it as MNIST centres its digits (<c>DigitCaptions.centredSlots</c>): per
    /// slot the mean over the readers of their C class probabilities (softmax of the scores) and the slot's ink (its
    /// mean pixel value × 8: about 1 for a digit, 0 for an empty slot, which a classifier without a blank class
    /// cannot tell), concatenated slot by slot: D = 4 · (C + 1). The readers must agree on C. With
    /// <c>oneHot</c> the mean probabilities are replaced by the one-hot vector of their most likely class (the
    /// readers' decision; ties to the lower class), so that a captioning net sees the same kind of features on
    /// strips of digits the readers learned (read almost surely) and on new ones.
    /// </summary>
    | ConvScores of Readers: SlotReader list * OneHot: bool

/// <summary>
/// The course's image-captioning net (CaptioningRNN) as pure functions of its parameters: the image features give the
/// initial hidden state h0 = features·W_proj + b_proj; the caption's words, embedded by W_embed, run through the
/// cell (Wx, Wh, b; b_h too for the GRU); W_vocab and b_vocab score the vocabulary at every step. Loss and gradients
/// chain the layers' forward/backward pairs by hand, as the course's <c>CaptioningRNN.loss</c> does.
/// </summary>
[<RequireQualifiedAccess>]
module Captioning =
    let private gates =
        function
        | Rnn -> 1
        | Lstm -> 4
        | Gru -> 3

    /// <summary>The cell's name: "rnn", "lstm" or "gru".</summary>
    let cellName =
        function
        | Rnn -> "rnn"
        | Lstm -> "lstm"
        | Gru -> "gru"

    /// <summary>The cell named "rnn", "lstm" or "gru"; fails naming the argument otherwise.</summary>
    let parseCell (fn: string) (arg: string) (name: string) =
        match name with
        | "rnn" -> Rnn
        | "lstm" -> Lstm
        | "gru" -> Gru
        | other -> Guard.fail fn arg $"the cell must be rnn, lstm or gru, got '{other}'."

    /// <summary>The net's name, e.g. "captioning lstm (D 40, W 64, H 256, V 14)".</summary>
    let name (cfg: CaptioningConfig) =
        $"captioning {cellName cfg.Cell} (D {cfg.InputDim}, W {cfg.WordVecDim}, H {cfg.HiddenDim}, V {cfg.VocabSize})"

    /// <summary>Checks the sizes (≥ 1) and the special tokens (in [0, V)); fails naming fn and the field.</summary>
    let validate (fn: string) (cfg: CaptioningConfig) =
        Guard.positive fn "InputDim" cfg.InputDim
        Guard.positive fn "WordVecDim" cfg.WordVecDim
        Guard.positive fn "HiddenDim" cfg.HiddenDim
        Guard.positive fn "VocabSize" cfg.VocabSize

        for arg, t in [ "Null", cfg.Null; "Start", cfg.Start; "End", cfg.End ] do
            if t < 0 || t >= cfg.VocabSize then
                Guard.fail fn arg $"the token {arg} = {t} is out of range [0, {cfg.VocabSize})."

    /// <summary>
    /// The course's initial parameters: W_embed (V, W) ~ N(0, 1)/100; W_proj (D, H) ~ N(0, 1)/√D; Wx (W, gH) ~
    /// N(0, 1)/√W; Wh (H, gH) ~ N(0, 1)/√H with g = 1 (rnn), 4 (lstm), 3 (gru); W_vocab (H, V) ~ N(0, 1)/√H; the
    /// biases b_proj (H,), b (gH,), b_h (gH,, GRU only), b_vocab (V,) zero.
    /// </summary>
    let init (cfg: CaptioningConfig) : Map<string, Tensor> =
        validate "Captioning.init" cfg
        let key = Rng.create cfg.Seed
        let g = gates cfg.Cell
        let d, w, h, v = cfg.InputDim, cfg.WordVecDim, cfg.HiddenDim, cfg.VocabSize

        let normal i (scale: float) (shape: int[]) = Tensor.randn (key.Derive i) scale shape

        [
            "W_embed", normal 0 0.01 [| v; w |]
            "W_proj", normal 1 (1.0 / sqrt (float d)) [| d; h |]
            "b_proj", Tensor.zeros [| h |]
            "Wx", normal 2 (1.0 / sqrt (float w)) [| w; g * h |]
            "Wh", normal 3 (1.0 / sqrt (float h)) [| h; g * h |]
            "b", Tensor.zeros [| g * h |]
            if cfg.Cell = Gru then
                "b_h", Tensor.zeros [| g * h |]
            "W_vocab", normal 4 (1.0 / sqrt (float h)) [| h; v |]
            "b_vocab", Tensor.zeros [| v |]
        ]
        |> Map.ofList

    let private param (fn: string) (p: Map<string, Tensor>) (key: string) =
        match p.TryFind key with
        | Some t when not (isNull (box t)) -> t
        | _ -> Guard.fail fn "parameters" $"the parameter '{key}' is missing."

    let private checkFeatures (fn: string) (cfg: CaptioningConfig) (features: Tensor) =
        Guard.notNull fn "features" features

        if features.Rank <> 2 || features.Dims.[1] <> cfg.InputDim || features.Dims.[0] < 1 then
            Guard.fail
                fn
                "features"
                $"expected features (N, D) with N >= 1 and D = {cfg.InputDim}, got {Guard.shapeText features.Dims}."

    /// <summary>
    /// The loss and gradients on a minibatch (the course's <c>CaptioningRNN.loss</c>): features (N, D), captions
    /// (N, T) with T ≥ 2. captions_in = captions[:, :-1], captions_out = captions[:, 1:], mask = captions_out ≠
    /// Null; the loss is the temporal softmax loss (summed over unmasked steps, divided by N), no regularization.
    /// Gradients are named like the parameters.
    /// </summary>
    let loss (cfg: CaptioningConfig) (p: Map<string, Tensor>) (features: Tensor) (captions: Indices) : ModelLoss =
        let fn = "Captioning.loss"
        checkFeatures fn cfg features

        Guard.notNull fn "captions" captions

        if
            captions.Rank <> 2
            || captions.Dims.[0] <> features.Dims.[0]
            || captions.Dims.[1] < 2
        then
            Guard.fail
                fn
                "captions"
                $"expected captions (N, T) with N = {features.Dims.[0]} and T >= 2, got {Guard.shapeText captions.Dims}."

        let t = captions.Dims.[1]
        let captionsIn = captions.Slice(1, 0, t - 1)
        let captionsOut = captions.Slice(1, 1, t)
        let mask = captionsOut.NotEqual cfg.Null
        let get = param fn p
        let h0, projCache = Affine.forward features (get "W_proj") (get "b_proj")
        let x, embedCache = WordEmbedding.forward captionsIn (get "W_embed")

        // The cell's forward, and its backward returning (dx, dh0, the cell's gradients by parameter name).
        let h, cellBackward =
            match cfg.Cell with
            | Rnn ->
                let h, c = Rnn.forward x h0 (get "Wx") (get "Wh") (get "b")

                h,
                fun dh ->
                    let g = Rnn.backward dh c
                    g.Dx, g.Dh0, [ "Wx", g.DWx; "Wh", g.DWh; "b", g.Db ]
            | Lstm ->
                let h, c = Lstm.forward x h0 (get "Wx") (get "Wh") (get "b")

                h,
                fun dh ->
                    let g = Lstm.backward dh c
                    g.Dx, g.Dh0, [ "Wx", g.DWx; "Wh", g.DWh; "b", g.Db ]
            | Gru ->
                let h, c = Gru.forward x h0 (get "Wx") (get "Wh") (get "b") (get "b_h")

                h,
                fun dh ->
                    let g = Gru.backward dh c
                    g.Dx, g.Dh0, [ "Wx", g.DWx; "Wh", g.DWh; "b", g.Dbx; "b_h", g.Dbh ]

        let scores, scoreCache = TemporalAffine.forward h (get "W_vocab") (get "b_vocab")
        let l = TemporalSoftmax.loss scores captionsOut mask
        let gs = TemporalAffine.backward l.Dscores scoreCache
        let dx, dh0, cellGrads = cellBackward gs.Dx
        let dWembed = WordEmbedding.backward dx embedCache
        let gp = Affine.backward dh0 projCache

        {
            Loss = l.Loss
            Grads =
                Map.ofList (
                    [
                        "W_vocab", gs.Dw
                        "b_vocab", gs.Db
                        "W_embed", dWembed
                        "W_proj", gp.Dw
                        "b_proj", gp.Db
                    ]
                    @ cellGrads
                )
            State = Map.empty
        }

    /// One step of the cell on the embedded words x (n, W): (h, c) → (h', c'); c is used by the LSTM only.
    let private stepper (cfg: CaptioningConfig) (p: Map<string, Tensor>) (fn: string) =
        let get = param fn p

        match cfg.Cell with
        | Rnn -> fun x (h: Tensor, c: Tensor) -> fst (Rnn.stepForward x h (get "Wx") (get "Wh") (get "b")), c
        | Lstm ->
            fun x (h, c) ->
                let h', c', _ = Lstm.stepForward x h c (get "Wx") (get "Wh") (get "b")
                h', c'
        | Gru -> fun x (h, c) -> fst (Gru.stepForward x h (get "Wx") (get "Wh") (get "b") (get "b_h")), c

    /// Embeds one token per row: (n,) tokens → (n, W).
    let private embed (p: Map<string, Tensor>) (tokens: int[]) =
        let x, _ =
            WordEmbedding.forward (Indices.FromArray(tokens, tokens.Length, 1)) (param "Captioning" p "W_embed")

        x.Reshape(tokens.Length, x.Dims.[2])

    let private vocabScores (p: Map<string, Tensor>) (h: Tensor) =
        fst (Affine.forward h (param "Captioning" p "W_vocab") (param "Captioning" p "b_vocab"))

    let private checkLength (fn: string) (maxLength: int) =
        if maxLength < 1 then
            Guard.fail fn "maxLength" $"maxLength must be >= 1, got {maxLength}."

    /// <summary>
    /// Greedy sampling (the course's <c>CaptioningRNN.sample</c>): from h0 = features·W_proj + b_proj (and c0 = 0),
    /// feed &lt;START&gt;, take the most likely word at each step and feed it back, up to maxLength words. A row
    /// that has produced End is fed no more: its later positions hold Null. features (N, D) → tokens (N,
    /// maxLength), without &lt;START&gt;. Deterministic for fixed parameters (ties go to the lowest index).
    /// </summary>
    let sample (cfg: CaptioningConfig) (p: Map<string, Tensor>) (features: Tensor) (maxLength: int) : Indices =
        let fn = "Captioning.sample"
        checkFeatures fn cfg features
        checkLength fn maxLength
        let n = features.Dims.[0]
        let step = stepper cfg p fn
        let h0, _ = Affine.forward features (param fn p "W_proj") (param fn p "b_proj")
        let out = Array.create (n * maxLength) cfg.Null
        let finished = Array.zeroCreate n
        let mutable words = Array.create n cfg.Start
        let mutable state = h0, Tensor.zeros [| n; cfg.HiddenDim |]

        for t in 0 .. maxLength - 1 do
            if not (Array.forall id finished) then
                state <- step (embed p words) state
                let best = (vocabScores p (fst state)).ArgMax 1

                for i in 0 .. n - 1 do
                    if not finished.[i] then
                        out.[i * maxLength + t] <- best.[i]
                        finished.[i] <- best.[i] = cfg.End

                words <- best

        Indices.FromArray(out, n, maxLength)

    /// <summary>
    /// Beam search of width k: for each image, the k most likely partial captions (by the sum of their words' log
    /// probabilities) are extended by every word and the k best kept; a caption that has produced End is kept as it
    /// is. After maxLength words (or when every kept caption has ended) the most likely is returned (no length
    /// normalization; ties go to the earlier beam and the lower token). With k = 1 it is greedy sampling.
    /// features (N, D) → tokens (N, maxLength), without &lt;START&gt;, Null after End.
    /// </summary>
    let beamSearch
        (cfg: CaptioningConfig)
        (p: Map<string, Tensor>)
        (features: Tensor)
        (maxLength: int)
        (k: int)
        : Indices =
        let fn = "Captioning.beamSearch"
        checkFeatures fn cfg features
        checkLength fn maxLength

        if k < 1 then
            Guard.fail fn "k" $"the beam width k must be >= 1, got {k}."

        let n = features.Dims.[0]
        let step = stepper cfg p fn
        let h0, _ = Affine.forward features (param fn p "W_proj") (param fn p "b_proj")
        let hd = cfg.HiddenDim
        let v = cfg.VocabSize
        let out = Array.create (n * maxLength) cfg.Null

        for i in 0 .. n - 1 do
            // A beam: its words so far, its log probability, whether it ended, its hidden and cell states.
            let rowOf (t: Tensor) r = t.Data.[r * hd .. r * hd + hd - 1]
            let h0i = rowOf h0 i

            let mutable beams = [| ([||]: int[]), 0.0, false, h0i, Array.zeroCreate<float> hd |]

            let mutable t = 0

            while t < maxLength && not (beams |> Array.forall (fun (_, _, ended, _, _) -> ended)) do
                let live =
                    beams
                    |> Array.indexed
                    |> Array.filter (fun (_, (_, _, ended, _, _)) -> not ended)

                let m = live.Length

                let last =
                    live
                    |> Array.map (fun (_, (ws: int[], _, _, _, _)) ->
                        if ws.Length = 0 then cfg.Start else ws.[ws.Length - 1])

                let h =
                    Tensor.Wrap([| m; hd |], live |> Array.collect (fun (_, (_, _, _, h, _)) -> h))

                let c =
                    Tensor.Wrap([| m; hd |], live |> Array.collect (fun (_, (_, _, _, _, c)) -> c))

                let h', c' = step (embed p last) (h, c)
                let s = (vocabScores p h').Data

                let candidates = [|
                    for b, (ws, lp, ended, hb, cb) in Array.indexed beams do
                        if ended then
                            yield lp, b, -1, ws, true, hb, cb
                    for j, (b, (ws, lp, _, _, _)) in Array.indexed live do
                        let row = s.[j * v .. j * v + v - 1]
                        let mx = Array.max row
                        let lse = mx + log (Array.sumBy (fun x -> exp (x - mx)) row)

                        for w in 0 .. v - 1 do
                            yield lp + row.[w] - lse, b, w, Array.append ws [| w |], w = cfg.End, rowOf h' j, rowOf c' j
                |]

                beams <-
                    candidates
                    |> Array.sortWith (fun (la, ba, wa, _, _, _, _) (lb, bb, wb, _, _, _, _) ->
                        if la <> lb then compare lb la
                        elif ba <> bb then compare ba bb
                        else compare wa wb)
                    |> Array.truncate k
                    |> Array.map (fun (lp, _, _, ws, ended, hb, cb) -> ws, lp, ended, hb, cb)

                t <- t + 1

            let ws, _, _, _, _ = beams.[0]

            for j in 0 .. ws.Length - 1 do
                out.[i * maxLength + j] <- ws.[j]

        Indices.FromArray(out, n, maxLength)

    /// The rows of captions at the given indices.
    let internal takeRows (captions: Indices) (idx: int[]) =
        let t = captions.Dims.[1]
        Indices.FromArray(idx |> Array.collect (fun i -> captions.Data.[i * t .. i * t + t - 1]), idx.Length, t)

    /// <summary>
    /// BLEU-4 (<c>DigitCaptions.bleu</c>) of greedy samples of maxLength words for the examples at the given indices,
    /// sampled in chunks of batchSize.
    /// </summary>
    let bleuOf
        (cfg: CaptioningConfig)
        (p: Map<string, Tensor>)
        (features: int[] -> Tensor)
        (captions: Indices)
        (idx: int[])
        (batchSize: int)
        =
        let maxLength = captions.Dims.[1] - 1

        let sampled =
            idx
            |> Array.chunkBySize batchSize
            |> Array.collect (fun chunk -> (sample cfg p (features chunk) maxLength).Data)

        DigitCaptions.bleu 4 (Indices.FromArray(sampled, idx.Length, maxLength)) (takeRows captions idx)

    /// <summary>
    /// A captioning net and its data as a <see cref="T:Functional.FSharp.Trainable"/> for the Solver: the loss on the
    /// minibatch's features and captions, and the metric "bleu-4": corpus BLEU-4 of greedy samples on
    /// NumTrainSamples training examples (drawn from stream 2 of the run's key and the epoch) and NumValSamples
    /// validation examples (stream 3). The Solver keeps the parameters with the best validation BLEU-4.
    /// </summary>
    let trainable
        (solverConfig: SolverConfig)
        (cfg: CaptioningConfig)
        (p: Map<string, Tensor>)
        (data: CaptioningData)
        : Trainable =
        let fn = "Captioning.trainable"
        validate fn cfg

        if
            data.NumTrain < 1
            || data.TrainCaptions.Rank <> 2
            || data.TrainCaptions.Dims.[0] <> data.NumTrain
        then
            Guard.fail
                fn
                "data"
                $"TrainCaptions has shape {Guard.shapeText data.TrainCaptions.Dims}, expected (NumTrain = {data.NumTrain}, T)."

        if
            data.NumVal < 1
            || data.ValCaptions.Rank <> 2
            || data.ValCaptions.Dims.[0] <> data.NumVal
        then
            Guard.fail
                fn
                "data"
                $"ValCaptions has shape {Guard.shapeText data.ValCaptions.Dims}, expected (NumVal = {data.NumVal}, T)."

        let subset (n: int) (samples: int option) (rng: Rng) =
            match samples with
            | Some k when k < n -> rng.Permutation(n).[.. k - 1]
            | _ -> Array.init n id

        let evaluate (q: Map<string, Tensor>) _ (rng: Rng) (epoch: int) =
            let b = solverConfig.BatchSize

            bleuOf
                cfg
                q
                data.TrainFeatures
                data.TrainCaptions
                (subset data.NumTrain solverConfig.NumTrainSamples ((rng.Derive 2).Derive epoch))
                b,
            bleuOf
                cfg
                q
                data.ValFeatures
                data.ValCaptions
                (subset data.NumVal solverConfig.NumValSamples ((rng.Derive 3).Derive epoch))
                b

        {
            Name = name cfg
            Params = p
            State = Map.empty
            NumTrain = data.NumTrain
            InputName = "TrainFeatures"
            Loss = fun q _ _ idx -> loss cfg q (data.TrainFeatures idx) (takeRows data.TrainCaptions idx)
            Metric = { Name = "bleu-4"; Evaluate = evaluate }
        }

    /// <summary>The scale of the ink feature: a slot's mean pixel value times this (an embedded digit's is 0.13 on average).</summary>
    [<Literal>]
    let InkScale = 8.0

    /// The class count C of each reader (found by scoring one blank slot); fails naming fn when there is no reader or
    /// when they disagree.
    let private classCount (fn: string) (readers: SlotReader list) =
        let counts =
            readers
            |> List.map (fun r -> (r.Model.Scores r.Params r.State (Tensor.zeros [| 1; 1; 28; 28 |])).Dims.[1])

        match List.distinct counts with
        | [ c ] -> c
        | [] -> Guard.fail fn "features" "ConvScores needs at least one reader."
        | cs -> Guard.fail fn "features" $"the readers must have the same class count, got {cs}."

    /// <summary>
    /// The feature size D of a kind of features: 3136 for pixels, 4 · (C + 1) for C-class readers. Fails naming the
    /// argument when ConvScores has no reader or its readers disagree on C.
    /// </summary>
    let featureDim (kind: CaptionFeatures) =
        match kind with
        | Pixels -> DigitCaptions.Height * DigitCaptions.Width
        | ConvScores(readers, _) -> DigitCaptions.MaxDigits * (classCount "Captioning.featureDim" readers + 1)

    /// <summary>
    /// The features of a set's strips, as a function of strip indices → (n, D). Pixels are drawn on demand (a set
    /// never holds N · 3136 floats); the readers' features are computed once for the whole set, in chunks of 500
    /// strips, each reader's probabilities added in reader order and divided by their number.
    /// </summary>
    let featuresOf (kind: CaptionFeatures) (set: CaptionSet) : int[] -> Tensor =
        match kind with
        | Pixels ->
            fun idx ->
                let x = DigitCaptions.images set idx
                x.Reshape(idx.Length, DigitCaptions.Height * DigitCaptions.Width)
        | ConvScores(readers, oneHot) ->
            let n = DigitCaptions.count set
            let c = classCount "Captioning.featuresOf" readers
            let k = c + 1
            let d = DigitCaptions.MaxDigits * k
            let weight = 1.0 / float readers.Length

            // Adds the class probabilities (softmax of the scores: bounded whatever the scores' scale) of slot r of x,
            // averaged over the readers, into row r.
            let probabilities (x: Tensor) (rows: int[]) (out: float[]) =
                for reader in readers do
                    let scores = (reader.Model.Scores reader.Params reader.State x).Data

                    rows
                    |> Array.iteri (fun i r ->
                        let mutable mx = Double.NegativeInfinity

                        for j in 0 .. c - 1 do
                            mx <- max mx scores.[i * c + j]

                        let mutable sum = 0.0

                        for j in 0 .. c - 1 do
                            sum <- sum + exp (scores.[i * c + j] - mx)

                        for j in 0 .. c - 1 do
                            out.[r * k + j] <- out.[r * k + j] + weight * exp (scores.[i * c + j] - mx) / sum)

                if oneHot then
                    for r in rows do
                        let mutable best = 0

                        for j in 1 .. c - 1 do
                            if out.[r * k + j] > out.[r * k + best] then
                                best <- j

                        for j in 0 .. c - 1 do
                            out.[r * k + j] <- if j = best then 1.0 else 0.0

            // An empty slot (no ink) is all black after centring: the readers see the same image each time.
            let blank = Array.zeroCreate k
            probabilities (Tensor.zeros [| 1; 1; 28; 28 |]) [| 0 |] blank

            // Per slot: the class probabilities, then the ink; only slots with ink go through the readers.
            let slotFeatures (chunk: int[]) =
                let slots, ink = DigitCaptions.centredSlots set chunk
                let out = Array.zeroCreate (ink.Length * k)
                let inked = Array.init ink.Length id |> Array.filter (fun r -> ink.[r] > 0.0)

                if inked.Length > 0 then
                    probabilities (slots.Take inked) inked out

                for r in 0 .. ink.Length - 1 do
                    if ink.[r] = 0.0 then
                        Array.blit blank 0 out (r * k) c

                    out.[r * k + c] <- InkScale * ink.[r]

                out

            let all = Array.init n id |> Array.chunkBySize 500 |> Array.collect slotFeatures
            let table = Tensor.Wrap([| n; d |], all)
            fun idx -> table.Take idx

    /// <summary>The training and validation sets of a digit-captions split as captioning data, with the given features.</summary>
    let dataOf (kind: CaptionFeatures) (split: CaptionSplit) : CaptioningData = {
        NumTrain = DigitCaptions.count split.Train
        TrainFeatures = featuresOf kind split.Train
        TrainCaptions = split.Train.Captions
        NumVal = DigitCaptions.count split.Val
        ValFeatures = featuresOf kind split.Val
        ValCaptions = split.Val.Captions
    }
