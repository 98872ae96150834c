namespace AnnServer.Core.Snapshots;

/// <summary>Writes and loads snapshot files (format: docs/snapshot-format.md).</summary>
public static class Snapshot
{
    /// <summary>
    /// Writes the index atomically: to a temporary file in the same folder, flushed to disk, then renamed over
    /// <paramref name="path"/>, so a crash never leaves a half-written snapshot under the real name. Searches and writes
    /// may go on meanwhile. <paramref name="logPosition"/> is the durable-log position the snapshot covers (0 without a log).
    /// </summary>
    public static void Save(HnswIndex index, string path, long logPosition = 0)
    {
        ArgumentNullException.ThrowIfNull(index);
        SnapshotWriter.Write(index, path, logPosition);
    }

    /// <summary>
    /// Loads a snapshot. By default the vectors are used in place from a read-only memory map (no copy; pages are read
    /// on first touch) and every checksum is verified first.
    /// </summary>
    /// <exception cref="SnapshotFormatException">the file is not a snapshot, is damaged or truncated; the message names the part.</exception>
    public static LoadedSnapshot Load(string path, SnapshotLoadOptions? options = null)
    {
        options ??= new SnapshotLoadOptions();
        var reader = SnapshotReader.Open(path);
        try
        {
            var index = reader.BuildIndex(verifyChecksums: !options.SkipChecksums, mapVectors: !options.ReadIntoMemory);
            if (options.ReadIntoMemory) reader.Dispose();
            return new LoadedSnapshot(index, reader.Header.LogPosition);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>Reads the header and section table and verifies every checksum, without building an index.</summary>
    /// <exception cref="SnapshotFormatException">the header itself cannot be read.</exception>
    public static SnapshotInfo ReadInfo(string path)
    {
        using var reader = SnapshotReader.Open(path);
        var header = reader.Header;
        var sections = new List<SnapshotSectionInfo>();
        foreach (var section in header.Sections)
            sections.Add(new SnapshotSectionInfo(section.Kind.ToString(), section.Offset, section.Length, reader.ChecksumHolds(section)));
        return new SnapshotInfo(header.FormatVersion, header.Dimension, header.Metric, header.M, header.EfConstruction,
            header.NodeCount, header.LiveCount, header.LogPosition, reader.FileLength, sections)
        {
            Quantization = header.Quantization,
        };
    }
}

public sealed class SnapshotLoadOptions
{
    /// <summary>Copy the vectors into memory instead of mapping them from the file (no page faults at query time).</summary>
    public bool ReadIntoMemory { get; init; }

    /// <summary>Skip checksum verification (for very large files whose integrity is known). Off by default.</summary>
    public bool SkipChecksums { get; init; }
}

public sealed record LoadedSnapshot(HnswIndex Index, long LogPosition);

public sealed record SnapshotSectionInfo(string Name, long Offset, long Length, bool ChecksumValid);

public sealed record SnapshotInfo(int FormatVersion, int Dimension, DistanceMetric Metric, int M, int EfConstruction,
    long NodeCount, long LiveCount, long LogPosition, long FileLength, IReadOnlyList<SnapshotSectionInfo> Sections)
{
    public VectorQuantization Quantization { get; init; }

    public bool AllChecksumsValid => Sections.All(s => s.ChecksumValid);
}

/// <summary>A snapshot file that cannot be read: the message says which part and why.</summary>
public sealed class SnapshotFormatException(string message) : Exception(message);
