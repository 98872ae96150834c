using AnnServer.Cluster.State;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using AnnServer.Services;
using ShardReplicaMessage = AnnServer.Protocol.V1.ShardReplica;

namespace AnnServer.Cluster;

/// <summary>Conversions of the cluster state to the ClusterService messages and to CollectionInfo.</summary>
internal static class ClusterProtoMapping
{
    /// <summary>A cluster collection as CollectionInfo: its settings, shards and replicas. The counts are 0: they live
    /// on the replicas (docs/cluster.md).</summary>
    public static CollectionInfo ToInfo(ClusterCollectionSpec spec) => new()
    {
        Name = spec.Name,
        Dimension = (uint)spec.Dimension,
        Metric = ProtoMapping.ToProto(spec.Metric),
        M = (uint)spec.M,
        EfConstruction = (uint)spec.EfConstruction,
        Quantization = ProtoMapping.ToProto(spec.Int8Quantization ? VectorQuantization.Int8 : VectorQuantization.None),
        Shards = (uint)spec.Shards,
        Replicas = (uint)spec.ReplicasPerShard,
    };

    public static ClusterCollection ToProto(ClusterView view, ClusterCollectionSpec spec, IReadOnlyList<ulong>? lastSequences = null)
    {
        var collection = new ClusterCollection { Info = ToInfo(spec) };
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            var state = new ShardState { Shard = (uint)shard, LastSequence = lastSequences is null ? 0 : lastSequences[shard] };
            foreach (string nodeId in spec.ShardReplicaNodeIds[shard])
            {
                ReplicaEntry? entry = view.ReplicaState(spec.Name, shard, nodeId);
                state.Replicas.Add(new ShardReplicaMessage
                {
                    NodeId = nodeId,
                    // A replica on a dead node, or one its node has not reported yet, is neither serving nor catching up.
                    State = !view.IsLive(nodeId) ? "down" : entry?.State ?? "assigned",
                    AppliedSequence = entry?.AppliedSequence ?? 0,
                });
            }
            collection.Shards.Add(state);
        }
        return collection;
    }

    public static ClusterNode ToProto(ClusterView view, NodeEntry node) => new()
    {
        NodeId = node.NodeId,
        Address = node.Address,
        Role = node.Role,
        LastHeartbeatUnixMs = node.HeartbeatUnixMs,
        Live = view.IsLive(node),
    };
}
