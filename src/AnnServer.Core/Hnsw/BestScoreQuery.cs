using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using AnnServer.Core.Distance;
using AnnServer.Core.Recommend;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// The best-score of a node against several example vectors (<see cref="BestScore"/>), as a struct type argument of the
/// same walk a plain query takes: the graph is searched with this score in place of a distance (as Qdrant's recommend
/// scorer replaces the raw scorer of its HNSW search). Each example costs one inlined distance per node; no virtual
/// call, no allocation. Walks the float32 vectors, also in an int8 index: the codes' error would be paid once per
/// example.
/// </summary>
/// <remarks>The examples lie in one buffer, positives first, each <c>dimension</c> floats, as the index prepared them
/// (normalised for cosine).</remarks>
internal readonly unsafe struct BestScoreQuery<TDistance>(GraphStorage storage, float* examples, int positives, int negatives) : IQueryDistance
    where TDistance : struct, IDistanceFunction
{
    private readonly int _dimension = storage.Dimension;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Distance(int node)
    {
        float* vector = storage.Vector(node);
        float* example = examples;
        float bestPositive = float.PositiveInfinity;
        for (int i = 0; i < positives; i++, example += _dimension)
            bestPositive = MathF.Min(bestPositive, TDistance.Compute(example, vector, _dimension));
        float bestNegative = float.PositiveInfinity;
        for (int i = 0; i < negatives; i++, example += _dimension)
            bestNegative = MathF.Min(bestNegative, TDistance.Compute(example, vector, _dimension));
        return BestScore.Combine(bestPositive, bestNegative);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int node)
    {
        if (Sse.IsSupported) Sse.Prefetch0(storage.Vector(node));
    }
}
