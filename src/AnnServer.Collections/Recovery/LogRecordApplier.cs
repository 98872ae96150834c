using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Core.Payloads;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// Applies log records to an index in log order, as replay (<see cref="LogReplayer"/>) and a compaction's catch-up
/// (<see cref="Compactor"/>) read them: upsert records that follow each other and touch distinct ids gather in a run,
/// applied as one batch (in parallel) before anything else, which gives the same state as applying them one after the
/// other. Call <see cref="Flush"/> after the last record. Used by one thread at a time; no lock.
/// Payload blobs (of upserts and of SetPayload records) are decoded here, where they come back from the log, with the
/// engine's <see cref="PayloadCodec"/>; the log itself only carries them as bytes.
/// </summary>
internal sealed class LogRecordApplier(HnswIndex index)
{
    private readonly UpsertRun _run = new();

    /// <summary>Records handed to <see cref="Apply"/> whose effects are all in the index (the ones gathered in the run
    /// are not, until it is flushed).</summary>
    public int AppliedRecords { get; private set; }

    public void Apply(LogRecord record)
    {
        if (record.Operation == LogOperation.Upsert)
        {
            // Read back from the log: this is where these vectors enter, and their one check (CollectionVector).
            Debug.Assert(record.Dimension == index.Dimension, "the caller checks a log record's dimension against the collection's");
            CollectionVector.CheckFinite(record, "log record");
            if (!_run.TryAdd(record))
            {
                Flush();
                _run.Add(record);
            }
        }
        else if (record.Operation == LogOperation.SetPayload)
        {
            // After the run: the payload change must see the upserts logged before it.
            Flush();
            ApplyPayloadChange(record);
            AppliedRecords++;
        }
        else
        {
            Flush();
            IndexWrites.Delete(index, record.Ids);
            AppliedRecords++;
        }
    }

    /// <summary>Applies a SetPayload record id by id; ids not in the index are skipped, as a delete skips them. Each blob is
    /// decoded before the id is touched, so a damaged blob changes nothing of that id.</summary>
    private void ApplyPayloadChange(LogRecord record)
    {
        for (int i = 0; i < record.Count; i++)
        {
            long id = record.Ids[i];
            byte[]? blob = record.Payloads![i];
            switch (record.PayloadMode)
            {
                case LogPayloadMode.Set:
                    if (blob is not null) index.SetPayload(id, DecodePayload(record, i)!);
                    break;
                case LogPayloadMode.Replace:
                    Payload? replacement = blob is null ? null : DecodePayload(record, i);
                    index.ClearPayload(id);
                    if (replacement is not null) index.SetPayload(id, replacement);
                    break;
                case LogPayloadMode.DeleteFields:
                    if (blob is null) break;
                    string[] names;
                    try
                    {
                        names = PayloadCodec.DecodeFieldNames(blob);
                    }
                    catch (InvalidDataException e)
                    {
                        throw new InvalidDataException($"log record of collection '{record.Collection}': field names of id {id}: {e.Message}", e);
                    }
                    index.DeletePayloadFields(id, names);
                    break;
                default:
                    throw new InvalidDataException($"log record of collection '{record.Collection}' has payload mode {record.PayloadMode}");
            }
        }
    }

    /// <summary>The payload of point <paramref name="i"/> of <paramref name="record"/> (null when it has none). A blob the
    /// codec refuses passed the record's checksum, so a writer produced it: the error names the record and the id.</summary>
    private static Payload? DecodePayload(LogRecord record, int i)
    {
        if (record.Payloads?[i] is not { } blob) return null;
        try
        {
            return PayloadCodec.Decode(blob);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"log record of collection '{record.Collection}': payload of id {record.Ids[i]}: {e.Message}", e);
        }
    }

    /// <summary>Applies the run gathered so far.</summary>
    public void Flush()
    {
        if (_run.Count == 0) return;
        IndexWrites.Upsert(index, _run.Vectors, _run.Ids, _run.Labels, _run.Payloads);
        AppliedRecords += _run.Records;
        _run.Clear();
    }

    /// <summary>Upsert records that follow each other in the log and touch distinct ids: applying them as one batch
    /// (in parallel) gives the same state as applying them one after the other.</summary>
    private sealed class UpsertRun
    {
        private readonly List<long> _ids = [];
        private readonly List<float> _vectors = [];
        private readonly List<int[]?> _labels = [];
        private readonly List<Payload?> _payloads = [];
        private bool _anyPayload;
        private readonly HashSet<long> _seen = [];

        public int Count => _ids.Count;
        public int Records { get; private set; }
        public long[] Ids => [.. _ids];
        public ReadOnlyMemory<float> Vectors => _vectors.ToArray();
        public IReadOnlyList<int[]?> Labels => _labels;

        /// <summary>One entry per point, or null when no point of the run has a payload.</summary>
        public IReadOnlyList<Payload?>? Payloads => _anyPayload ? _payloads : null;

        /// <summary>Adds the record unless the run is full or already has one of its ids (the order would matter).</summary>
        public bool TryAdd(LogRecord record)
        {
            if (_ids.Count > 0 && _ids.Count + record.Count > IndexWrites.MaxRunPoints) return false;
            foreach (long id in record.Ids)
                if (_seen.Contains(id)) return false;
            Add(record);
            return true;
        }

        /// <summary>Adds the record (the run must be empty or accept it). Duplicates inside one record are kept in
        /// order; IndexWrites.Upsert then inserts one by one.</summary>
        public void Add(LogRecord record)
        {
            Records++;
            _ids.AddRange(record.Ids);
            _vectors.AddRange(record.Vectors!);
            for (int i = 0; i < record.Count; i++)
            {
                int[]? labels = record.Labels?[i];
                _labels.Add(labels is { Length: > 0 } ? labels : null);
                Payload? payload = DecodePayload(record, i);
                _payloads.Add(payload);
                _anyPayload |= payload is not null;
                _seen.Add(record.Ids[i]);
            }
        }

        public void Clear()
        {
            Records = 0;
            _ids.Clear();
            _vectors.Clear();
            _labels.Clear();
            _payloads.Clear();
            _anyPayload = false;
            _seen.Clear();
        }
    }
}
