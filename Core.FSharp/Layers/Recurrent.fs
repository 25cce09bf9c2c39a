namespace Functional

/// <summary>What the vanilla RNN sequence forward pass keeps for its backward pass (opaque).</summary>
type RnnCache = internal {
    X: Tensor
    H0: Tensor
    Wx: Tensor
    Wh: Tensor
    /// The hidden states (N, T, H), row-major: the forward's output data.
    Hs: float[]
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>Gradients of the vanilla RNN over a sequence.</summary>
type RnnGrads = {
    /// <summary>Gradient with respect to the inputs x, shape (N, T, D).</summary>
    Dx: Tensor
    /// <summary>Gradient with respect to the initial hidden state h0, shape (N, H).</summary>
    Dh0: Tensor
    /// <summary>Gradient with respect to the input-to-hidden weights Wx, shape (D, H).</summary>
    DWx: Tensor
    /// <summary>Gradient with respect to the hidden-to-hidden weights Wh, shape (H, H).</summary>
    DWh: Tensor
    /// <summary>Gradient with respect to the bias b, shape (H,).</summary>
    Db: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the vanilla RNN step forward pass keeps for its backward pass (opaque).</summary>
type RnnStepCache = internal {
    Sequence: RnnCache
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>Gradients of one vanilla RNN step.</summary>
type RnnStepGrads = {
    /// <summary>Gradient with respect to the input x, shape (N, D).</summary>
    Dx: Tensor
    /// <summary>Gradient with respect to the previous hidden state prev_h, shape (N, H).</summary>
    DprevH: Tensor
    /// <summary>Gradient with respect to Wx, shape (D, H).</summary>
    DWx: Tensor
    /// <summary>Gradient with respect to Wh, shape (H, H).</summary>
    DWh: Tensor
    /// <summary>Gradient with respect to b, shape (H,).</summary>
    Db: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the LSTM sequence forward pass keeps for its backward pass (opaque).</summary>
type LstmCache = internal {
    X: Tensor
    H0: Tensor
    /// The initial cell state (N, H): zeros for a sequence, prev_c for a step.
    C0: float[]
    Wx: Tensor
    Wh: Tensor
    /// The activated gates (N, T, 4H) in the course's order i, f, o, g.
    Gates: float[]
    /// The cell states (N, T, H).
    C: float[]
    /// tanh of the cell states (N, T, H).
    Tc: float[]
    /// The hidden states (N, T, H).
    Hs: float[]
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>Gradients of the LSTM over a sequence (the initial cell state is 0 and gets no gradient).</summary>
type LstmGrads = {
    /// <summary>Gradient with respect to x, shape (N, T, D).</summary>
    Dx: Tensor
    /// <summary>Gradient with respect to h0, shape (N, H).</summary>
    Dh0: Tensor
    /// <summary>Gradient with respect to Wx, shape (D, 4H).</summary>
    DWx: Tensor
    /// <summary>Gradient with respect to Wh, shape (H, 4H).</summary>
    DWh: Tensor
    /// <summary>Gradient with respect to b, shape (4H,).</summary>
    Db: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the LSTM step forward pass keeps for its backward pass (opaque).</summary>
type LstmStepCache = internal {
    Sequence: LstmCache
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>Gradients of one LSTM step.</summary>
type LstmStepGrads = {
    /// <summary>Gradient with respect to x, shape (N, D).</summary>
    Dx: Tensor
    /// <summary>Gradient with respect to prev_h, shape (N, H).</summary>
    DprevH: Tensor
    /// <summary>Gradient with respect to prev_c, shape (N, H).</summary>
    DprevC: Tensor
    /// <summary>Gradient with respect to Wx, shape (D, 4H).</summary>
    DWx: Tensor
    /// <summary>Gradient with respect to Wh, shape (H, 4H).</summary>
    DWh: Tensor
    /// <summary>Gradient with respect to b, shape (4H,).</summary>
    Db: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the GRU sequence forward pass keeps for its backward pass (opaque).</summary>
type GruCache = internal {
    X: Tensor
    H0: Tensor
    Wx: Tensor
    Wh: Tensor
    /// The activated gates (N, T, 3H) in PyTorch's order r, z, n.
    Gates: float[]
    /// h_{t-1}·Wh + bh (N, T, 3H); its n part (W_hn h + b_hn) is what r multiplies.
    Gh: float[]
    /// The hidden states (N, T, H).
    Hs: float[]
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>Gradients of the GRU over a sequence.</summary>
type GruGrads = {
    /// <summary>Gradient with respect to x, shape (N, T, D).</summary>
    Dx: Tensor
    /// <summary>Gradient with respect to h0, shape (N, H).</summary>
    Dh0: Tensor
    /// <summary>Gradient with respect to Wx, shape (D, 3H).</summary>
    DWx: Tensor
    /// <summary>Gradient with respect to Wh, shape (H, 3H).</summary>
    DWh: Tensor
    /// <summary>Gradient with respect to the input bias bx (PyTorch's bias_ih), shape (3H,).</summary>
    Dbx: Tensor
    /// <summary>Gradient with respect to the hidden bias bh (PyTorch's bias_hh), shape (3H,).</summary>
    Dbh: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>What the GRU step forward pass keeps for its backward pass (opaque).</summary>
type GruStepCache = internal {
    Sequence: GruCache
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

/// <summary>Gradients of one GRU step.</summary>
type GruStepGrads = {
    /// <summary>Gradient with respect to x, shape (N, D).</summary>
    Dx: Tensor
    /// <summary>Gradient with respect to prev_h, shape (N, H).</summary>
    DprevH: Tensor
    /// <summary>Gradient with respect to Wx, shape (D, 3H).</summary>
    DWx: Tensor
    /// <summary>Gradient with respect to Wh, shape (H, 3H).</summary>
    DWh: Tensor
    /// <summary>Gradient with respect to bx, shape (3H,).</summary>
    Dbx: Tensor
    /// <summary>Gradient with respect to bh, shape (3H,).</summary>
    Dbh: Tensor
} with

    /// <summary>In C# record notation on one line (see Display.record).</summary>
    override r.ToString() = Display.record r

namespace Functional.FSharp

open System
open System.Numerics.Tensors
open Functional
open Functional.Kernels

/// Argument checks and the products shared by the three cells. Every cell runs on the (N, T, ·) layout: a step
/// is a sequence of length 1. The input projection of all T steps is one product (N·T, D)·(D, K·H); each step adds
/// its recurrent product h_{t-1}·Wh in place (strided rows, leading dimension T·K·H); the backward gathers the
/// gate gradients of all steps and computes dx, dWx and dWh as one product each.
module internal RecurrentKernels =
    let expectShape (fn: string) (arg: string) (names: string) (expected: int[]) (t: Tensor) =
        Guard.notNull fn arg t

        if t.Dims <> expected then
            Guard.fail
                fn
                arg
                $"{arg} must have shape {names} = {Guard.shapeText expected}, got {Guard.shapeText t.Dims}."

    /// Checks x (rank 3 for a sequence, 2 for a step), the hidden state (N, H), Wx (D, K·H), Wh (H, K·H) and the
    /// biases (K·H,); returns N, T, D, H (T = 1 for a step).
    let check
        (fn: string)
        (gates: int)
        (step: bool)
        (x: Tensor)
        (hArg: string)
        (h0: Tensor)
        (wx: Tensor)
        (wh: Tensor)
        (biases: (string * Tensor) list)
        =
        Guard.notNull fn "x" x
        Guard.notNull fn hArg h0
        Guard.rank fn "x" (if step then 2 else 3) x.Dims
        Guard.rank fn hArg 2 h0.Dims
        let n = x.Dims.[0]
        let t = if step then 1 else x.Dims.[1]
        let d = x.Dims.[x.Rank - 1]
        let h = h0.Dims.[1]

        if h0.Dims.[0] <> n then
            Guard.fail
                fn
                hArg
                $"{hArg} must have shape (N, H) with N = {n} (the batch of x {Guard.shapeText x.Dims}), got {Guard.shapeText h0.Dims}."

        let kh = if gates = 1 then "H" else $"{gates}H"
        expectShape fn "wx" $"(D, {kh})" [| d; gates * h |] wx
        expectShape fn "wh" $"(H, {kh})" [| h; gates * h |] wh

        for name, b in biases do
            expectShape fn name $"({kh},)" [| gates * h |] b

        // The largest buffer: the gates of every step, (N·T, K·H) (the hidden states are (N, T, H)).
        Guard.fits
            fn
            hArg
            $"the gates (N·T, {kh}) of x {Guard.shapeText x.Dims}"
            (Guard.product64 [ int64 n; int64 t; int64 gates; int64 h ])
        |> ignore

        n, t, d, h

    /// The upstream gradient of a sequence (N, T, H) or of a step (N, H).
    let checkUpstream (fn: string) (arg: string) (step: bool) (n: int) (t: int) (h: int) (dh: Tensor) =
        if step then
            expectShape fn arg "(N, H)" [| n; h |] dh
        else
            expectShape fn arg "(N, T, H)" [| n; t; h |] dh

    /// x·Wx + b for all steps at once: (N·T, K) row-major, the rows in (n, t) order.
    let inputProjection (x: float[]) (nt: int) (d: int) (wx: float[]) (b: float[]) (k: int) =
        let g = GC.AllocateUninitializedArray(nt * k)

        for r in 0 .. nt - 1 do
            Array.Copy(b, 0, g, r * k, k)

        Gemm.run false false nt k d x 0 wx 0 g 0 true
        g

    /// g[:, t, :] (+)= h_{t-1}·Wh, where h_{t-1} is h0 (N, H) at t = 0, else hs[:, t-1, :] of hs (N, T, H).
    let recurrentProduct
        (n: int)
        (tt: int)
        (h: int)
        (k: int)
        (h0: float[])
        (hs: float[])
        (wh: float[])
        (g: float[])
        (t: int)
        (accumulate: bool)
        =
        if t = 0 then
            Gemm.runLd false false n k h h0 0 h wh 0 k g (t * k) (tt * k) accumulate
        else
            Gemm.runLd false false n k h hs ((t - 1) * h) (tt * h) wh 0 k g (t * k) (tt * k) accumulate

    /// dnext (N, H) (+)= dg[:, t, :]·Whᵀ, dg being (N, T, K).
    let recurrentBackProduct
        (n: int)
        (tt: int)
        (h: int)
        (k: int)
        (dg: float[])
        (t: int)
        (wh: float[])
        (dnext: float[])
        (accumulate: bool)
        =
        Gemm.runLd false true n h k dg (t * k) (tt * k) wh 0 k dnext 0 h accumulate

    /// The previous hidden state of every step: (N, T, H) with row (n, 0) = h0[n], row (n, t) = hs[n, t-1].
    let shifted (n: int) (tt: int) (h: int) (h0: float[]) (hs: float[]) =
        let p = GC.AllocateUninitializedArray(n * tt * h)

        for i in 0 .. n - 1 do
            Array.Copy(h0, i * h, p, i * tt * h, h)

            if tt > 1 then
                Array.Copy(hs, i * tt * h, p, (i * tt + 1) * h, (tt - 1) * h)

        p

    /// The sums of the columns of a rows × cols matrix.
    let columnSums (a: float[]) (rows: int) (cols: int) =
        let s = Array.zeroCreate cols

        for r in 0 .. rows - 1 do
            TensorPrimitives.Add(ReadOnlySpan s, ReadOnlySpan(a, r * cols, cols), Span s)

        s

    /// dx = dG·Wxᵀ (N·T, D) and dWx = xᵀ·dG (D, K), one product each over all steps.
    let inputGrads (x: float[]) (nt: int) (d: int) (k: int) (wx: float[]) (dg: float[]) =
        let dx = GC.AllocateUninitializedArray(nt * d)
        Gemm.run false true nt d k dg 0 wx 0 dx 0 false
        let dwx = GC.AllocateUninitializedArray(d * k)
        Gemm.run true false d k nt x 0 dg 0 dwx 0 false
        dx, dwx

    /// dWh = Σ_t h_{t-1}ᵀ·dG_t (H, K) as one product over all steps.
    let recurrentWeightGrad (n: int) (tt: int) (h: int) (k: int) (h0: float[]) (hs: float[]) (dg: float[]) =
        let prev = shifted n tt h h0 hs
        let dwh = GC.AllocateUninitializedArray(h * k)
        Gemm.run true false h k (n * tt) prev 0 dg 0 dwh 0 false
        dwh

    /// The step's input (N, D) as a sequence of length 1 (N, 1, D) (same data, no copy).
    let asSequence (x: Tensor) =
        Tensor.Wrap([| x.Dims.[0]; 1; x.Dims.[1] |], x.Data)

    /// The data of an (N, T, H) tensor, or of an (N, H) one seen as (N, 1, H).
    let asMatrix (n: int) (h: int) (data: float[]) = Tensor.Wrap([| n; h |], data)

/// <summary>
/// The vanilla (Elman) RNN with tanh, in cs231n's shapes (assignment 3, <c>rnn_layers.py</c>):
/// next_h = tanh(x·Wx + prev_h·Wh + b), with x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,).
/// PyTorch's <c>nn.RNN</c> is the same cell with weight_ih = Wxᵀ, weight_hh = Whᵀ and b = bias_ih + bias_hh.
/// </summary>
[<RequireQualifiedAccess>]
module Rnn =
    open RecurrentKernels

    let private run (x: Tensor) (h0: Tensor) (wx: Tensor) (wh: Tensor) (b: Tensor) (n, tt, d, h) : RnnCache =
        let hs = inputProjection x.Data (n * tt) d wx.Data b.Data h

        for t in 0 .. tt - 1 do
            recurrentProduct n tt h h h0.Data hs wh.Data hs t true

            for i in 0 .. n - 1 do
                let o = (i * tt + t) * h
                TensorPrimitives.Tanh(ReadOnlySpan(hs, o, h), Span(hs, o, h))

        {
            X = x
            H0 = h0
            Wx = wx
            Wh = wh
            Hs = hs
        }

    /// dh (N, T, H) upstream → the five gradients; dh of a step is (N, 1, H).
    let private grads (dh: float[]) (c: RnnCache) =
        let n, tt, d = c.X.Dims.[0], c.X.Dims.[1], c.X.Dims.[2]
        let h = c.H0.Dims.[1]
        let da = GC.AllocateUninitializedArray(n * tt * h)
        let dnext = Array.zeroCreate (n * h)

        for t in tt - 1 .. -1 .. 0 do
            for i in 0 .. n - 1 do
                let o = (i * tt + t) * h

                for j in 0 .. h - 1 do
                    let hv = c.Hs.[o + j]
                    da.[o + j] <- (dh.[o + j] + dnext.[i * h + j]) * (1.0 - hv * hv)

            recurrentBackProduct n tt h h da t c.Wh.Data dnext false

        let dx, dwx = inputGrads c.X.Data (n * tt) d h c.Wx.Data da

        {|
            Dx = dx
            Dh0 = dnext
            DWx = dwx
            DWh = recurrentWeightGrad n tt h h c.H0.Data c.Hs da
            Db = columnSums da (n * tt) h
        |}

    /// <summary>
    /// Forward pass over a sequence: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,) → h (N, T, H), the hidden
    /// state of every step (h[:, t] = tanh(x[:, t]·Wx + h[:, t-1]·Wh + b), h[:, -1] = h0), and the cache.
    /// </summary>
    /// <exception cref="System.ArgumentException">A rank or a size does not fit (N, T, D, H).</exception>
    let forward (x: Tensor) (h0: Tensor) (wx: Tensor) (wh: Tensor) (b: Tensor) : Tensor * RnnCache =
        let n, tt, d, h = check "Rnn.forward" 1 false x "h0" h0 wx wh [ "b", b ]
        let c = run x h0 wx wh b (n, tt, d, h)
        Tensor.Wrap([| n; tt; h |], c.Hs), c

    /// <summary>
    /// Backward pass over a sequence: dh (N, T, H), the upstream gradient of every hidden state (none flows into the
    /// last state from later steps) → dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).
    /// </summary>
    let backward (dh: Tensor) (cache: RnnCache) : RnnGrads =
        let n, tt, h = cache.X.Dims.[0], cache.X.Dims.[1], cache.H0.Dims.[1]
        checkUpstream "Rnn.backward" "dh" false n tt h dh
        let g = grads dh.Data cache

        {
            Dx = Tensor.Wrap(Array.copy cache.X.Dims, g.Dx)
            Dh0 = asMatrix n h g.Dh0
            DWx = Tensor.Wrap(Array.copy cache.Wx.Dims, g.DWx)
            DWh = Tensor.Wrap(Array.copy cache.Wh.Dims, g.DWh)
            Db = Tensor.Wrap([| h |], g.Db)
        }

    /// <summary>
    /// Forward pass of one step: x (N, D), prevH (N, H), Wx (D, H), Wh (H, H), b (H,) →
    /// next_h = tanh(x·Wx + prev_h·Wh + b) (N, H), and the cache.
    /// </summary>
    /// <exception cref="System.ArgumentException">A rank or a size does not fit (N, D, H).</exception>
    let stepForward (x: Tensor) (prevH: Tensor) (wx: Tensor) (wh: Tensor) (b: Tensor) : Tensor * RnnStepCache =
        let n, _, d, h = check "Rnn.stepForward" 1 true x "prevH" prevH wx wh [ "b", b ]
        let c = run (asSequence x) prevH wx wh b (n, 1, d, h)
        asMatrix n h c.Hs, { Sequence = c }

    /// <summary>Backward pass of one step: dnextH (N, H) → dx (N, D), dprev_h (N, H), dWx, dWh, db.</summary>
    let stepBackward (dnextH: Tensor) (cache: RnnStepCache) : RnnStepGrads =
        let c = cache.Sequence
        let n, d, h = c.X.Dims.[0], c.X.Dims.[2], c.H0.Dims.[1]
        checkUpstream "Rnn.stepBackward" "dnextH" true n 1 h dnextH
        let g = grads dnextH.Data c

        {
            Dx = asMatrix n d g.Dx
            DprevH = asMatrix n h g.Dh0
            DWx = Tensor.Wrap(Array.copy c.Wx.Dims, g.DWx)
            DWh = Tensor.Wrap(Array.copy c.Wh.Dims, g.DWh)
            Db = Tensor.Wrap([| h |], g.Db)
        }

/// <summary>
/// The LSTM in cs231n's shapes and gate order (assignment 3): with a = x·Wx + prev_h·Wh + b (N, 4H) split into four
/// blocks of H columns in the order <b>i, f, o, g</b>: i = σ(a_i), f = σ(a_f), o = σ(a_o), g = tanh(a_g);
/// next_c = f ⊙ prev_c + i ⊙ g, next_h = o ⊙ tanh(next_c). Wx (D, 4H), Wh (H, 4H), b (4H,).
/// PyTorch's <c>nn.LSTM</c> orders the blocks <b>i, f, g, o</b> and stores weight_ih (4H, D) = Wxᵀ, weight_hh
/// (4H, H) = Whᵀ and two biases (b = bias_ih + bias_hh); <see cref="M:Functional.FSharp.Lstm.swapGateOrder"/> and
/// <see cref="M:Functional.FSharp.Lstm.ofPyTorch"/> convert. Over a sequence the initial cell state is 0, as in the
/// course.
/// </summary>
[<RequireQualifiedAccess>]
module Lstm =
    open RecurrentKernels

    let private run (x: Tensor) (h0: Tensor) (c0: float[]) (wx: Tensor) (wh: Tensor) (b: Tensor) (n, tt, d, h) =
        let k = 4 * h
        let gates = inputProjection x.Data (n * tt) d wx.Data b.Data k
        let cs = GC.AllocateUninitializedArray(n * tt * h)
        let tc = GC.AllocateUninitializedArray(n * tt * h)
        let hs = GC.AllocateUninitializedArray(n * tt * h)

        for t in 0 .. tt - 1 do
            recurrentProduct n tt h k h0.Data hs wh.Data gates t true

            for i in 0 .. n - 1 do
                let g0 = (i * tt + t) * k
                let o = (i * tt + t) * h
                TensorPrimitives.Sigmoid(ReadOnlySpan(gates, g0, 3 * h), Span(gates, g0, 3 * h))
                TensorPrimitives.Tanh(ReadOnlySpan(gates, g0 + 3 * h, h), Span(gates, g0 + 3 * h, h))
                let prev, po = if t = 0 then c0, i * h else cs, o - h

                for j in 0 .. h - 1 do
                    cs.[o + j] <- gates.[g0 + h + j] * prev.[po + j] + gates.[g0 + j] * gates.[g0 + 3 * h + j]

                TensorPrimitives.Tanh(ReadOnlySpan(cs, o, h), Span(tc, o, h))
                TensorPrimitives.Multiply(ReadOnlySpan(gates, g0 + 2 * h, h), ReadOnlySpan(tc, o, h), Span(hs, o, h))

        {
            X = x
            H0 = h0
            C0 = c0
            Wx = wx
            Wh = wh
            Gates = gates
            C = cs
            Tc = tc
            Hs = hs
        }

    /// dh (N, T, H) upstream of every hidden state, dcLast (N, H) upstream of the last cell state.
    let private grads (dh: float[]) (dcLast: float[]) (c: LstmCache) =
        let n, tt, d = c.X.Dims.[0], c.X.Dims.[1], c.X.Dims.[2]
        let h = c.H0.Dims.[1]
        let k = 4 * h
        let da = GC.AllocateUninitializedArray(n * tt * k)
        let dnh = Array.zeroCreate (n * h)
        let dnc = Array.copy dcLast
        let gates = c.Gates

        for t in tt - 1 .. -1 .. 0 do
            for i in 0 .. n - 1 do
                let g0 = (i * tt + t) * k
                let o = (i * tt + t) * h
                let prev, po = if t = 0 then c.C0, i * h else c.C, o - h

                for j in 0 .. h - 1 do
                    let ig = gates.[g0 + j]
                    let fg = gates.[g0 + h + j]
                    let og = gates.[g0 + 2 * h + j]
                    let gg = gates.[g0 + 3 * h + j]
                    let tcv = c.Tc.[o + j]
                    let dhv = dh.[o + j] + dnh.[i * h + j]
                    let dc = dnc.[i * h + j] + dhv * og * (1.0 - tcv * tcv)
                    da.[g0 + j] <- dc * gg * ig * (1.0 - ig)
                    da.[g0 + h + j] <- dc * prev.[po + j] * fg * (1.0 - fg)
                    da.[g0 + 2 * h + j] <- dhv * tcv * og * (1.0 - og)
                    da.[g0 + 3 * h + j] <- dc * ig * (1.0 - gg * gg)
                    dnc.[i * h + j] <- dc * fg

            recurrentBackProduct n tt h k da t c.Wh.Data dnh false

        let dx, dwx = inputGrads c.X.Data (n * tt) d k c.Wx.Data da

        {|
            Dx = dx
            Dh0 = dnh
            Dc0 = dnc
            DWx = dwx
            DWh = recurrentWeightGrad n tt h k c.H0.Data c.Hs da
            Db = columnSums da (n * tt) k
        |}

    /// <summary>
    /// Forward pass over a sequence: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) → h (N, T, H), the
    /// hidden state of every step, and the cache. The initial cell state is 0 (the course's convention).
    /// </summary>
    /// <exception cref="System.ArgumentException">A rank or a size does not fit (N, T, D, H).</exception>
    let forward (x: Tensor) (h0: Tensor) (wx: Tensor) (wh: Tensor) (b: Tensor) : Tensor * LstmCache =
        let n, tt, d, h = check "Lstm.forward" 4 false x "h0" h0 wx wh [ "b", b ]
        let c = run x h0 (Array.zeroCreate (n * h)) wx wh b (n, tt, d, h)
        Tensor.Wrap([| n; tt; h |], c.Hs), c

    /// <summary>
    /// Backward pass over a sequence: dh (N, T, H), the upstream gradient of every hidden state → dx (N, T, D),
    /// dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    /// </summary>
    let backward (dh: Tensor) (cache: LstmCache) : LstmGrads =
        let n, tt, h = cache.X.Dims.[0], cache.X.Dims.[1], cache.H0.Dims.[1]
        checkUpstream "Lstm.backward" "dh" false n tt h dh
        let g = grads dh.Data (Array.zeroCreate (n * h)) cache

        {
            Dx = Tensor.Wrap(Array.copy cache.X.Dims, g.Dx)
            Dh0 = asMatrix n h g.Dh0
            DWx = Tensor.Wrap(Array.copy cache.Wx.Dims, g.DWx)
            DWh = Tensor.Wrap(Array.copy cache.Wh.Dims, g.DWh)
            Db = Tensor.Wrap([| 4 * h |], g.Db)
        }

    /// <summary>
    /// Forward pass of one step: x (N, D), prevH (N, H), prevC (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,) →
    /// next_h (N, H), next_c (N, H) and the cache.
    /// </summary>
    /// <exception cref="System.ArgumentException">A rank or a size does not fit (N, D, H).</exception>
    let stepForward
        (x: Tensor)
        (prevH: Tensor)
        (prevC: Tensor)
        (wx: Tensor)
        (wh: Tensor)
        (b: Tensor)
        : Tensor * Tensor * LstmStepCache =
        let fn = "Lstm.stepForward"
        let n, _, d, h = check fn 4 true x "prevH" prevH wx wh [ "b", b ]
        expectShape fn "prevC" "(N, H)" [| n; h |] prevC
        let c = run (asSequence x) prevH prevC.Data wx wh b (n, 1, d, h)
        asMatrix n h c.Hs, asMatrix n h c.C, { Sequence = c }

    /// <summary>
    /// Backward pass of one step: dnextH (N, H) and dnextC (N, H) → dx (N, D), dprev_h (N, H), dprev_c (N, H), dWx,
    /// dWh, db.
    /// </summary>
    let stepBackward (dnextH: Tensor) (dnextC: Tensor) (cache: LstmStepCache) : LstmStepGrads =
        let c = cache.Sequence
        let n, d, h = c.X.Dims.[0], c.X.Dims.[2], c.H0.Dims.[1]
        checkUpstream "Lstm.stepBackward" "dnextH" true n 1 h dnextH
        checkUpstream "Lstm.stepBackward" "dnextC" true n 1 h dnextC
        let g = grads dnextH.Data dnextC.Data c

        {
            Dx = asMatrix n d g.Dx
            DprevH = asMatrix n h g.Dh0
            DprevC = asMatrix n h g.Dc0
            DWx = Tensor.Wrap(Array.copy c.Wx.Dims, g.DWx)
            DWh = Tensor.Wrap(Array.copy c.Wh.Dims, g.DWh)
            Db = Tensor.Wrap([| 4 * h |], g.Db)
        }

    /// <summary>
    /// Swaps the third and fourth blocks of H along the last axis (size 4H) of an LSTM weight or bias: converts
    /// the course's gate order i, f, o, g to PyTorch's i, f, g, o, and back (the swap is its own inverse).
    /// </summary>
    /// <exception cref="System.ArgumentException">The last axis is missing or not a multiple of 4.</exception>
    let swapGateOrder (w: Tensor) : Tensor =
        Guard.notNull "Lstm.swapGateOrder" "w" w

        if w.Rank < 1 || w.Dims.[w.Rank - 1] % 4 <> 0 then
            Guard.fail
                "Lstm.swapGateOrder"
                "w"
                $"w must have a last axis of size 4H, got shape {Guard.shapeText w.Dims}."

        let k = w.Dims.[w.Rank - 1]
        let h = k / 4
        let src = w.Data
        let dst = Array.copy src

        for r in 0 .. (if k = 0 then 0 else src.Length / k) - 1 do
            Array.Copy(src, r * k + 2 * h, dst, r * k + 3 * h, h)
            Array.Copy(src, r * k + 3 * h, dst, r * k + 2 * h, h)

        Tensor.Wrap(Array.copy w.Dims, dst)

    /// <summary>
    /// The course's (Wx (D, 4H), Wh (H, 4H), b (4H,)), gate order i, f, o, g, from PyTorch's <c>nn.LSTM</c>
    /// parameters weight_ih_l0 (4H, D), weight_hh_l0 (4H, H), bias_ih_l0 (4H,), bias_hh_l0 (4H,), gate order
    /// i, f, g, o: Wx = swap(weight_ihᵀ), Wh = swap(weight_hhᵀ), b = swap(bias_ih + bias_hh).
    /// </summary>
    /// <exception cref="System.ArgumentException">The shapes do not fit (4H, D), (4H, H), (4H,), (4H,).</exception>
    let ofPyTorch (weightIh: Tensor) (weightHh: Tensor) (biasIh: Tensor) (biasHh: Tensor) : Tensor * Tensor * Tensor =
        let fn = "Lstm.ofPyTorch"
        Guard.notNull fn "weightIh" weightIh
        Guard.rank fn "weightIh" 2 weightIh.Dims
        let k = weightIh.Dims.[0]

        if k % 4 <> 0 then
            Guard.fail fn "weightIh" $"weightIh must have shape (4H, D), got {Guard.shapeText weightIh.Dims}."

        expectShape fn "weightHh" "(4H, H)" [| k; k / 4 |] weightHh
        expectShape fn "biasIh" "(4H,)" [| k |] biasIh
        expectShape fn "biasHh" "(4H,)" [| k |] biasHh
        swapGateOrder (weightIh.Transpose()), swapGateOrder (weightHh.Transpose()), swapGateOrder (biasIh + biasHh)

/// <summary>
/// The GRU with PyTorch's equations (<c>nn.GRU</c>; beyond the course). With gx = x·Wx + bx and gh = prev_h·Wh + bh
/// (N, 3H), each split into three blocks of H columns in PyTorch's order <b>r, z, n</b>:
/// r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r ⊙ gh_n), next_h = (1 − z) ⊙ n + z ⊙ prev_h.
/// Bias convention: PyTorch's two biases, kept separate — bx (3H,) is bias_ih and bh (3H,) is bias_hh; they are
/// not interchangeable, since b_hn sits inside r ⊙ (W_hn·h + b_hn). Wx (D, 3H) = weight_ihᵀ, Wh (H, 3H) =
/// weight_hhᵀ, so PyTorch's parameters load with a transpose and nothing else.
/// </summary>
[<RequireQualifiedAccess>]
module Gru =
    open RecurrentKernels

    let private run (x: Tensor) (h0: Tensor) (wx: Tensor) (wh: Tensor) (bx: Tensor) (bh: Tensor) (n, tt, d, h) =
        let k = 3 * h
        let gates = inputProjection x.Data (n * tt) d wx.Data bx.Data k
        let gh = GC.AllocateUninitializedArray(n * tt * k)
        let hs = GC.AllocateUninitializedArray(n * tt * h)

        for r in 0 .. n * tt - 1 do
            Array.Copy(bh.Data, 0, gh, r * k, k)

        for t in 0 .. tt - 1 do
            recurrentProduct n tt h k h0.Data hs wh.Data gh t true

            for i in 0 .. n - 1 do
                let g0 = (i * tt + t) * k
                let o = (i * tt + t) * h

                TensorPrimitives.Add(
                    ReadOnlySpan(gates, g0, 2 * h),
                    ReadOnlySpan(gh, g0, 2 * h),
                    Span(gates, g0, 2 * h)
                )

                TensorPrimitives.Sigmoid(ReadOnlySpan(gates, g0, 2 * h), Span(gates, g0, 2 * h))

                for j in 0 .. h - 1 do
                    gates.[g0 + 2 * h + j] <- gates.[g0 + 2 * h + j] + gates.[g0 + j] * gh.[g0 + 2 * h + j]

                TensorPrimitives.Tanh(ReadOnlySpan(gates, g0 + 2 * h, h), Span(gates, g0 + 2 * h, h))
                let prev, po = if t = 0 then h0.Data, i * h else hs, o - h

                for j in 0 .. h - 1 do
                    let z = gates.[g0 + h + j]
                    hs.[o + j] <- (1.0 - z) * gates.[g0 + 2 * h + j] + z * prev.[po + j]

        {
            X = x
            H0 = h0
            Wx = wx
            Wh = wh
            Gates = gates
            Gh = gh
            Hs = hs
        }

    let private grads (dh: float[]) (c: GruCache) =
        let n, tt, d = c.X.Dims.[0], c.X.Dims.[1], c.X.Dims.[2]
        let h = c.H0.Dims.[1]
        let k = 3 * h
        let dgx = GC.AllocateUninitializedArray(n * tt * k)
        let dgh = GC.AllocateUninitializedArray(n * tt * k)
        let dnext = Array.zeroCreate (n * h)
        let gates, gh = c.Gates, c.Gh

        for t in tt - 1 .. -1 .. 0 do
            for i in 0 .. n - 1 do
                let g0 = (i * tt + t) * k
                let o = (i * tt + t) * h
                let prev, po = if t = 0 then c.H0.Data, i * h else c.Hs, o - h

                for j in 0 .. h - 1 do
                    let r = gates.[g0 + j]
                    let z = gates.[g0 + h + j]
                    let nv = gates.[g0 + 2 * h + j]
                    let dhv = dh.[o + j] + dnext.[i * h + j]
                    let dan = dhv * (1.0 - z) * (1.0 - nv * nv)
                    let daz = dhv * (prev.[po + j] - nv) * z * (1.0 - z)
                    let dar = dan * gh.[g0 + 2 * h + j] * r * (1.0 - r)
                    dgx.[g0 + j] <- dar
                    dgx.[g0 + h + j] <- daz
                    dgx.[g0 + 2 * h + j] <- dan
                    dgh.[g0 + j] <- dar
                    dgh.[g0 + h + j] <- daz
                    dgh.[g0 + 2 * h + j] <- dan * r
                    // The direct path next_h = … + z ⊙ prev_h; the product through Wh is added below.
                    dnext.[i * h + j] <- dhv * z

            recurrentBackProduct n tt h k dgh t c.Wh.Data dnext true

        let dx, dwx = inputGrads c.X.Data (n * tt) d k c.Wx.Data dgx

        {|
            Dx = dx
            Dh0 = dnext
            DWx = dwx
            DWh = recurrentWeightGrad n tt h k c.H0.Data c.Hs dgh
            Dbx = columnSums dgx (n * tt) k
            Dbh = columnSums dgh (n * tt) k
        |}

    /// <summary>
    /// Forward pass over a sequence: x (N, T, D), h0 (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,) →
    /// h (N, T, H), the hidden state of every step, and the cache.
    /// </summary>
    /// <exception cref="System.ArgumentException">A rank or a size does not fit (N, T, D, H).</exception>
    let forward (x: Tensor) (h0: Tensor) (wx: Tensor) (wh: Tensor) (bx: Tensor) (bh: Tensor) : Tensor * GruCache =
        let n, tt, d, h = check "Gru.forward" 3 false x "h0" h0 wx wh [ "bx", bx; "bh", bh ]
        let c = run x h0 wx wh bx bh (n, tt, d, h)
        Tensor.Wrap([| n; tt; h |], c.Hs), c

    /// <summary>
    /// Backward pass over a sequence: dh (N, T, H) → dx (N, T, D), dh0 (N, H), dWx (D, 3H), dWh (H, 3H), dbx (3H,),
    /// dbh (3H,).
    /// </summary>
    let backward (dh: Tensor) (cache: GruCache) : GruGrads =
        let n, tt, h = cache.X.Dims.[0], cache.X.Dims.[1], cache.H0.Dims.[1]
        checkUpstream "Gru.backward" "dh" false n tt h dh
        let g = grads dh.Data cache

        {
            Dx = Tensor.Wrap(Array.copy cache.X.Dims, g.Dx)
            Dh0 = asMatrix n h g.Dh0
            DWx = Tensor.Wrap(Array.copy cache.Wx.Dims, g.DWx)
            DWh = Tensor.Wrap(Array.copy cache.Wh.Dims, g.DWh)
            Dbx = Tensor.Wrap([| 3 * h |], g.Dbx)
            Dbh = Tensor.Wrap([| 3 * h |], g.Dbh)
        }

    /// <summary>
    /// Forward pass of one step: x (N, D), prevH (N, H), Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,) → next_h (N, H)
    /// and the cache.
    /// </summary>
    /// <exception cref="System.ArgumentException">A rank or a size does not fit (N, D, H).</exception>
    let stepForward
        (x: Tensor)
        (prevH: Tensor)
        (wx: Tensor)
        (wh: Tensor)
        (bx: Tensor)
        (bh: Tensor)
        : Tensor * GruStepCache =
        let n, _, d, h =
            check "Gru.stepForward" 3 true x "prevH" prevH wx wh [ "bx", bx; "bh", bh ]

        let c = run (asSequence x) prevH wx wh bx bh (n, 1, d, h)
        asMatrix n h c.Hs, { Sequence = c }

    /// <summary>Backward pass of one step: dnextH (N, H) → dx (N, D), dprev_h (N, H), dWx, dWh, dbx, dbh.</summary>
    let stepBackward (dnextH: Tensor) (cache: GruStepCache) : GruStepGrads =
        let c = cache.Sequence
        let n, d, h = c.X.Dims.[0], c.X.Dims.[2], c.H0.Dims.[1]
        checkUpstream "Gru.stepBackward" "dnextH" true n 1 h dnextH
        let g = grads dnextH.Data c

        {
            Dx = asMatrix n d g.Dx
            DprevH = asMatrix n h g.Dh0
            DWx = Tensor.Wrap(Array.copy c.Wx.Dims, g.DWx)
            DWh = Tensor.Wrap(Array.copy c.Wh.Dims, g.DWh)
            Dbx = Tensor.Wrap([| 3 * h |], g.Dbx)
            Dbh = Tensor.Wrap([| 3 * h |], g.Dbh)
        }
