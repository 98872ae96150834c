using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.Internal.V1;
using Grpc.Core;

namespace AnnServer.Services;

// A router's best-score examples and grouped searches on this node's replicas.
public sealed partial class ShardGrpcService
{
    public override async Task<ShardGroupsResponse> SearchShardGroups(ShardSearchRequest request, ServerCallContext context)
    {
        if (request.Queries.Count != 1)
            throw RequestValidation.Invalid($"a grouped shard search takes exactly one query, got {request.Queries.Count}");
        if (request.GroupBy is null)
            throw RequestValidation.Invalid("group_by is unset: SearchShardGroups needs one");
        var groupBy = GroupMapping.ToGroupBy(request.GroupBy);
        ShardSearch search = ToShardSearch(request);
        HitMessages? data = search.WantsHitData ? new HitMessages(groupBy.Hits, !search.Payload.IsNone) : null;
        var groups = await shards.SearchGroupsAsync(search, groupBy, data, Deadline(context), context.CancellationToken).ConfigureAwait(false);
        var response = new ShardGroupsResponse();
        GroupMapping.AddGroups(response.Groups, groups, data);
        return response;
    }

    /// <summary>The request's best-score examples, checked against the spec's dimension; null for a plain search.</summary>
    private static BestScoreExamples? Examples(ShardSearchRequest request, ClusterCollectionSpec? spec)
    {
        if (request.PositiveExamples.Count == 0 && request.NegativeExamples.Count == 0) return null;
        if (spec is not null)
        {
            int dimension = spec.Dimension;
            if (request.PositiveExamples.Count == 0 || request.PositiveExamples.Count % dimension != 0 || request.NegativeExamples.Count % dimension != 0)
                throw RequestValidation.Invalid(
                    $"positive_examples ({request.PositiveExamples.Count} floats) and negative_examples ({request.NegativeExamples.Count}) must be whole vectors of dimension {dimension}, at least one positive");
            if ((request.PositiveExamples.Count + request.NegativeExamples.Count) / dimension > RecommendQuery.MaxExamples)
                throw RequestValidation.Invalid($"more than the limit of {RecommendQuery.MaxExamples} examples");
        }
        return new BestScoreExamples([.. request.PositiveExamples], [.. request.NegativeExamples]);
    }
}
