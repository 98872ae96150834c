using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace AnnServer.Core.Distance;

/// <summary>Whole-vector operations used where vectors enter the engine (validation, cosine normalisation).</summary>
public static class VectorMath
{
    /// <summary>
    /// Scales <paramref name="v"/> in place to unit Euclidean length. A zero vector stays zero (it has no direction;
    /// its cosine distance to everything is then 1). Expects finite values (check with <see cref="AllFinite"/> first).
    /// </summary>
    public static void Normalize(Span<float> v)
    {
        if (v.IsEmpty)
        {
            return;
        }

        float norm = TensorPrimitives.Norm(v);
        if (norm == 0f || !float.IsFinite(norm))
        {
            // The sum of squares under- or overflowed (components below ~1e-19 or above ~1e19): rescale by the
            // largest magnitude first so that the norm is representable, then normalise as usual.
            // MaxMagnitude returns the signed element (e.g. -3e38); dividing by that would flip the direction.
            float max = MathF.Abs(TensorPrimitives.MaxMagnitude(v));
            if (max == 0f || !float.IsFinite(max))
            {
                return;
            }

            TensorPrimitives.Divide(v, max, v);
            norm = TensorPrimitives.Norm(v);
        }

        TensorPrimitives.Divide(v, norm, v);
    }

    /// <summary>
    /// False if any element is NaN or ±infinity; true for an empty span. Vectorised, allocation-free.
    /// </summary>
    /// <remarks>
    /// TensorPrimitives.IsFiniteAll returns false for an empty span (10.0.0), hence the explicit check. Measured
    /// against a hand-written sum(x*0) == 0 Vector512 loop: 9 / 52 / 64 ns vs 8 / 33 / 50 ns at 128 / 784 / 1536
    /// floats (ad-hoc Stopwatch run, see SquaredL2Kernel). About 20 ns per inserted vector is not worth our own kernel.
    /// </remarks>
    public static bool AllFinite(ReadOnlySpan<float> v) => v.IsEmpty || TensorPrimitives.IsFiniteAll(v);

    /// <summary>
    /// <paramref name="distance"/>, or +∞ when it is NaN. The last defence of the ranking: a NaN compares false with
    /// everything, so one in a heap breaks its order and can come out first. The edge refuses vectors whose products can
    /// overflow (so an inner product never meets ∞ − ∞), but an index built offline or from an old log may still hold one.
    /// On x86 this is one MINSS and no branch: when either operand is NaN it returns the second one, here +∞; on Arm
    /// FMINNM returns the number of a NaN and a number. Costs nothing measurable beside a distance kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float NaNAsInfinity(float distance)
    {
        if (Sse.IsSupported)
            return Sse.MinScalar(Vector128.CreateScalarUnsafe(distance), Vector128.CreateScalarUnsafe(float.PositiveInfinity)).ToScalar();
        if (AdvSimd.IsSupported)
            return AdvSimd.MinNumberScalar(Vector64.CreateScalarUnsafe(distance), Vector64.CreateScalarUnsafe(float.PositiveInfinity)).ToScalar();
        return float.IsNaN(distance) ? float.PositiveInfinity : distance;
    }
}
