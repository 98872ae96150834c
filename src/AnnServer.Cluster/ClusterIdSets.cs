using AnnServer.Cluster.State;
using AnnServer.Collections;

namespace AnnServer.Cluster;

/// <summary>A cluster collection's stored id sets. Not replicated yet: refused with FAILED_PRECONDITION.</summary>
public sealed class ClusterIdSets(ClusterCollectionSpec spec, ClusterCoordinator cluster) : ICollectionIdSets
{
    private readonly ClusterCoordinator _cluster = cluster;

    public ValueTask<IdSetInfo> PutAsync(string name, long[] ids, TimeSpan? ttl, CancellationToken ct) => throw NotYet();

    public ValueTask<bool> DeleteAsync(string name, CancellationToken ct) => throw NotYet();

    public ValueTask<IReadOnlyList<IdSetInfo>> ListAsync(CancellationToken ct) => throw NotYet();

    private CollectionPreconditionException NotYet() =>
        new($"collection '{spec.Name}' is a cluster collection: stored id sets are not supported in cluster mode yet");
}
