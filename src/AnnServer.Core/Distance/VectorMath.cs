using System.Numerics.Tensors;

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
}
