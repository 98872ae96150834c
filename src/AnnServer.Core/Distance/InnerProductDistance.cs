using System.Runtime.CompilerServices;

namespace AnnServer.Core.Distance;

/// <summary>
/// Inner-product distance <c>1 - a·b</c> (the hnswlib "ip" space), so that smaller is closer. On unit-length
/// vectors this is the cosine distance, which is how the Cosine metric is served: normalise once at insert and at
/// query (<see cref="VectorMath.Normalize"/>), then use this. It can be negative for unnormalised vectors.
/// </summary>
public struct InnerProductDistance : IDistanceFunction
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float Compute(float* a, float* b, int dimension) => 1f - DotProductKernel.Compute(a, b, dimension);
}
