namespace AnnServer.Core.Snapshots;

// PUBLIC CONTRACT (stub, being implemented)
/// <summary>Writes and loads snapshot files (docs/snapshot-format.md).</summary>
public static class Snapshot
{
    /// <summary>Writes the index atomically: a temporary file in the same folder, flushed, then renamed over <paramref name="path"/>.
    /// <paramref name="logPosition"/> is the durable-log position the snapshot covers (0 when there is no log).</summary>
    public static void Save(HnswIndex index, string path, long logPosition = 0) => throw new NotImplementedException();

    /// <summary>Loads a snapshot. Throws <see cref="SnapshotFormatException"/> naming the section when a check fails.</summary>
    public static LoadedSnapshot Load(string path, SnapshotLoadOptions? options = null) => throw new NotImplementedException();

    /// <summary>Reads the header and section table, and verifies every checksum, without building an index.</summary>
    public static SnapshotInfo ReadInfo(string path) => throw new NotImplementedException();
}

public sealed class SnapshotLoadOptions
{
    /// <summary>Read every section into memory instead of mapping the vectors from the file.</summary>
    public bool ReadIntoMemory { get; init; }

    /// <summary>Skip checksum verification (for very large files whose integrity is known).</summary>
    public bool SkipChecksums { get; init; }
}

public sealed record LoadedSnapshot(HnswIndex Index, long LogPosition);

public sealed record SnapshotSectionInfo(string Name, long Offset, long Length, bool ChecksumValid);

public sealed record SnapshotInfo(int FormatVersion, int Dimension, DistanceMetric Metric, int M, int EfConstruction,
    long NodeCount, long LiveCount, long LogPosition, long FileLength, IReadOnlyList<SnapshotSectionInfo> Sections)
{
    public bool AllChecksumsValid => Sections.All(s => s.ChecksumValid);
}

/// <summary>A snapshot file that cannot be read: the message says which part and why.</summary>
public sealed class SnapshotFormatException(string message) : Exception(message);
