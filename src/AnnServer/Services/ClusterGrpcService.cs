using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Protocol.V1;
using AnnServer.Cluster;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>ann.v1.ClusterService: the cluster state and the admin calls that change the shard map. Served on every
/// node; FAILED_PRECONDITION when the server is not in cluster mode.</summary>
public sealed class ClusterGrpcService(ClusterCoordinator? coordinator = null) : ClusterService.ClusterServiceBase
{
    public override async Task<ClusterState> GetClusterState(GetClusterStateRequest request, ServerCallContext context)
    {
        ClusterCoordinator cluster = Require();
        ClusterView view = cluster.View;
        var state = new ClusterState();
        foreach (NodeEntry node in view.Nodes.Values.OrderBy(n => n.NodeId, StringComparer.Ordinal))
            state.Nodes.Add(ClusterProtoMapping.ToProto(view, node));
        foreach (VersionedSpec versioned in view.Collections.Values.OrderBy(c => c.Spec.Name, StringComparer.Ordinal))
            state.Collections.Add(await DescribeAsync(cluster, view, versioned.Spec, context.CancellationToken));
        return state;
    }

    public override async Task<AssignReplicaResponse> AssignReplica(AssignReplicaRequest request, ServerCallContext context)
    {
        ClusterCoordinator cluster = Require();
        Validate(request.Collection, request.NodeId);
        ClusterCollectionSpec spec = await cluster.AssignReplicaAsync(request.Collection, Shard(request.Shard), request.NodeId,
            context.CancellationToken);
        return new AssignReplicaResponse { Collection = await DescribeAsync(cluster, cluster.View, spec, context.CancellationToken) };
    }

    public override async Task<RemoveReplicaResponse> RemoveReplica(RemoveReplicaRequest request, ServerCallContext context)
    {
        ClusterCoordinator cluster = Require();
        Validate(request.Collection, request.NodeId);
        ClusterCollectionSpec spec = await cluster.RemoveReplicaAsync(request.Collection, Shard(request.Shard), request.NodeId,
            context.CancellationToken);
        return new RemoveReplicaResponse { Collection = await DescribeAsync(cluster, cluster.View, spec, context.CancellationToken) };
    }

    /// <summary>The collection with each shard's first and last stream sequence (one JetStream call per shard; 0 and 0
    /// when the stream cannot be read just now).</summary>
    private static async Task<ClusterCollection> DescribeAsync(ClusterCoordinator cluster, ClusterView view, ClusterCollectionSpec spec,
        CancellationToken ct)
    {
        var streams = new (ulong First, ulong Last)[spec.Shards];
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            try
            {
                streams[shard] = await ShardStreams.SequencesAsync(cluster.JetStream, spec.Name, shard, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                streams[shard] = (0, 0);
            }
        }
        return ClusterProtoMapping.ToProto(view, spec, streams);
    }

    private ClusterCoordinator Require() => coordinator
        ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "this server is not in cluster mode (start it with --cluster-nats)"));

    private static void Validate(string collection, string nodeId)
    {
        RequestValidation.CollectionName(collection);
        if (ClusterNodeId.Problem(nodeId) is { } problem)
            throw RequestValidation.Invalid($"node_id {problem}");
    }

    private static int Shard(uint shard) => shard > ClusterCoordinator.MaxShards
        ? throw RequestValidation.Invalid($"shard {shard} does not exist (at most {ClusterCoordinator.MaxShards} shards)")
        : (int)shard;
}
