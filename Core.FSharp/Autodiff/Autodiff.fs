namespace Functional.FSharp

open Functional

/// <summary>
/// Reverse-mode automatic differentiation over tensors, in the spirit of DiffSharp and JAX: <c>grad</c>,
/// <c>valueAndGrad</c>, the same over named parameters (<c>gradients</c>), <c>vjp</c>, <c>jacobian</c>, and forms
/// with an auxiliary output beside the loss (e.g. new batchnorm running statistics). The function differentiated is
/// an ordinary F# function over <see cref="T:Functional.FSharp.Value"/>s built with the ops of <c>Ops</c> and the
/// layer primitives of <c>Primitives</c>; inputs that are not differentiated (labels, masks, indices) are plain
/// values it closes over.
/// </summary>
[<RequireQualifiedAccess; CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Autodiff =
    /// <summary>A variable: a leaf the sweep computes the gradient of, labelled <paramref name="name"/> in drawings.</summary>
    let variable (name: string) (t: Tensor) : Value = Sweep.leaf name true t

    /// <summary>A constant: a leaf that gets no gradient (data, labels as tensors, fixed masks).</summary>
    let constant (t: Tensor) : Value = Sweep.leaf "const" false t

    /// <summary>A named constant (its name labels it in drawings).</summary>
    let namedConstant (name: string) (t: Tensor) : Value = Sweep.leaf name false t

    /// <summary>The forward value of a differentiable value.</summary>
    let primal (v: Value) : Tensor = v.Primal

    /// <summary>
    /// Every value an output was computed from (gates, variables and constants), each once, inputs before the gates
    /// that use them; the output last. For looking at a graph's intermediate values, or drawing it.
    /// </summary>
    let nodes (output: Value) : Value list =
        if isNull (box output) then
            Guard.fail "Autodiff.nodes" "output" "output must not be null."

        Sweep.reachable (fun _ -> true) output |> List.ofSeq

    let private scalarOf (fn: string) (out: Value) =
        if isNull (box out) then
            Guard.fail fn "f" "f returned null."

        if out.Primal.Count <> 1 then
            Guard.fail
                fn
                "f"
                $"f must return a single element (a loss) to be differentiated, got shape {Guard.shapeText out.Primal.Dims}; use vjp for other outputs."

        out.Primal.Data.[0]

    let private one (out: Value) = Tensor.full out.Primal.Dims 1.0

    /// <summary>
    /// The value of f at x, the gradient of f at x (x's shape) and f's auxiliary output. f must return a value with
    /// one element (shape () or (1,) or (1, 1), …).
    /// </summary>
    let valueAndGradWithAux (f: Value -> Value * 'aux) (x: Tensor) : float * Tensor * 'aux =
        let v = variable "x" x
        let out, aux = f v
        let loss = scalarOf "Autodiff.valueAndGrad" out
        let grads = Sweep.run out (one out)
        loss, Sweep.gradOf grads v, aux

    /// <summary>The value of f at x and its gradient (x's shape). f must return a single element.</summary>
    let valueAndGrad (f: Value -> Value) (x: Tensor) : float * Tensor =
        let loss, g, () = valueAndGradWithAux (fun v -> f v, ()) x
        loss, g

    /// <summary>The gradient of f at x (x's shape). f must return a single element.</summary>
    let grad (f: Value -> Value) (x: Tensor) : Tensor = valueAndGrad f x |> snd

    /// <summary>
    /// Loss, gradients and auxiliary output of f over named parameters: every entry of <paramref name="parameters"/>
    /// becomes a variable labelled with its name, and the gradients come back under the same names (zeros for a
    /// parameter the loss does not use). f must return a single element.
    /// </summary>
    let gradientsWithAux
        (f: Map<string, Value> -> Value * 'aux)
        (parameters: Map<string, Tensor>)
        : float * Map<string, Tensor> * 'aux =
        if isNull (box parameters) then
            Guard.fail "Autodiff.gradients" "parameters" "parameters must not be null."

        let vars = parameters |> Map.map variable
        let out, aux = f vars
        let loss = scalarOf "Autodiff.gradients" out
        let grads = Sweep.run out (one out)
        loss, vars |> Map.map (fun _ v -> Sweep.gradOf grads v), aux

    /// <summary>Loss and gradients of f over named parameters, the gradients under the parameters' names.</summary>
    let gradients (f: Map<string, Value> -> Value) (parameters: Map<string, Tensor>) : float * Map<string, Tensor> =
        let loss, g, () = gradientsWithAux (fun p -> f p, ()) parameters
        loss, g

    /// <summary>
    /// The vector-Jacobian product: f's output at x and the pullback mapping a cotangent of the output's shape to the
    /// cotangent of x (x's shape). Any output shape.
    /// </summary>
    let vjp (f: Value -> Value) (x: Tensor) : Tensor * (Tensor -> Tensor) =
        let v = variable "x" x
        let out = f v

        let pullback (ct: Tensor) =
            if isNull (box ct) then
                Guard.fail "Autodiff.vjp" "cotangent" "the cotangent must not be null."

            Guard.sameShape "Autodiff.vjp" "f(x)" out.Primal.Dims "cotangent" ct.Dims
            Sweep.gradOf (Sweep.run out ct) v

        out.Primal, pullback

    /// <summary>
    /// The Jacobian of f at x, of shape (f(x)'s shape ++ x's shape): entry [i…, j…] is ∂f(x)[i…] / ∂x[j…]. One
    /// reverse sweep per output element, so for small outputs.
    /// </summary>
    let jacobian (f: Value -> Value) (x: Tensor) : Tensor =
        let out, pullback = vjp f x
        let m = out.Count
        let n = x.Count
        let data = Array.zeroCreate (m * n)

        for i in 0 .. m - 1 do
            let e = Array.zeroCreate m
            e.[i] <- 1.0
            let row = pullback (Tensor.Wrap(out.Dims, e))
            System.Array.Copy(row.Data, 0, data, i * n, n)

        Tensor.Wrap(Array.append out.Dims x.Dims, data)
