using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// The answers to a batch of queries in one flat array: query q's hits are <c>Hits[q * K .. q * K + Found[q]]</c>,
/// closest first. <see cref="MissingShards"/> lists the shards left out (only with <see cref="ReadOptions.AllowPartial"/>).
/// </summary>
public sealed class BatchSearchResult(SearchHit[] hits, int[] found, int k, IReadOnlyList<int> missingShards)
{
    public BatchSearchResult(int queries, int k) : this(new SearchHit[(long)queries * k], new int[queries], k, []) { }

    public int Count => Found.Length;
    public int K { get; } = k;
    public SearchHit[] Hits { get; } = hits;
    public int[] Found { get; } = found;
    public IReadOnlyList<int> MissingShards { get; init; } = missingShards;

    /// <summary>The hits of query <paramref name="query"/>, closest first.</summary>
    public ReadOnlySpan<SearchHit> HitsOf(int query) => Hits.AsSpan(query * K, Found[query]);

    /// <summary>Room for the hits of query <paramref name="query"/> (k of them).</summary>
    public Span<SearchHit> SlotOf(int query) => Hits.AsSpan(query * K, K);
}
