using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// Applies log records to an index in log order, as replay (<see cref="LogReplayer"/>) and a compaction's catch-up
/// (<see cref="Compactor"/>) read them: upsert records that follow each other and touch distinct ids gather in a run,
/// applied as one batch (in parallel) before anything else, which gives the same state as applying them one after the
/// other. Call <see cref="Flush"/> after the last record. Used by one thread at a time; no lock.
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
        else
        {
            Flush();
            IndexWrites.Delete(index, record.Ids);
            AppliedRecords++;
        }
    }

    /// <summary>Applies the run gathered so far.</summary>
    public void Flush()
    {
        if (_run.Count == 0) return;
        IndexWrites.Upsert(index, _run.Vectors, _run.Ids, _run.Labels);
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
        private readonly HashSet<long> _seen = [];

        public int Count => _ids.Count;
        public int Records { get; private set; }
        public long[] Ids => [.. _ids];
        public ReadOnlyMemory<float> Vectors => _vectors.ToArray();
        public IReadOnlyList<int[]?> Labels => _labels;

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
                _seen.Add(record.Ids[i]);
            }
        }

        public void Clear()
        {
            Records = 0;
            _ids.Clear();
            _vectors.Clear();
            _labels.Clear();
            _seen.Clear();
        }
    }
}
