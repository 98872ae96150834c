namespace AnnServer.Core.Snapshots;

/// <summary>
/// The fixed parts of the snapshot format (docs/snapshot-format.md). All integers little-endian.
/// </summary>
/// <remarks>
/// <code>
/// offset size  field
///      0    8  magic "ANNSNAP\0"
///      8    4  format version (5 with value links, else 4 with a source position, else 3 with payloads, else 2;
///              versions 1 to 4 are still read)
///     12    4  header length (512)
///     16    4  dimension
///     20    1  metric (DistanceMetric)
///     21    1  element type (0 = float32)
///     22    1  quantization (VectorQuantization; version 2, zero in version 1)
///     23    1  reserved, 0
///     24    4  M
///     28    4  efConstruction
///     32    4  random seed
///     36    4  reserved, 0
///     40    8  node count (including tombstones)
///     48    8  live count
///     56    4  entry point node (−1 when empty)
///     60    4  top level
///     64    8  log position covered
///     72    4  vector row bytes
///     76    4  level-0 row bytes
///     80    4  section count
///     84    4  reserved, 0
///     88  32·n section table: kind u32, reserved u32, offset u64, length u64, XxHash64 u64
///    504    8  XxHash64 of bytes [0, 504)
/// </code>
/// </remarks>
internal static class SnapshotLayout
{
    public static ReadOnlySpan<byte> Magic => "ANNSNAP\0"u8;
    /// <summary>2 added quantization (header byte 22 and the QuantizedVectors section); 3 the Payload section; 4 the
    /// SourcePosition section; 5 the ValueLinks section.</summary>
    public const int FormatVersion = 5;

    /// <summary>What an index without linked fields but with a source position is written as (builds of version 4 read it).</summary>
    public const int FormatVersionWithSourcePosition = 4;

    /// <summary>
    /// What an index with payload fields and no source position is written as, so that builds of version 3 still read it.
    /// </summary>
    public const int FormatVersionWithPayload = 3;

    /// <summary>
    /// What an index without payload fields is written as: version 2 holds all it has, and builds from before version 3
    /// still read it (a downgrade keeps working until payloads are used).
    /// </summary>
    public const int FormatVersionWithoutPayload = 2;
    public const int HeaderLength = 512;
    public const int HeaderChecksumOffset = HeaderLength - 8;
    public const int SectionTableOffset = 88;
    public const int SectionEntryLength = 32;
    public const int MaxSections = (HeaderChecksumOffset - SectionTableOffset) / SectionEntryLength;
    public const int SectionAlignment = 64;
    public const byte ElementTypeFloat32 = 0;

    public static long Align(long offset) => (offset + SectionAlignment - 1) / SectionAlignment * SectionAlignment;
}

/// <summary>Section kinds. Persisted: never renumber.</summary>
internal enum SnapshotSection : uint
{
    /// <summary>node count rows of vector-row-bytes: the float32 vectors, each row padded to 64 bytes.</summary>
    Vectors = 1,

    /// <summary>node count rows of level-0-row-bytes: int32 count, then 2·M int32 neighbour ids.</summary>
    Level0Links = 2,

    /// <summary>For each node above level 0, in node order: int32 node, int32 level, then level·(M+1) int32 (per level: count, M ids).</summary>
    UpperLinks = 3,

    /// <summary>node count int64 external ids.</summary>
    Ids = 4,

    /// <summary>node count bytes of node state: 1 live, 2 deleted (tombstone); 0 (pending) is read as deleted.</summary>
    States = 5,

    /// <summary>For each node: int32 label count, then that many int32 labels.</summary>
    Labels = 6,

    /// <summary>Version 2, quantized indexes only: node count rows of int8 codes with their scale (Hnsw/Int8Codes.cs).</summary>
    QuantizedVectors = 7,

    /// <summary>Version 3, indexes with payload fields only: the payload columns of the live nodes (<see cref="PayloadSection"/>).</summary>
    Payload = 8,

    /// <summary>Version 4, indexes with a source position only: the upstream position as UTF-8 (1 to 4,096 bytes).</summary>
    SourcePosition = 9,

    /// <summary>Version 5, indexes with linked keyword fields only: each field's links among its values' points (<see cref="ValueLinksSection"/>).</summary>
    ValueLinks = 10,
}
