namespace Functional.FSharp

open Functional

/// <summary>
/// A net as plain functions (the stax pattern): <c>Init</c> declares the parameters once, their shapes derived from
/// the shape of one input, and <c>Apply</c> is the forward pass over differentiable values. <c>Net.model</c> adds a
/// loss and L2 regularization and makes the <c>Model</c> the Solver trains.
/// </summary>
[<NoEquality; NoComparison>]
type Net = {
    /// A short description (e.g. "fully connected net [100; 100], batchnorm").
    Name: string
    /// The shape of one input (no batch axis) and a key -> the initial parameters (W1, b1, gamma1, …) and the
    /// initial non-trainable state (running_mean1, …; empty when there is none).
    Init: int[] -> Rng -> Map<string, Tensor> * Map<string, Tensor>
    /// The forward pass: parameters (as values), state, mode, key (dropout), a batch x (N, …) -> the scores (N, C)
    /// and the state entries it updated (running statistics in training mode; empty otherwise). x is a value, so
    /// the gradient of the input is there too, and nets compose.
    Apply: Map<string, Value> -> Map<string, Tensor> -> Mode -> Rng -> Value -> Value * Map<string, Tensor>
}

/// <summary>Helpers for writing nets as functions, and the adapter from a net to a <c>Model</c>.</summary>
[<RequireQualifiedAccess>]
module Net =
    let private keysText (m: Map<string, 'a>) =
        if m.IsEmpty then
            "none"
        else
            m |> Map.keys |> String.concat ", "

    /// <summary>The parameter named <paramref name="name"/>, or an ArgumentException naming it and the ones given.</summary>
    let param (fn: string) (p: Map<string, Value>) (name: string) : Value =
        match p.TryFind name with
        | Some v -> v
        | None -> Guard.fail fn "params" $"missing parameter '{name}' (given: {keysText p})."

    /// <summary>The state entry named <paramref name="name"/>, or an ArgumentException naming it and the ones given.</summary>
    let state (fn: string) (s: Map<string, Tensor>) (name: string) : Tensor =
        match s.TryFind name with
        | Some t -> t
        | None -> Guard.fail fn "state" $"missing state entry '{name}' (given: {keysText s})."

    /// <summary>
    /// The batch x after checking it: when <paramref name="ok"/> of its shape is false, an ArgumentException
    /// "fn: x must be <paramref name="expected"/>, got (shape)".
    /// </summary>
    let input (fn: string) (expected: string) (ok: int[] -> bool) (x: Value) : Value =
        Guard.notNull fn "x" x

        if not (ok x.Primal.Dims) then
            Guard.fail fn "x" $"x must be {expected}, got {Guard.shapeText x.Primal.Dims}."

        x

    /// <summary>
    /// The model of a net: its parameters and state from <c>Init</c> (input shape, key), test-mode scores, and the
    /// training-mode loss — <paramref name="loss"/> of the scores (e.g. <c>Layers.softmaxLoss</c>) plus
    /// 0.5 · reg · ‖w‖² for each parameter named in <paramref name="regularized"/> — with the gradients of every
    /// parameter by reverse-mode autodiff and the new state as the auxiliary output.
    /// </summary>
    let model
        (net: Net)
        (inputShape: int[])
        (key: Rng)
        (loss: Value -> int[] -> Value)
        (reg: float)
        (regularized: string list)
        : Model =
        let fn = $"Net.model ({net.Name})"
        Guard.finiteScalar fn "reg" reg

        if reg < 0.0 then
            Guard.fail fn "reg" $"reg must be >= 0, got {reg}."

        let parameters, state = net.Init inputShape key

        for name in regularized do
            if not (parameters.ContainsKey name) then
                Guard.fail fn "regularized" $"missing parameter '{name}' (given: {keysText parameters})."

        let batch (x: Tensor) =
            Guard.notNull fn "x" x
            Autodiff.constant x

        {
            Name = net.Name
            Params = parameters
            State = state
            Scores =
                fun p s x ->
                    Guard.notNull fn "params" p
                    Guard.notNull fn "state" s

                    let scores, _ =
                        net.Apply (p |> Map.map (fun _ t -> Autodiff.constant t)) s Mode.Test (Rng.create 0L) (batch x)

                    Autodiff.primal scores
            Loss =
                fun p s rng x y ->
                    Guard.notNull fn "params" p
                    Guard.notNull fn "state" s

                    let total, grads, updated =
                        Autodiff.gradientsWithAux
                            (fun pv ->
                                let scores, updated = net.Apply pv s Mode.Train rng (batch x)
                                let data = loss scores y

                                if reg = 0.0 || List.isEmpty regularized then
                                    data, updated
                                else
                                    let penalty =
                                        regularized
                                        |> List.map (fun name -> Layers.l2 reg (param fn pv name))
                                        |> List.reduce (+)

                                    data + penalty, updated)
                            p

                    {
                        Loss = total
                        Grads = grads
                        State = Map.foldBack Map.add updated s
                    }
        }
