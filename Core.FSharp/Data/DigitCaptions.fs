namespace Functional.FSharp

open System
open System.Collections.Generic
open Functional

/// <summary>
/// One split of the digit-captions set: N strips, each 1–4 embedded digits side by side, and their captions. The
/// strips are drawn on demand (<c>DigitCaptions.images</c>) from the digits of one split of the embedded digits, so
/// a set costs its captions and a recipe, not N·28·112 floats.
/// </summary>
type CaptionSet = {
    /// <summary>
    /// The captions (N, T) with T = 6: <c>&lt;START&gt;</c>, one digit word per digit, <c>&lt;END&gt;</c>, then
    /// <c>&lt;NULL&gt;</c> padding (the course's layout).
    /// </summary>
    Captions: Indices
    /// <summary>The digit images the strips are drawn from (M, 1, 28, 28) in [0, 1]: one split of the embedded digits.</summary>
    Digits: Tensor
    /// <summary>For each strip and slot (N·4, row-major): the index into Digits, or -1 for an empty slot.</summary>
    Slots: int[]
    /// <summary>For each strip and slot (N·4·2, row-major): the horizontal and vertical offset in pixels, in [-2, 2].</summary>
    Offsets: int[]
}

/// <summary>The three sets of the digit-captions data and their vocabulary.</summary>
type CaptionSplit = {
    /// <summary>Strips drawn from the training digits.</summary>
    Train: CaptionSet
    /// <summary>Strips drawn from the validation digits.</summary>
    Val: CaptionSet
    /// <summary>Strips drawn from the test digits.</summary>
    Test: CaptionSet
    /// <summary>The words by index (the course's idx_to_word): &lt;NULL&gt;, &lt;START&gt;, &lt;END&gt;, &lt;UNK&gt;, zero … nine.</summary>
    Vocabulary: string[]
}

/// <summary>
/// An embedded image-captioning dataset built from the embedded digits (COCO cannot be downloaded here). Each image
/// is a strip of 28 × 112 pixels holding 1–4 digits left to right, digit i in the 28-pixel slot i, moved by a
/// seeded offset of −2 … 2 pixels in each direction, on a black background (overlaps keep the brighter pixel).
/// Its caption is the digit words in order: <c>&lt;START&gt; seven three one &lt;END&gt;</c>. The number of digits
/// is uniform in 1 … 4 and each digit is drawn uniformly, with replacement, from the digits of the matching split of
/// <c>Digits.load ()</c>, so no digit image crosses splits. Everything is generated deterministically on load.
/// </summary>
[<RequireQualifiedAccess>]
module DigitCaptions =
    /// <summary>The padding token, index 0 (the course's convention).</summary>
    [<Literal>]
    let Null = 0

    /// <summary>The token every caption starts with.</summary>
    [<Literal>]
    let Start = 1

    /// <summary>The token every caption ends with.</summary>
    [<Literal>]
    let End = 2

    /// <summary>The unknown-word token (never produced by this dataset; kept for the course's vocabulary layout).</summary>
    [<Literal>]
    let Unk = 3

    /// <summary>The most digits in a strip.</summary>
    [<Literal>]
    let MaxDigits = 4

    /// <summary>The caption length T: &lt;START&gt;, up to 4 words, &lt;END&gt;.</summary>
    [<Literal>]
    let CaptionLength = 6

    /// <summary>The strip height in pixels.</summary>
    [<Literal>]
    let Height = 28

    /// <summary>The strip width in pixels: 4 slots of 28.</summary>
    [<Literal>]
    let Width = 112

    /// <summary>The largest offset of a digit from its slot, in pixels (each direction).</summary>
    [<Literal>]
    let MaxOffset = 2

    /// <summary>The seed of the generator (strip sizes, digits and offsets).</summary>
    [<Literal>]
    let Seed = 1213L

    let private digitWords = [|
        "zero"
        "one"
        "two"
        "three"
        "four"
        "five"
        "six"
        "seven"
        "eight"
        "nine"
    |]

    /// <summary>The vocabulary, word by index: &lt;NULL&gt; = 0, &lt;START&gt; = 1, &lt;END&gt; = 2, &lt;UNK&gt; = 3, then "zero" … "nine" (digit d is 4 + d); V = 14.</summary>
    let vocabulary () =
        Array.append [| "<NULL>"; "<START>"; "<END>"; "<UNK>" |] digitWords

    /// <summary>The token of digit d (0 … 9).</summary>
    let wordOf (digit: int) = 4 + digit

    /// <summary>The number of strips in a set.</summary>
    let count (set: CaptionSet) = set.Captions.Dims.[0]

    /// <summary>
    /// Draws the strips at the given indices: (n, 1, 28, 112) in [0, 1]. Fails naming the index when one is outside
    /// [0, N).
    /// </summary>
    let images (set: CaptionSet) (indices: int[]) : Tensor =
        let n = count set
        let side = 28
        let out = Array.zeroCreate (indices.Length * Height * Width)
        let digits = set.Digits.Data

        indices
        |> Array.iteri (fun j i ->
            if i < 0 || i >= n then
                Guard.fail "DigitCaptions.images" "indices" $"indices[{j}] = {i} is out of range [0, {n})."

            for slot in 0 .. MaxDigits - 1 do
                let d = set.Slots.[i * MaxDigits + slot]

                if d >= 0 then
                    let dx = set.Offsets.[(i * MaxDigits + slot) * 2]
                    let dy = set.Offsets.[(i * MaxDigits + slot) * 2 + 1]

                    for r in 0 .. side - 1 do
                        let y = r + dy

                        if y >= 0 && y < Height then
                            for c in 0 .. side - 1 do
                                let x = slot * side + c + dx

                                if x >= 0 && x < Width then
                                    let v = digits.[(d * side + r) * side + c]
                                    let o = (j * Height + y) * Width + x

                                    if v > out.[o] then
                                        out.[o] <- v)

        Tensor.Wrap([| indices.Length; 1; Height; Width |], out)

    /// <summary>
    /// The 4 slots of each strip at the given indices as 28 × 28 images, cut from the drawn strips at x = 0, 28, 56,
    /// 84: (n·4, 1, 28, 28), strip by strip, slot by slot (an empty slot is black, bar the edges of a moved neighbour).
    /// </summary>
    let slotImages (set: CaptionSet) (indices: int[]) : Tensor =
        let strips = (images set indices).Data
        let side = 28
        let out = Array.zeroCreate (indices.Length * MaxDigits * side * side)

        for j in 0 .. indices.Length - 1 do
            for slot in 0 .. MaxDigits - 1 do
                for r in 0 .. side - 1 do
                    Array.blit
                        strips
                        ((j * Height + r) * Width + slot * side)
                        out
                        (((j * MaxDigits + slot) * side + r) * side)
                        side

        Tensor.Wrap([| indices.Length * MaxDigits; 1; side; side |], out)

    /// <summary>
    /// Where MNIST puts a digit's centre of mass in its 28 × 28 field, (x, y) = (14, 14) in pixel indices (LeCun et
    /// al.'s preprocessing; over the embedded training digits it is (14.00, 13.99)).
    /// </summary>
    [<Literal>]
    let CentreOfMass = 14.0

    /// <summary>
    /// The 4 slots of each strip at the given indices as 28 × 28 images, each re-centred as MNIST centres its
    /// digits: the centre of mass of the ink in the slot's 28 columns (all 28 rows) is rounded to a whole pixel and
    /// the 28 × 28 window cut around it, so that it lands at (<c>CentreOfMass</c>, <c>CentreOfMass</c>), the move
    /// clamped to ±(MaxOffset + 1) pixels (so that the few columns a neighbour spills into an empty slot do not drag
    /// the window onto the neighbour); pixels outside the strip are black. This undoes the strip's seeded offsets
    /// from the image alone (a digit moved by (dx, dy) comes back to where it is unmoved, bar the ink a neighbour
    /// adds or the strip's edge cuts off), which a classifier trained on centred digits needs: the three-layer
    /// convnet's accuracy falls from 95 % to 46–77 % at a 2-pixel shift. A slot with no ink is cut where it is. (n·4, 1, 28, 28), strip by strip, slot by slot; also returns the mean
    /// pixel value of each slot's own 28 × 28 window (n·4), 0 for an empty slot.
    /// </summary>
    let centredSlots (set: CaptionSet) (indices: int[]) : Tensor * float[] =
        let strips = (images set indices).Data
        let side = 28
        let out = Array.zeroCreate (indices.Length * MaxDigits * side * side)
        let ink = Array.zeroCreate (indices.Length * MaxDigits)

        for j in 0 .. indices.Length - 1 do
            for slot in 0 .. MaxDigits - 1 do
                let mutable mx = 0.0
                let mutable my = 0.0
                let mutable mass = 0.0

                for r in 0 .. side - 1 do
                    for c in 0 .. side - 1 do
                        let v = strips.[(j * Height + r) * Width + slot * side + c]
                        mx <- mx + v * float c
                        my <- my + v * float r
                        mass <- mass + v

                let shift (m: float) =
                    max -(MaxOffset + 1) (min (MaxOffset + 1) (int (Math.Round(m / mass - CentreOfMass))))

                let dx, dy = if mass > 0.0 then shift mx, shift my else 0, 0

                ink.[j * MaxDigits + slot] <- mass / float (side * side)
                let o = (j * MaxDigits + slot) * side * side

                for r in 0 .. side - 1 do
                    let y = r + dy

                    if y >= 0 && y < Height then
                        for c in 0 .. side - 1 do
                            let x = slot * side + c + dx

                            if x >= 0 && x < Width then
                                out.[o + r * side + c] <- strips.[(j * Height + y) * Width + x]

        Tensor.Wrap([| indices.Length * MaxDigits; 1; side; side |], out), ink

    /// <summary>
    /// Shift augmentation for a classifier of re-centred slots (<c>centredSlots</c> leaves a digit up to a pixel or so
    /// from where MNIST puts it): the images (M, C, H, W) followed by a copy of each moved by a seeded offset, uniform
    /// in −maxShift … maxShift pixels in each direction independently (ink moved out is lost, the uncovered border is
    /// black): 2M images, the labels repeated. The same seed gives the same copies. Fails naming the argument when
    /// maxShift is negative.
    /// </summary>
    let withShiftedCopies (seed: int64) (maxShift: int) (digits: Dataset) : Dataset =
        let fn = "DigitCaptions.withShiftedCopies"

        if maxShift < 0 then
            Guard.fail fn "maxShift" $"maxShift must be >= 0, got {maxShift}."

        let x = digits.X
        let m, ch, h, w = x.Dims.[0], x.Dims.[1], x.Dims.[2], x.Dims.[3]
        let u = (Rng.create seed).Uniforms(2 * m)
        let spread = 2 * maxShift + 1
        let src = x.Data
        let size = ch * h * w
        let out = Array.zeroCreate (2 * m * size)
        Array.blit src 0 out 0 (m * size)

        for i in 0 .. m - 1 do
            let dx = min maxShift (int (u.[2 * i] * float spread) - maxShift)
            let dy = min maxShift (int (u.[2 * i + 1] * float spread) - maxShift)

            for k in 0 .. ch - 1 do
                for r in max 0 dy .. min (h - 1) (h - 1 + dy) do
                    for c in max 0 dx .. min (w - 1) (w - 1 + dx) do
                        out.[(m + i) * size + (k * h + r) * w + c] <- src.[i * size + (k * h + r - dy) * w + c - dx]

        {
            X = Tensor.Wrap([| 2 * m; ch; h; w |], out)
            Y = Array.append digits.Y digits.Y
            Classes = digits.Classes
        }

    /// <summary>
    /// Affine augmentation for a classifier of re-centred slots (Simard et al., 2003, small distortions of MNIST
    /// digits): the images (M, C, H, W) followed by <c>copies</c> distorted copies of them (copy by copy), each image
    /// of a copy rotated by an angle uniform in ±maxDegrees, scaled by a factor uniform in 1 ± maxScale and moved by
    /// an offset uniform in ±maxShift pixels in each direction (continuous), about the point (W/2, H/2) (where MNIST
    /// puts the centre of mass), sampled bilinearly with a black surround: (copies + 1)·M images, the labels
    /// repeated. The same seed gives the same copies. Fails naming the argument when copies or a bound is negative.
    /// </summary>
    let withAffineCopies
        (seed: int64)
        (copies: int)
        (maxDegrees: float)
        (maxScale: float)
        (maxShift: float)
        (digits: Dataset)
        : Dataset =
        let fn = "DigitCaptions.withAffineCopies"

        if copies < 0 then
            Guard.fail fn "copies" $"copies must be >= 0, got {copies}."

        for arg, v in [ "maxDegrees", maxDegrees; "maxScale", maxScale; "maxShift", maxShift ] do
            if not (v >= 0.0) || Double.IsInfinity v then
                Guard.fail fn arg $"{arg} must be finite and >= 0, got {v}."

        if maxScale >= 1.0 then
            Guard.fail fn "maxScale" $"maxScale must be < 1 (the scale factor stays positive), got {maxScale}."

        let x = digits.X
        let m, ch, h, w = x.Dims.[0], x.Dims.[1], x.Dims.[2], x.Dims.[3]
        let src = x.Data
        let size = ch * h * w
        let out = Array.zeroCreate ((copies + 1) * m * size)
        Array.blit src 0 out 0 (m * size)
        let cx, cy = float w / 2.0, float h / 2.0
        let key = Rng.create seed

        for copy in 1..copies do
            let u = (key.Derive copy).Uniforms(4 * m)

            for i in 0 .. m - 1 do
                let spread (j: int) = 2.0 * u.[4 * i + j] - 1.0
                let angle = spread 0 * maxDegrees * Math.PI / 180.0
                let scale = 1.0 + spread 1 * maxScale
                let tx, ty = spread 2 * maxShift, spread 3 * maxShift
                // The inverse map: output pixel (r, c) reads the source at R(−angle)·((c, r) − centre − t) / scale + centre.
                let cs, sn = cos angle / scale, sin angle / scale

                for k in 0 .. ch - 1 do
                    let plane = i * size + k * h * w

                    let at (yy: int) (xx: int) =
                        if yy >= 0 && yy < h && xx >= 0 && xx < w then
                            src.[plane + yy * w + xx]
                        else
                            0.0

                    for r in 0 .. h - 1 do
                        for c in 0 .. w - 1 do
                            let dx = float c - cx - tx
                            let dy = float r - cy - ty
                            let sx = cs * dx + sn * dy + cx
                            let sy = -sn * dx + cs * dy + cy
                            let x0, y0 = int (floor sx), int (floor sy)
                            let fx, fy = sx - float x0, sy - float y0

                            out.[(copy * m + i) * size + k * h * w + r * w + c] <-
                                (1.0 - fy) * ((1.0 - fx) * at y0 x0 + fx * at y0 (x0 + 1))
                                + fy * ((1.0 - fx) * at (y0 + 1) x0 + fx * at (y0 + 1) (x0 + 1))

        {
            X = Tensor.Wrap([| (copies + 1) * m; ch; h; w |], out)
            Y = Array.concat (Array.create (copies + 1) digits.Y)
            Classes = digits.Classes
        }

    /// <summary>Every strip of a set: <c>images set [| 0 .. N-1 |]</c>, (N, 1, 28, 112).</summary>
    let allImages (set: CaptionSet) = images set (Array.init (count set) id)

    /// Draws n strips from the digits (M of them, labels y) with the key.
    let private generate (rng: Rng) (n: int) (digits: Dataset) : CaptionSet =
        let m = digits.Y.Length
        let u = rng.Uniforms(n * (1 + MaxDigits * 3))
        let slots = Array.create (n * MaxDigits) -1
        let offsets = Array.zeroCreate (n * MaxDigits * 2)
        let captions = Array.create (n * CaptionLength) Null
        let spread = 2 * MaxOffset + 1

        for i in 0 .. n - 1 do
            let base' = i * (1 + MaxDigits * 3)
            let k = 1 + min (MaxDigits - 1) (int (u.[base'] * float MaxDigits))
            captions.[i * CaptionLength] <- Start

            for slot in 0 .. k - 1 do
                let at = base' + 1 + slot * 3
                let d = min (m - 1) (int (u.[at] * float m))
                slots.[i * MaxDigits + slot] <- d
                offsets.[(i * MaxDigits + slot) * 2] <- min MaxOffset (int (u.[at + 1] * float spread) - MaxOffset)
                offsets.[(i * MaxDigits + slot) * 2 + 1] <- min MaxOffset (int (u.[at + 2] * float spread) - MaxOffset)
                captions.[i * CaptionLength + 1 + slot] <- wordOf digits.Y.[d]

            captions.[i * CaptionLength + 1 + k] <- End

        {
            Captions = Indices.FromArray(captions, n, CaptionLength)
            Digits = digits.X
            Slots = slots
            Offsets = offsets
        }

    /// <summary>
    /// The digit-captions data with the given numbers of training, validation and test strips (each ≥ 1), drawn
    /// from the training (8,000), validation (1,000) and test (1,000) digits of <c>Digits.load ()</c> respectively,
    /// with the fixed <c>Seed</c>: the same numbers give the same strips.
    /// </summary>
    let loadSized (numTrain: int) (numVal: int) (numTest: int) : CaptionSplit =
        Guard.positive "DigitCaptions.load" "numTrain" numTrain
        Guard.positive "DigitCaptions.load" "numVal" numVal
        Guard.positive "DigitCaptions.load" "numTest" numTest
        let digits = Digits.load ()
        let rng = Rng.create Seed

        {
            Train = generate (rng.Derive 0) numTrain digits.Train
            Val = generate (rng.Derive 1) numVal digits.Val
            Test = generate (rng.Derive 2) numTest digits.Test
            Vocabulary = vocabulary ()
        }

    /// <summary>The digit-captions data: 20,000 training, 2,000 validation and 2,000 test strips (<c>loadSized</c>).</summary>
    let load () = loadSized 20000 2000 2000

    // ---- metrics ----

    /// <summary>
    /// The words of a token row, as the metrics compare them: a leading &lt;START&gt; is skipped, reading stops at
    /// the first &lt;END&gt;, and &lt;NULL&gt; tokens are dropped. Works for captions (with &lt;START&gt;) and for
    /// sampled rows (without).
    /// </summary>
    let words (tokens: int[]) : int[] =
        let body =
            if tokens.Length > 0 && tokens.[0] = Start then
                tokens.[1..]
            else
                tokens

        body |> Array.takeWhile (fun t -> t <> End) |> Array.filter (fun t -> t <> Null)

    /// <summary>A token row as text: its words joined by spaces (e.g. "seven three one").</summary>
    let decode (vocabulary: string[]) (tokens: int[]) =
        words tokens
        |> Array.map (fun t ->
            if t >= 0 && t < vocabulary.Length then
                vocabulary.[t]
            else
                "<UNK>")
        |> String.concat " "

    let private rows (fn: string) (arg: string) (x: Indices) =
        if x.Rank <> 2 then
            Guard.fail fn arg $"expected token rows (N, T), got shape {Guard.shapeText x.Dims}."

        let n, t = x.Dims.[0], x.Dims.[1]
        Array.init n (fun i -> x.Data.[i * t .. i * t + t - 1])

    let private pairs (fn: string) (predicted: Indices) (reference: Indices) =
        let p = rows fn "predicted" predicted
        let r = rows fn "reference" reference

        if p.Length <> r.Length then
            Guard.fail fn "predicted" $"{p.Length} predicted rows for {r.Length} reference rows."

        if p.Length = 0 then
            Guard.fail fn "reference" "there are no captions to compare."

        Array.map2 (fun a b -> words a, words b) p r

    /// <summary>
    /// The fraction of captions predicted exactly: the words of the predicted row (see <c>words</c>) equal those of
    /// the reference. predicted (N, T') sampled tokens, reference (N, T) captions.
    /// </summary>
    let exactAccuracy (predicted: Indices) (reference: Indices) =
        let ps = pairs "DigitCaptions.exactAccuracy" predicted reference

        float (ps |> Array.filter (fun (p, r) -> p = r) |> Array.length)
        / float ps.Length

    /// <summary>
    /// The per-token accuracy: over every reference word and its &lt;END&gt; (k + 1 tokens for k words), the
    /// fraction whose position in the predicted words followed by &lt;END&gt; holds the same token.
    /// </summary>
    let tokenAccuracy (predicted: Indices) (reference: Indices) =
        let ps = pairs "DigitCaptions.tokenAccuracy" predicted reference
        let mutable hits = 0
        let mutable total = 0

        for p, r in ps do
            let p = Array.append p [| End |]
            let r = Array.append r [| End |]

            for j in 0 .. r.Length - 1 do
                total <- total + 1

                if j < p.Length && p.[j] = r.[j] then
                    hits <- hits + 1

        float hits / float total

    let private ngrams (n: int) (ws: int[]) =
        let counts = Dictionary<string, int>()

        for i in 0 .. ws.Length - n do
            let key = String.Join(",", ws.[i .. i + n - 1])

            counts.[key] <-
                (match counts.TryGetValue key with
                 | true, c -> c + 1
                 | _ -> 1)

        counts

    /// <summary>
    /// Corpus BLEU-n (Papineni et al., 2002) with one reference per caption, as NLTK's <c>corpus_bleu</c> with
    /// uniform weights and no smoothing: for each order k = 1 … n the modified precision p_k = Σ clipped k-gram
    /// matches / Σ predicted k-grams over the corpus; BLEU = BP · exp((1/n) Σ log p_k), with brevity penalty
    /// BP = 1 when the predicted words c are at least the reference words r (summed over the corpus), else
    /// exp(1 − r/c). Words exclude &lt;START&gt;, &lt;END&gt; and &lt;NULL&gt;. 0 when some p_k is 0 (or nothing
    /// was predicted). In [0, 1]; n in 1 … 4.
    /// </summary>
    let bleu (n: int) (predicted: Indices) (reference: Indices) =
        let fn = "DigitCaptions.bleu"

        if n < 1 || n > 4 then
            Guard.fail fn "n" $"n must be in 1 … 4, got {n}."

        let ps = pairs fn predicted reference
        let c = ps |> Array.sumBy (fun (p, _) -> p.Length)
        let r = ps |> Array.sumBy (fun (_, r) -> r.Length)

        let logPrecision k =
            let mutable matched = 0
            let mutable total = 0

            for p, rf in ps do
                let pc = ngrams k p
                let rc = ngrams k rf

                for kv in pc do
                    total <- total + kv.Value

                    matched <-
                        matched
                        + min
                            kv.Value
                            (match rc.TryGetValue kv.Key with
                             | true, v -> v
                             | _ -> 0)

            if matched = 0 || total = 0 then
                Double.NegativeInfinity
            else
                log (float matched / float total)

        if c = 0 then
            0.0
        else
            let logs = Array.init n (fun k -> logPrecision (k + 1))

            if Array.exists Double.IsNegativeInfinity logs then
                0.0
            else
                let bp = if c >= r then 1.0 else exp (1.0 - float r / float c)
                bp * exp (Array.average logs)
