namespace Functional.FSharp

open Functional

/// Tensor helpers the ops' pullbacks need beyond Tensor.fs: numpy broadcasting undone by summation, concatenation
/// and its inverse, and the scatter-adds that are the adjoints of gathers.
module internal TensorOps =
    /// The tensor broadcast (numpy rules) to a shape; the tensor itself when it already has that shape.
    let broadcastTo (fn: string) (shape: int[]) (t: Tensor) =
        if t.Dims = shape then
            t
        else
            let out = Tensor.Broadcast2 fn (fun _ v -> v) (Tensor.zeros shape) t

            if out.Dims <> shape then
                Guard.fail fn "shape" $"cannot broadcast {Guard.shapeText t.Dims} to {Guard.shapeText shape}."

            out

    /// A gradient of the broadcast shape summed back to an operand's shape (the adjoint of broadcasting): over the
    /// leading axes the operand lacks and over the axes where it has size 1. The gradient itself when the shapes are
    /// equal (no copy).
    let sumTo (shape: int[]) (g: Tensor) =
        if g.Dims = shape then
            g
        else
            let r = g.Rank
            let lead = r - shape.Length

            let axes = [|
                for i in 0 .. r - 1 do
                    if i < lead || (shape.[i - lead] = 1 && g.Dims.[i] <> 1) then
                        i
            |]

            if axes.Length = 0 then
                g.Reshape shape
            else
                g.Sum(axes, true).Reshape shape

    /// Tensors of equal shape except along one axis, joined along it (numpy's concatenate).
    let concat (fn: string) (axis: int) (ts: Tensor[]) =
        if isNull (box ts) || ts.Length = 0 then
            Guard.fail fn "values" "expected at least one value to concatenate, got none."

        let first = ts.[0].Dims
        let a = Guard.normAxis fn first.Length axis

        for t in ts do
            if
                t.Rank <> first.Length
                || Array.exists2 (fun i (d: int) -> i <> a && d <> first.[i]) (Array.init first.Length id) t.Dims
            then
                Guard.fail
                    fn
                    "values"
                    $"every value must have shape {Guard.shapeText first} except along axis {a}, got {Guard.shapeText t.Dims}."

        let outer = Guard.size first.[.. a - 1]
        let inner = Guard.size first.[a + 1 ..]
        let total = ts |> Array.sumBy (fun t -> t.Dims.[a])
        let res = Array.zeroCreate (outer * total * inner)
        let mutable start = 0

        for t in ts do
            let len = t.Dims.[a]

            for o in 0 .. outer - 1 do
                System.Array.Copy(t.Data, o * len * inner, res, (o * total + start) * inner, len * inner)

            start <- start + len

        let shape = Array.copy first
        shape.[a] <- total
        Tensor.Wrap(shape, res)

    /// Rows of g (one per index) added into zeros of the given shape at rows indices[j]: the adjoint of Take.
    let scatterRows (shape: int[]) (indices: int[]) (g: Tensor) =
        let inner = Guard.size shape.[1..]
        let res = Array.zeroCreate (Guard.size shape)

        indices
        |> Array.iteri (fun j i ->
            for k in 0 .. inner - 1 do
                res.[i * inner + k] <- res.[i * inner + k] + g.Data.[j * inner + k])

        Tensor.Wrap(Array.copy shape, res)

    /// x[i, idx[i]] for every row i of a matrix x (N, C): shape (N,).
    let pick (fn: string) (indices: int[]) (x: Tensor) =
        Guard.rank fn "x" 2 x.Dims
        let n, c = x.Dims.[0], x.Dims.[1]

        if isNull (box indices) || indices.Length <> n then
            let got = if isNull (box indices) then 0 else indices.Length
            Guard.fail fn "indices" $"expected {n} indices for x {Guard.shapeText x.Dims}, got {got}."

        indices
        |> Array.iteri (fun i j ->
            if j < 0 || j >= c then
                Guard.fail fn "indices" $"indices[{i}] = {j} is out of range [0, {c}).")

        Tensor.Wrap([| n |], Array.init n (fun i -> x.Data.[i * c + indices.[i]]))

    /// The adjoint of pick: zeros (N, C) with g[i] at (i, idx[i]).
    let unpick (shape: int[]) (indices: int[]) (g: Tensor) =
        let c = shape.[1]
        let res = Array.zeroCreate (Guard.size shape)

        indices
        |> Array.iteri (fun i j -> res.[i * c + j] <- res.[i * c + j] + g.Data.[i])

        Tensor.Wrap(Array.copy shape, res)
