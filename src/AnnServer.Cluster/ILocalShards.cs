using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core.Grouping;

namespace AnnServer.Cluster;

/// <summary>This node's shard replicas as ShardService (the node-to-node API) serves them: <see cref="LocalShards"/> in
/// cluster mode, <see cref="NoLocalShards"/> on a single server. The gRPC service maps messages onto this and never asks
/// which mode the node runs in.</summary>
public interface ILocalShards
{
    /// <summary>The search's hits; what they carry (when the search asks for it) goes to <paramref name="hitData"/> by
    /// the hit's slot in the result.</summary>
    Task<BatchSearchResult> SearchAsync(ShardSearch search, IHitDataSink? hitData, DateTime? deadline, CancellationToken ct);

    /// <summary>The search's one query (or its examples) grouped (<see cref="GroupBy"/>) on this node's replica; hit data by
    /// the hit's place with the groups' hits laid end to end.</summary>
    Task<IReadOnlyList<HitGroup>> SearchGroupsAsync(ShardSearch search, GroupBy groupBy, IHitDataSink? hitData, DateTime? deadline,
        CancellationToken ct);

    Task<PointsResult> GetAsync(ShardGet get, DateTime? deadline, CancellationToken ct);

    /// <summary>The live points of the shard passing the filter.</summary>
    Task<long> CountAsync(ShardCount count, DateTime? deadline, CancellationToken ct);

    /// <summary>One page of the shard's live points passing the filter, as a single server's Scroll answers it.</summary>
    Task<ScrollResult> ScrollAsync(ShardScroll scroll, DateTime? deadline, CancellationToken ct);

    /// <summary>The spec of <paramref name="collection"/> as this node's replicas of it hold it, or null when this node
    /// holds no replica of any of its shards.</summary>
    ClusterCollectionSpec? SpecOf(string collection);
}
