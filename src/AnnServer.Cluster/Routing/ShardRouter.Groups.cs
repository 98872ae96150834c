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
            var search = new ShardSearch(spec.Name, shard, [query], parameters.K, parameters.Ef, MinSequence(read, shard))
            {
                Payload = parameters.Payload,
                WithVector = parameters.WithVector,
                ScoreThreshold = parameters.ScoreThreshold,
                Examples = examples,
            };
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
        try
        {
            await Task.WhenAll(shards).ConfigureAwait(false);
        }
        catch
        {
            // Looked at per shard below.
        }

        var answered = new List<(IReadOnlyList<HitGroup> Groups, ShardHitData? Data)>(spec.Shards);
        var missingShards = new List<int>();
        ShardNotAnsweredException? firstMissing = null;
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            var task = shards[shard];
            if (task.IsCompletedSuccessfully)
            {
                answered.Add(task.Result);
                continue;
            }
            Exception error = task.Exception?.InnerException ?? new OperationCanceledException(ct);
            if (error is ShardNotAnsweredException missing)
            {
                firstMissing ??= missing;
                missingShards.Add(shard);
                continue;
            }
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
        if (firstMissing is not null && !read.AllowPartial)
            throw new CollectionUnavailableException(firstMissing.Message + " (set allow_partial to get the other shards' results)");

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
