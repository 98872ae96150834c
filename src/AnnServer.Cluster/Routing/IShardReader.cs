using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core.Grouping;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// Other nodes' replicas as a router reads them, the node named by each call (<see cref="Transport.RemoteShardReader"/>,
/// over gRPC; this node's own are read in process through <see cref="ILocalShards"/>). Failures are the data plane's
/// exceptions: a <see cref="CollectionUnavailableException"/> means this replica cannot answer now and another may.
/// </summary>
public interface IShardReader
{
    /// <summary>The search's hits; what they carry (when the search asks for it) goes to <paramref name="hitData"/> by
    /// the hit's slot in the result.</summary>
    Task<BatchSearchResult> SearchAsync(NodeEntry node, ShardSearch search, IHitDataSink? hitData, DateTime? deadline, CancellationToken ct);

    /// <summary>The search's one query (or its examples) grouped on the node's replica (<see cref="ILocalShards.SearchGroupsAsync"/>).</summary>
    Task<IReadOnlyList<HitGroup>> SearchGroupsAsync(NodeEntry node, ShardSearch search, GroupBy groupBy, IHitDataSink? hitData,
        DateTime? deadline, CancellationToken ct);

    Task<PointsResult> GetAsync(NodeEntry node, ShardGet get, DateTime? deadline, CancellationToken ct);

    Task<long> CountAsync(NodeEntry node, ShardCount count, DateTime? deadline, CancellationToken ct);

    Task<ScrollResult> ScrollAsync(NodeEntry node, ShardScroll scroll, DateTime? deadline, CancellationToken ct);
}
