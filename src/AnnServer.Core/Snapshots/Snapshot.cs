namespace AnnServer.Core.Snapshots;

/// <summary>Writes and loads snapshot files (format: docs/snapshot-format.md).</summary>
public static class Snapshot
{
    /// <summary>Longest source position a snapshot holds, in UTF-8 bytes: room for a Kafka offset map of a few hundred partitions.</summary>
    public const int MaxSourcePositionBytes = 4096;

    /// <summary>Checks a source position (<see cref="HnswIndex.SourcePosition"/>) before it is set.</summary>
    /// <exception cref="ArgumentException">empty, or longer than <see cref="MaxSourcePositionBytes"/> in UTF-8; the message names <paramref name="name"/> and the limit.</exception>
    public static void ValidateSourcePosition(string position, string name)
    {
        ArgumentNullException.ThrowIfNull(position, name);
        if (position.Length == 0)
            throw new ArgumentException($"{name} is empty: give a position (a Kafka offset map, a timestamp) or none", name);
        int bytes = System.Text.Encoding.UTF8.GetByteCount(position);
        if (bytes > MaxSourcePositionBytes)
            throw new ArgumentException($"{name} is {bytes} bytes in UTF-8, more than the limit of {MaxSourcePositionBytes}", name);
    }

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
        using var reader = SnapshotReader.Open(path);
        var index = reader.BuildIndex(verifyChecksums: !options.SkipChecksums, mapVectors: !options.ReadIntoMemory, threads: options.Threads,
            encodeAs: options.EncodeAs);
        return new LoadedSnapshot(index, reader.Header.LogPosition);
    }

    /// <summary>Reads the header and section table and verifies every checksum, without building an index; gives the
    /// source position too. With <paramref name="describePayload"/> the Payload section is also read, as a load reads it,
    /// for <see cref="SnapshotInfo.PayloadFields"/> (off by default: the server verifies every checkpoint with this call,
    /// and a payload's columns cost time and memory to rebuild).</summary>
    /// <exception cref="SnapshotFormatException">the header itself cannot be read.</exception>
    public static SnapshotInfo ReadInfo(string path, bool describePayload = false)
    {
        using var reader = SnapshotReader.Open(path);
        var header = reader.Header;
        var sections = new List<SnapshotSectionInfo>();
        string? sourcePosition = null;
        IReadOnlyList<SnapshotPayloadField>? payloadFields = null;
        IReadOnlyList<string>? linkedFields = null;
        foreach (var section in header.Sections)
        {
            bool intact = reader.ChecksumHolds(section);
            sections.Add(new SnapshotSectionInfo(section.Kind.ToString(), section.Offset, section.Length, intact));
            // A damaged section is reported as such above; info on the rest of the file still shows.
            if (!intact) continue;
            if (section.Kind == SnapshotSection.SourcePosition) sourcePosition = ReadOrNull(reader.ReadSourcePosition);
            else if (section.Kind == SnapshotSection.Payload && describePayload) payloadFields = ReadOrNull(reader.DescribePayload);
            else if (section.Kind == SnapshotSection.ValueLinks) linkedFields = ReadOrNull(reader.DescribeLinkedFields);
        }
        return new SnapshotInfo(header.FormatVersion, header.Dimension, header.Metric, header.M, header.EfConstruction,
            header.NodeCount, header.LiveCount, header.LogPosition, reader.FileLength, sections)
        {
            Quantization = header.Quantization,
            SourcePosition = sourcePosition,
            PayloadFields = payloadFields ?? [],
            LinkedFields = linkedFields ?? [],
        };
    }

    private static T? ReadOrNull<T>(Func<T?> read) where T : class
    {
        try
        {
            return read();
        }
        catch (SnapshotFormatException)
        {
            return null;
        }
    }
}

public sealed class SnapshotLoadOptions
{
    /// <summary>Copy the vectors into memory instead of mapping them from the file (no page faults at query time).</summary>
    public bool ReadIntoMemory { get; init; }

    /// <summary>Skip checksum verification (for very large files whose integrity is known). Off by default.</summary>
    public bool SkipChecksums { get; init; }

    /// <summary>Cores the load may use at once: 0 (the default) for every core, as at start, when nothing is served yet;
    /// 1 for a load beside searches, which would otherwise wait for the load's threads.</summary>
    public int Threads { get; init; }

    /// <summary>Load a float32 snapshot as an index of this quantization, its codes computed from the vectors at load (the
    /// links are the same: builds link on float32 in every mode). For benchmarks that try a quantization without a
    /// rebuild; null (the default) keeps the snapshot's own.</summary>
    public VectorQuantization? EncodeAs { get; init; }

    /// <summary>These options for a load beside searches: one core.</summary>
    public SnapshotLoadOptions BesideSearches() => new() { ReadIntoMemory = ReadIntoMemory, SkipChecksums = SkipChecksums, Threads = 1, EncodeAs = EncodeAs };
}

public sealed record LoadedSnapshot(HnswIndex Index, long LogPosition)
{
    /// <summary>The upstream position the snapshot was built as of (<see cref="HnswIndex.SourcePosition"/>); null when none.</summary>
    public string? SourcePosition => Index.SourcePosition;
}

/// <summary>A payload field of a snapshot: its kind, how many live points have a value, and for keyword kinds the
/// distinct keywords in its dictionary (0 for other kinds).</summary>
public sealed record SnapshotPayloadField(string Name, Payloads.PayloadKind Kind, long Points, int DistinctKeywords);

public sealed record SnapshotSectionInfo(string Name, long Offset, long Length, bool ChecksumValid);

public sealed record SnapshotInfo(int FormatVersion, int Dimension, DistanceMetric Metric, int M, int EfConstruction,
    long NodeCount, long LiveCount, long LogPosition, long FileLength, IReadOnlyList<SnapshotSectionInfo> Sections)
{
    public VectorQuantization Quantization { get; init; }

    /// <summary>The upstream position the index was built as of (version 4); null when none, or its section is damaged.</summary>
    public string? SourcePosition { get; init; }

    /// <summary>The payload fields (version 3 and later), in the order they first appeared, when asked for
    /// (<see cref="Snapshot.ReadInfo"/>'s describePayload); empty when not asked, none, or the Payload section is damaged.</summary>
    public IReadOnlyList<SnapshotPayloadField> PayloadFields { get; init; } = [];

    /// <summary>The linked keyword fields (version 5); empty when none, or when the ValueLinks section is damaged.</summary>
    public IReadOnlyList<string> LinkedFields { get; init; } = [];

    public bool AllChecksumsValid => Sections.All(s => s.ChecksumValid);
}

/// <summary>A snapshot file that cannot be read: the message says which part and why.</summary>
public sealed class SnapshotFormatException(string message) : Exception(message);
