using AnnServer.Core;
using AnnServer.Core.Payloads;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// The payloads of a shard stream's records as a cluster replica applies them (<see cref="WritePipeline.EnqueueStreamRecordAsync"/>,
/// docs/cluster.md, "Payloads"). The cluster's writer reserves every field's kind cluster-wide before it publishes, so
/// a conflicting value only reaches a stream from older data or a race; the replica cannot refuse the record (a client
/// has its acknowledgement), so it applies it without the values whose kind conflicts
/// (<see cref="PayloadFieldKinds.Conform"/>) and logs the record as it applied it: its own replay, and every other
/// replica of the shard, reach the same state.
/// </summary>
internal static class StreamRecordPayloads
{
    /// <summary>One payload per point of an upsert record (null: none), or null when the record carries none.</summary>
    /// <exception cref="ArgumentException">a blob does not decode (the record is skipped whole, as on every replica).</exception>
    public static Payload?[]? DecodeUpsert(LogRecord record, ulong sequence)
    {
        if (record.Payloads is not { } blobs) return null;
        var payloads = new Payload?[record.Count];
        bool any = false;
        for (int i = 0; i < blobs.Length; i++)
        {
            if (blobs[i] is not { Length: > 0 } blob) continue;
            payloads[i] = Decode(blob, record, sequence, i);
            any |= payloads[i]!.Count > 0;
        }
        return any ? payloads : null;
    }

    /// <summary>
    /// The change a SetPayload record makes. The cluster's writer gives every id of a record the same blob (one request
    /// sets one payload); a record whose blobs differ was not written by it and is refused.
    /// </summary>
    /// <param name="target">for a set or a replace with fields, the payload the change will apply: empty now, filled by
    /// <see cref="ConformChange"/> under the write lock.</param>
    /// <exception cref="ArgumentException">blobs that differ or do not decode.</exception>
    public static PayloadChange DecodeChange(LogRecord record, ulong sequence, out Payload? decoded, out Payload? target)
    {
        byte[]?[] blobs = record.Payloads ?? new byte[]?[record.Count];
        byte[]? first = blobs.Length > 0 ? blobs[0] : null;
        for (int i = 1; i < blobs.Length; i++)
            if (!(blobs[i] ?? []).AsSpan().SequenceEqual(first ?? []))
                throw new ArgumentException(
                    $"stream record {sequence} sets other payloads for ids {record.Ids[0]} and {record.Ids[i]}: a replica applies one payload per record");
        decoded = target = null;
        switch (record.PayloadMode)
        {
            case LogPayloadMode.DeleteFields:
                string[] names;
                try
                {
                    names = PayloadCodec.DecodeFieldNames(first ?? []);
                }
                catch (InvalidDataException e)
                {
                    throw new ArgumentException($"stream record {sequence}: field names: {e.Message}");
                }
                return new PayloadChange(LogPayloadMode.DeleteFields, record.Ids, null, names);
            case LogPayloadMode.Set or LogPayloadMode.Replace:
                decoded = first is { Length: > 0 } blob ? Decode(blob, record, sequence, 0) : null;
                if (decoded is { Count: 0 }) decoded = null;
                if (decoded is null && record.PayloadMode == LogPayloadMode.Set)
                    throw new ArgumentException($"stream record {sequence} sets no payload field");
                target = decoded is null ? null : new Payload();
                return new PayloadChange(record.PayloadMode, record.Ids, target, null);
            default:
                throw new ArgumentException($"stream record {sequence} has payload mode {record.PayloadMode}");
        }
    }

    /// <summary>Under the write lock: leaves out of <paramref name="payloads"/> (in place) the values whose kind
    /// conflicts; returns the record to log, re-encoded when something was left out.</summary>
    public static LogRecord ConformUpsert(LogRecord logged, Payload?[] payloads, PayloadFieldKinds kinds, HnswIndex index, List<string> dropped)
    {
        bool changed = false;
        for (int i = 0; i < payloads.Length; i++)
        {
            if (payloads[i] is not { } payload) continue;
            Payload kept = kinds.Conform(payload, index, dropped);
            if (ReferenceEquals(kept, payload)) continue;
            payloads[i] = kept;
            changed = true;
        }
        if (!changed) return logged;
        var blobs = new byte[]?[payloads.Length];
        for (int i = 0; i < payloads.Length; i++)
            if (payloads[i] is { Count: > 0 } payload) blobs[i] = PayloadCodec.Encode(payload);
        return LogRecord.Upsert(logged.Collection, logged.Dimension, logged.Ids, logged.Vectors!, logged.Labels, blobs)
            .WithStreamSequence(logged.StreamSequence);
    }

    /// <summary>
    /// Under the write lock: the change's payload without the values whose kind conflicts (<paramref name="dropped"/>
    /// says which), in <paramref name="target"/>; returns the record to log, re-encoded when something was left out. A
    /// merge that would give one of the record's points more than <see cref="PayloadLimits.MaxFieldsPerPoint"/> fields
    /// (<paramref name="tooManyFields"/>, asked only when the collection has that many) is applied to none of them: the
    /// record is logged without a payload, which sets nothing.
    /// </summary>
    public static async ValueTask<LogRecord> ConformChangeAsync(LogRecord logged, Payload decoded, Payload target, PayloadFieldKinds kinds,
        HnswIndex index, List<string> dropped, Func<Payload, ValueTask<string?>> tooManyFields)
    {
        Payload kept = kinds.Conform(decoded, index, dropped);
        if (logged.PayloadMode == LogPayloadMode.Set && kept.Count > 0 && kinds.CountWith(kept, index) > PayloadLimits.MaxFieldsPerPoint
            && await tooManyFields(kept).ConfigureAwait(false) is { } why)
        {
            dropped.Add($"the whole merge: {why}");
            kept = new Payload();
        }
        foreach (var (name, value) in kept) target.Add(name, value);
        if (ReferenceEquals(kept, decoded)) return logged;
        byte[]? blob = kept.Count == 0 ? null : PayloadCodec.Encode(kept);
        var blobs = new byte[]?[logged.Count];
        Array.Fill(blobs, blob);
        return LogRecord.SetPayload(logged.Collection, logged.PayloadMode, logged.Ids, blobs).WithStreamSequence(logged.StreamSequence);
    }

    /// <summary>The first of <paramref name="ids"/> that a merge of <paramref name="payload"/> would give more than
    /// <see cref="PayloadLimits.MaxFieldsPerPoint"/> fields, described; null when none.</summary>
    public static string? FirstOverFieldsPerPoint(long[] ids, Payload payload, HnswIndex index)
    {
        foreach (long id in ids)
        {
            if (!index.TryGetPayload(id, out Payload existing)) continue;
            int total = existing.Count;
            foreach (var (name, _) in payload)
                if (!existing.TryGetValue(name, out _)) total++;
            if (total > PayloadLimits.MaxFieldsPerPoint)
                return $"point {id} would have {total} payload fields after this merge, more than the limit of {PayloadLimits.MaxFieldsPerPoint} " +
                    "fields per point";
        }
        return null;
    }

    private static Payload Decode(byte[] blob, LogRecord record, ulong sequence, int i)
    {
        try
        {
            return PayloadCodec.Decode(blob);
        }
        catch (InvalidDataException e)
        {
            throw new ArgumentException($"stream record {sequence}: payload of id {record.Ids[i]}: {e.Message}");
        }
    }
}
