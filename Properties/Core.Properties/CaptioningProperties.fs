/// The digit-captions dataset, its metrics, and the captioning net: initial loss, gradients, overfitting, sampling.
module Functional.Properties.CaptioningProperties

open System
open Xunit
open FsCheck.FSharp
open FsCheck.Xunit
open Functional
open Functional.FSharp
open Functional.Properties.Generators

let private cells = [| Rnn; Lstm; Gru |]

let private config (cell: CaptioningCell) d w h v seed = {
    Cell = cell
    InputDim = d
    WordVecDim = w
    HiddenDim = h
    VocabSize = v
    Null = 0
    Start = 1
    End = 2
    Seed = seed
}

/// Random captions (N, T): <START>, k words in [3, V), <END>, <NULL> padding (k in 0 … T-2).
let private captions (rng: Rng) (n: int) (t: int) (v: int) =
    let u = rng.Uniforms(n * (t + 1))

    let row i =
        let k = int (u.[i * (t + 1)] * float (t - 1))

        Array.init t (fun j ->
            if j = 0 then
                1
            elif j <= k then
                3 + int (u.[i * (t + 1) + j] * float (v - 3))
            elif j = k + 1 then
                2
            else
                0)

    Indices.FromArray(Array.init n row |> Array.concat, n, t)

[<Property(MaxTest = 60)>]
let ``with weights in [-eps, eps] the loss per unmasked step is log V within the derived bound`` () =
    // Bound: every score is s_v = h·W_vocab[:, v] + b_vocab[v] with |h_j| <= max(1, max|h0|) (RNN and LSTM states
    // are tanh-bounded by 1; a GRU state is a convex mix of a tanh and the previous state), |W_vocab| <= eps,
    // b_vocab = 0, and h0 = features·W_proj with |features| <= 1, so |h0| <= D·eps. Hence |s_v| <= B = H·eps·max(1,
    // D·eps), and each step's loss −log softmax(s)_y = log Σ exp(s) − s_y lies in [log V − 2B, log V + 2B]. The
    // loss is the sum over the unmasked steps divided by N.
    Prop.forAll
        (cases [
            "cell", 0, 2
            "N", 1, 6
            "T", 2, 7
            "D", 1, 6
            "W", 1, 5
            "H", 1, 6
            "V", 4, 20
        ])
        (fun c ->
            let eps = 1e-3
            let cfg = config cells.[c.["cell"]] c.["D"] c.["W"] c.["H"] c.["V"] (int64 c.Seed)

            let p =
                Captioning.init cfg
                |> Map.map (fun name t ->
                    if name.StartsWith "b" then
                        Tensor.zeros (Tensor.shape t)
                    else
                        Tensor.RandomUniform(
                            key c 1 |> Rng.derive (hash name),
                            -eps,
                            eps,
                            Tensor.shape t |> Array.ofSeq
                        ))

            let n = c.["N"]
            let features = Tensor.RandomUniform(key c 2, -1.0, 1.0, [| n; c.["D"] |])
            let caps = captions (key c 3) n c.["T"] c.["V"]
            let l = Captioning.loss cfg p features caps
            let steps = caps.Slice(1, 1, c.["T"]).NotEqual(0).CountTrue
            let b = float c.["H"] * eps * max 1.0 (float c.["D"] * eps)
            let perStep = if steps = 0 then 0.0 else l.Loss * float n / float steps
            let logV = log (float c.["V"])

            Prop.ensure (steps = 0 && l.Loss = 0.0 || abs (perStep - logV) <= 2.0 * b + 1e-12) (fun () ->
                $"{c}: loss per step {perStep}, log V {logV}, bound {2.0 * b}"))

[<Property(MaxTest = 12)>]
let ``the captioning gradients match numeric gradients for every cell`` () =
    Prop.forAll
        (cases [
            "cell", 0, 2
            "N", 1, 3
            "T", 2, 5
            "D", 1, 4
            "W", 1, 3
            "H", 1, 4
            "V", 4, 7
        ])
        (fun c ->
            let cfg = config cells.[c.["cell"]] c.["D"] c.["W"] c.["H"] c.["V"] (int64 c.Seed)
            // Non-zero biases, so that their gradients are exercised away from the initial point.
            let p =
                Captioning.init cfg
                |> Map.map (fun name t ->
                    t
                    + Tensor.randn (key c 4 |> Rng.derive (hash name)) 0.1 (Tensor.shape t |> Array.ofSeq))

            let features = normal (key c 2) [| c.["N"]; c.["D"] |]
            let caps = captions (key c 3) c.["N"] c.["T"] c.["V"]
            let l = Captioning.loss cfg p features caps

            for kv in p do
                let f (w: Tensor) =
                    (Captioning.loss cfg (p.Add(kv.Key, w)) features caps).Loss

                let numeric = GradCheck.numericGradient 1e-5 f kv.Value
                Prop.gradClose (string c) kv.Key l.Grads.[kv.Key] numeric)

/// The first n training strips of the digit captions with their pixels as features.
let private fiftyStrips =
    lazy
        (let split = DigitCaptions.loadSized 50 1 1
         let idx = Array.init 50 id
         let x = (DigitCaptions.images split.Train idx).Reshape(50, 28 * 112)
         x, split.Train.Captions)

[<Fact>]
let ``the LSTM captioning net overfits 50 captions with Adam within 50 epochs`` () =
    // The course's overfitting check and sizes: 50 captions, word vectors 256, hidden 512, batch 25, 50 epochs
    // (100 updates), Adam at 5e-3, LR decay 0.95. Features: the strips' raw pixels.
    let x, caps = fiftyStrips.Force()
    let cfg = config Lstm (28 * 112) 256 512 14 0L

    let data = {
        NumTrain = 50
        TrainFeatures = fun idx -> x.Take idx
        TrainCaptions = caps
        NumVal = 50
        ValFeatures = fun idx -> x.Take idx
        ValCaptions = caps
    }

    let solverConfig = {
        SolverConfig.Defaults with
            NumEpochs = 50
            BatchSize = 25
            LrDecay = 0.95
            NumTrainSamples = Some 10
            NumValSamples = Some 10
    }

    let r =
        Solver.fit
            SolverHooks.None
            (Optim.adam |> Optim.withLearningRate 5e-3)
            solverConfig
            (Captioning.trainable solverConfig cfg (Captioning.init cfg) data)

    let final = (Captioning.loss cfg r.State.Params x caps).Loss
    Prop.ensure (final < 0.1) (fun () -> $"the loss on the 50 captions after 50 epochs is {final}")
    let sampled = Captioning.sample cfg r.State.Params x 5
    let exact = DigitCaptions.exactAccuracy sampled caps
    Prop.ensure (exact = 1.0) (fun () -> $"greedy samples reproduce {exact} of the 50 captions")

[<Property(MaxTest = 20)>]
let ``sampling is deterministic, stops feeding after END, and beam search of width 1 is greedy`` () =
    Prop.forAll (cases [ "cell", 0, 2; "N", 1, 5; "D", 1, 6; "H", 1, 8; "L", 1, 7; "k", 2, 4 ]) (fun c ->
        let cfg = config cells.[c.["cell"]] c.["D"] 3 c.["H"] 6 (int64 c.Seed)
        // Larger vocabulary weights, so that <END> comes early in some rows and late in others.
        let p =
            Captioning.init cfg
            |> Map.map (fun name t -> if name = "W_vocab" then t * 5.0 else t)

        let x = normal (key c 2) [| c.["N"]; c.["D"] |]
        let l = c.["L"]
        let a = Captioning.sample cfg p x l
        let b = Captioning.sample cfg p x l
        Prop.ensure (a.ToArray() = b.ToArray()) (fun () -> $"{c}: two samplings differ")

        for i in 0 .. c.["N"] - 1 do
            let row = a.ToArray().[i * l .. i * l + l - 1]

            match Array.tryFindIndex ((=) 2) row with
            | Some e ->
                Prop.ensure (row.[e + 1 ..] |> Array.forall ((=) 0)) (fun () ->
                    $"{c}: row {i} = {row} goes on after END")
            | None -> ()

        let beam1 = Captioning.beamSearch cfg p x l 1
        Prop.ensure (beam1.ToArray() = a.ToArray()) (fun () -> $"{c}: beam search of width 1 differs from greedy")
        // A wider beam finds a caption at least as likely as greedy's (by the summed log probabilities it ranks by).
        let beamK = Captioning.beamSearch cfg p x l c.["k"]
        Prop.ensure (beamK.Shape.[1] = l) (fun () -> $"{c}: beam output shape"))

[<Fact>]
let ``digit captions: deterministic, captions name the strip's digits, strips only from their split`` () =
    let a = DigitCaptions.loadSized 300 40 40
    let b = DigitCaptions.loadSized 300 40 40
    let digits = Digits.load ()

    for set, other, source in
        [
            a.Train, b.Train, digits.Train
            a.Val, b.Val, digits.Val
            a.Test, b.Test, digits.Test
        ] do
        Prop.ensure (set.Captions.ToArray() = other.Captions.ToArray() && set.Slots = other.Slots) (fun () ->
            "two loads differ")

        Prop.ensure
            (obj.ReferenceEquals(set.Digits, source.X)
             || Tensor.toArray set.Digits = Tensor.toArray source.X)
            (fun () -> "a set is not drawn from its own split's digits")

        let n = DigitCaptions.count set
        let caps = set.Captions.ToArray()

        for i in 0 .. n - 1 do
            let slots = set.Slots.[i * 4 .. i * 4 + 3] |> Array.filter (fun s -> s >= 0)
            let expected = slots |> Array.map (fun s -> DigitCaptions.wordOf source.Y.[s])
            let row = caps.[i * 6 .. i * 6 + 5]

            Prop.ensure (slots.Length >= 1 && slots.Length <= 4 && DigitCaptions.words row = expected) (fun () ->
                $"strip {i}: caption {row} for slots {slots}")

            Prop.ensure (row.[0] = DigitCaptions.Start && row.[slots.Length + 1] = DigitCaptions.End) (fun () ->
                $"strip {i}: caption layout {row}")

        Prop.ensure (set.Offsets |> Array.forall (fun o -> abs o <= DigitCaptions.MaxOffset)) (fun () ->
            "an offset is too large")

        // A strip's ink lies where its digits are: a strip of k digits is black right of slot k (+ the offset).
        let x = DigitCaptions.images set (Array.init n id)

        for i in 0 .. n - 1 do
            let k =
                set.Slots.[i * 4 .. i * 4 + 3] |> Array.filter (fun s -> s >= 0) |> Array.length

            let limit = k * 28 + DigitCaptions.MaxOffset

            let ink =
                Seq.exists
                    (fun (r, col) -> Tensor.get [| i; 0; r; col |] x > 0.0)
                    (seq {
                        for r in 0..27 do
                            for col in limit..111 -> r, col
                    })

            Prop.ensure (not ink) (fun () -> $"strip {i} with {k} digits has ink right of pixel {limit}")

    Prop.ensure
        (a.Vocabulary.Length = 14
         && a.Vocabulary.[0] = "<NULL>"
         && a.Vocabulary.[11] = "seven")
        (fun () -> $"vocabulary {a.Vocabulary}")

[<Fact>]
let ``caption metrics: exact, per-token and BLEU on hand-worked cases`` () =
    let rows (r: int[][]) =
        Indices.FromArray(Array.concat r, r.Length, r.[0].Length)

    // Reference captions with <START>/<END>; predictions as sampled (no <START>). Words: 5 6 7 4 and 8.
    let reference = rows [| [| 1; 5; 6; 7; 4; 2 |]; [| 1; 8; 2; 0; 0; 0 |] |]
    let perfect = rows [| [| 5; 6; 7; 4; 2 |]; [| 8; 2; 0; 0; 0 |] |]
    Prop.ensure (DigitCaptions.exactAccuracy perfect reference = 1.0) (fun () -> "exact of a perfect prediction")

    for n in 1..4 do
        Prop.ensure (abs (DigitCaptions.bleu n perfect reference - 1.0) < 1e-15) (fun () ->
            $"BLEU-{n} of a perfect prediction")

    // Row 1 predicts 5 6 9 4 (one wrong word), row 2 predicts 8 8 (one word too many).
    let off = rows [| [| 5; 6; 9; 4; 2 |]; [| 8; 8; 2; 0; 0 |] |]
    Prop.ensure (DigitCaptions.exactAccuracy off reference = 0.0) (fun () -> "exact")
    // Tokens: 5 6 9 4 END against 5 6 7 4 END (4 of 5), 8 8 END against 8 END (1 of 2).
    let token = DigitCaptions.tokenAccuracy off reference
    Prop.ensure (abs (token - 5.0 / 7.0) < 1e-15) (fun () -> $"token accuracy {token}")
    // Unigrams: 3 of 4 and 1 of 2 (the second 8 is clipped); bigrams: (5,6) of (5,6) (6,9) (9,4), none of (8,8):
    // 1 of 4. c = 6 >= r = 5, no brevity penalty.
    let b2 = DigitCaptions.bleu 2 off reference
    let expected = exp (0.5 * (log (4.0 / 6.0) + log (1.0 / 4.0)))
    Prop.ensure (abs (b2 - expected) < 1e-15) (fun () -> $"BLEU-2 {b2}, expected {expected}")
    // Brevity: predicting only "5" and "8" gives unigram precision 1, c = 2 < r = 5: BLEU-1 = exp(1 − 5/2).
    let short = rows [| [| 5; 2 |]; [| 8; 2 |] |]
    let b1 = DigitCaptions.bleu 1 short reference
    Prop.ensure (abs (b1 - exp (1.0 - 2.5)) < 1e-15) (fun () -> $"BLEU-1 with brevity {b1}")
    // The only 4-gram, 5 6 9 4, does not match 5 6 7 4: BLEU-4 is 0.
    Prop.ensure (DigitCaptions.bleu 4 off reference = 0.0) (fun () -> "BLEU-4 with no 4-gram match")
    Prop.throwsWith [ "DigitCaptions.bleu"; "n must be in 1 … 4" ] (fun () -> DigitCaptions.bleu 5 off reference)

[<Fact>]
let ``centred slots undo the strips' offsets, show empty slots black with no ink, and are deterministic`` () =
    let split = DigitCaptions.loadSized 400 1 1
    let set = split.Train
    let n = DigitCaptions.count set
    let idx = Array.init n id
    let x, ink = DigitCaptions.centredSlots set idx
    let again, inkAgain = DigitCaptions.centredSlots set idx
    Prop.ensure (x.Shape |> Seq.toList = [ n * 4; 1; 28; 28 ] && ink.Length = n * 4) (fun () -> "shapes")
    Prop.ensure (x.ToArray() = again.ToArray() && ink = inkAgain) (fun () -> "two calls differ")
    // The same digits drawn without offsets: re-centring a one-digit strip gives the same image whatever its
    // offset, unless the offset pushed ink out of the strip (then the ink differs).
    let still = {
        set with
            Offsets = Array.zeroCreate set.Offsets.Length
    }

    let y, inkStill = DigitCaptions.centredSlots still idx
    let xs, ys = x.ToArray(), y.ToArray()
    let mutable compared = 0

    for i in 0 .. n - 1 do
        let digits = set.Slots.[i * 4 .. i * 4 + 3] |> Array.filter (fun s -> s >= 0)

        // A slot two or more past the last digit is black; the one right after it holds at most the last digit's
        // MaxOffset columns that spill in.
        for k in digits.Length .. 3 do
            let black = Array.forall ((=) 0.0) xs.[(i * 4 + k) * 784 .. (i * 4 + k) * 784 + 783]

            let spill = float (DigitCaptions.MaxOffset * 28) / 784.0

            Prop.ensure
                (if k > digits.Length then
                     ink.[i * 4 + k] = 0.0 && black
                 else
                     ink.[i * 4 + k] <= spill)
                (fun () -> $"strip {i}: empty slot {k} has ink {ink.[i * 4 + k]}")

        if digits.Length = 1 && abs (ink.[i * 4] - inkStill.[i * 4]) < 1e-12 then
            compared <- compared + 1

            Prop.ensure (xs.[i * 4 * 784 .. i * 4 * 784 + 783] = ys.[i * 4 * 784 .. i * 4 * 784 + 783]) (fun () ->
                let dx, dy = set.Offsets.[i * 8], set.Offsets.[i * 8 + 1]
                $"strip {i}: the digit moved by ({dx}, {dy}) re-centres to another image")

    Prop.ensure (compared >= 80) (fun () -> $"only {compared} one-digit strips compared")

[<Fact>]
let ``shifted copies: the originals first, then each digit moved by at most maxShift, the same for the same seed`` () =
    let digits = Digits.load ()
    let m = 300
    let small = Dataset.head m digits.Train
    let a = DigitCaptions.withShiftedCopies 7L 1 small
    let b = DigitCaptions.withShiftedCopies 7L 1 small
    let xa = a.X.ToArray()

    Prop.ensure
        (a.X.Shape |> Seq.toList = [ 2 * m; 1; 28; 28 ]
         && a.Y = Array.append small.Y small.Y)
        (fun () -> "shape or labels")

    Prop.ensure (xa = b.X.ToArray()) (fun () -> "the same seed gives other copies")
    let src = small.X.ToArray()
    Prop.ensure (xa.[.. m * 784 - 1] = src) (fun () -> "the originals are not first")

    let moved (i: int) dx dy =
        Array.init 784 (fun j ->
            let r, c = j / 28 - dy, j % 28 - dx

            if r >= 0 && r < 28 && c >= 0 && c < 28 then
                src.[i * 784 + r * 28 + c]
            else
                0.0)

    let shifts = Collections.Generic.HashSet<int * int>()

    for i in 0 .. m - 1 do
        let copy = xa.[(m + i) * 784 .. (m + i) * 784 + 783]

        match
            [
                for dy in -1 .. 1 do
                    for dx in -1 .. 1 -> dx, dy
            ]
            |> List.tryFind (fun (dx, dy) -> moved i dx dy = copy)
        with
        | Some s -> shifts.Add s |> ignore
        | None -> Prop.ensure false (fun () -> $"copy {i} is not the digit moved by at most a pixel")

    // Every one of the 9 offsets occurs (300 draws), so the copies are not all moved alike.
    Prop.ensure (shifts.Count = 9) (fun () -> $"only the offsets {Seq.toList shifts} occur")

    Prop.throwsWith [ "DigitCaptions.withShiftedCopies"; "maxShift" ] (fun () ->
        DigitCaptions.withShiftedCopies 7L -1 small)
