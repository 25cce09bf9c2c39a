using Functional.FSharp;
using Microsoft.FSharp.Collections;
using F = Functional.FSharp;

namespace Functional;

/// <summary>
/// Differentiable operations on <see cref="Variable"/>s: elementwise math with numpy broadcasting, matrix product,
/// reductions, shape operations, gathers, and the library's layers and losses as primitives (their own fast forward,
/// their hand-written backward as the gradient). Shapes and errors are those of the tensor operation or layer of the
/// same name; a wrong shape throws <see cref="ArgumentException"/> naming the op.
/// </summary>
public static class Ops
{
    private static Variable V(Value v) => new(v);

    private static Value C(
        Variable? v,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(v))] string? name = null,
        [System.Runtime.CompilerServices.CallerMemberName] string? member = null) =>
        Variable.Of(v, name, member);

    /// <summary>e^x elementwise.</summary>
    public static Variable Exp(Variable x) => V(F.OpsModule.exp(C(x)));

    /// <summary>Natural logarithm elementwise.</summary>
    public static Variable Log(Variable x) => V(F.OpsModule.log(C(x)));

    /// <summary>Square root elementwise.</summary>
    public static Variable Sqrt(Variable x) => V(F.OpsModule.sqrt(C(x)));

    /// <summary>x^p elementwise for a constant exponent p.</summary>
    public static Variable Pow(Variable x, double p) => V(F.OpsModule.pow(p, C(x)));

    /// <summary>|x| elementwise (gradient sign(x), 0 at 0).</summary>
    public static Variable Abs(Variable x) => V(F.OpsModule.abs(C(x)));

    /// <summary>Elementwise maximum with broadcasting; the gradient goes to the larger input (to a on ties).</summary>
    public static Variable Maximum(Variable a, Variable b) => V(F.OpsModule.maximum(C(a), C(b)));

    /// <summary>Elementwise minimum with broadcasting; the gradient goes to the smaller input (to a on ties).</summary>
    public static Variable Minimum(Variable a, Variable b) => V(F.OpsModule.minimum(C(a), C(b)));

    /// <summary>Hyperbolic tangent.</summary>
    public static Variable Tanh(Variable x) => V(F.LayersModule.tanh(C(x)));

    /// <summary>Logistic sigmoid 1 / (1 + e^−x).</summary>
    public static Variable Sigmoid(Variable x) => V(F.LayersModule.sigmoid(C(x)));

    /// <summary>ReLU max(0, x).</summary>
    public static Variable Relu(Variable x) => V(F.LayersModule.relu(C(x)));

    /// <summary>Leaky ReLU: x where x &gt; 0, slope · x elsewhere.</summary>
    public static Variable LeakyRelu(Variable x, double slope = 0.01) => V(F.LayersModule.leakyRelu(slope, C(x)));

    /// <summary>Matrix product of a (m, k) and b (k, n): (m, n).</summary>
    public static Variable MatMul(Variable a, Variable b) => V(F.OpsModule.matmul(C(a), C(b)));

    /// <summary>Sum over the given axes (all when none); keepDims keeps them with size 1.</summary>
    public static Variable Sum(Variable x, int[]? axes = null, bool keepDims = false) =>
        V(F.OpsModule.sum(axes ?? [], keepDims, C(x)));

    /// <summary>Mean over the given axes (all when none).</summary>
    public static Variable Mean(Variable x, int[]? axes = null, bool keepDims = false) =>
        V(F.OpsModule.mean(axes ?? [], keepDims, C(x)));

    /// <summary>Maximum over the given axes (all when none); the gradient is shared among ties.</summary>
    public static Variable Max(Variable x, int[]? axes = null, bool keepDims = false) =>
        V(F.OpsModule.max(axes ?? [], keepDims, C(x)));

    /// <summary>The same elements in a new shape (one dimension may be −1).</summary>
    public static Variable Reshape(Variable x, params int[] shape) => V(F.OpsModule.reshape(Require.NotNull(shape), C(x)));

    /// <summary>Axes permuted: axis i of the result is axis axes[i] of x.</summary>
    public static Variable Permute(Variable x, params int[] axes) => V(F.OpsModule.permute(Require.NotNull(axes), C(x)));

    /// <summary>The axes reversed (the matrix transpose for rank 2).</summary>
    public static Variable Transpose(Variable x) => V(F.OpsModule.transpose(C(x)));

    /// <summary>The elements with index in [start, stop) along an axis.</summary>
    public static Variable Slice(Variable x, int axis, int start, int stop) => V(F.OpsModule.slice(axis, start, stop, C(x)));

    /// <summary>Values of equal shape except along an axis, joined along it.</summary>
    public static Variable Concat(IEnumerable<Variable> values, int axis = 0) =>
        V(F.OpsModule.concat(axis, ListModule.OfSeq(Require.NotNull(values).Select(v => C(v, nameof(values))))));

    /// <summary>Values of equal shape stacked along a new axis.</summary>
    public static Variable Stack(IEnumerable<Variable> values, int axis = 0) =>
        V(F.OpsModule.stack(axis, ListModule.OfSeq(Require.NotNull(values).Select(v => C(v, nameof(values))))));

    /// <summary>The rows (axis 0) at the given indices, repeats allowed (an embedding lookup).</summary>
    public static Variable Gather(Variable x, IReadOnlyList<int> indices) =>
        V(F.OpsModule.gather(Require.Labels(indices), C(x)));

    /// <summary>x[i, indices[i]] for every row of x (N, C): shape (N,).</summary>
    public static Variable Pick(Variable x, IReadOnlyList<int> indices) => V(F.OpsModule.pick(Require.Labels(indices), C(x)));

    /// <summary>mask ? a : b elementwise with broadcasting (a non-zero mask entry selects a).</summary>
    public static Variable Where(Tensor mask, Variable a, Variable b) => V(F.OpsModule.where(Require.NotNull(mask), C(a), C(b)));

    /// <summary>The affine layer: x (N, d1, …, dk) · w (D, M) + b (M,) → (N, M).</summary>
    public static Variable Affine(Variable x, Variable w, Variable b) => V(F.LayersModule.affine(C(x), C(w), C(b)));

    /// <summary>
    /// 2-D convolution (the fast path): x (N, C, H, W), w (F, C/groups, HH, WW), b (F,) → (N, F, H', W') with
    /// H' = (H + 2·pad − dilation·(HH − 1) − 1) / stride + 1.
    /// </summary>
    public static Variable Conv(Variable x, Variable w, Variable b, int stride = 1, int pad = 0, int dilation = 1, int groups = 1) =>
        V(F.LayersModule.conv(ConvConfig.Create(stride, pad, dilation, groups), C(x), C(w), C(b)));

    /// <summary>Max pooling over size × size windows: x (N, C, H, W) → (N, C, H', W').</summary>
    public static Variable MaxPool(Variable x, int size = 2, int stride = 2) =>
        V(F.LayersModule.maxPool(PoolConfig.Create(size, size, stride), C(x)));

    /// <summary>Average pooling over size × size windows: x (N, C, H, W) → (N, C, H', W').</summary>
    public static Variable AvgPool(Variable x, int size = 2, int stride = 2) =>
        V(F.LayersModule.avgPool(PoolConfig.Create(size, size, stride), C(x)));

    /// <summary>Layer normalization of x (N, D) with gamma, beta (D,).</summary>
    public static Variable LayerNorm(Variable x, Variable gamma, Variable beta, double eps = 1e-5) =>
        V(F.LayersModule.layerNorm(eps, C(gamma), C(beta), C(x)));

    /// <summary>Softmax (cross-entropy) loss of scores (N, C) for labels (N,) in [0, C): a one-element variable.</summary>
    public static Variable SoftmaxLoss(Variable scores, IReadOnlyList<int> labels) =>
        V(F.LayersModule.softmaxLoss(C(scores), Require.Labels(labels)));

    /// <summary>Multiclass SVM (hinge) loss of scores (N, C) for labels (N,): a one-element variable.</summary>
    public static Variable SvmLoss(Variable scores, IReadOnlyList<int> labels) =>
        V(F.LayersModule.svmLoss(C(scores), Require.Labels(labels)));

    /// <summary>L2 regularization 0.5 · reg · Σ w²: a one-element variable.</summary>
    public static Variable L2(Variable w, double reg) => V(F.LayersModule.l2(reg, C(w)));

    /// <summary>The former name of <see cref="Conv"/>.</summary>
    /// <param name="x">See <see cref="Conv"/>.</param>
    /// <param name="w">See <see cref="Conv"/>.</param>
    /// <param name="b">See <see cref="Conv"/>.</param>
    /// <param name="stride">See <see cref="Conv"/>.</param>
    /// <param name="pad">See <see cref="Conv"/>.</param>
    /// <param name="dilation">See <see cref="Conv"/>.</param>
    /// <param name="groups">See <see cref="Conv"/>.</param>
    /// <returns>See <see cref="Conv"/>.</returns>
    [Obsolete("Use Ops.Conv: the library's one name for convolution (the course's conv).")]
    public static Variable Conv2d(Variable x, Variable w, Variable b, int stride = 1, int pad = 0, int dilation = 1, int groups = 1) =>
        Conv(x, w, b, stride, pad, dilation, groups);

    /// <summary>The former name of <see cref="MaxPool"/>.</summary>
    /// <param name="x">See <see cref="MaxPool"/>.</param>
    /// <param name="size">See <see cref="MaxPool"/>.</param>
    /// <param name="stride">See <see cref="MaxPool"/>.</param>
    /// <returns>See <see cref="MaxPool"/>.</returns>
    [Obsolete("Use Ops.MaxPool: the library's one name for max pooling.")]
    public static Variable MaxPool2d(Variable x, int size = 2, int stride = 2) => MaxPool(x, size, stride);

    /// <summary>The former name of <see cref="AvgPool"/>.</summary>
    /// <param name="x">See <see cref="AvgPool"/>.</param>
    /// <param name="size">See <see cref="AvgPool"/>.</param>
    /// <param name="stride">See <see cref="AvgPool"/>.</param>
    /// <returns>See <see cref="AvgPool"/>.</returns>
    [Obsolete("Use Ops.AvgPool: the library's one name for average pooling.")]
    public static Variable AvgPool2d(Variable x, int size = 2, int stride = 2) => AvgPool(x, size, stride);
}
