using AnnServer.Cluster.State;

namespace AnnServer.Cluster;

/// <summary>
/// What an operator can ask of the cluster (ClusterService): its state, and the shard map's replica assignments.
/// <see cref="ClusterAdministration"/> in cluster mode, <see cref="NoClusterAdministration"/> on a single server; the
/// gRPC service maps messages onto this and never asks which mode the node runs in.
/// </summary>
public interface IClusterAdministration
{
    /// <summary>The nodes and every cluster collection with its shards' stream positions.</summary>
    Task<ClusterStateReport> GetStateAsync(CancellationToken ct);

    /// <summary>Adds a replica of one shard on a node; returns the collection as it is then.</summary>
    Task<ClusterCollectionReport> AssignReplicaAsync(string collection, int shard, string nodeId, CancellationToken ct);

    /// <summary>Removes a replica of one shard from a node; returns the collection as it is then.</summary>
    Task<ClusterCollectionReport> RemoveReplicaAsync(string collection, int shard, string nodeId, CancellationToken ct);
}

/// <summary>The cluster as one node sees it: its view (nodes, specs, replica states) and each collection's report,
/// sorted by name.</summary>
public sealed record ClusterStateReport(ClusterView View, IReadOnlyList<ClusterCollectionReport> Collections);

/// <summary>One cluster collection: the view it was read in, its spec, and per shard the first and last sequence of its
/// stream (0 and 0 when the stream could not be read just now).</summary>
public sealed record ClusterCollectionReport(ClusterView View, ClusterCollectionSpec Spec, IReadOnlyList<(ulong First, ulong Last)> Streams);
