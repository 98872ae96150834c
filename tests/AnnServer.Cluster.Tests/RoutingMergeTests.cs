using AnnServer.Cluster.Routing;
using AnnServer.Collections;
using AnnServer.Core;

namespace AnnServer.Cluster.Tests;

/// <summary>The router's pure parts: the merge of the shards' top-k (with where each hit came from), of their Scroll
/// pages, and the hedge delay's p95 window.</summary>
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
    public void TheMergeTellsWhichShardAndSlotEachHitCameFrom()
    {
        var merged = new SearchHit[3];
        var sources = new HitSource[3];
        int found = TopKMerge.Merge([Hits((4, 0.1f), (8, 0.5f)), Hits((3, 0.2f))], query: 0, k: 3, merged, sources);
        Assert.Equal(3, found);
        Assert.Equal([new HitSource(0, 0), new HitSource(1, 0), new HitSource(0, 1)], sources);
    }

    private static ScrollResult Page(long? next, params long[] ids) => new([.. ids.Select(id => new StoredPoint(id, [], []))], next);

    [Fact]
    public void ScrollPagesMergeByIdAndEndAtTheLimitWithTheLastIdAsCursor()
    {
        ScrollResult merged = ScrollMerge.Merge([Page(null, 1, 4, 9), Page(null, 2, 3)], limit: 4, maxAnswerBytes: long.MaxValue);
        Assert.Equal([1L, 2, 3, 4], merged.Points.Select(p => p.Id));
        Assert.Equal(4, merged.NextAfterId);
        ScrollResult last = ScrollMerge.Merge([Page(null, 9), Page(null)], limit: 4, maxAnswerBytes: long.MaxValue);
        Assert.Equal([9L], last.Points.Select(p => p.Id));
        Assert.Null(last.NextAfterId);
    }

    [Fact]
    public void AScrollPageEndsAtTheLastIdOfAShardThatHasMore()
    {
        // Shard 0 has more after 5 (its page was full, or cut by size): 6 and 8 of shard 1 may not be next.
        ScrollResult merged = ScrollMerge.Merge([Page(5, 1, 5), Page(null, 2, 6, 8)], limit: 10, maxAnswerBytes: long.MaxValue);
        Assert.Equal([1L, 2, 5], merged.Points.Select(p => p.Id));
        Assert.Equal(5, merged.NextAfterId);
    }

    [Fact]
    public void AScrollPageOverTheAnswerBoundEndsAtTheLastPointThatFitsAndOneThatCannotFitIsRefused()
    {
        long onePoint = GetAnswerSize.Bytes(new StoredPoint(1, [], []));
        ScrollResult merged = ScrollMerge.Merge([Page(null, 1, 3), Page(null, 2)], limit: 10, maxAnswerBytes: 2 * onePoint);
        Assert.Equal([1L, 2], merged.Points.Select(p => p.Id));
        Assert.Equal(2, merged.NextAfterId);
        Assert.Throws<GetAnswerTooLargeException>(() => ScrollMerge.Merge([Page(null, 1)], limit: 10, maxAnswerBytes: onePoint - 1));
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
