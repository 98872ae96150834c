using AnnServer.Core;

namespace AnnServer.Cluster.State;

/// <summary>
/// A cluster collection as the cluster state bucket stores it (key <c>collections.{name}</c>, JSON): its index settings,
/// its shard count, and which nodes hold a replica of each shard. Immutable: a change is a new value written with the
/// revision it was based on (compare-and-set), so two admins never overwrite each other.
/// <para><see cref="SeededFromSnapshot"/>: the collection was created by LoadSnapshot from offline-built shard files,
/// whose snapshots were stored (covering stream sequence 0) before this spec was written. Its streams do not hold those
/// points, so a replica must never start from an empty index: it waits for the snapshot's download instead. Absent in
/// specs written before the field (false): those collections were filled through their streams only.</para>
/// <para><see cref="LinkedFields"/>: the keyword fields every replica links (HnswOptions.LinkedFields); absent (null) in
/// specs written before the field: none.</para>
/// </summary>
public sealed record ClusterCollectionSpec(
    string Name,
    int Dimension,
    DistanceMetric Metric,
    int M,
    int EfConstruction,
    bool Int8Quantization,
    int Shards,
    int ReplicasPerShard,
    int StreamReplicas,
    IReadOnlyList<IReadOnlyList<string>> ShardReplicaNodeIds,
    long CreatedUnixMs,
    bool SeededFromSnapshot = false,
    IReadOnlyList<string>? LinkedFields = null);
