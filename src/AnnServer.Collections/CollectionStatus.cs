using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>A description of a collection at one moment (what GetCollectionInfo returns).</summary>
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
    VectorQuantization Quantization);
