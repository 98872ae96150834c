using System.Text;

namespace AnnServer.Storage;

/// <summary>
/// One durable write: an upsert of a batch of vectors, a delete of a batch of ids, or a change of the payloads of a
/// batch of ids, for one collection. A server request becomes one record (several only when it does not fit in one
/// log page), so a request is replayed whole or not at all. Use <see cref="Upsert"/>, <see cref="Delete"/> and
/// <see cref="SetPayload"/> to build one; they validate their arguments and throw <see cref="ArgumentException"/>
/// naming the problem.
/// </summary>
/// <remarks>
/// The arrays are not copied: the caller must not change them while the record is being
/// appended. Records produced by <see cref="LogRecordCodec.Decode"/> own fresh arrays.
/// </remarks>
public sealed class LogRecord
{
    /// <summary>Longest collection name, in UTF-8 bytes (the format stores it in 8 bits).</summary>
    public const int MaxCollectionNameBytes = 255;

    /// <summary>Largest dimension the format accepts (the engine's own limit is lower).</summary>
    public const int MaxDimension = 1 << 16;

    /// <summary>Largest payload blob of one point, in bytes. The engine's limits (fields, keyword and list lengths) allow
    /// larger payloads in theory; 1 MiB is far above any real one and a quarter of a default record
    /// (<see cref="CollectionLog.MaxRecordBytes"/>), so one point never fills a log page by its payload alone.</summary>
    public const int MaxPayloadBytes = 1 << 20;

    private LogRecord(LogOperation operation, string collection, int dimension, long[] ids, float[]? vectors, int[][]? labels,
        ulong streamSequence = 0, byte[]?[]? payloads = null, LogPayloadMode payloadMode = LogPayloadMode.None)
    {
        Payloads = payloads;
        PayloadMode = payloadMode;
        StreamSequence = streamSequence;
        Operation = operation;
        Collection = collection;
        Dimension = dimension;
        Ids = ids;
        Vectors = vectors;
        Labels = labels;
    }

    public LogOperation Operation { get; }

    /// <summary>Name of the collection the record belongs to.</summary>
    public string Collection { get; }

    /// <summary>Vector dimension for an upsert; 0 for a delete or a payload change.</summary>
    public int Dimension { get; }

    /// <summary>The ids written or deleted, in request order.</summary>
    public long[] Ids { get; }

    /// <summary>Upsert only: <c>Ids.Length * Dimension</c> floats, row i is the vector of <c>Ids[i]</c>.</summary>
    public float[]? Vectors { get; }

    /// <summary>
    /// Upsert only, optional: one label array per id (same order as <see cref="Ids"/>).
    /// A null entry is stored as an empty array, so it decodes as <c>[]</c>.
    /// </summary>
    public int[][]? Labels { get; }

    /// <summary>
    /// In a cluster replica's log: the sequence of this record in its shard's JetStream stream, so that a restarted
    /// replica knows where to resume the stream. 0 = none (every record of a local collection; stream sequences start
    /// at 1). Encoded only when set (format version 2).
    /// </summary>
    public ulong StreamSequence { get; }

    /// <summary>
    /// Upsert (optional) and SetPayload: one opaque payload blob per id (same order as <see cref="Ids"/>), encoded and
    /// read by the engine (docs/payload-format.md); null = none. An upsert without any non-empty blob has null here, so
    /// it is written exactly as before payloads existed. An empty blob is written as length 0 and read back as null.
    /// </summary>
    public byte[]?[]? Payloads { get; }

    /// <summary>SetPayload only: what the blobs do; <see cref="LogPayloadMode.None"/> for every other record.</summary>
    public LogPayloadMode PayloadMode { get; }

    /// <summary>The same record (sharing its arrays) carrying stream sequence <paramref name="sequence"/> (≥ 1).</summary>
    public LogRecord WithStreamSequence(ulong sequence)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sequence);
        return new LogRecord(Operation, Collection, Dimension, Ids, Vectors, Labels, sequence, Payloads, PayloadMode);
    }

    /// <summary>Number of ids in the record.</summary>
    public int Count => Ids.Length;

    /// <summary>Vector of the i-th id (upserts only).</summary>
    public ReadOnlySpan<float> Vector(int i) =>
        Vectors is null ? throw new InvalidOperationException($"a {Operation} record has no vectors")
                        : Vectors.AsSpan(i * Dimension, Dimension);

    /// <summary>An upsert of <paramref name="ids"/>.Length vectors, row-major in <paramref name="vectors"/>, with optional
    /// labels and optional payload blobs (one per id; null or empty = no payload).</summary>
    public static LogRecord Upsert(string collection, int dimension, long[] ids, float[] vectors, int[][]? labels = null,
        byte[]?[]? payloads = null)
    {
        ValidateCollection(collection);
        ValidateIds(ids);
        ArgumentNullException.ThrowIfNull(vectors);
        if (dimension is < 1 or > MaxDimension)
            throw new ArgumentException($"dimension must be between 1 and {MaxDimension}, got {dimension}", nameof(dimension));
        if ((long)ids.Length * dimension != vectors.Length)
            throw new ArgumentException(
                $"vectors holds {vectors.Length} floats but {ids.Length} ids of dimension {dimension} need {(long)ids.Length * dimension}",
                nameof(vectors));
        if (labels is not null && labels.Length != ids.Length)
            throw new ArgumentException($"labels has {labels.Length} entries but there are {ids.Length} ids", nameof(labels));
        ValidatePayloads(payloads, ids.Length);
        return new LogRecord(LogOperation.Upsert, collection, dimension, ids, vectors, labels,
            payloads: payloads is not null && Array.Exists(payloads, p => p is { Length: > 0 }) ? payloads : null);
    }

    /// <summary>A change of the payloads of <paramref name="ids"/>: <paramref name="payloads"/> holds one blob per id,
    /// applied as <paramref name="mode"/> says (null or empty: an empty blob).</summary>
    public static LogRecord SetPayload(string collection, LogPayloadMode mode, long[] ids, byte[]?[] payloads)
    {
        ValidateCollection(collection);
        ValidateIds(ids);
        if (mode is not (LogPayloadMode.Set or LogPayloadMode.Replace or LogPayloadMode.DeleteFields))
            throw new ArgumentException($"payload mode must be Set, Replace or DeleteFields, got {mode}", nameof(mode));
        ArgumentNullException.ThrowIfNull(payloads);
        ValidatePayloads(payloads, ids.Length);
        return new LogRecord(LogOperation.SetPayload, collection, 0, ids, null, null, payloads: payloads, payloadMode: mode);
    }

    /// <summary>A delete of <paramref name="ids"/>.</summary>
    public static LogRecord Delete(string collection, long[] ids)
    {
        ValidateCollection(collection);
        ValidateIds(ids);
        return new LogRecord(LogOperation.Delete, collection, 0, ids, null, null);
    }

    /// <summary>Builds a record from decoded parts that the codec has already bounded.</summary>
    internal static LogRecord FromDecoded(LogOperation operation, string collection, int dimension, long[] ids, float[]? vectors, int[][]? labels,
        ulong streamSequence, byte[]?[]? payloads, LogPayloadMode payloadMode) =>
        new(operation, collection, dimension, ids, vectors, labels, streamSequence, payloads, payloadMode);

    private static void ValidatePayloads(byte[]?[]? payloads, int count)
    {
        if (payloads is null) return;
        if (payloads.Length != count)
            throw new ArgumentException($"payloads has {payloads.Length} entries but there are {count} ids", nameof(payloads));
        for (int i = 0; i < payloads.Length; i++)
            if (payloads[i] is { Length: > MaxPayloadBytes } blob)
                throw new ArgumentException($"payload of point {i} is {blob.Length} bytes, more than the log's limit MaxPayloadBytes ({MaxPayloadBytes})", nameof(payloads));
    }

    private static void ValidateCollection(string collection)
    {
        ArgumentNullException.ThrowIfNull(collection);
        if (collection.Length == 0)
            throw new ArgumentException("collection name is empty", nameof(collection));
        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(collection);
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException("collection name is not valid Unicode (unpaired surrogate)", nameof(collection));
        }
        if (bytes > MaxCollectionNameBytes)
            throw new ArgumentException($"collection name is {bytes} UTF-8 bytes, at most {MaxCollectionNameBytes} allowed", nameof(collection));
    }

    private static void ValidateIds(long[] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Length == 0)
            throw new ArgumentException("a log record needs at least one id", nameof(ids));
    }

    /// <summary>UTF-8 that throws on invalid input instead of substituting '?'.</summary>
    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
