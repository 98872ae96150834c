using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;

namespace AnnServer.Cluster;

/// <summary>The cluster's administration on a node in cluster mode: the coordinator's view and shard map, with each
/// shard's stream positions read from JetStream.</summary>
public sealed class ClusterAdministration(ClusterCoordinator coordinator) : IClusterAdministration
{
    public async Task<ClusterStateReport> GetStateAsync(CancellationToken ct)
    {
        ClusterView view = coordinator.View;
        var collections = new List<ClusterCollectionReport>(view.Collections.Count);
        foreach (VersionedSpec versioned in view.Collections.Values.OrderBy(c => c.Spec.Name, StringComparer.Ordinal))
            collections.Add(await ReportAsync(view, versioned.Spec, ct).ConfigureAwait(false));
        return new ClusterStateReport(view, collections);
    }

    public async Task<ClusterCollectionReport> AssignReplicaAsync(string collection, int shard, string nodeId, CancellationToken ct)
    {
        ClusterCollectionSpec spec = await coordinator.AssignReplicaAsync(collection, shard, nodeId, ct).ConfigureAwait(false);
        return await ReportAsync(coordinator.View, spec, ct).ConfigureAwait(false);
    }

    public async Task<ClusterCollectionReport> RemoveReplicaAsync(string collection, int shard, string nodeId, CancellationToken ct)
    {
        ClusterCollectionSpec spec = await coordinator.RemoveReplicaAsync(collection, shard, nodeId, ct).ConfigureAwait(false);
        return await ReportAsync(coordinator.View, spec, ct).ConfigureAwait(false);
    }

    /// <summary>The collection with each shard's first and last stream sequence (one JetStream call per shard; 0 and 0
    /// when the stream cannot be read just now).</summary>
    private async Task<ClusterCollectionReport> ReportAsync(ClusterView view, ClusterCollectionSpec spec, CancellationToken ct)
    {
        var streams = new (ulong First, ulong Last)[spec.Shards];
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            try
            {
                streams[shard] = await ShardStreams.SequencesAsync(coordinator.JetStream, spec.Name, shard, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                streams[shard] = (0, 0);
            }
        }
        return new ClusterCollectionReport(view, spec, streams);
    }
}
