using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// A recommendation by examples: points of the collection by id and vectors given inline, positive and negative, and a
/// filter the hits must pass. The example points are never among the hits. Validated at the edge: at least one
/// positive (id or vector), at most <see cref="MaxExamples"/> examples in all, vectors of the collection's dimension
/// with finite components.
/// </summary>
public sealed record RecommendQuery(
    IReadOnlyList<long> PositiveIds,
    IReadOnlyList<ReadOnlyMemory<float>> PositiveVectors,
    IReadOnlyList<long> NegativeIds,
    IReadOnlyList<ReadOnlyMemory<float>> NegativeVectors,
    RecommendStrategy Strategy,
    SearchFilter? Filter)
{
    /// <summary>Most examples (ids and vectors, positive and negative) one recommendation takes.</summary>
    public const int MaxExamples = HnswIndex.MaxExamples;

    public int ExampleCount => PositiveIds.Count + PositiveVectors.Count + NegativeIds.Count + NegativeVectors.Count;
}
