namespace Functional

/// <summary>Whether a layer or model runs for training (batch statistics, dropout on) or for testing.</summary>
type Mode =
    /// <summary>Training: batch statistics, dropout masks, running statistics updated.</summary>
    | Train = 0
    /// <summary>Testing: running statistics, no dropout.</summary>
    | Test = 1
