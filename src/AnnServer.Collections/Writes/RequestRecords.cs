using System.Text;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// Turns a write request into the log records that make it durable: one record per request, unless the request is
/// larger than one log record can be (<see cref="CollectionLog.MaxRecordBytes"/>, one FASTER page). Such a request is
/// cut into consecutive records of whole points, in request order, each as large as fits. While the server runs the
/// parts are applied together; after a crash before the request was acknowledged, a prefix of its records may be in
/// the log (each record is replayed whole or not at all). Upserts and deletes are idempotent, so the client's retry
/// of the unacknowledged request gives the same end state.
/// </summary>
public static class RequestRecords
{
    /// <param name="payloads">null, or one payload blob per point (<c>PayloadCodec</c>; null or empty: none).</param>
    public static LogRecord[] Upsert(string collection, UpsertBatch batch, int maxRecordBytes, byte[]?[]? payloads = null)
    {
        int dimension = batch.Dimension, count = batch.Count;
        bool anyLabels = false;
        foreach (int[]? labels in batch.Labels)
            if (labels is { Length: > 0 }) { anyLabels = true; break; }
        if (payloads is not null && payloads.Length != count)
            throw new ArgumentException($"payloads has {payloads.Length} entries for {count} points", nameof(payloads));
        // The same rule as the record's: a batch whose blobs are all empty is written without payloads.
        if (payloads is not null && !Array.Exists(payloads, p => p is { Length: > 0 }))
            payloads = null;

        long fixedBytes = FixedBytes(collection);
        long total = fixedBytes;
        for (int i = 0; i < count; i++)
            total += PointBytes(batch, i, anyLabels, payloads);
        if (total <= maxRecordBytes)
            return [LogRecord.Upsert(collection, dimension, batch.Ids, batch.Vectors, anyLabels ? LabelsOf(batch, 0, count) : null, payloads)];

        var records = new List<LogRecord>();
        int start = 0;
        long size = fixedBytes;
        for (int i = 0; i < count; i++)
        {
            long point = PointBytes(batch, i, anyLabels, payloads);
            if (fixedBytes + point > maxRecordBytes)
                throw new ArgumentException(
                    $"points[{i}] (id {batch.Ids[i]}, {batch.Labels[i]?.Length ?? 0} labels" +
                    (payloads is null ? "" : $", {payloads[i]?.Length ?? 0} payload bytes") + $") needs {fixedBytes + point} bytes in the " +
                    $"write-ahead log, more than one log record holds ({maxRecordBytes} bytes): give it fewer labels" +
                    (payloads is null ? "" : " or a smaller payload"), nameof(batch));
            if (size + point > maxRecordBytes)
            {
                records.Add(Part(collection, batch, start, i - start, anyLabels, payloads));
                start = i;
                size = fixedBytes;
            }
            size += point;
        }
        records.Add(Part(collection, batch, start, count - start, anyLabels, payloads));
        return [.. records];
    }

    /// <summary>A change of the payloads of <paramref name="ids"/> (one blob per id, as <paramref name="mode"/> says), cut
    /// by size like an upsert.</summary>
    public static LogRecord[] SetPayload(string collection, LogPayloadMode mode, long[] ids, byte[]?[] payloads, int maxRecordBytes)
    {
        if (payloads.Length != ids.Length)
            throw new ArgumentException($"payloads has {payloads.Length} entries for {ids.Length} ids", nameof(payloads));
        long fixedBytes = FixedBytes(collection);
        var records = new List<LogRecord>();
        int start = 0;
        long size = fixedBytes;
        for (int i = 0; i < ids.Length; i++)
        {
            long point = sizeof(long) + LogRecordCodec.PayloadBytes(payloads[i]);
            if (fixedBytes + point > maxRecordBytes)
                throw new ArgumentException(
                    $"the payload of id {ids[i]} ({payloads[i]!.Length} bytes) needs {fixedBytes + point} bytes in the write-ahead log, " +
                    $"more than one log record holds ({maxRecordBytes} bytes)", nameof(payloads));
            if (size + point > maxRecordBytes)
            {
                records.Add(LogRecord.SetPayload(collection, mode, ids[start..i], payloads[start..i]));
                start = i;
                size = fixedBytes;
            }
            size += point;
        }
        records.Add(LogRecord.SetPayload(collection, mode, ids[start..], payloads[start..]));
        return [.. records];
    }

    public static LogRecord[] Delete(string collection, long[] ids, int maxRecordBytes)
    {
        int perRecord = (int)((maxRecordBytes - FixedBytes(collection)) / sizeof(long));
        if (ids.Length <= perRecord)
            return [LogRecord.Delete(collection, ids)];
        var records = new LogRecord[(ids.Length + perRecord - 1) / perRecord];
        for (int r = 0; r < records.Length; r++)
        {
            int start = r * perRecord;
            records[r] = LogRecord.Delete(collection, ids[start..Math.Min(ids.Length, start + perRecord)]);
        }
        return records;
    }

    /// <summary>Header, name and checksum: the bytes of a record that do not depend on its points.</summary>
    private static long FixedBytes(string collection) =>
        LogRecordCodec.HeaderSize + Encoding.UTF8.GetByteCount(collection) + LogRecordCodec.ChecksumSize;

    /// <summary>Id, vector, (when the batch has labels) label count and values, and (when it has payloads) payload length
    /// and blob of point i, as the codec lays them out.</summary>
    private static long PointBytes(UpsertBatch batch, int i, bool anyLabels, byte[]?[]? payloads) =>
        sizeof(long) + (long)batch.Dimension * sizeof(float) + (anyLabels ? sizeof(int) * (1L + (batch.Labels[i]?.Length ?? 0)) : 0)
        + (payloads is null ? 0 : LogRecordCodec.PayloadBytes(payloads[i]));

    private static LogRecord Part(string collection, UpsertBatch batch, int start, int count, bool anyLabels, byte[]?[]? payloads)
    {
        int dimension = batch.Dimension;
        return LogRecord.Upsert(collection, dimension, batch.Ids[start..(start + count)],
            batch.Vectors[(start * dimension)..((start + count) * dimension)],
            anyLabels ? LabelsOf(batch, start, count) : null, payloads?[start..(start + count)]);
    }

    private static int[][] LabelsOf(UpsertBatch batch, int start, int count)
    {
        var labels = new int[count][];
        for (int i = 0; i < count; i++)
            labels[i] = batch.Labels[start + i] ?? [];
        return labels;
    }
}
