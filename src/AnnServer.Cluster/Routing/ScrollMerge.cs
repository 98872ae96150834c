using AnnServer.Collections;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// Merges the shards' Scroll pages (each ascending by id, after the same cursor) into the page a single server would
/// give: ascending by id, at most the limit, its cursor the last id when more may follow. See
/// <see cref="ShardRouter.ScrollAsync"/> for why the page ends where it does.
/// </summary>
public static class ScrollMerge
{
    public static ScrollResult Merge(IReadOnlyList<ScrollResult> pages, int limit, long maxAnswerBytes)
    {
        // A shard with more points past its page: the merged page must not go beyond its last id.
        long? bound = null;
        foreach (ScrollResult page in pages)
            if (page.NextAfterId is { } next && (bound is null || next < bound))
                bound = next;

        var candidates = new List<StoredPoint>();
        foreach (ScrollResult page in pages)
            foreach (StoredPoint point in page.Points)
                if (bound is null || point.Id <= bound) candidates.Add(point);
        candidates.Sort(static (a, b) => a.Id.CompareTo(b.Id));

        int take = Math.Min(limit, candidates.Count);
        long answerBytes = 0;
        for (int i = 0; i < take; i++)
        {
            answerBytes += GetAnswerSize.Bytes(candidates[i]);
            if (answerBytes <= maxAnswerBytes) continue;
            if (i == 0) throw new GetAnswerTooLargeException(maxAnswerBytes, 1, candidates.Count);
            take = i;
            break;
        }
        bool more = bound is not null || take < candidates.Count;
        List<StoredPoint> points = candidates.GetRange(0, take);
        return new ScrollResult(points, more && take > 0 ? points[^1].Id : null);
    }
}
