using System.Text.Json.Serialization;
using AnnServer.Core;

namespace AnnServer.Cluster.State;

/// <summary>
/// A cluster collection as the cluster state bucket stores it (key <c>collections.{name}</c>, JSON): its index settings,
/// its shard count, and which nodes hold a replica of each shard. Immutable: a change is a new value written with the
/// revision it was based on (compare-and-set), so two admins never overwrite each other.
/// <para><see cref="Quantization"/>: written as <c>quantization</c> ("none", "int8", "int4") beside the field older
/// nodes read, <see cref="Int8Quantization"/>; see there for how each side reads the other's specs.</para>
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
    VectorQuantization Quantization,
    int Shards,
    int ReplicasPerShard,
    int StreamReplicas,
    IReadOnlyList<IReadOnlyList<string>> ShardReplicaNodeIds,
    long CreatedUnixMs,
    bool SeededFromSnapshot = false,
    IReadOnlyList<string>? LinkedFields = null)
{
    /// <summary>The JSON's constructor. <paramref name="int8Quantization"/> true is int8 whatever
    /// <paramref name="quantization"/> says: specs written before <c>quantization</c>, and specs an older node rewrote
    /// (a compare-and-set change drops the field it does not know), have only <c>int8Quantization</c>, and an absent
    /// <c>quantization</c> reads as none. Every spec this version writes has the two in agreement (see
    /// <see cref="Int8Quantization"/>).</summary>
    [JsonConstructor]
    public ClusterCollectionSpec(string name, int dimension, DistanceMetric metric, int m, int efConstruction,
        VectorQuantization quantization, bool? int8Quantization, int shards, int replicasPerShard, int streamReplicas,
        IReadOnlyList<IReadOnlyList<string>> shardReplicaNodeIds, long createdUnixMs, bool seededFromSnapshot,
        IReadOnlyList<string>? linkedFields)
        : this(name, dimension, metric, m, efConstruction, int8Quantization == true ? VectorQuantization.Int8 : quantization,
            shards, replicasPerShard, streamReplicas, shardReplicaNodeIds, createdUnixMs, seededFromSnapshot, linkedFields)
    {
    }

    /// <summary>
    /// The field specs held before <see cref="Quantization"/>, still written for the nodes of earlier versions, which
    /// read only it (a bool, false when absent) and ignore <c>quantization</c>: true for int8 and false for none, so
    /// they read those specs as before; null for int4 and any later mode, which such a node cannot read as a bool, so it
    /// skips the whole spec ("Ignoring the unreadable cluster state entry") instead of serving the collection as
    /// float32.
    /// </summary>
    public bool? Int8Quantization => Quantization switch
    {
        VectorQuantization.None => false,
        VectorQuantization.Int8 => true,
        _ => null,
    };
}
