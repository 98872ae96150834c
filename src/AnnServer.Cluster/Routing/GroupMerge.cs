using AnnServer.Core;
using AnnServer.Core.Grouping;
using AnnServer.Core.Payloads;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// Merges the shards' grouped answers into one: the groups of a key from every shard pooled, each pooled group's best
/// <see cref="GroupBy.GroupSize"/> hits kept, the groups ordered by their best hit (then by key's first appearance) and
/// the first <see cref="GroupBy.Groups"/> kept.
/// </summary>
/// <remarks>
/// Every key among the global first groups is among its best hit's shard's first groups (the keys a shard puts before it
/// have better hits), so the merged keys are right whenever the shards' are. A group's hits are pooled from the shards
/// that returned the key: a shard where the key did not make its own first groups contributes none of it, so a group
/// whose points are spread unevenly can miss a hit the exact answer has (as Qdrant's single-round group merge can).
/// </remarks>
public static class GroupMerge
{
    /// <summary>The merged groups, each with where its hits came from: (index of the shard's answer, hit's place in that
    /// answer with its groups' hits laid end to end).</summary>
    public static List<(HitGroup Group, List<(int Answer, int Slot)> Sources)> Merge(IReadOnlyList<IReadOnlyList<HitGroup>> perShard,
        GroupBy groupBy)
    {
        var pooled = new Dictionary<PayloadValue, List<(SearchHit Hit, int Answer, int Slot)>>();
        var order = new List<PayloadValue>();
        for (int answer = 0; answer < perShard.Count; answer++)
        {
            int slot = 0;
            foreach (HitGroup group in perShard[answer])
            {
                if (!pooled.TryGetValue(group.Key, out var hits))
                {
                    pooled.Add(group.Key, hits = []);
                    order.Add(group.Key);
                }
                foreach (SearchHit hit in group.Hits) hits.Add((hit, answer, slot++));
            }
        }
        var groups = new List<(HitGroup Group, List<(int Answer, int Slot)> Sources)>(order.Count);
        foreach (PayloadValue key in order)
        {
            var hits = pooled[key];
            hits.Sort((a, b) => a.Hit.CompareTo(b.Hit));
            int kept = Math.Min(groupBy.GroupSize, hits.Count);
            var group = new HitGroup(key, hits.Take(kept).Select(h => h.Hit).ToArray());
            groups.Add((group, hits.Take(kept).Select(h => (h.Answer, h.Slot)).ToList()));
        }
        // Stable: equal best hits keep the order the keys were first met in.
        var ordered = groups.OrderBy(g => g.Group.Hits[0]).Take(groupBy.Groups).ToList();
        return ordered;
    }
}
