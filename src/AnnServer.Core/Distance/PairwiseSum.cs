using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AnnServer.Core.Distance;

/// <summary>
/// <c>sum over i of TTerm(a[i], b[i])</c> over raw float pointers, at each width of the ladder: the one loop of the
/// float kernels (<see cref="SquaredL2Kernel"/>, <see cref="DotProductKernel"/>), written once over a generic vector
/// width (<see cref="ISimdWidth{TVector}"/>). No bounds checks, no allocation. Callers guarantee both pointers
/// address at least <c>dimension</c> floats and <c>dimension &gt;= 1</c>.
/// </summary>
/// <remarks>
/// Shape of the vector loop: four vectors per iteration into four independent accumulators (an FMA has ~4 cycles
/// latency and 2 issue ports, so one accumulator would leave the core idle most of the time), a one-vector loop, then
/// the 1..width-1 remaining floats as ONE overlapping vector loaded at <c>dimension - width</c> with the
/// already-counted lanes masked off. A dimension narrower than the vector falls through to the next narrower path.
/// Every type argument is a struct, so the JIT compiles one body per (term, width) with the term and the width's
/// operations inlined: the same machine code as a loop written out by hand for each width.
/// The loop is inlined into its path method, so each path method is one compiled body (check, loop, tail call to the
/// narrower path), the unit the hand-written methods were: the search loops call it once per distance, and dynamic
/// PGO inlines it into hot small callers as it did the old methods. With the loop a method of its own instead (and the
/// path methods inlined into the callers), PGO never inlined the loop, and the kernel benchmarks, whose methods it
/// used to be inlined into, lost 0.3-0.6 ns per call at 100-128 floats.
/// No loop may ever run at Tier-0, where every width and term member is a real call (a freshly started server under 8
/// callers spent 1.3-2.25x the CPU per search until tiering caught up). So the path methods and <see cref="Scalar"/> are
/// AggressiveOptimization (compiled optimized on their first call, the loop inlined), and so is the loop itself, beside
/// its AggressiveInlining: a Tier-1 caller may inline a path method but not the loop inside it (seen with
/// DOTNET_JitDisasmSummary: Tier-1 SquaredL2Kernel.Compute, 292 bytes, calls Vectorized), and that out-of-line loop was
/// then compiled at (instrumented) Tier-0: a cold ann-build of 4,000 points spent 1.49x main's CPU (1.14x without
/// AggressiveOptimization on the path methods); with it on the loop, 1.01x (bench/results/kernels.md).
/// The offsets are written <c>a + i + k * TWidth.Count</c>, not through a local holding the width: with a local the JIT
/// (10.0) computed <c>a + 4 * i</c> into a register each iteration (three more instructions) instead of folding
/// <c>[a + 4 * i + disp]</c> into every load.
/// <para>
/// Measured with bench/AnnServer.Benchmarks (DistanceKernelBenchmarks; BenchmarkDotNet in-process, 2-core AMD EPYC
/// with AVX-512 shared with other builds; the smallest per-run Min of 9 runs; see that class for the command), ns per
/// call at 100 / 128 / 784 / 1536 floats:
/// squared L2  Scalar 28 / 38 / 217 / 427, Vector128 8.1 / 11.0 / 57 / 110, Vector256 6.7 / 5.0 / 29 / 56,
/// Vector512 7.8 / 5.6 / 29 / 57, Compute 6.3 / 5.4 / 29 / 57, TensorPrimitives.Distance 7.4 / 9.1 / 40 / 76;
/// dot         Scalar 28 / 37 / 219 / 427, Vector128 10.7 / 8.1 / 56 / 106, Vector256 5.8 / 4.1 / 28 / 56,
/// Vector512 5.1 / 4.4 / 29 / 57, Compute 5.2 / 4.4 / 29 / 57, TensorPrimitives.Dot 6.0 / 6.9 / 33 / 65.
/// TensorPrimitives (on spans over the same pointers) is 14-36 % slower from 784 up and 15-70 % at 100 and 128
/// (Distance also takes a square root we do not need), so we keep our own kernels. At 100 and 128 floats a run lands
/// in one of two or three modes 1-3 ns apart, from run to run of the same binary, so compare minima over several
/// runs, not one run.
/// </para>
/// </remarks>
internal static unsafe class PairwiseSum<TTerm>
    where TTerm : IPairwiseTerm
{
    /// <summary>The sum on <see cref="DistanceKernels.ActivePath"/>; the switch is folded by the JIT.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Compute(float* a, float* b, int dimension) => DistanceKernels.ActivePath switch
    {
        KernelPath.Vector512 => Vector512Path(a, b, dimension),
        KernelPath.Vector256 => Vector256Path(a, b, dimension),
        KernelPath.Vector128 => Vector128Path(a, b, dimension),
        _ => Scalar(a, b, dimension),
    };

    /// <summary>Scalar loop with four accumulators; the fallback when no vector width is accelerated.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Scalar(float* a, float* b, int dimension)
    {
        nuint n = (nuint)dimension;
        nuint i = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (; i + 4 <= n; i += 4)
        {
            s0 = TTerm.Accumulate(s0, a[i], b[i]);
            s1 = TTerm.Accumulate(s1, a[i + 1], b[i + 1]);
            s2 = TTerm.Accumulate(s2, a[i + 2], b[i + 2]);
            s3 = TTerm.Accumulate(s3, a[i + 3], b[i + 3]);
        }

        for (; i < n; i++)
        {
            s0 = TTerm.Accumulate(s0, a[i], b[i]);
        }

        return (s0 + s1) + (s2 + s3);
    }

    /// <summary>128-bit path (4 floats per vector); scalar below 4 floats or without 128-bit acceleration.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // holds the loop: never Tier-0
    public static float Vector128Path(float* a, float* b, int dimension) =>
        Vector128Width.IsHardwareAccelerated && dimension >= Vector128Width.Count
            ? Vectorized<Vector128Width, Vector128<float>>(a, b, dimension)
            : Scalar(a, b, dimension);

    /// <summary>256-bit path (8 floats per vector); the 128-bit path below 8 floats or without 256-bit acceleration.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // holds the loop: never Tier-0
    public static float Vector256Path(float* a, float* b, int dimension) =>
        Vector256Width.IsHardwareAccelerated && dimension >= Vector256Width.Count
            ? Vectorized<Vector256Width, Vector256<float>>(a, b, dimension)
            : Vector128Path(a, b, dimension);

    /// <summary>512-bit path (16 floats per vector); the 256-bit path below 16 floats or without 512-bit acceleration.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // holds the loop: never Tier-0
    public static float Vector512Path(float* a, float* b, int dimension) =>
        Vector512Width.IsHardwareAccelerated && dimension >= Vector512Width.Count
            ? Vectorized<Vector512Width, Vector512<float>>(a, b, dimension)
            : Vector256Path(a, b, dimension);

    /// <summary>The vector loop at one width; <paramref name="dimension"/> is at least one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)] // and where not inlined, never Tier-0
    private static float Vectorized<TWidth, TVector>(float* a, float* b, int dimension)
        where TWidth : ISimdWidth<TVector>
        where TVector : struct
    {
        Debug.Assert(TWidth.IsHardwareAccelerated && dimension >= TWidth.Count);
        nuint n = (nuint)dimension;
        nuint i = 0;
        TVector acc0 = TWidth.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (; i + 4 * (nuint)TWidth.Count <= n; i += 4 * (nuint)TWidth.Count)
        {
            acc0 = TTerm.Accumulate<TWidth, TVector>(acc0, TWidth.Load(a + i), TWidth.Load(b + i));
            acc1 = TTerm.Accumulate<TWidth, TVector>(acc1, TWidth.Load(a + i + TWidth.Count), TWidth.Load(b + i + TWidth.Count));
            acc2 = TTerm.Accumulate<TWidth, TVector>(acc2, TWidth.Load(a + i + 2 * TWidth.Count), TWidth.Load(b + i + 2 * TWidth.Count));
            acc3 = TTerm.Accumulate<TWidth, TVector>(acc3, TWidth.Load(a + i + 3 * TWidth.Count), TWidth.Load(b + i + 3 * TWidth.Count));
        }

        for (; i + (nuint)TWidth.Count <= n; i += (nuint)TWidth.Count)
        {
            acc0 = TTerm.Accumulate<TWidth, TVector>(acc0, TWidth.Load(a + i), TWidth.Load(b + i));
        }

        if (i < n)
        {
            // Overlapping last block: its lanes below (i - last) were already counted.
            nuint last = n - (nuint)TWidth.Count;
            acc1 = TTerm.AccumulateLanes<TWidth, TVector>(
                acc1, TWidth.Load(a + last), TWidth.Load(b + last), TWidth.LanesFrom((int)(i - last)));
        }

        return TWidth.Sum(TWidth.Add(TWidth.Add(acc0, acc1), TWidth.Add(acc2, acc3)));
    }
}
