using AnnServer.Cluster.Routing;
using AnnServer.Diagnostics;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Cluster;

/// <summary>
/// The router's in-process path to this node's own replicas: the same <see cref="ShardGrpcService"/> methods a remote
/// router calls, without the loopback round trip. The outer Search or Get has passed authorization and admission
/// already, so nothing is skipped that the call needs. Domain exceptions become the statuses the gRPC pipeline would
/// have given (<see cref="ErrorStatusInterceptor"/>), so the router treats local and remote failures alike.
/// </summary>
public sealed class LocalShardService(ShardGrpcService shards, ClusterOptions options) : ILocalShardService
{
    public string NodeId => options.NodeId;

    public Task<SearchBatchResponse> SearchShardAsync(ShardSearchRequest request, DateTime? deadline, CancellationToken ct) =>
        CallAsync("/ann.v1.ShardService/SearchShard", request, shards.SearchShard, deadline, ct);

    public Task<GetResponse> GetShardAsync(ShardGetRequest request, DateTime? deadline, CancellationToken ct) =>
        CallAsync("/ann.v1.ShardService/GetShard", request, shards.GetShard, deadline, ct);

    private static async Task<TResponse> CallAsync<TRequest, TResponse>(string method, TRequest request,
        Func<TRequest, ServerCallContext, Task<TResponse>> handler, DateTime? deadline, CancellationToken ct)
    {
        var context = new LocalCallContext(method, deadline ?? DateTime.MaxValue, ct);
        try
        {
            return await handler(request, context).ConfigureAwait(false);
        }
        catch (Exception e) when (ErrorStatusInterceptor.ToStatus(e, context) is { } status)
        {
            throw new RpcException(status);
        }
    }
}
