using AnnServer.Core.Grouping;

namespace AnnServer.Collections;

/// <summary>
/// A grouped search's answer: the groups in the order of their best hit, each with its hits closest first. Hit data goes
/// to the search's <see cref="IHitDataSink"/> by the hit's place when the groups' hits are laid end to end (group 0's
/// first, then group 1's...). <see cref="MissingIds"/>: a recommendation's example ids not held;
/// <see cref="MissingShards"/>: shards left out (only with <see cref="ReadOptions.AllowPartial"/>).
/// </summary>
public sealed record GroupedSearchResult(IReadOnlyList<HitGroup> Groups, IReadOnlyList<long> MissingIds, IReadOnlyList<int> MissingShards)
{
    /// <summary>The hits of every group, laid end to end as the hit data numbers them.</summary>
    public int HitCount
    {
        get
        {
            int count = 0;
            foreach (var group in Groups) count += group.Hits.Length;
            return count;
        }
    }
}
