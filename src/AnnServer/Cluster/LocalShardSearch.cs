using AnnServer.Cluster.Routing;
using AnnServer.Diagnostics;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Cluster;

/// <summary>
/// The router's in-process path to this node's own replicas: the same <see cref="ShardGrpcService.SearchShard"/> a remote
/// router calls, without the loopback round trip. The outer Search has passed authorization and admission already, so
/// nothing is skipped that the call needs. Domain exceptions become the statuses the gRPC pipeline would have given
/// (<see cref="ErrorStatusInterceptor"/>), so the router treats local and remote failures alike.
/// </summary>
public sealed class LocalShardSearch(ShardGrpcService shards, ServerOptions options) : ILocalShardSearch
{
    public string NodeId => options.NodeId;

    public async Task<SearchBatchResponse> SearchAsync(ShardSearchRequest request, DateTime? deadline, CancellationToken ct)
    {
        var context = new LocalCallContext(deadline ?? DateTime.MaxValue, ct);
        try
        {
            return await shards.SearchShard(request, context).ConfigureAwait(false);
        }
        catch (Exception e) when (ErrorStatusInterceptor.ToStatus(e, context) is { } status)
        {
            throw new RpcException(status);
        }
    }
}
