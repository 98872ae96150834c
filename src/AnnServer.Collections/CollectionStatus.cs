using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>A description of a collection at one moment (what GetCollectionInfo returns). A cluster collection has
/// <see cref="Shards"/> ≥ 1 and leaves the fields of one node's files (memory, snapshot, log) at 0. A collection that
/// failed to load (<see cref="State"/> <see cref="CollectionState.Failed"/>) has only its name, <see cref="Failure"/> and
/// the time it failed (in <see cref="SnapshotTime"/>); every other field is 0. A collection in state
/// <see cref="CollectionState.Replaying"/> counts the points it will hold once its log is replayed, and has
/// <see cref="ReplayPendingPoints"/> of them still to insert into its graph. A collection being loaded
/// (<see cref="CollectionState.Loading"/>) has only its name and <see cref="Load"/>. <see cref="SourcePosition"/> is the upstream position of the
/// snapshot the collection was built from (ann-build --source-position), or null. <see cref="LinkedFields"/>: the
/// keyword fields whose values' points are linked among themselves (<see cref="HnswOptions.LinkedFields"/>), or null for none.</summary>
public sealed record CollectionStatus(
    string Name,
    int Dimension,
    DistanceMetric Metric,
    int M,
    int EfConstruction,
    long Count,
    long NodeCount,
    long MemoryBytes,
    long SnapshotLogPosition,
    long LogPosition,
    long SnapshotBytes,
    DateTimeOffset SnapshotTime,
    long WritesSinceSnapshot,
    VectorQuantization Quantization,
    int Shards = 0,
    int Replicas = 0,
    CollectionState State = CollectionState.Ready,
    string? Failure = null,
    long ReplayPendingPoints = 0,
    LoadProgress? Load = null,
    string? SourcePosition = null,
    IReadOnlyList<string>? LinkedFields = null);
