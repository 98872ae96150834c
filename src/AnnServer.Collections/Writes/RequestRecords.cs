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
    public static LogRecord[] Upsert(string collection, UpsertBatch batch, int maxRecordBytes)
    {
        int dimension = batch.Dimension, count = batch.Count;
        bool anyLabels = false;
        foreach (int[]? labels in batch.Labels)
            if (labels is { Length: > 0 }) { anyLabels = true; break; }

        long fixedBytes = FixedBytes(collection);
        long total = fixedBytes;
        for (int i = 0; i < count; i++)
            total += PointBytes(batch, i, anyLabels);
        if (total <= maxRecordBytes)
            return [LogRecord.Upsert(collection, dimension, batch.Ids, batch.Vectors, anyLabels ? LabelsOf(batch, 0, count) : null)];

        var records = new List<LogRecord>();
        int start = 0;
        long size = fixedBytes;
        for (int i = 0; i < count; i++)
        {
            long point = PointBytes(batch, i, anyLabels);
            if (fixedBytes + point > maxRecordBytes)
                throw new ArgumentException(
                    $"points[{i}] (id {batch.Ids[i]}, {batch.Labels[i]?.Length ?? 0} labels) needs {fixedBytes + point} bytes in the " +
                    $"write-ahead log, more than one log record holds ({maxRecordBytes} bytes): give it fewer labels", nameof(batch));
            if (size + point > maxRecordBytes)
            {
                records.Add(Part(collection, batch, start, i - start, anyLabels));
                start = i;
                size = fixedBytes;
            }
            size += point;
        }
        records.Add(Part(collection, batch, start, count - start, anyLabels));
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

    /// <summary>Id, vector and (when the batch has labels) label count and values of point i, as the codec lays them out.</summary>
    private static long PointBytes(UpsertBatch batch, int i, bool anyLabels) =>
        sizeof(long) + (long)batch.Dimension * sizeof(float) + (anyLabels ? sizeof(int) * (1L + (batch.Labels[i]?.Length ?? 0)) : 0);

    private static LogRecord Part(string collection, UpsertBatch batch, int start, int count, bool anyLabels)
    {
        int dimension = batch.Dimension;
        return LogRecord.Upsert(collection, dimension, batch.Ids[start..(start + count)],
            batch.Vectors[(start * dimension)..((start + count) * dimension)],
            anyLabels ? LabelsOf(batch, start, count) : null);
    }

    private static int[][] LabelsOf(UpsertBatch batch, int start, int count)
    {
        var labels = new int[count][];
        for (int i = 0; i < count; i++)
            labels[i] = batch.Labels[start + i] ?? [];
        return labels;
    }
}
