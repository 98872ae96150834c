using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using AnnServer.Core.Distance;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace AnnServer.Benchmarks;

/// <summary>
/// One distance between two L1-resident vectors, per kernel path, at the dimensions of typical embeddings:
/// 100 (GloVe-100), 128 (SIFT-like), 784 (Fashion-MNIST), 1536 (OpenAI ada-002). 100 is the one that reaches every
/// part of every path (100 = 64 + 2 x 16 + 4 at 512 bits, 3 x 32 + 4 at 256): the others are multiples of 16, so
/// they never run the masked last block. Compute is the path the engine chose at start-up;
/// the explicit paths fall back to a narrower one where the CPU lacks the width. TensorPrimitives is the baseline we
/// must not lose to (its Distance is Euclidean, with a square root ours does not take).
/// On a shared machine, measure with short iterations and compare the Min column over several runs, alternating
/// builds when comparing two: at 100 and 128 floats a run lands in one of two or three modes 1-3 ns apart.
///   dotnet run -c Release --project bench/AnnServer.Benchmarks -- --filter '*DistanceKernel*' --warmupCount 10
///     --iterationCount 100 --iterationTime 10 --exporters json
/// (the JSON report in the artifacts folder has the Min of each case).
/// </summary>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public unsafe class DistanceKernelBenchmarks
{
    private float* _a;
    private float* _b;

    [Params(100, 128, 784, 1536)]
    public int Dimension { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // 64-byte aligned, as the engine's vector storage is, so no path pays for split cache-line loads.
        _a = (float*)NativeMemory.AlignedAlloc((nuint)(Dimension * sizeof(float)), 64);
        _b = (float*)NativeMemory.AlignedAlloc((nuint)(Dimension * sizeof(float)), 64);
        var random = new Random(42);
        for (int i = 0; i < Dimension; i++)
        {
            _a[i] = (float)random.NextDouble();
            _b[i] = (float)random.NextDouble();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_a);
        NativeMemory.AlignedFree(_b);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("SquaredL2")]
    public float L2_Scalar() => SquaredL2Kernel.Scalar(_a, _b, Dimension);

    [Benchmark, BenchmarkCategory("SquaredL2")]
    public float L2_Vector128() => SquaredL2Kernel.Vector128Path(_a, _b, Dimension);

    [Benchmark, BenchmarkCategory("SquaredL2")]
    public float L2_Vector256() => SquaredL2Kernel.Vector256Path(_a, _b, Dimension);

    [Benchmark, BenchmarkCategory("SquaredL2")]
    public float L2_Vector512() => SquaredL2Kernel.Vector512Path(_a, _b, Dimension);

    [Benchmark, BenchmarkCategory("SquaredL2")]
    public float L2_Compute() => SquaredL2Kernel.Compute(_a, _b, Dimension);

    [Benchmark, BenchmarkCategory("SquaredL2")]
    public float L2_TensorPrimitivesDistance() =>
        TensorPrimitives.Distance(new ReadOnlySpan<float>(_a, Dimension), new ReadOnlySpan<float>(_b, Dimension));

    [Benchmark(Baseline = true), BenchmarkCategory("Dot")]
    public float Dot_Scalar() => DotProductKernel.Scalar(_a, _b, Dimension);

    [Benchmark, BenchmarkCategory("Dot")]
    public float Dot_Vector128() => DotProductKernel.Vector128Path(_a, _b, Dimension);

    [Benchmark, BenchmarkCategory("Dot")]
    public float Dot_Vector256() => DotProductKernel.Vector256Path(_a, _b, Dimension);

    [Benchmark, BenchmarkCategory("Dot")]
    public float Dot_Vector512() => DotProductKernel.Vector512Path(_a, _b, Dimension);

    [Benchmark, BenchmarkCategory("Dot")]
    public float Dot_Compute() => DotProductKernel.Compute(_a, _b, Dimension);

    [Benchmark, BenchmarkCategory("Dot")]
    public float Dot_TensorPrimitivesDot() =>
        TensorPrimitives.Dot(new ReadOnlySpan<float>(_a, Dimension), new ReadOnlySpan<float>(_b, Dimension));
}
