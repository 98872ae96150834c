using AnnServer.Cluster.State;
using AnnServer.Collections;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// Other nodes' replicas as a router reads them, the node named by each call (<see cref="Transport.RemoteShardReader"/>,
/// over gRPC; this node's own are read in process through <see cref="ILocalShards"/>). Failures are the data plane's
/// exceptions: a <see cref="CollectionUnavailableException"/> means this replica cannot answer now and another may.
/// </summary>
public interface IShardReader
{
    Task<BatchSearchResult> SearchAsync(NodeEntry node, ShardSearch search, DateTime? deadline, CancellationToken ct);

    Task<PointsResult> GetAsync(NodeEntry node, ShardGet get, DateTime? deadline, CancellationToken ct);
}
