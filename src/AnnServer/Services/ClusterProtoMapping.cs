using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Protocol.V1;
using AnnServer.Cluster;
using ShardReplicaMessage = AnnServer.Protocol.V1.ShardReplica;

namespace AnnServer.Services;

/// <summary>Conversions of the cluster state to the ClusterService messages and to CollectionInfo.</summary>
internal static class ClusterProtoMapping
{
    /// <summary>A cluster collection as CollectionInfo (<see cref="ClusterCollectionStatus"/>).</summary>
    public static CollectionInfo ToInfo(ClusterView? view, ClusterCollectionSpec spec) =>
        ProtoMapping.ToProto(ClusterCollectionStatus.Of(view, spec));

    /// <param name="streams">Per shard, the first and last sequence of its stream; null: all 0.</param>
    public static ClusterCollection ToProto(ClusterView view, ClusterCollectionSpec spec, IReadOnlyList<(ulong First, ulong Last)>? streams = null)
    {
        var collection = new ClusterCollection { Info = ToInfo(view, spec) };
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            var state = new ShardState
            {
                Shard = (uint)shard,
                FirstSequence = streams is null ? 0 : streams[shard].First,
                LastSequence = streams is null ? 0 : streams[shard].Last,
            };
            // The durable sequences the stream trimmer goes by: a replica's last report even from before its node's current
            // process (what was on its disk then is on it now), so that GetClusterState shows what holds a trim back.
            List<ulong?> durable = StreamTrimPoint.ReportedDurableSequences(view, spec, shard);
            IReadOnlyList<string> nodeIds = spec.ShardReplicaNodeIds[shard];
            for (int r = 0; r < nodeIds.Count; r++)
            {
                string nodeId = nodeIds[r];
                ReplicaEntry? entry = view.ReplicaState(spec.Name, shard, nodeId);
                state.Replicas.Add(new ShardReplicaMessage
                {
                    NodeId = nodeId,
                    // A replica on a dead node, or one its node has not reported yet, is neither serving nor catching up.
                    State = !view.IsLive(nodeId) ? ReplicaState.Down : entry is null ? ReplicaState.Assigned : ToProtoState(entry.State),
                    AppliedSequence = entry?.AppliedSequence ?? 0,
                    DurableSequence = durable[r] ?? 0,
                });
            }
            collection.Shards.Add(state);
        }
        return collection;
    }

    public static ClusterNode ToProto(ClusterView view, NodeEntry node)
    {
        var message = new ClusterNode
        {
            NodeId = node.NodeId,
            Address = node.Address,
            Role = ToProtoRole(node.Role),
            LastHeartbeatUnixMs = node.HeartbeatUnixMs,
            Live = view.IsLive(node),
            Version = node.Version ?? "",
        };
        if (node.Capabilities is { } capabilities)
            message.Capabilities.Add(capabilities.Where(c => c is not null));
        return message;
    }

    /// <summary>A role as the node entry names it (<see cref="ClusterRoles.Name"/>); unspecified for one this version
    /// does not know.</summary>
    public static NodeRole ToProtoRole(string role) =>
        role == ClusterRole.Replica.Name() ? NodeRole.Replica
        : role == ClusterRole.Router.Name() ? NodeRole.Router
        : role == ClusterRole.All.Name() ? NodeRole.All
        : NodeRole.Unspecified;

    /// <summary>A replica's state as its node reports it (<see cref="ShardReplicaStates"/>); unspecified for one this
    /// version does not know.</summary>
    public static ReplicaState ToProtoState(string state) => state switch
    {
        ShardReplicaStates.CatchingUp => ReplicaState.CatchingUp,
        ShardReplicaStates.Serving => ReplicaState.Serving,
        ShardReplicaStates.Failed => ReplicaState.Failed,
        _ => ReplicaState.Unspecified,
    };
}
