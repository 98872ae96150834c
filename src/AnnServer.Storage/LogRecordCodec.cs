using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace AnnServer.Storage;

/// <summary>
/// Binary form of a <see cref="LogRecord"/>. Layout (little-endian; docs/log-format.md has the
/// full table and the reasons):
/// <code>
///  offset  size          field
///   0      4             magic "ANLR" (41 4E 4C 52)
///   4      2             format version: 1; 2 when the record carries a stream sequence; 3 when it carries payloads
///                        or is a SetPayload
///   6      1             operation (1 = upsert, 2 = delete, 3 = set payload (version 3 only))
///   7      1             flags: bit 0 vectors present, bit 1 labels present, bit 2 stream sequence present (version 2
///                        and up), bit 3 payloads present (version 3), others 0
///   8      4             record length in bytes, header and checksum included
///  12      4             count: number of ids
///  16      4             dimension (0 without vectors)
///  20      1             collection name length n in UTF-8 bytes (1..255)
///  21      1             payload mode of a SetPayload (1 set, 2 replace, 3 delete fields); 0 for other operations
///  22      2             reserved, 0
///  24      n             collection name, UTF-8
///   .      8             stream sequence, uint64 (if flag bit 2)
///   .      8*count       ids, int64
///   .      4*count*dim   vectors, float32, row-major (if flag bit 0)
///   .      4*count       label counts, int32 (if flag bit 1)
///   .      4*sum(counts) label values, int32, id by id
///   .      4*count       payload blob lengths, int32, 0..MaxPayloadBytes, 0 = none (if flag bit 3)
///   .      sum(lengths)  payload blobs, id by id, opaque (docs/payload-format.md)
///  L-8     8             XxHash64 (seed 0) of bytes [0, L-8)
/// </code>
/// <see cref="Decode"/> checks magic, version, declared length and checksum first, then bounds
/// every count by the bytes actually present before allocating, so a damaged or hostile record
/// costs at most its own size in memory and ends in a <see cref="LogRecordFormatException"/>.
/// </summary>
public static class LogRecordCodec
{
    /// <summary>"ANLR" read as a little-endian uint32.</summary>
    public const uint Magic = 0x524C4E41;

    /// <summary>Newest version this build reads and writes; bump it on any layout change (and add a golden test).
    /// Version 2 added the optional stream sequence (a cluster replica's records); version 3 the payload blobs and the
    /// SetPayload operation. A record is written in the lowest version that holds it: one without payloads is byte for
    /// byte what earlier builds wrote, so a log that uses no payloads stays readable by them.</summary>
    public const ushort FormatVersion = 3;

    /// <summary>The first version, still read, and still written for records without a stream sequence or payloads.</summary>
    public const ushort FormatVersion1 = 1;

    /// <summary>The stream-sequence version, still read, and still written for records with a sequence but no payloads.</summary>
    public const ushort FormatVersion2 = 2;

    /// <summary>Bytes a stream sequence adds to a record.</summary>
    public const int StreamSequenceSize = sizeof(ulong);

    public const int HeaderSize = 24;
    public const int ChecksumSize = 8;

    /// <summary>Smallest possible record: header, a one-byte name, one id, checksum.</summary>
    public const int MinRecordSize = HeaderSize + 1 + sizeof(long) + ChecksumSize;

    private const byte FlagVectors = 1;
    private const byte FlagLabels = 2;
    private const byte FlagStreamSequence = 4;
    private const byte FlagPayloads = 8;
    private const byte KnownFlagsVersion1 = FlagVectors | FlagLabels;
    private const byte KnownFlagsVersion2 = FlagVectors | FlagLabels | FlagStreamSequence;
    private const byte KnownFlags = FlagVectors | FlagLabels | FlagStreamSequence | FlagPayloads;

    /// <summary>Bytes a point's payload blob adds to a record: its int32 length and the blob (null or empty: 4). For a
    /// writer that cuts a request into records by size, as <c>RequestRecords</c> does with vectors and labels.</summary>
    public static long PayloadBytes(byte[]? blob) => sizeof(int) + (long)(blob?.Length ?? 0);

    /// <summary>The version <paramref name="record"/> is written in: the lowest that holds it.</summary>
    public static ushort VersionOf(LogRecord record) =>
        record.Payloads is not null || record.Operation == LogOperation.SetPayload ? FormatVersion
        : record.StreamSequence != 0 ? FormatVersion2
        : FormatVersion1;

    /// <summary>Exact encoded size of <paramref name="record"/> in bytes.</summary>
    /// <exception cref="ArgumentException">The record would exceed 2 GiB.</exception>
    public static int GetEncodedLength(LogRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        long size = HeaderSize + LogRecord.StrictUtf8.GetByteCount(record.Collection) + (long)record.Count * sizeof(long);
        if (record.StreamSequence != 0)
            size += StreamSequenceSize;
        if (record.Vectors is not null)
            size += (long)record.Vectors.Length * sizeof(float);
        if (record.Labels is not null)
        {
            size += (long)record.Count * sizeof(int);
            foreach (var labels in record.Labels)
                size += (long)(labels?.Length ?? 0) * sizeof(int);
        }
        if (record.Payloads is not null)
            foreach (var blob in record.Payloads)
                size += PayloadBytes(blob);
        size += ChecksumSize;
        if (size > Array.MaxLength)
            throw new ArgumentException($"record would be {size} bytes; split the batch (limit {Array.MaxLength} bytes)", nameof(record));
        return (int)size;
    }

    /// <summary>Encodes <paramref name="record"/> into a new array.</summary>
    public static byte[] Encode(LogRecord record)
    {
        var bytes = new byte[GetEncodedLength(record)];
        Encode(record, bytes);
        return bytes;
    }

    /// <summary>Encodes <paramref name="record"/> at the start of <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Encode(LogRecord record, Span<byte> destination)
    {
        EnsureLittleEndian();
        int length = GetEncodedLength(record);
        if (destination.Length < length)
            throw new ArgumentException($"destination holds {destination.Length} bytes, the record needs {length}", nameof(destination));
        var dst = destination[..length];

        BinaryPrimitives.WriteUInt32LittleEndian(dst, Magic);
        bool hasSequence = record.StreamSequence != 0;
        BinaryPrimitives.WriteUInt16LittleEndian(dst[4..], VersionOf(record));
        dst[6] = (byte)record.Operation;
        dst[7] = (byte)((record.Vectors is null ? 0 : FlagVectors) | (record.Labels is null ? 0 : FlagLabels)
                        | (hasSequence ? FlagStreamSequence : 0) | (record.Payloads is null ? 0 : FlagPayloads));
        BinaryPrimitives.WriteInt32LittleEndian(dst[8..], length);
        BinaryPrimitives.WriteInt32LittleEndian(dst[12..], record.Count);
        BinaryPrimitives.WriteInt32LittleEndian(dst[16..], record.Dimension);
        int nameLength = LogRecord.StrictUtf8.GetBytes(record.Collection, dst[HeaderSize..]);
        dst[20] = (byte)nameLength;
        dst[21] = (byte)record.PayloadMode;
        dst[22] = dst[23] = 0;

        int offset = HeaderSize + nameLength;
        if (hasSequence)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(dst[offset..], record.StreamSequence);
            offset += StreamSequenceSize;
        }
        offset += CopyOut(record.Ids, dst[offset..]);
        if (record.Vectors is not null)
            offset += CopyOut(record.Vectors, dst[offset..]);
        if (record.Labels is not null)
        {
            foreach (var labels in record.Labels)
            {
                BinaryPrimitives.WriteInt32LittleEndian(dst[offset..], labels?.Length ?? 0);
                offset += sizeof(int);
            }
            foreach (var labels in record.Labels)
                if (labels is not null)
                    offset += CopyOut(labels, dst[offset..]);
        }
        if (record.Payloads is not null)
        {
            foreach (var blob in record.Payloads)
            {
                BinaryPrimitives.WriteInt32LittleEndian(dst[offset..], blob?.Length ?? 0);
                offset += sizeof(int);
            }
            foreach (var blob in record.Payloads)
                if (blob is not null)
                    offset += CopyOut(blob, dst[offset..]);
        }

        BinaryPrimitives.WriteUInt64LittleEndian(dst[offset..], XxHash64.HashToUInt64(dst[..offset]));
        offset += ChecksumSize;
        System.Diagnostics.Debug.Assert(offset == length);
        return length;
    }

    /// <summary>
    /// Decodes one record occupying exactly <paramref name="bytes"/>.
    /// </summary>
    /// <exception cref="LogRecordFormatException">The bytes are not a valid record; the message says why.</exception>
    public static LogRecord Decode(ReadOnlySpan<byte> bytes)
    {
        EnsureLittleEndian();
        if (bytes.Length < MinRecordSize)
            throw new LogRecordFormatException($"log record is {bytes.Length} bytes, shorter than the minimum {MinRecordSize}");

        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        if (magic != Magic)
            throw new LogRecordFormatException($"not a log record: magic is 0x{magic:X8}, expected 0x{Magic:X8} (\"ANLR\")");

        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]);
        if (version > FormatVersion)
            throw new LogRecordFormatException($"log record format version {version} is newer than this build reads ({FormatVersion}); upgrade the server");
        if (version is not (FormatVersion1 or FormatVersion2 or FormatVersion))
            throw new LogRecordFormatException($"log record format version {version} is not supported (this build reads {FormatVersion1} to {FormatVersion})");

        int declared = BinaryPrimitives.ReadInt32LittleEndian(bytes[8..]);
        if (declared != bytes.Length)
            throw new LogRecordFormatException($"log record declares {declared} bytes but {bytes.Length} are present (truncated or padded record)");

        int bodyLength = bytes.Length - ChecksumSize;
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(bytes[bodyLength..]);
        ulong computed = XxHash64.HashToUInt64(bytes[..bodyLength]);
        if (stored != computed)
            throw new LogRecordFormatException($"log record checksum mismatch: stored 0x{stored:X16}, computed 0x{computed:X16} (damaged bytes)");

        // The checksum matched, but a record written by a buggy or hostile writer can still lie:
        // every field below is checked against the bytes that are actually there.
        byte op = bytes[6];
        if (op is not ((byte)LogOperation.Upsert or (byte)LogOperation.Delete)
            && !(op == (byte)LogOperation.SetPayload && version >= FormatVersion))
            throw new LogRecordFormatException($"log record (version {version}) has unknown operation {op}");
        var operation = (LogOperation)op;
        byte flags = bytes[7];
        byte known = version switch { FormatVersion1 => KnownFlagsVersion1, FormatVersion2 => KnownFlagsVersion2, _ => KnownFlags };
        if ((flags & ~known) != 0)
            throw new LogRecordFormatException($"log record (version {version}) has unknown flags 0x{flags:X2}");
        bool hasVectors = (flags & FlagVectors) != 0, hasLabels = (flags & FlagLabels) != 0;
        bool hasSequence = (flags & FlagStreamSequence) != 0, hasPayloads = (flags & FlagPayloads) != 0;
        if (operation == LogOperation.Upsert && !hasVectors)
            throw new LogRecordFormatException("upsert log record has no vectors");
        if (operation == LogOperation.Delete && (hasVectors || hasLabels || hasPayloads))
            throw new LogRecordFormatException("delete log record carries vectors, labels or payloads");
        if (operation == LogOperation.SetPayload && (hasVectors || hasLabels || !hasPayloads))
            throw new LogRecordFormatException("set-payload log record carries vectors or labels, or no payloads");
        byte mode = bytes[21];
        if (operation == LogOperation.SetPayload
                ? mode is not ((byte)LogPayloadMode.Set or (byte)LogPayloadMode.Replace or (byte)LogPayloadMode.DeleteFields)
                : mode != 0)
            throw new LogRecordFormatException($"log record payload mode byte 21 is {mode}, invalid for a {operation} record");
        if (bytes[22] != 0 || bytes[23] != 0)
            throw new LogRecordFormatException("log record reserved bytes 22..23 are not zero");

        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]);
        int dimension = BinaryPrimitives.ReadInt32LittleEndian(bytes[16..]);
        int nameLength = bytes[20];
        if (nameLength == 0)
            throw new LogRecordFormatException("log record has an empty collection name");

        long remaining = bodyLength - HeaderSize;
        if (nameLength > remaining)
            throw new LogRecordFormatException($"log record collection name length {nameLength} exceeds the {remaining} bytes left");
        string collection;
        try
        {
            collection = LogRecord.StrictUtf8.GetString(bytes.Slice(HeaderSize, nameLength));
        }
        catch (DecoderFallbackException)
        {
            throw new LogRecordFormatException("log record collection name is not valid UTF-8");
        }
        int offset = HeaderSize + nameLength;
        remaining -= nameLength;

        ulong streamSequence = 0;
        if (hasSequence)
        {
            if (remaining < StreamSequenceSize)
                throw new LogRecordFormatException($"log record stream sequence does not fit the {remaining} bytes left");
            streamSequence = BinaryPrimitives.ReadUInt64LittleEndian(bytes[offset..]);
            if (streamSequence == 0)
                throw new LogRecordFormatException("log record has the stream sequence flag but sequence 0 (stream sequences start at 1)");
            offset += StreamSequenceSize;
            remaining -= StreamSequenceSize;
        }

        if (count < 1 || (long)count * sizeof(long) > remaining)
            throw new LogRecordFormatException($"log record id count {count} does not fit the {remaining} bytes left");
        if (hasVectors ? dimension is < 1 or > LogRecord.MaxDimension : dimension != 0)
            throw new LogRecordFormatException($"log record dimension {dimension} is invalid for a {(hasVectors ? "record with vectors" : "record without vectors")}");

        var ids = new long[count];
        offset += CopyIn(bytes[offset..], ids);
        remaining -= (long)count * sizeof(long);

        float[]? vectors = null;
        if (hasVectors)
        {
            long floats = (long)count * dimension;
            if (floats * sizeof(float) > remaining)
                throw new LogRecordFormatException($"log record vectors ({count} x {dimension} floats) do not fit the {remaining} bytes left");
            vectors = new float[floats];
            offset += CopyIn(bytes[offset..], vectors);
            remaining -= floats * sizeof(float);
        }

        int[][]? labels = null;
        if (hasLabels)
        {
            if ((long)count * sizeof(int) > remaining)
                throw new LogRecordFormatException($"log record label counts ({count}) do not fit the {remaining} bytes left");
            var counts = bytes.Slice(offset, count * sizeof(int));
            offset += count * sizeof(int);
            remaining -= (long)count * sizeof(int);
            long total = 0;
            for (int i = 0; i < count; i++)
            {
                int n = BinaryPrimitives.ReadInt32LittleEndian(counts[(i * sizeof(int))..]);
                if (n < 0)
                    throw new LogRecordFormatException($"log record label count {n} of id #{i} is negative");
                total += n;
            }
            if (total * sizeof(int) > remaining)
                throw new LogRecordFormatException($"log record labels ({total} values) do not fit the {remaining} bytes left");
            labels = new int[count][];
            for (int i = 0; i < count; i++)
            {
                int n = BinaryPrimitives.ReadInt32LittleEndian(counts[(i * sizeof(int))..]);
                labels[i] = n == 0 ? [] : new int[n];
                offset += CopyIn(bytes[offset..], labels[i]);
            }
            remaining -= total * sizeof(int);
        }

        byte[]?[]? payloads = null;
        if (hasPayloads)
        {
            if ((long)count * sizeof(int) > remaining)
                throw new LogRecordFormatException($"log record payload lengths ({count}) do not fit the {remaining} bytes left");
            var lengths = bytes.Slice(offset, count * sizeof(int));
            offset += count * sizeof(int);
            remaining -= (long)count * sizeof(int);
            long total = 0;
            for (int i = 0; i < count; i++)
            {
                int n = BinaryPrimitives.ReadInt32LittleEndian(lengths[(i * sizeof(int))..]);
                if (n is < 0 or > LogRecord.MaxPayloadBytes)
                    throw new LogRecordFormatException($"log record payload length {n} of id #{i} is outside 0..{LogRecord.MaxPayloadBytes}");
                total += n;
            }
            if (total > remaining)
                throw new LogRecordFormatException($"log record payloads ({total} bytes) do not fit the {remaining} bytes left");
            payloads = new byte[]?[count];
            for (int i = 0; i < count; i++)
            {
                int n = BinaryPrimitives.ReadInt32LittleEndian(lengths[(i * sizeof(int))..]);
                if (n == 0) continue;
                payloads[i] = bytes.Slice(offset, n).ToArray();
                offset += n;
            }
            remaining -= total;
        }

        if (remaining != 0)
            throw new LogRecordFormatException($"log record has {remaining} unexplained bytes before its checksum");
        System.Diagnostics.Debug.Assert(offset == bodyLength);
        return LogRecord.FromDecoded(operation, collection, dimension, ids, vectors, labels, streamSequence, payloads,
            (LogPayloadMode)mode);
    }

    /// <summary>Bytes of a little-endian machine's array, copied as is (the format is little-endian).</summary>
    private static int CopyOut<T>(T[] values, Span<byte> destination) where T : unmanaged
    {
        var source = MemoryMarshal.AsBytes(values.AsSpan());
        source.CopyTo(destination);
        return source.Length;
    }

    private static int CopyIn<T>(ReadOnlySpan<byte> source, T[] values) where T : unmanaged
    {
        var destination = MemoryMarshal.AsBytes(values.AsSpan());
        source[..destination.Length].CopyTo(destination);
        return destination.Length;
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("the log format is little-endian and this codec copies arrays as is");
    }
}
