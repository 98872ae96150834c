using AnnServer.Cluster;
using AnnServer.Cluster.State;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>ann.v1.ClusterService: the cluster state and the admin calls that change the shard map, mapped onto
/// <see cref="IClusterAdministration"/>. Served on every node; a single server answers FAILED_PRECONDITION.</summary>
public sealed class ClusterGrpcService(IClusterAdministration cluster) : ClusterService.ClusterServiceBase
{
    public override async Task<ClusterState> GetClusterState(GetClusterStateRequest request, ServerCallContext context)
    {
        ClusterStateReport report = await cluster.GetStateAsync(context.CancellationToken);
        var state = new ClusterState();
        foreach (NodeEntry node in report.View.Nodes.Values.OrderBy(n => n.NodeId, StringComparer.Ordinal))
            state.Nodes.Add(ClusterProtoMapping.ToProto(report.View, node));
        foreach (ClusterCollectionReport collection in report.Collections)
            state.Collections.Add(ClusterProtoMapping.ToProto(collection.View, collection.Spec, collection.Streams));
        return state;
    }

    public override async Task<AssignReplicaResponse> AssignReplica(AssignReplicaRequest request, ServerCallContext context)
    {
        Validate(request.Collection, request.NodeId);
        ClusterCollectionReport report = await cluster.AssignReplicaAsync(request.Collection, Shard(request.Shard), request.NodeId,
            context.CancellationToken);
        return new AssignReplicaResponse { Collection = ClusterProtoMapping.ToProto(report.View, report.Spec, report.Streams) };
    }

    public override async Task<RemoveReplicaResponse> RemoveReplica(RemoveReplicaRequest request, ServerCallContext context)
    {
        Validate(request.Collection, request.NodeId);
        ClusterCollectionReport report = await cluster.RemoveReplicaAsync(request.Collection, Shard(request.Shard), request.NodeId,
            context.CancellationToken);
        return new RemoveReplicaResponse { Collection = ClusterProtoMapping.ToProto(report.View, report.Spec, report.Streams) };
    }

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
