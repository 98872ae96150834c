using System.Runtime.CompilerServices;

namespace AnnServer.Core.Distance;

/// <summary>
/// Squared Euclidean distance. The square root is never taken: it is monotonic, so rankings are the same and
/// every comparison in the graph saves one sqrt.
/// </summary>
public struct SquaredL2Distance : IDistanceFunction
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float Compute(float* a, float* b, int dimension) => SquaredL2Kernel.Compute(a, b, dimension);
}
