using System.Runtime.CompilerServices;

namespace AnnServer.Core.Distance;

/// <summary>
/// Inner-product distance <c>1 - a·b</c> (the hnswlib "ip" space), so that smaller is closer. On unit-length
/// vectors this is the cosine distance, which is how the Cosine metric is served: normalise once at insert and at
/// query (<see cref="VectorMath.Normalize"/>), then use this. It can be negative for unnormalised vectors. It is never NaN:
/// products that overflow to +∞ and −∞ in one sum would make it NaN, which counts as +∞ (<see cref="VectorMath.NaNAsInfinity"/>).
/// Squared L2 needs no such guard: its terms are never negative, so an overflow sums to +∞, not NaN.
/// </summary>
public struct InnerProductDistance : IDistanceFunction
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float Compute(float* a, float* b, int dimension) =>
        VectorMath.NaNAsInfinity(1f - DotProductKernel.Compute(a, b, dimension));
}
