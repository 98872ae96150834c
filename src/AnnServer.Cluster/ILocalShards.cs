using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Collections;

namespace AnnServer.Cluster;

/// <summary>This node's shard replicas as ShardService (the node-to-node API) serves them: <see cref="LocalShards"/> in
/// cluster mode, <see cref="NoLocalShards"/> on a single server. The gRPC service maps messages onto this and never asks
/// which mode the node runs in.</summary>
public interface ILocalShards
{
    Task<BatchSearchResult> SearchAsync(ShardSearch search, DateTime? deadline, CancellationToken ct);

    Task<PointsResult> GetAsync(ShardGet get, DateTime? deadline, CancellationToken ct);

    /// <summary>The spec of <paramref name="collection"/> as this node's replicas of it hold it, or null when this node
    /// holds no replica of any of its shards.</summary>
    ClusterCollectionSpec? SpecOf(string collection);
}
