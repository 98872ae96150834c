namespace AnnServer.Cluster;

/// <summary>
/// A replica of a collection seeded from imported shard snapshots cannot get the shard's snapshot. It must not start
/// empty (the shard's stream lacks the imported points, so it would serve a shard missing them): the replica stays
/// not serving and its loop tries the download again with a growing pause.
/// </summary>
public sealed class SeededSnapshotUnavailableException(string collection, int shard, string reason, Exception? inner = null)
    : Exception($"collection '{collection}' was imported from shard snapshots, so the replica of shard {shard} starts only from " +
                $"the shard's snapshot, never empty, and {reason}; retrying the download", inner);
