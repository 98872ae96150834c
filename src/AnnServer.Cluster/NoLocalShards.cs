using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core.Grouping;

namespace AnnServer.Cluster;

/// <summary>A single server's shard replicas: none. Every call is FAILED_PRECONDITION saying so.</summary>
public sealed class NoLocalShards : ILocalShards
{
    private static CollectionPreconditionException NotInClusterMode() =>
        new("this node is not in cluster mode (--cluster-nats): it holds no shard replicas");

    public ClusterCollectionSpec? SpecOf(string collection) => throw NotInClusterMode();

    public Task<BatchSearchResult> SearchAsync(ShardSearch search, IHitDataSink? hitData, DateTime? deadline, CancellationToken ct) =>
        throw NotInClusterMode();

    public Task<IReadOnlyList<HitGroup>> SearchGroupsAsync(ShardSearch search, GroupBy groupBy, IHitDataSink? hitData, DateTime? deadline,
        CancellationToken ct) => throw NotInClusterMode();

    public Task<PointsResult> GetAsync(ShardGet get, DateTime? deadline, CancellationToken ct) => throw NotInClusterMode();

    public Task<long> CountAsync(ShardCount count, DateTime? deadline, CancellationToken ct) => throw NotInClusterMode();

    public Task<ScrollResult> ScrollAsync(ShardScroll scroll, DateTime? deadline, CancellationToken ct) => throw NotInClusterMode();
}
