using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// The ShardService of the router's own node, called in process: when the replica chosen for a shard is on the router's
/// node, a gRPC call to itself would add a loopback round trip (~0.3 ms here) for nothing. Same requests, same answers
/// and the same statuses (as <see cref="Grpc.Core.RpcException"/>) as ShardService.SearchShard and GetShard.
/// </summary>
public interface ILocalShardService
{
    /// <summary>This node's id: replicas on it are called through this interface.</summary>
    string NodeId { get; }

    Task<SearchBatchResponse> SearchShardAsync(ShardSearchRequest request, DateTime? deadline, CancellationToken ct);

    Task<GetResponse> GetShardAsync(ShardGetRequest request, DateTime? deadline, CancellationToken ct);
}
