// Compiles only if importing both namespaces leaves no name ambiguous (CS0104): this file is outside the Functional
// namespace on purpose, so that neither namespace is searched before the other.
using System.Reflection;
using Functional;
using Functional.FSharp;

namespace BothNamespaces;

/// <summary>
/// A C# program that writes <c>using Functional;</c> and <c>using Functional.FSharp;</c> uses each name that exists in
/// both faces (the facade's class and the core's F# module or type of the same noun): the F# modules compile with a
/// <c>Module</c> suffix (as FSharp.Core's <c>ListModule</c>), and the F# types the facade wraps sit in modules that F#
/// opens with the namespace.
/// </summary>
public class BothNamespacesTests
{
    [Fact]
    public void EveryNameSharedByTheFacesCompilesWithBothNamespacesImported()
    {
        Tensor x = Tensor.FromArray([0.5, -1.0, 2.0, 0.0, 1.0, -0.5], 2, 3);
        Rng rng = Rng.Create(7);
        int[] y = [2, 0];
        Model model = Model.Create(
            "softmax", new Dictionary<string, Tensor> { ["W"] = Tensor.Zeros(3, 3) }, (p, v) => Ops.MatMul(v, p["W"]));
        ModelLoss loss = model.Loss(x, y, rng: rng);
        Assert.Equal(Math.Log(3), loss.Loss, 12);
        Assert.Equal(Math.Log(3), Losses.Softmax(Tensor.MatMul(x, Tensor.Zeros(3, 3)), y).Loss, 12);
        Assert.True(GradCheck.RelativeError(x, x) == 0.0);
        Assert.Equal([2, 3], Layers.ReluForward(x).Out.Shape);
        Assert.Equal(3, Autodiff.Gradients(model.Parameters, p => Ops.SoftmaxLoss(Ops.MatMul(Variable.Constant(x), p["W"]), y)).Gradients["W"].Shape[0]);

        UpdateRule rule = UpdateRule.Sgd(1e-2);
        SolverConfig config = new() { NumEpochs = 1, BatchSize = 2, NumTrainSamples = null };
        Solver solver = new(model, rule, config);
        TrainingResult result = solver.Train(x, y, x, y);
        Assert.Equal(1, result.Epochs);

        var dir = Directory.CreateTempSubdirectory("both-namespaces-");
        try
        {
            var path = Path.Combine(dir.FullName, "run.npz");
            Checkpoint.Save(path, result);
            Assert.Equal(1, Checkpoint.Load(path).Epoch);
            Npz.Save(Path.Combine(dir.FullName, "a.npz"), new Dictionary<string, Tensor> { ["x"] = x });
            Assert.Equal(x.ToArray(), Npz.Load(Path.Combine(dir.FullName, "a.npz"))["x"].ToArray());
            Npy.Save(Path.Combine(dir.FullName, "x.npy"), x);
            Assert.Equal(x.ToArray(), Npy.Load(Path.Combine(dir.FullName, "x.npy")).ToArray());
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        Dataset set = new(Tensor.Zeros(2, 1, 2, 2), [0, 1], ["a", "b"]);
        DataSplit split = new(set, set, set);
        Assert.Equal(2, split.Train.Count);
        Assert.Equal(10, Cifar10.Classes.Count);
        Assert.Equal(typeof(Functional.Plot), typeof(Plot));
        Assert.Equal(typeof(Functional.Figure), typeof(Figure));
        Assert.Equal(typeof(Functional.TrainingHistory), typeof(TrainingHistory));
    }

    /// <summary>
    /// The rule behind the compile test, checked over every type: no public top-level type of the core's
    /// Functional.FSharp namespace has the name of a public type of Functional (in either assembly), so a future
    /// module or type cannot reopen the ambiguity unnoticed.
    /// </summary>
    [Fact]
    public void NoTopLevelNameOfFunctionalFSharpIsAlsoANameOfFunctional()
    {
        Assembly[] ours = [typeof(Layers).Assembly, typeof(Tensor).Assembly];
        var exported = ours.SelectMany(a => a.GetExportedTypes()).Where(t => !t.IsNested).ToList();
        static string Name(Type t) => t.IsGenericType ? t.Name[..t.Name.IndexOf('`')] : t.Name;
        var facing = exported.Where(t => t.Namespace == "Functional").Select(Name).ToHashSet();
        var clashes = exported.Where(t => t.Namespace == "Functional.FSharp" && facing.Contains(Name(t))).Select(t => t.FullName).ToList();
        Assert.True(clashes.Count == 0, "names in both Functional and Functional.FSharp: " + string.Join(", ", clashes));
    }
}
