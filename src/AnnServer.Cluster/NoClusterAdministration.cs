using AnnServer.Collections;

namespace AnnServer.Cluster;

/// <summary>A single server's cluster administration: there is no cluster. Every call is FAILED_PRECONDITION saying so.</summary>
public sealed class NoClusterAdministration : IClusterAdministration
{
    private static CollectionPreconditionException NotInClusterMode() =>
        new("this server is not in cluster mode (start it with --cluster-nats)");

    public Task<ClusterStateReport> GetStateAsync(CancellationToken ct) => throw NotInClusterMode();

    public Task<ClusterCollectionReport> AssignReplicaAsync(string collection, int shard, string nodeId, CancellationToken ct) =>
        throw NotInClusterMode();

    public Task<ClusterCollectionReport> RemoveReplicaAsync(string collection, int shard, string nodeId, CancellationToken ct) =>
        throw NotInClusterMode();
}
