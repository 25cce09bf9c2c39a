namespace Functional.FSharp

open System.Collections.Generic
open Functional

/// <summary>
/// A differentiable value: a primal tensor and how it was made — the gate (<c>Op</c>), the values it was made from
/// (<c>Parents</c>) and its pullback (the vector-Jacobian product: the cotangent of this value, its own shape, to one
/// cotangent per parent, each of that parent's shape). Values are immutable; building a graph is evaluating ordinary
/// functions over values (no global tape), and <c>Autodiff</c>'s reverse sweep walks it back from the output.
/// </summary>
/// <remarks>
/// The pattern is the course's backpropagation lecture (computational graphs of gates, each with its local
/// gradient) in the form of JAX's <c>vjp</c>: a primitive is a forward computation plus a pullback.
/// </remarks>
[<NoEquality; NoComparison>]
type Value = internal {
    /// The forward value.
    Primal: Tensor
    /// The gate that made it (e.g. "+", "*", "exp", "affine"), or the variable's or constant's name for a leaf.
    Op: string
    /// The inputs of the gate, in order ([||] for a leaf).
    Parents: Value[]
    /// Upstream cotangent (Primal's shape) -> one cotangent per parent (that parent's shape). Called only when some
    /// parent depends on a variable; an entry may be null for a parent that does not (its gradient is not needed).
    Pullback: Tensor -> Tensor[]
    /// True when the value depends on a variable (a leaf being differentiated): only these get cotangents.
    Tracked: bool
    /// True for a leaf that is a variable (differentiated), false for a constant or an inner node.
    IsVariable: bool
} with

    /// <summary>The forward value (the primal tensor).</summary>
    member v.Tensor = v.Primal

    /// <summary>The shape of the primal tensor.</summary>
    member v.Shape = Tensor.shape v.Primal

    /// <summary>The gate that made the value (e.g. "+", "affine"), or the name of a leaf.</summary>
    member v.Gate = v.Op

    /// <summary>The values the gate was applied to, in order (empty for a leaf).</summary>
    member v.Inputs: Value list = List.ofArray v.Parents

    override v.ToString() = $"Value {v.Op} {v.Primal}"

/// <summary>
/// The reverse sweep: cotangents flow from an output back to every value it depends on, in reverse topological
/// order; where a value is used twice its cotangents add (the lecture's "gradients add at branches").
/// </summary>
module internal Sweep =
    let private noPullback: Tensor -> Tensor[] = fun _ -> [||]

    /// The entry of a pullback's result for a parent that is not tracked: never read (the sweep reads entries of
    /// tracked parents only), so no gradient is computed for it.
    let skipped: Tensor = Unchecked.defaultof<Tensor>

    /// A leaf: a variable (differentiated) or a constant.
    let leaf (name: string) (isVariable: bool) (t: Tensor) : Value =
        if isNull (box t) then
            Guard.fail "Autodiff" name $"the tensor of '{name}' must not be null."

        {
            Primal = t
            Op = name
            Parents = [||]
            Pullback = noPullback
            Tracked = isVariable
            IsVariable = isVariable
        }

    /// An inner node made by a gate from its parents; tracked when any parent is.
    let node (op: string) (parents: Value[]) (primal: Tensor) (pullback: Tensor -> Tensor[]) : Value = {
        Primal = primal
        Op = op
        Parents = parents
        Pullback = pullback
        Tracked = parents |> Array.exists (fun p -> p.Tracked)
        IsVariable = false
    }

    /// The values reachable from the root that satisfy the predicate (through such values only), parents before
    /// children (iterative depth-first post-order, so deep graphs do not overflow the stack). Values are compared by
    /// reference.
    let reachable (included: Value -> bool) (root: Value) : List<Value> =
        let order = List<Value>()
        let seen = HashSet<Value>(HashIdentity.Reference)
        let stack = Stack<struct (Value * int)>()

        if included root then
            seen.Add root |> ignore
            stack.Push(struct (root, 0))

        while stack.Count > 0 do
            let struct (v, i) = stack.Pop()

            if i < v.Parents.Length then
                stack.Push(struct (v, i + 1))
                let p = v.Parents.[i]

                if included p && seen.Add p then
                    stack.Push(struct (p, 0))
            else
                order.Add v

        order

    /// The tracked values reachable from the root, parents before children.
    let topological (root: Value) = reachable (fun v -> v.Tracked) root

    /// Cotangents of every tracked value reachable from the root, given the root's cotangent. Unless keepAll (for
    /// drawing), an inner node's cotangent is dropped once its pullback has run; the leaves' stay. A cotangent is
    /// added to another only when a value really has two users.
    let runKeeping (keepAll: bool) (root: Value) (seed: Tensor) : Dictionary<Value, Tensor> =
        let order = topological root
        let grads = Dictionary<Value, Tensor>(HashIdentity.Reference)

        if root.Tracked then
            grads.[root] <- seed

        for k in order.Count - 1 .. -1 .. 0 do
            let v = order.[k]

            if v.Parents.Length > 0 then
                match grads.TryGetValue v with
                | true, g ->
                    if not keepAll then
                        grads.Remove v |> ignore

                    let pulled = v.Pullback g

                    for i in 0 .. v.Parents.Length - 1 do
                        let p = v.Parents.[i]

                        if p.Tracked then
                            let gp = pulled.[i]

                            match grads.TryGetValue p with
                            | true, acc -> grads.[p] <- acc + gp
                            | _ -> grads.[p] <- gp
                | _ -> ()

        grads

    /// Cotangents of the tracked leaves reachable from the root.
    let run (root: Value) (seed: Tensor) = runKeeping false root seed

    /// The cotangent of a leaf after a sweep: zeros of its shape when the output does not depend on it.
    let gradOf (grads: Dictionary<Value, Tensor>) (v: Value) =
        match grads.TryGetValue v with
        | true, g -> g
        | _ -> Tensor.zeros v.Primal.Dims


/// <summary>
/// Differentiable operations on <see cref="T:Functional.FSharp.Value"/>s. Binary elementwise ops broadcast as numpy
/// does, and their pullbacks sum the gradient back to each input's shape. Shapes follow the <c>Tensor</c> operation
/// of the same name; errors are the same ArgumentExceptions, naming the op.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Ops =
    let private null' (fn: string) (arg: string) (v: Value) =
        if isNull (box v) then
            Guard.fail fn arg $"{arg} must not be null."

    /// One-input gate: out = forward x; dx = back g out.
    let private unary (op: string) (x: Value) (forward: Tensor -> Tensor) (back: Tensor -> Tensor -> Tensor) =
        null' $"Ops.{op}" "x" x
        let out = forward x.Primal
        Sweep.node op [| x |] out (fun g -> [| back g out |])

    /// Two-input gate with broadcasting: out = forward a b; the pullbacks get (g, out) and are summed to each input's
    /// shape; a pullback runs only when its input is tracked.
    let private binary
        (op: string)
        (a: Value)
        (b: Value)
        (forward: Tensor -> Tensor -> Tensor)
        (backA: Tensor -> Tensor -> Tensor)
        (backB: Tensor -> Tensor -> Tensor)
        =
        null' $"Ops.{op}" "a" a
        null' $"Ops.{op}" "b" b
        let out = forward a.Primal b.Primal

        Sweep.node op [| a; b |] out (fun g -> [|
            (if a.Tracked then
                 TensorOps.sumTo a.Primal.Dims (backA g out)
             else
                 Sweep.skipped)
            (if b.Tracked then
                 TensorOps.sumTo b.Primal.Dims (backB g out)
             else
                 Sweep.skipped)
        |])

    /// <summary>A constant (no gradient), e.g. data or a fixed mask.</summary>
    let constant (t: Tensor) = Sweep.leaf "const" false t

    /// <summary>A scalar constant, shape ().</summary>
    let scalar (v: float) =
        Sweep.leaf (string v) false (Tensor.scalar v)

    /// <summary>a + b with broadcasting; the add gate hands the upstream gradient to both inputs.</summary>
    let add (a: Value) (b: Value) =
        binary "+" a b (+) (fun g _ -> g) (fun g _ -> g)

    /// <summary>a − b with broadcasting.</summary>
    let sub (a: Value) (b: Value) =
        binary "-" a b (-) (fun g _ -> g) (fun g _ -> -g)

    /// <summary>a · b elementwise with broadcasting; the mul gate switches its inputs: da = g·b, db = g·a.</summary>
    let mul (a: Value) (b: Value) =
        binary "*" a b (*) (fun g _ -> g * b.Primal) (fun g _ -> g * a.Primal)

    /// <summary>a / b elementwise with broadcasting: da = g / b, db = −g·a / b².</summary>
    let div (a: Value) (b: Value) =
        binary "/" a b (/) (fun g _ -> g / b.Primal) (fun g out -> -(g * out / b.Primal))

    /// <summary>Elementwise maximum with broadcasting: the max gate routes the gradient to the larger input (to a on ties).</summary>
    let maximum (a: Value) (b: Value) =
        binary
            "max"
            a
            b
            (fun x y -> Tensor.map2 max x y)
            (fun g _ -> g * Tensor.map2 (fun x y -> if x >= y then 1.0 else 0.0) a.Primal b.Primal)
            (fun g _ -> g * Tensor.map2 (fun x y -> if x >= y then 0.0 else 1.0) a.Primal b.Primal)

    /// <summary>Elementwise minimum with broadcasting: the gradient goes to the smaller input (to a on ties).</summary>
    let minimum (a: Value) (b: Value) =
        binary
            "min"
            a
            b
            (fun x y -> Tensor.map2 min x y)
            (fun g _ -> g * Tensor.map2 (fun x y -> if x <= y then 1.0 else 0.0) a.Primal b.Primal)
            (fun g _ -> g * Tensor.map2 (fun x y -> if x <= y then 0.0 else 1.0) a.Primal b.Primal)

    /// <summary>Negation.</summary>
    let neg (x: Value) =
        unary "neg" x (fun t -> -t) (fun g _ -> -g)

    /// <summary>e^x; dx = g·e^x.</summary>
    let exp (x: Value) =
        unary "exp" x Tensor.exp (fun g out -> g * out)

    /// <summary>Natural logarithm; dx = g / x.</summary>
    let log (x: Value) =
        unary "log" x Tensor.log (fun g _ -> g / x.Primal)

    /// <summary>Square root; dx = g / (2·√x).</summary>
    let sqrt (x: Value) =
        unary "sqrt" x Tensor.sqrt (fun g out -> g / (2.0 * out))

    /// <summary>x^p elementwise for a constant exponent p; dx = g·p·x^(p−1).</summary>
    let pow (p: float) (x: Value) =
        Guard.finiteScalar "Ops.pow" "p" p

        unary $"^{p}" x (Tensor.map (fun v -> v ** p)) (fun g _ ->
            g * Tensor.map (fun v -> p * v ** (p - 1.0)) x.Primal)

    /// <summary>|x|; dx = g·sign(x) (0 at 0).</summary>
    let abs (x: Value) =
        unary "abs" x Tensor.abs (fun g _ -> g * Tensor.map (fun v -> float (sign v)) x.Primal)

    /// <summary>Matrix product of a (m, k) and b (k, n): (m, n); da = g·bᵀ, db = aᵀ·g.</summary>
    let matmul (a: Value) (b: Value) =
        null' "Ops.matmul" "a" a
        null' "Ops.matmul" "b" b
        let out = Tensor.matmul a.Primal b.Primal

        Sweep.node "matmul" [| a; b |] out (fun g -> [|
            (if a.Tracked then
                 Tensor.matmul g (Tensor.transpose b.Primal)
             else
                 Sweep.skipped)
            (if b.Tracked then
                 Tensor.matmul (Tensor.transpose a.Primal) g
             else
                 Sweep.skipped)
        |])

    let private keptShape (fn: string) (dims: int[]) (axes: int[]) =
        let r = dims.Length

        let axes =
            if isNull (box axes) || axes.Length = 0 then
                Array.init r id
            else
                axes |> Array.map (Guard.normAxis fn r)

        axes, Array.init r (fun i -> if Array.contains i axes then 1 else dims.[i])

    /// <summary>
    /// Sum over axes (all when empty); keepDims keeps them with size 1. The gradient is g broadcast back to x's shape.
    /// </summary>
    let sum (axes: int[]) (keepDims: bool) (x: Value) =
        null' "Ops.sum" "x" x
        let _, kept = keptShape "Ops.sum" x.Primal.Dims axes

        unary $"sum" x (Tensor.sum axes keepDims) (fun g _ ->
            TensorOps.broadcastTo "Ops.sum" x.Primal.Dims (g.Reshape kept))

    /// <summary>Mean over axes (all when empty); the gradient is g / count broadcast back to x's shape.</summary>
    let mean (axes: int[]) (keepDims: bool) (x: Value) =
        null' "Ops.mean" "x" x
        let ax, kept = keptShape "Ops.mean" x.Primal.Dims axes

        let count =
            ax |> Array.distinct |> Array.fold (fun acc a -> acc * x.Primal.Dims.[a]) 1

        unary "mean" x (Tensor.mean axes keepDims) (fun g _ ->
            TensorOps.broadcastTo "Ops.mean" x.Primal.Dims (g.Reshape kept / float count))

    /// <summary>
    /// Maximum over axes (all when empty). The gradient goes to the maximal entries, shared equally among ties
    /// (as JAX and PyTorch's amax do).
    /// </summary>
    let max (axes: int[]) (keepDims: bool) (x: Value) =
        null' "Ops.max" "x" x
        let _, kept = keptShape "Ops.max" x.Primal.Dims axes

        unary "max" x (Tensor.max axes keepDims) (fun g out ->
            let m = TensorOps.broadcastTo "Ops.max" x.Primal.Dims (out.Reshape kept)
            let hit = Tensor.map2 (fun v mv -> if v = mv then 1.0 else 0.0) x.Primal m
            let ties = TensorOps.broadcastTo "Ops.max" x.Primal.Dims (hit.Sum(axes, true))
            TensorOps.broadcastTo "Ops.max" x.Primal.Dims (g.Reshape kept) * hit / ties)

    /// <summary>The same elements in a new shape (one dimension may be −1); the gradient is reshaped back.</summary>
    let reshape (shape: int[]) (x: Value) =
        unary "reshape" x (Tensor.reshape shape) (fun g _ -> g.Reshape x.Primal.Dims)

    /// <summary>Axes permuted (axis i of the result is axis axes[i] of x); the gradient is permuted back.</summary>
    let permute (axes: int[]) (x: Value) =
        null' "Ops.permute" "x" x
        let out = Tensor.permute axes x.Primal
        let r = x.Primal.Rank
        let axes = axes |> Array.map (fun a -> if a < 0 then a + r else a)
        let inverse = Array.zeroCreate r
        axes |> Array.iteri (fun i a -> inverse.[a] <- i)
        Sweep.node "permute" [| x |] out (fun g -> [| Tensor.permute inverse g |])

    /// <summary>The axes reversed (the matrix transpose for rank 2).</summary>
    let transpose (x: Value) =
        null' "Ops.transpose" "x" x
        permute (Array.init x.Primal.Rank (fun i -> x.Primal.Rank - 1 - i)) x

    /// <summary>Elements with index in [start, stop) along an axis; the gradient is zero-padded back.</summary>
    let slice (axis: int) (start: int) (stop: int) (x: Value) =
        null' "Ops.slice" "x" x
        let out = Tensor.slice axis start stop x.Primal
        let a = Guard.normAxis "Ops.slice" x.Primal.Rank axis
        let before = Array.zeroCreate x.Primal.Rank
        let after = Array.zeroCreate x.Primal.Rank
        before.[a] <- start
        after.[a] <- x.Primal.Dims.[a] - stop
        Sweep.node "slice" [| x |] out (fun g -> [| g.Pad(before, after) |])

    /// <summary>Values of equal shape except along an axis, joined along it; the gradient is sliced back.</summary>
    let concat (axis: int) (values: Value list) =
        if isNull (box values) || List.isEmpty values then
            Guard.fail "Ops.concat" "values" "expected at least one value to concatenate, got none."

        let vs = Array.ofList values
        vs |> Array.iter (null' "Ops.concat" "values")
        let out = TensorOps.concat "Ops.concat" axis (vs |> Array.map (fun v -> v.Primal))
        let a = Guard.normAxis "Ops.concat" out.Rank axis
        let starts = vs |> Array.scan (fun s v -> s + v.Primal.Dims.[a]) 0

        Sweep.node "concat" vs out (fun g ->
            vs
            |> Array.mapi (fun i v ->
                if v.Tracked then
                    g.Slice(a, starts.[i], starts.[i + 1])
                else
                    Sweep.skipped))

    /// <summary>Values of equal shape stacked along a new axis (numpy's stack).</summary>
    let stack (axis: int) (values: Value list) =
        if isNull (box values) || List.isEmpty values then
            Guard.fail "Ops.stack" "values" "expected at least one value to stack, got none."

        let first = (List.head values).Primal.Dims

        let a = if axis < 0 then axis + first.Length + 1 else axis

        if a < 0 || a > first.Length then
            Guard.fail "Ops.stack" "axis" $"axis {axis} is out of range for stacking rank-{first.Length} values."

        let expanded = Array.concat [ first.[.. a - 1]; [| 1 |]; first.[a..] ]

        values
        |> List.map (fun v ->
            null' "Ops.stack" "values" v

            if v.Primal.Dims <> first then
                Guard.fail
                    "Ops.stack"
                    "values"
                    $"every value must have shape {Guard.shapeText first}, got {Guard.shapeText v.Primal.Dims}."

            reshape expanded v)
        |> concat a

    /// <summary>
    /// The rows (axis 0) at integer indices, repeats allowed (embedding lookup); the gradient is scatter-added back
    /// into the rows (repeated indices accumulate).
    /// </summary>
    let gather (indices: int[]) (x: Value) =
        null' "Ops.gather" "x" x

        if isNull (box indices) then
            Guard.fail "Ops.gather" "indices" "indices must not be null."

        let out = Tensor.take indices x.Primal
        Sweep.node "gather" [| x |] out (fun g -> [| TensorOps.scatterRows x.Primal.Dims indices g |])

    /// <summary>x[i, indices[i]] for every row of x (N, C): shape (N,) (e.g. the correct-class scores).</summary>
    let pick (indices: int[]) (x: Value) =
        null' "Ops.pick" "x" x
        let out = TensorOps.pick "Ops.pick" indices x.Primal
        Sweep.node "pick" [| x |] out (fun g -> [| TensorOps.unpick x.Primal.Dims indices g |])

    /// <summary>
    /// mask ? a : b elementwise with broadcasting (mask non-zero selects a); the gradient goes to the selected input.
    /// The mask is a constant.
    /// </summary>
    let where (mask: Tensor) (a: Value) (b: Value) =
        if isNull (box mask) then
            Guard.fail "Ops.where" "mask" "mask must not be null."

        let m = Tensor.map (fun v -> if v <> 0.0 then 1.0 else 0.0) mask
        let keepA (g: Tensor) = g * m
        let keepB (g: Tensor) = g * (1.0 - m)
        binary "where" a b (fun x y -> x * m + y * (1.0 - m)) (fun g _ -> keepA g) (fun g _ -> keepB g)

    /// <summary>x + s for a constant scalar s.</summary>
    let addScalar (s: float) (x: Value) =
        unary $"+{s}" x (fun t -> t + s) (fun g _ -> g)

    /// <summary>x · s for a constant scalar s.</summary>
    let mulScalar (s: float) (x: Value) =
        unary $"*{s}" x (fun t -> t * s) (fun g _ -> g * s)

    /// <summary>s / x for a constant scalar s (the lecture's 1/x gate for s = 1): dx = −g·s / x².</summary>
    let scalarDiv (s: float) (x: Value) =
        unary $"{s}/x" x (fun t -> s / t) (fun g _ -> -(g * s) / (x.Primal * x.Primal))

    /// <summary>x / s for a constant scalar s.</summary>
    let divScalar (s: float) (x: Value) =
        unary $"/{s}" x (fun t -> t / s) (fun g _ -> g / s)

/// Arithmetic operators on differentiable values (the ops of <c>Ops</c>), with tensors and floats as constants.
type Value with
    static member (+)(a: Value, b: Value) = Ops.add a b
    static member (-)(a: Value, b: Value) = Ops.sub a b
    static member (*)(a: Value, b: Value) = Ops.mul a b
    static member (/)(a: Value, b: Value) = Ops.div a b
    static member (~-)(a: Value) = Ops.neg a
    static member (+)(a: Value, s: float) = Ops.addScalar s a
    static member (+)(s: float, a: Value) = Ops.addScalar s a
    static member (-)(a: Value, s: float) = Ops.addScalar -s a
    static member (-)(s: float, a: Value) = Ops.addScalar s (Ops.neg a)
    static member (*)(a: Value, s: float) = Ops.mulScalar s a
    static member (*)(s: float, a: Value) = Ops.mulScalar s a
    static member (/)(a: Value, s: float) = Ops.divScalar s a
    static member (/)(s: float, a: Value) = Ops.scalarDiv s a
