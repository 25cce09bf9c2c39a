using Functional.FSharp;
using Microsoft.FSharp.Core;
using CoreRule = Functional.FSharp.UpdateRuleTypes.UpdateRule;

namespace Functional;

/// <summary>
/// An update rule as a value: an <see cref="Init"/> (parameter → state) and a pure <see cref="Step"/> (state,
/// parameter, gradient → new parameter, new state), with its configuration. The course's rules and two more are
/// built in (<see cref="Sgd"/>, <see cref="Momentum"/>, <see cref="Nesterov"/>, <see cref="RmsProp"/>,
/// <see cref="Adam"/>, <see cref="AdamW"/>); <see cref="Custom"/> makes your own. The settings are checked once, by
/// the factory that makes the rule (an <see cref="ArgumentException"/> naming the factory, the argument, the range
/// and the value); <see cref="Step"/> checks only its own inputs.
/// </summary>
public sealed class UpdateRule
{
    private UpdateRule(CoreRule core) => Core = core;

    /// <summary>The F# rule this wraps.</summary>
    internal CoreRule Core { get; }

    /// <summary>The rule's name ("sgd", "sgd_momentum", "nesterov", "rmsprop", "adam", "adamw", or yours).</summary>
    public string Name => Core.Name;

    /// <summary>The rule's configuration (learning rate and hyper-parameters).</summary>
    public OptimConfig Config => Core.Config;

    /// <summary>The learning rate the solver starts from.</summary>
    public double LearningRate => Core.Config.LearningRate;

    private static double NonNegative(string fn, string name, double v) =>
        double.IsFinite(v) && v >= 0
            ? v
            : throw new ArgumentException($"UpdateRule.{fn}: {name} must be finite and >= 0, got {v}.", name);

    private static double Unit(string fn, string name, double v) =>
        double.IsFinite(v) && v is >= 0 and < 1
            ? v
            : throw new ArgumentException($"UpdateRule.{fn}: {name} must be in [0, 1), got {v}.", name);

    private static double Positive(string fn, string name, double v) =>
        double.IsFinite(v) && v > 0
            ? v
            : throw new ArgumentException($"UpdateRule.{fn}: {name} must be finite and > 0, got {v}.", name);

    private static UpdateRule With(CoreRule rule, OptimConfig config) => new(Optim.withConfig(config, rule));

    private static OptimConfig Config0(double learningRate, double momentum = 0.9, double decayRate = 0.99,
        double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0.0) =>
        new(learningRate, momentum, decayRate, beta1, beta2, epsilon, weightDecay);

    /// <summary>Vanilla SGD: w ← w − lr · dw.</summary>
    /// <param name="learningRate">The step size, ≥ 0 (course default 1e-2).</param>
    /// <returns>The rule.</returns>
    /// <exception cref="ArgumentException">The learning rate is negative or not finite.</exception>
    public static UpdateRule Sgd(double learningRate = 1e-2) =>
        With(Optim.sgd, Config0(NonNegative(nameof(Sgd), nameof(learningRate), learningRate)));

    /// <summary>SGD with momentum: v ← μ·v − lr·dw; w ← w + v (state: <see cref="OptimStates.Momentum"/>).</summary>
    /// <param name="learningRate">The step size, ≥ 0 (course default 1e-2).</param>
    /// <param name="momentum">μ in [0, 1) (course default 0.9).</param>
    /// <returns>The rule.</returns>
    public static UpdateRule Momentum(double learningRate = 1e-2, double momentum = 0.9) =>
        With(Optim.momentum, Config0(NonNegative(nameof(Momentum), nameof(learningRate), learningRate),
            momentum: Unit(nameof(Momentum), nameof(momentum), momentum)));

    /// <summary>Nesterov momentum: v' ← μ·v − lr·dw; w ← w − μ·v + (1 + μ)·v' (state: <see cref="OptimStates.Momentum"/>).</summary>
    /// <param name="learningRate">The step size, ≥ 0.</param>
    /// <param name="momentum">μ in [0, 1).</param>
    /// <returns>The rule.</returns>
    public static UpdateRule Nesterov(double learningRate = 1e-2, double momentum = 0.9) =>
        With(Optim.nesterov, Config0(NonNegative(nameof(Nesterov), nameof(learningRate), learningRate),
            momentum: Unit(nameof(Nesterov), nameof(momentum), momentum)));

    /// <summary>RMSProp: cache ← d·cache + (1 − d)·dw²; w ← w − lr·dw / (√cache + ε) (state: <see cref="OptimStates.RmsProp"/>).</summary>
    /// <param name="learningRate">The step size, ≥ 0 (course default 1e-2).</param>
    /// <param name="decayRate">d in [0, 1) (course default 0.99).</param>
    /// <param name="epsilon">ε &gt; 0 (course default 1e-8).</param>
    /// <returns>The rule.</returns>
    public static UpdateRule RmsProp(double learningRate = 1e-2, double decayRate = 0.99, double epsilon = 1e-8) =>
        With(Optim.rmsprop, Config0(NonNegative(nameof(RmsProp), nameof(learningRate), learningRate),
            decayRate: Unit(nameof(RmsProp), nameof(decayRate), decayRate),
            epsilon: Positive(nameof(RmsProp), nameof(epsilon), epsilon)));

    /// <summary>
    /// Adam with bias correction: m ← β1·m + (1 − β1)·dw; v ← β2·v + (1 − β2)·dw²;
    /// w ← w − lr·m̂ / (√v̂ + ε) (state: <see cref="OptimStates.Adam"/>, with the step count t).
    /// </summary>
    /// <param name="learningRate">The step size, ≥ 0 (course default 1e-3).</param>
    /// <param name="beta1">β1 in [0, 1) (course default 0.9).</param>
    /// <param name="beta2">β2 in [0, 1) (course default 0.999).</param>
    /// <param name="epsilon">ε &gt; 0 (course default 1e-8).</param>
    /// <returns>The rule.</returns>
    public static UpdateRule Adam(double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) =>
        With(Optim.adam, Config0(NonNegative(nameof(Adam), nameof(learningRate), learningRate),
            beta1: Unit(nameof(Adam), nameof(beta1), beta1), beta2: Unit(nameof(Adam), nameof(beta2), beta2),
            epsilon: Positive(nameof(Adam), nameof(epsilon), epsilon)));

    /// <summary>AdamW: Adam plus the decoupled weight decay w ← w − lr·λ·w (the decay does not enter the moments).</summary>
    /// <param name="learningRate">The step size, ≥ 0.</param>
    /// <param name="weightDecay">λ ≥ 0 (default 1e-2).</param>
    /// <param name="beta1">β1 in [0, 1).</param>
    /// <param name="beta2">β2 in [0, 1).</param>
    /// <param name="epsilon">ε &gt; 0.</param>
    /// <returns>The rule.</returns>
    public static UpdateRule AdamW(double learningRate = 1e-3, double weightDecay = 1e-2, double beta1 = 0.9,
        double beta2 = 0.999, double epsilon = 1e-8) =>
        With(Optim.adamw, Config0(NonNegative(nameof(AdamW), nameof(learningRate), learningRate),
            beta1: Unit(nameof(AdamW), nameof(beta1), beta1), beta2: Unit(nameof(AdamW), nameof(beta2), beta2),
            epsilon: Positive(nameof(AdamW), nameof(epsilon), epsilon),
            weightDecay: NonNegative(nameof(AdamW), nameof(weightDecay), weightDecay)));

    /// <summary>
    /// A rule of your own, of the same shape as the built-in ones. The solver passes the configuration with the
    /// current (decayed) learning rate to <paramref name="step"/> on every call.
    /// </summary>
    /// <param name="name">The rule's name (stored in checkpoints).</param>
    /// <param name="init">parameter → initial state (e.g. <c>OptimState.Create(slots, 0)</c>).</param>
    /// <param name="step">(config, state, parameter, gradient) → (new parameter, new state); must not mutate.</param>
    /// <param name="learningRate">The starting learning rate, ≥ 0.</param>
    /// <returns>The rule.</returns>
    public static UpdateRule Custom(
        string name,
        Func<Tensor, OptimState> init,
        Func<OptimConfig, OptimState, Tensor, Tensor, (Tensor Parameter, OptimState State)> step,
        double learningRate = 1e-2)
    {
        Require.NotNull(name);
        Require.NotNull(init);
        Require.NotNull(step);
        var config = Config0(NonNegative(nameof(Custom), nameof(learningRate), learningRate));
        return new UpdateRule(Optim.custom(
            name,
            config,
            FuncConvert.FromFunc<Tensor, OptimState>(w => Require.NotNull(init(w), "init(parameter)")),
            FuncConvert.FromFunc<OptimConfig, OptimState, Tensor, Tensor, Tuple<Tensor, OptimState>>((c, s, w, g) =>
            {
                var (p, st) = step(c, s, w, g);
                return Tuple.Create(Require.NotNull(p, "step(...).Parameter"), Require.NotNull(st, "step(...).State"));
            })));
    }

    /// <summary>The same rule with another learning rate.</summary>
    /// <param name="learningRate">The learning rate, ≥ 0.</param>
    /// <returns>A new rule; this one is unchanged.</returns>
    public UpdateRule WithLearningRate(double learningRate) =>
        new(Optim.withLearningRate(NonNegative(nameof(WithLearningRate), nameof(learningRate), learningRate), Core));

    /// <summary>The rule's initial state for a parameter (zeros of its shape in each slot, step 0).</summary>
    /// <param name="parameter">The parameter.</param>
    /// <returns>The state.</returns>
    public OptimState Init(Tensor parameter) => Core.Init.Invoke(Require.NotNull(parameter));

    /// <summary>
    /// One step with this rule's configuration (checked when the rule was made). Pure: the inputs are not changed.
    /// </summary>
    /// <param name="state">The parameter's current state.</param>
    /// <param name="parameter">The parameter.</param>
    /// <param name="gradient">Its gradient (the parameter's shape).</param>
    /// <returns>The new parameter and the new state.</returns>
    /// <exception cref="ArgumentException">The shapes differ, or the state is not this rule's.</exception>
    public (Tensor Parameter, OptimState State) Step(OptimState state, Tensor parameter, Tensor gradient)
    {
        var (p, s) = Optim.step(Core, Require.NotNull(state), Require.NotNull(parameter), Require.NotNull(gradient));
        return (p, s);
    }

    /// <inheritdoc/>
    public override string ToString() => $"UpdateRule {Name} (learning rate {LearningRate})";
}

/// <summary>
/// The state of the built-in update rules by type rather than by slot name: factories that make a rule's state
/// (to start from known moments, e.g. another implementation's) and readers of its tensors. Each tensor has the
/// parameter's shape; <c>stepsTaken</c> is <see cref="OptimState.Step"/>, the number of steps already taken.
/// </summary>
public static class OptimStates
{
    /// <summary>The slot of SGD with momentum and of Nesterov momentum: the velocity v.</summary>
    public const string VelocitySlot = "velocity";

    /// <summary>RMSProp's slot: the moving average of squared gradients.</summary>
    public const string CacheSlot = "cache";

    /// <summary>Adam's and AdamW's first-moment slot, m.</summary>
    public const string FirstMomentSlot = "m";

    /// <summary>Adam's and AdamW's second-moment slot, v.</summary>
    public const string SecondMomentSlot = "v";

    private static OptimState Of(int stepsTaken, params (string Name, Tensor Value)[] slots) =>
        OptimState.Create(slots.Select(s => KeyValuePair.Create(s.Name, s.Value)), stepsTaken);

    /// <summary>Plain SGD's state: no tensors.</summary>
    /// <param name="stepsTaken">The steps already taken, ≥ 0.</param>
    /// <returns>The state.</returns>
    /// <exception cref="ArgumentException">stepsTaken is negative.</exception>
    public static OptimState Sgd(int stepsTaken = 0) => Of(stepsTaken);

    /// <summary>The state of <see cref="UpdateRule.Momentum"/> and <see cref="UpdateRule.Nesterov"/>.</summary>
    /// <param name="velocity">The velocity v, of the parameter's shape.</param>
    /// <param name="stepsTaken">The steps already taken, ≥ 0.</param>
    /// <returns>The state.</returns>
    /// <exception cref="ArgumentException">velocity is null or stepsTaken is negative.</exception>
    public static OptimState Momentum(Tensor velocity, int stepsTaken = 0) => Of(stepsTaken, (VelocitySlot, Require.NotNull(velocity)));

    /// <summary>The state of <see cref="UpdateRule.RmsProp"/>.</summary>
    /// <param name="cache">The moving average of squared gradients, of the parameter's shape.</param>
    /// <param name="stepsTaken">The steps already taken, ≥ 0.</param>
    /// <returns>The state.</returns>
    /// <exception cref="ArgumentException">cache is null or stepsTaken is negative.</exception>
    public static OptimState RmsProp(Tensor cache, int stepsTaken = 0) => Of(stepsTaken, (CacheSlot, Require.NotNull(cache)));

    /// <summary>
    /// The state of <see cref="UpdateRule.Adam"/> and <see cref="UpdateRule.AdamW"/>. The bias correction of the
    /// next step uses t = <paramref name="stepsTaken"/> + 1 (the course's <c>t</c> after its increment).
    /// </summary>
    /// <param name="firstMoment">m, of the parameter's shape.</param>
    /// <param name="secondMoment">v, of the parameter's shape.</param>
    /// <param name="stepsTaken">The steps already taken, ≥ 0 (the course's <c>t</c> before the step).</param>
    /// <returns>The state.</returns>
    /// <exception cref="ArgumentException">A moment is null or stepsTaken is negative.</exception>
    public static OptimState Adam(Tensor firstMoment, Tensor secondMoment, int stepsTaken) =>
        Of(stepsTaken, (FirstMomentSlot, Require.NotNull(firstMoment)), (SecondMomentSlot, Require.NotNull(secondMoment)));

    /// <summary>The velocity of a momentum or Nesterov state.</summary>
    /// <param name="state">The state.</param>
    /// <returns>The velocity tensor.</returns>
    /// <exception cref="ArgumentException">The state has no velocity (it was made by another rule).</exception>
    public static Tensor Velocity(this OptimState state) => Require.NotNull(state).Slot(VelocitySlot);

    /// <summary>The squared-gradient cache of an RMSProp state.</summary>
    /// <param name="state">The state.</param>
    /// <returns>The cache tensor.</returns>
    /// <exception cref="ArgumentException">The state has no cache.</exception>
    public static Tensor Cache(this OptimState state) => Require.NotNull(state).Slot(CacheSlot);

    /// <summary>The first moment m of an Adam or AdamW state.</summary>
    /// <param name="state">The state.</param>
    /// <returns>m.</returns>
    /// <exception cref="ArgumentException">The state has no first moment.</exception>
    public static Tensor FirstMoment(this OptimState state) => Require.NotNull(state).Slot(FirstMomentSlot);

    /// <summary>The second moment v of an Adam or AdamW state.</summary>
    /// <param name="state">The state.</param>
    /// <returns>v.</returns>
    /// <exception cref="ArgumentException">The state has no second moment.</exception>
    public static Tensor SecondMoment(this OptimState state) => Require.NotNull(state).Slot(SecondMomentSlot);
}
