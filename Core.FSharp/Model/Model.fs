namespace Functional.FSharp

open Functional

/// <summary>The model types, in a module opened with <c>Functional.FSharp</c> so that C# code importing both namespaces sees only the facade's <c>Model</c> and <c>ModelLoss</c>.</summary>
[<AutoOpen>]
module ModelTypes =
    /// <summary>What a model's training-mode loss returns for one batch.</summary>
    type ModelLoss = {
        /// The data loss plus the regularization.
        Loss: float
        /// Gradients of the loss, named like the parameters (W1, b1, gamma1, …).
        Grads: Map<string, Tensor>
        /// The model's new non-trainable state (e.g. batchnorm running statistics), same names as Model.State.
        State: Map<string, Tensor>
    }

    /// <summary>
    /// A model: its initial parameters and non-trainable state, and two pure functions over them: what the Solver trains.
    /// A net written as functions over differentiable values becomes a model with <c>Net.model</c>; the standard nets
    /// (<c>Nets</c>, <c>ConvNet</c>) are values of this type.
    /// </summary>
    type Model = {
        /// A short description (e.g. "fc [100; 100] batchnorm").
        Name: string
        /// The initial parameters, named as in the course (W1, b1, gamma1, beta1, …).
        Params: Map<string, Tensor>
        /// The initial non-trainable state (e.g. running_mean1, running_var1); empty when there is none.
        State: Map<string, Tensor>
        /// Scores (N, C) for a batch X in test mode: params -> state -> X -> scores.
        Scores: Map<string, Tensor> -> Map<string, Tensor> -> Tensor -> Tensor
        /// Training-mode loss, gradients and new state for a batch: params -> state -> rng (dropout) -> X -> y -> result.
        Loss: Map<string, Tensor> -> Map<string, Tensor> -> Rng -> Tensor -> int[] -> ModelLoss
    }
