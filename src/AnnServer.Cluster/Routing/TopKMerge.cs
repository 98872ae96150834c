using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// Merges the shards' answers to one query into the global top-k. Every point lives in exactly one shard, so the
/// global k nearest are among the shards' k nearest; the order is the one a single node gives: distance, then id.
/// </summary>
public static class TopKMerge
{
    private static readonly Comparison<Hit> ByDistanceThenId = (a, b) =>
    {
        int byDistance = a.Distance.CompareTo(b.Distance);
        return byDistance != 0 ? byDistance : a.Id.CompareTo(b.Id);
    };

    /// <summary>Adds the k best hits of <paramref name="perShard"/> to <paramref name="target"/>.</summary>
    public static void Merge(IReadOnlyList<RepeatedField<Hit>> perShard, int k, RepeatedField<Hit> target)
    {
        if (perShard.Count == 1)
        {
            RepeatedField<Hit> only = perShard[0];
            for (int i = 0; i < only.Count && i < k; i++) target.Add(only[i]);
            return;
        }
        int total = 0;
        foreach (RepeatedField<Hit> hits in perShard) total += hits.Count;
        var all = new List<Hit>(total);
        foreach (RepeatedField<Hit> hits in perShard) all.AddRange(hits);
        all.Sort(ByDistanceThenId);
        int take = Math.Min(k, all.Count);
        target.Capacity = take;
        for (int i = 0; i < take; i++) target.Add(all[i]);
    }
}
