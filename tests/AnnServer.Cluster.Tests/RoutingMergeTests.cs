using AnnServer.Cluster.Routing;
using AnnServer.Collections;
using AnnServer.Core;

namespace AnnServer.Cluster.Tests;

/// <summary>The router's pure parts: the merge of the shards' top-k and the hedge delay's p95 window.</summary>
public sealed class RoutingMergeTests
{
    /// <summary>One shard's answer to one query, k = 3.</summary>
    private static BatchSearchResult Hits(params (long Id, float Distance)[] hits)
    {
        var result = new BatchSearchResult(queries: 1, k: 3);
        for (int i = 0; i < hits.Length; i++) result.SlotOf(0)[i] = new SearchHit(hits[i].Id, hits[i].Distance);
        result.Found[0] = hits.Length;
        return result;
    }

    private static long[] Merge(BatchSearchResult[] perShard, int k)
    {
        var merged = new SearchHit[k];
        int found = TopKMerge.Merge(perShard, query: 0, k, merged);
        return merged.Take(found).Select(h => h.Id).ToArray();
    }

    [Fact]
    public void TheMergeKeepsTheKNearestByDistanceThenId()
    {
        var shard0 = Hits((4, 0.1f), (8, 0.5f), (2, 0.9f));
        var shard1 = Hits((3, 0.2f), (7, 0.5f), (1, 0.6f));
        Assert.Equal([4L, 3, 7, 8], Merge([shard0, shard1], 4));
    }

    [Fact]
    public void AMergeOfFewerHitsThanKKeepsThemAll()
    {
        Assert.Equal([6L, 5], Merge([Hits((5, 1f)), Hits(), Hits((6, 0.5f))], 10));
    }

    [Fact]
    public void OneShardsHitsAreCutToK()
    {
        Assert.Equal([1L, 2], Merge([Hits((1, 0.1f), (2, 0.2f), (3, 0.3f))], 2));
    }

    [Fact]
    public void TheHedgeDelayIsTheFallbackUntilThereAreEnoughSamplesThenTheP95()
    {
        var window = new LatencyWindow();
        TimeSpan fallback = TimeSpan.FromMilliseconds(50);
        for (int i = 1; i < LatencyWindow.MinimumSamples; i++)
            window.Record(TimeSpan.FromMilliseconds(i));
        Assert.Equal(fallback, window.P95(fallback));

        // 96 samples of 1..96 ms (a multiple of RecomputeEvery, so the percentile is fresh): the 95th is the 92nd.
        window = new LatencyWindow();
        for (int i = 1; i <= 96; i++)
            window.Record(TimeSpan.FromMilliseconds(i));
        Assert.Equal(92, window.P95(fallback).TotalMilliseconds, precision: 3);
    }

    [Fact]
    public void TheP95ForgetsSamplesOlderThanTheWindow()
    {
        var window = new LatencyWindow();
        for (int i = 0; i < LatencyWindow.Capacity; i++)
            window.Record(TimeSpan.FromMilliseconds(500));
        for (int i = 0; i < LatencyWindow.Capacity; i++)
            window.Record(TimeSpan.FromMilliseconds(2));
        Assert.Equal(2, window.P95(TimeSpan.Zero).TotalMilliseconds, precision: 3);
    }
}
