using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace AnnServer.Core.Distance;

/// <summary>
/// Dot product, <c>sum a[i] * b[i]</c>, over raw float pointers: no bounds checks, no allocation.
/// Callers guarantee both pointers address at least <c>dimension</c> floats and <c>dimension &gt;= 1</c>.
/// </summary>
/// <remarks>
/// Same loop shape as <see cref="SquaredL2Kernel"/> (four accumulators, one-vector loop, masked overlapping last
/// block, narrower path below one vector); see the remarks there, which also give the timings against
/// TensorPrimitives.Dot.
/// </remarks>
public static unsafe class DotProductKernel
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
            s0 += a[i] * b[i];
            s1 += a[i + 1] * b[i + 1];
            s2 += a[i + 2] * b[i + 2];
            s3 += a[i + 3] * b[i + 3];
        }

        for (; i < n; i++)
        {
            s0 += a[i] * b[i];
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
            acc0 = Vector128.MultiplyAddEstimate(Vector128.Load(a + i), Vector128.Load(b + i), acc0);
            acc1 = Vector128.MultiplyAddEstimate(Vector128.Load(a + i + Width), Vector128.Load(b + i + Width), acc1);
            acc2 = Vector128.MultiplyAddEstimate(Vector128.Load(a + i + 2 * Width), Vector128.Load(b + i + 2 * Width), acc2);
            acc3 = Vector128.MultiplyAddEstimate(Vector128.Load(a + i + 3 * Width), Vector128.Load(b + i + 3 * Width), acc3);
        }

        for (; i + Width <= n; i += Width)
        {
            acc0 = Vector128.MultiplyAddEstimate(Vector128.Load(a + i), Vector128.Load(b + i), acc0);
        }

        if (i < n)
        {
            // Overlapping last block: lanes below (i - last) were already counted, so they are zeroed in a.
            nuint last = n - Width;
            Vector128<float> keep = Vector128.GreaterThanOrEqual(Vector128<int>.Indices, Vector128.Create((int)(i - last))).AsSingle();
            acc1 = Vector128.MultiplyAddEstimate(Vector128.Load(a + last) & keep, Vector128.Load(b + last), acc1);
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
            acc0 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
            acc1 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i + Width), Vector256.Load(b + i + Width), acc1);
            acc2 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i + 2 * Width), Vector256.Load(b + i + 2 * Width), acc2);
            acc3 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i + 3 * Width), Vector256.Load(b + i + 3 * Width), acc3);
        }

        for (; i + Width <= n; i += Width)
        {
            acc0 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
        }

        if (i < n)
        {
            nuint last = n - Width;
            Vector256<float> keep = Vector256.GreaterThanOrEqual(Vector256<int>.Indices, Vector256.Create((int)(i - last))).AsSingle();
            acc1 = Vector256.MultiplyAddEstimate(Vector256.Load(a + last) & keep, Vector256.Load(b + last), acc1);
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
            acc0 = Vector512.MultiplyAddEstimate(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
            acc1 = Vector512.MultiplyAddEstimate(Vector512.Load(a + i + Width), Vector512.Load(b + i + Width), acc1);
            acc2 = Vector512.MultiplyAddEstimate(Vector512.Load(a + i + 2 * Width), Vector512.Load(b + i + 2 * Width), acc2);
            acc3 = Vector512.MultiplyAddEstimate(Vector512.Load(a + i + 3 * Width), Vector512.Load(b + i + 3 * Width), acc3);
        }

        for (; i + Width <= n; i += Width)
        {
            acc0 = Vector512.MultiplyAddEstimate(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
        }

        if (i < n)
        {
            nuint last = n - Width;
            Vector512<float> keep = Vector512.GreaterThanOrEqual(Vector512<int>.Indices, Vector512.Create((int)(i - last))).AsSingle();
            acc1 = Vector512.MultiplyAddEstimate(Vector512.Load(a + last) & keep, Vector512.Load(b + last), acc1);
        }

        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }
}
