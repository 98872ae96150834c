using System.Buffers;
using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// The answers to a batch of queries in one flat array: query q's hits are <c>Hits[q * K .. q * K + Found[q]]</c>,
/// closest first. <see cref="MissingShards"/> lists the shards left out (only with <see cref="ReadOptions.AllowPartial"/>).
/// A result made by <see cref="Rent"/> holds pooled arrays (longer than needed: <see cref="Count"/> is the number of
/// queries), which <see cref="ReturnToPool"/> gives back once its hits are copied into the answer.
/// </summary>
public sealed class BatchSearchResult(SearchHit[] hits, int[] found, int count, int k, IReadOnlyList<int> missingShards)
{
    private readonly bool _pooled;

    public BatchSearchResult(int queries, int k) : this(new SearchHit[(long)queries * k], new int[queries], queries, k, []) { }

    private BatchSearchResult(SearchHit[] hits, int[] found, int count, int k) : this(hits, found, count, k, []) => _pooled = true;

    /// <summary>A result for <paramref name="queries"/> queries on pooled arrays: a batch's hits (16 bytes each, k per
    /// query) are the largest thing it allocates besides its messages.</summary>
    public static BatchSearchResult Rent(int queries, int k) =>
        new(ArrayPool<SearchHit>.Shared.Rent(Math.Max(1, queries * k)), ArrayPool<int>.Shared.Rent(Math.Max(1, queries)), queries, k);

    public int Count { get; } = count;
    public int K { get; } = k;
    public SearchHit[] Hits { get; } = hits;
    public int[] Found { get; } = found;
    public IReadOnlyList<int> MissingShards { get; init; } = missingShards;

    /// <summary>The hits of query <paramref name="query"/>, closest first.</summary>
    public ReadOnlySpan<SearchHit> HitsOf(int query) => Hits.AsSpan(query * K, Found[query]);

    /// <summary>Room for the hits of query <paramref name="query"/> (k of them).</summary>
    public Span<SearchHit> SlotOf(int query) => Hits.AsSpan(query * K, K);

    /// <summary>Gives a rented result's arrays back to the pool (nothing for one made with new); the result must not be
    /// read afterwards. Not calling it only costs the pool those arrays.</summary>
    public void ReturnToPool()
    {
        if (!_pooled) return;
        ArrayPool<SearchHit>.Shared.Return(Hits);
        ArrayPool<int>.Shared.Return(Found);
    }
}
