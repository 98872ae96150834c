namespace AnnServer.Core.Distance;

/// <summary>
/// A distance as a type, so the HNSW graph can be generic over a struct <c>TDistance : IDistanceFunction</c>:
/// the JIT specialises the graph code per struct and inlines <see cref="Compute"/>, with no interface or delegate
/// dispatch per distance. Smaller is closer.
/// </summary>
public unsafe interface IDistanceFunction
{
    /// <summary>Distance between the <paramref name="dimension"/> floats at <paramref name="a"/> and at <paramref name="b"/>.</summary>
    static abstract float Compute(float* a, float* b, int dimension);
}
