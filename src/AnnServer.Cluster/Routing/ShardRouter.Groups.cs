using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Grouping;
using AnnServer.Core.Payloads;

namespace AnnServer.Cluster.Routing;

public sealed partial class ShardRouter
{
    /// <summary>
    /// A grouped search (one query, or best-score examples) on every shard, the shards' groups merged by key
    /// (<see cref="GroupMerge"/>). What the kept hits carry is handed to <paramref name="hitData"/> by their place with
    /// the merged groups' hits laid end to end.
    /// </summary>
    /// <exception cref="CollectionUnavailableException">a shard could not answer (without allow_partial).</exception>
    public async Task<GroupedSearchResult> SearchGroupsAsync(ClusterView view, ClusterCollectionSpec spec, SearchQuery query,
        BestScoreExamples? examples, GroupBy groupBy, SearchParameters parameters, IHitDataSink? hitData, CancellationToken ct)
    {
        ReadOptions read = parameters.Read;
        bool withData = hitData is not null && parameters.WantsHitData;
        var shards = new Task<(IReadOnlyList<HitGroup> Groups, ShardHitData? Data)>[spec.Shards];
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            ShardSearch search = SearchOn(spec, shard, [query], parameters, examples);
            shards[shard] = AskShardAsync(spec, shard, view.ReplicasToAsk(spec, shard), _searchLatencies,
                async (node, token) =>
                {
                    ShardHitData? data = withData ? new ShardHitData(groupBy.Hits) : null;
                    IReadOnlyList<HitGroup> groups = IsLocal(node)
                        ? await Task.Run(() => local!.SearchGroupsAsync(search, groupBy, data, read.Deadline, token), token).ConfigureAwait(false)
                        : await remote.SearchGroupsAsync(node, search, groupBy, data, read.Deadline, token).ConfigureAwait(false);
                    return (groups, data);
                }, ct);
        }
        var (answers, missingShards) = await ShardsAnsweredAsync(shards, read, ct).ConfigureAwait(false);
        var answered = new List<(IReadOnlyList<HitGroup> Groups, ShardHitData? Data)>(answers.Count);
        foreach (var (_, answer) in answers) answered.Add(answer);

        var merged = GroupMerge.Merge(answered.Select(a => a.Groups).ToList(), groupBy);
        if (withData)
        {
            int place = 0;
            foreach (var (group, sources) in merged)
            {
                foreach (var (answer, slot) in sources) answered[answer].Data?.CopyTo(slot, hitData!, place++);
            }
        }
        return new GroupedSearchResult(merged.Select(m => m.Group).ToList(), [], missingShards);
    }
}
