using AnnServer.Collections;
using AnnServer.Core;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// Merges the shards' answers to one query into the global top-k. Every point lives in exactly one shard, so the
/// global k nearest are among the shards' k nearest; the order is the one a single node gives: distance, then id.
/// </summary>
public static class TopKMerge
{
    /// <summary>Writes the k best hits of the shards' answers (each sorted closest first) to <paramref name="target"/>
    /// and returns how many.</summary>
    public static int Merge(IReadOnlyList<BatchSearchResult> perShard, int query, int k, Span<SearchHit> target) =>
        Merge(perShard, query, k, target, []);

    /// <summary>As above; when <paramref name="sources"/> is not empty (room for k), also writes where each merged hit
    /// came from: the index of its shard's answer in <paramref name="perShard"/> and its slot in that answer's hits
    /// (to find what the hit carries, <see cref="ShardHitData"/>).</summary>
    public static int Merge(IReadOnlyList<BatchSearchResult> perShard, int query, int k, Span<SearchHit> target, Span<HitSource> sources)
    {
        // A k-way merge by repeated minimum: shards are few (tens at most), k is small.
        Span<int> next = perShard.Count <= 64 ? stackalloc int[perShard.Count] : new int[perShard.Count];
        next.Clear();
        int written = 0;
        while (written < k)
        {
            int best = -1;
            SearchHit bestHit = default;
            for (int s = 0; s < perShard.Count; s++)
            {
                ReadOnlySpan<SearchHit> hits = perShard[s].HitsOf(query);
                if (next[s] >= hits.Length) continue;
                SearchHit candidate = hits[next[s]];
                if (best < 0 || IsCloser(candidate, bestHit))
                {
                    best = s;
                    bestHit = candidate;
                }
            }
            if (best < 0) break;
            if (!sources.IsEmpty) sources[written] = new HitSource(best, query * perShard[best].K + next[best]);
            next[best]++;
            target[written++] = bestHit;
        }
        return written;
    }

    private static bool IsCloser(SearchHit a, SearchHit b)
    {
        int byDistance = a.Distance.CompareTo(b.Distance);
        return byDistance < 0 || (byDistance == 0 && a.Id < b.Id);
    }
}

