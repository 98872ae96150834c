using AnnServer.Protocol.V1;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// The shard search of the router's own node, called in process: when the replica chosen for a shard is on the router's
/// node, a gRPC call to itself would add a loopback round trip (~0.3 ms here) for nothing. Same request, same answer and
/// the same statuses (as <see cref="Grpc.Core.RpcException"/>) as ShardService.SearchShard.
/// </summary>
public interface ILocalShardSearch
{
    /// <summary>This node's id: replicas on it are searched through <see cref="SearchAsync"/>.</summary>
    string NodeId { get; }

    Task<SearchBatchResponse> SearchAsync(ShardSearchRequest request, DateTime? deadline, CancellationToken ct);
}
