using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AnnServer.Core.Distance;

/// <summary>
/// Squared Euclidean distance, <c>sum (a[i] - b[i])^2</c>, over raw float pointers: no bounds checks, no allocation.
/// Callers guarantee both pointers address at least <c>dimension</c> floats and <c>dimension &gt;= 1</c>.
/// </summary>
/// <remarks>
/// Shape of every vector path (the same in <see cref="DotProductKernel"/>): a main loop over four vectors per
/// iteration into four independent accumulators (an FMA has ~4 cycles latency and 2 issue ports, so one accumulator
/// would leave the core idle most of the time), a one-vector loop, then the 1..width-1 remaining floats as ONE
/// overlapping vector loaded at <c>dimension - width</c> with the already-counted lanes masked to zero. A dimension
/// narrower than the vector falls through to the next narrower path.
/// We use MultiplyAddEstimate rather than FusedMultiplyAdd: it is a single FMA wherever the CPU has one and a
/// multiply+add where it has not (FusedMultiplyAdd would be emulated element by element there, e.g. under
/// DOTNET_EnableAVX2=0); we need the speed, not the single rounding.
/// <para>
/// Measured (ad-hoc Stopwatch console run, not kept: tier-1 warm, best of 9 x 2000 x 63 calls over 64 L1/L2-resident
/// vectors, 2-core AMD EPYC with AVX-512 shared with other builds, so +-20 %), ns per call at 128 / 784 / 1536 floats:
/// squared L2  scalar 39 / 274 / 548, Vector128 14 / 79 / 142, Vector256 8.8 / 50 / 97, Vector512 8.8 / 43 / 74,
/// Compute 8.7 / 42 / 75, TensorPrimitives.Distance 11.8 / 42 / 79;
/// dot         scalar 44 / 276 / 539, Vector128 13 / 77 / 133, Vector256 8.3 / 51 / 95, Vector512 8.4 / 41 / 75,
/// Compute 8.3 / 36 / 74, TensorPrimitives.Dot 11.2 / 43 / 79.
/// TensorPrimitives (called on spans over the same pointers) is as fast from 784 up but ~25-35 % slower at 128, the
/// common HNSW dimension class (not profiled further; Distance also takes a square root we do not need), so we keep
/// our own kernels. Re-measure when the benchmarks project has a kernel suite.
/// </para>
/// </remarks>
public static unsafe class SquaredL2Kernel
{
    /// <summary>The distance on <see cref="DistanceKernels.ActivePath"/>; the switch is folded by the JIT.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Compute(float* a, float* b, int dimension) => DistanceKernels.ActivePath switch
    {
        KernelPath.Vector512 => Vector512Path(a, b, dimension),
        KernelPath.Vector256 => Vector256Path(a, b, dimension),
        KernelPath.Vector128 => Vector128Path(a, b, dimension),
        _ => Scalar(a, b, dimension),
    };

    /// <summary>Scalar loop with four accumulators; the fallback when no vector width is accelerated.</summary>
    public static float Scalar(float* a, float* b, int dimension)
    {
        nuint n = (nuint)dimension;
        nuint i = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (; i + 4 <= n; i += 4)
        {
            float d0 = a[i] - b[i];
            float d1 = a[i + 1] - b[i + 1];
            float d2 = a[i + 2] - b[i + 2];
            float d3 = a[i + 3] - b[i + 3];
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }

        for (; i < n; i++)
        {
            float d = a[i] - b[i];
            s0 += d * d;
        }

        return (s0 + s1) + (s2 + s3);
    }

    /// <summary>128-bit path (4 floats per vector); scalar below 4 floats or without 128-bit acceleration.</summary>
    public static float Vector128Path(float* a, float* b, int dimension)
    {
        const int Width = 4;
        if (!Vector128.IsHardwareAccelerated || dimension < Width)
        {
            return Scalar(a, b, dimension);
        }

        nuint n = (nuint)dimension;
        nuint i = 0;
        Vector128<float> acc0 = Vector128<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (; i + 4 * Width <= n; i += 4 * Width)
        {
            Vector128<float> d0 = Vector128.Load(a + i) - Vector128.Load(b + i);
            Vector128<float> d1 = Vector128.Load(a + i + Width) - Vector128.Load(b + i + Width);
            Vector128<float> d2 = Vector128.Load(a + i + 2 * Width) - Vector128.Load(b + i + 2 * Width);
            Vector128<float> d3 = Vector128.Load(a + i + 3 * Width) - Vector128.Load(b + i + 3 * Width);
            acc0 = Vector128.MultiplyAddEstimate(d0, d0, acc0);
            acc1 = Vector128.MultiplyAddEstimate(d1, d1, acc1);
            acc2 = Vector128.MultiplyAddEstimate(d2, d2, acc2);
            acc3 = Vector128.MultiplyAddEstimate(d3, d3, acc3);
        }

        for (; i + Width <= n; i += Width)
        {
            Vector128<float> d = Vector128.Load(a + i) - Vector128.Load(b + i);
            acc0 = Vector128.MultiplyAddEstimate(d, d, acc0);
        }

        if (i < n)
        {
            // Overlapping last block: lanes below (i - last) were already counted.
            nuint last = n - Width;
            Vector128<float> keep = Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create((int)(i - last))).AsSingle();
            Vector128<float> d = (Vector128.Load(a + last) - Vector128.Load(b + last)) & keep;
            acc1 = Vector128.MultiplyAddEstimate(d, d, acc1);
        }

        return Vector128.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>256-bit path (8 floats per vector); the 128-bit path below 8 floats or without 256-bit acceleration.</summary>
    public static float Vector256Path(float* a, float* b, int dimension)
    {
        const int Width = 8;
        if (!Vector256.IsHardwareAccelerated || dimension < Width)
        {
            return Vector128Path(a, b, dimension);
        }

        nuint n = (nuint)dimension;
        nuint i = 0;
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (; i + 4 * Width <= n; i += 4 * Width)
        {
            Vector256<float> d0 = Vector256.Load(a + i) - Vector256.Load(b + i);
            Vector256<float> d1 = Vector256.Load(a + i + Width) - Vector256.Load(b + i + Width);
            Vector256<float> d2 = Vector256.Load(a + i + 2 * Width) - Vector256.Load(b + i + 2 * Width);
            Vector256<float> d3 = Vector256.Load(a + i + 3 * Width) - Vector256.Load(b + i + 3 * Width);
            acc0 = Vector256.MultiplyAddEstimate(d0, d0, acc0);
            acc1 = Vector256.MultiplyAddEstimate(d1, d1, acc1);
            acc2 = Vector256.MultiplyAddEstimate(d2, d2, acc2);
            acc3 = Vector256.MultiplyAddEstimate(d3, d3, acc3);
        }

        for (; i + Width <= n; i += Width)
        {
            Vector256<float> d = Vector256.Load(a + i) - Vector256.Load(b + i);
            acc0 = Vector256.MultiplyAddEstimate(d, d, acc0);
        }

        if (i < n)
        {
            nuint last = n - Width;
            Vector256<float> keep = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create((int)(i - last))).AsSingle();
            Vector256<float> d = (Vector256.Load(a + last) - Vector256.Load(b + last)) & keep;
            acc1 = Vector256.MultiplyAddEstimate(d, d, acc1);
        }

        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>512-bit path (16 floats per vector); the 256-bit path below 16 floats or without 512-bit acceleration.</summary>
    public static float Vector512Path(float* a, float* b, int dimension)
    {
        const int Width = 16;
        if (!Vector512.IsHardwareAccelerated || dimension < Width)
        {
            return Vector256Path(a, b, dimension);
        }

        nuint n = (nuint)dimension;
        nuint i = 0;
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (; i + 4 * Width <= n; i += 4 * Width)
        {
            Vector512<float> d0 = Vector512.Load(a + i) - Vector512.Load(b + i);
            Vector512<float> d1 = Vector512.Load(a + i + Width) - Vector512.Load(b + i + Width);
            Vector512<float> d2 = Vector512.Load(a + i + 2 * Width) - Vector512.Load(b + i + 2 * Width);
            Vector512<float> d3 = Vector512.Load(a + i + 3 * Width) - Vector512.Load(b + i + 3 * Width);
            acc0 = Vector512.MultiplyAddEstimate(d0, d0, acc0);
            acc1 = Vector512.MultiplyAddEstimate(d1, d1, acc1);
            acc2 = Vector512.MultiplyAddEstimate(d2, d2, acc2);
            acc3 = Vector512.MultiplyAddEstimate(d3, d3, acc3);
        }

        for (; i + Width <= n; i += Width)
        {
            Vector512<float> d = Vector512.Load(a + i) - Vector512.Load(b + i);
            acc0 = Vector512.MultiplyAddEstimate(d, d, acc0);
        }

        if (i < n)
        {
            nuint last = n - Width;
            Vector512<float> keep = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create((int)(i - last))).AsSingle();
            Vector512<float> d = (Vector512.Load(a + last) - Vector512.Load(b + last)) & keep;
            acc1 = Vector512.MultiplyAddEstimate(d, d, acc1);
        }

        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }
}
