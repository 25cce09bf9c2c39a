using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Functional;

/// <summary>
/// The matrix product (every one in the library goes through the same internal GEMM) on square N×N operands, for
/// each backend and thread count: one job per FUNCTIONAL_BLAS × FUNCTIONAL_THREADS setting, each in its own
/// process. GFLOP/s = 2·N³ / mean time. Run:
/// <c>dotnet run -c Release --project Scripts/Bench -- --filter '*GemmBenchmarks*'</c>
/// (the openblas jobs fail when libopenblas.so.0 is not installed).
/// </summary>
[Config(typeof(GemmBenchmarks.BackendJobs))]
public class GemmBenchmarks
{
    /// <summary>One job per backend and thread count.</summary>
    public sealed class BackendJobs : ManualConfig
    {
        /// <summary>managed and openblas, 1 and 2 threads.</summary>
        public BackendJobs()
        {
            foreach (var backend in new[] { "managed", "openblas" })
            {
                foreach (var threads in new[] { "1", "2" })
                {
                    AddJob(Job.Default
                        .WithEnvironmentVariables(
                            new EnvironmentVariable("FUNCTIONAL_BLAS", backend),
                            new EnvironmentVariable("FUNCTIONAL_THREADS", threads))
                        .WithId($"{backend}-{threads}t"));
                }
            }
        }
    }

    private Tensor a = null!, b = null!;

    /// <summary>The size of the square operands.</summary>
    [Params(64, 256, 1024)]
    public int N { get; set; }

    /// <summary>Random operands; prints the active backend (it must match the job's).</summary>
    [GlobalSetup]
    public void Setup()
    {
        a = Tensor.RandomNormal(Rng.Create(1), 1.0, N, N);
        b = Tensor.RandomNormal(Rng.Create(2), 1.0, N, N);
        Console.WriteLine($"// GEMM backend: {Blas.Description}");
    }

    /// <summary>C = A·B, (N, N) × (N, N).</summary>
    [Benchmark]
    public Tensor MatMul() => Tensor.MatMul(a, b);
}
