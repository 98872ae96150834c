using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

// Recovery: the snapshot's index, brought up to date by replaying the log from the position the snapshot covers.
public sealed partial class Collection
{
    /// <summary>
    /// Opens (or creates) the log in <paramref name="folder"/>, replays it onto <paramref name="index"/> from
    /// <paramref name="snapshotLogPosition"/> (0 = the log's begin) and returns the collection, ready for writes.
    /// A damaged log tail is dropped and reported (see <see cref="CollectionLog.Replay"/>). On failure the log is
    /// closed; the index is the caller's to dispose.
    /// </summary>
    /// <exception cref="CollectionLogCorruptException">the log cannot be recovered.</exception>
    /// <exception cref="InvalidOperationException">the log does not fit the snapshot (truncated past it, or behind it),
    /// or holds a record of another dimension.</exception>
    /// <param name="followsStream">a cluster replica's collection: it takes its writes from a stream, and its
    /// checkpoints keep the stream sequence they cover (<see cref="StreamSequenceFile"/>).</param>
    /// <exception cref="InvalidDataException">a replica's stream-sequence file is damaged or does not belong to the
    /// snapshot.</exception>
    /// <param name="compactionBudget">the memory budget a compaction reserves its new index in (Collection.Compaction.cs);
    /// null: none.</param>
    internal static Collection Open(string name, string folder, DataDirectory dataDirectory, HnswIndex index,
        long snapshotLogPosition, DurabilityOptions durability, ILogger logger, bool followsStream = false,
        MemoryBudget? compactionBudget = null)
    {
        RemoveInterruptedCheckpoint(folder, logger);
        ulong snapshotSequence = followsStream ? StreamSequenceFile.Resolve(folder, snapshotLogPosition) : 0;
        CollectionLog log = CollectionLog.Open(DataDirectory.LogFolder(folder), durability.LogOptions());
        try
        {
            var collection = new Collection(name, folder, dataDirectory, index, snapshotLogPosition, log, durability, logger,
                followsStream, snapshotSequence, compactionBudget);
            collection.ReplayLog(snapshotLogPosition);
            collection.StartDurableSequenceAt(collection.AppliedSequence);
            return collection;
        }
        catch
        {
            log.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>A checkpoint that a crash interrupted leaves its snapshot-to-be (and the writer's temporary file)
    /// beside snapshot.snap, which is still the previous, complete snapshot: they are garbage.</summary>
    private static void RemoveInterruptedCheckpoint(string folder, ILogger logger)
    {
        string pending = PendingSnapshotPath(folder);
        string temporaries = "." + Path.GetFileName(DataDirectory.SnapshotPath(folder)) + "*.tmp";
        foreach (string file in Directory.EnumerateFiles(folder, temporaries).Append(pending).Where(File.Exists).ToList())
        {
            File.Delete(file);
            logger.LogInformation("Removed {File}, left by a checkpoint that did not finish", file);
        }
    }

    private void ReplayLog(long from)
    {
        long started = Stopwatch.GetTimestamp();
        var run = new UpsertRun();
        bool warnedAboutName = false;
        long points = 0;
        ulong lastSequence = 0;
        ReplayResult result = _log.Replay(from, (record, next) =>
        {
            points += record.Count;
            if (record.StreamSequence != 0) lastSequence = record.StreamSequence;
            if (record.Collection != Name && !warnedAboutName)
            {
                // A renamed collection folder: the records still belong to this collection.
                _logger.LogWarning("Collection {Name}: its log records name collection '{Recorded}' (was the folder renamed?); applying them",
                    Name, record.Collection);
                warnedAboutName = true;
            }
            if (record.Operation == LogOperation.Upsert && record.Dimension != Dimension)
                throw new InvalidOperationException(
                    $"the log of collection '{Name}' holds an upsert of dimension {record.Dimension} (ending at position {next}), " +
                    $"but the collection has dimension {Dimension}: the log in {_log.Directory} does not belong to this snapshot");
            ApplyRecord(Index, run, record);
        });
        ApplyRun(Index, run);
        // The last run is applied after Replay returns: count it in the time (and so in the records per second).
        result = result with { Elapsed = Stopwatch.GetElapsedTime(started) };

        lock (_appliedLock)
        {
            _appliedPosition = result.EndPosition;
            _appliedRecords = result.RecordsApplied;
            _appliedWrites = result.RecordsApplied;
            AdvanceSequenceLocked(lastSequence);
        }
        Recovery = result;

        if (result.RecordsApplied > 0)
            _logger.LogInformation(
                "Collection {Name}: replayed {Records} log records ({Points} points, {Bytes} bytes) from position {From} to {End} in {Ms:F0} ms " +
                "({Rate:F0} records/s, {PointRate:F0} points/s)",
                Name, result.RecordsApplied, points, result.BytesRead, result.FromPosition, result.EndPosition, result.Elapsed.TotalMilliseconds,
                result.RecordsPerSecond, points / Math.Max(result.Elapsed.TotalSeconds, 1e-9));
        foreach (LogDamage skipped in result.SkippedRanges)
            _logger.LogInformation("Collection {Name}: stepped over log positions {Position} to {End}, dropped at an earlier start ({Reason})",
                Name, skipped.Position, skipped.EndPosition, skipped.Reason);
        if (result.DroppedTail is { } dropped)
            _logger.LogWarning(
                "Collection {Name}: the log is damaged at position {Position}: {Reason}. Dropped {Bytes} bytes of log (positions {Position} to {End}); " +
                "the {Records} records before it were recovered. Writes acknowledged in Strict mode are never in a dropped tail unless " +
                "the disk itself damaged them. The range is recorded in the log folder, so later starts step over it",
                Name, dropped.Position, dropped.Reason, dropped.Length, dropped.Position, dropped.EndPosition, result.RecordsApplied);
    }

    /// <summary>Applies one log record to <paramref name="index"/>: upserts gather in <paramref name="run"/> while their ids
    /// are distinct, and go in as one batch before anything else (finish with <see cref="ApplyRun"/>).</summary>
    private void ApplyRecord(HnswIndex index, UpsertRun run, LogRecord record)
    {
        if (record.Operation == LogOperation.Upsert)
        {
            if (!run.TryAdd(record))
            {
                ApplyRun(index, run);
                run.Add(record);
            }
        }
        else
        {
            ApplyRun(index, run);
            ApplyDelete(index, record.Ids);
        }
    }

    private void ApplyRun(HnswIndex index, UpsertRun run)
    {
        if (run.Count == 0) return;
        ApplyUpsert(index, run.Vectors, run.Ids, run.Labels);
        run.Clear();
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
        public long[] Ids => [.. _ids];
        public ReadOnlyMemory<float> Vectors => _vectors.ToArray();
        public IReadOnlyList<int[]?> Labels => _labels;

        /// <summary>Adds the record unless the run is full or already has one of its ids (the order would matter).</summary>
        public bool TryAdd(LogRecord record)
        {
            if (_ids.Count > 0 && _ids.Count + record.Count > MaxRunPoints) return false;
            foreach (long id in record.Ids)
                if (_seen.Contains(id)) return false;
            Add(record);
            return true;
        }

        /// <summary>Adds the record (the run must be empty or accept it). Duplicates inside one record are kept in
        /// order; ApplyUpsert then inserts one by one.</summary>
        public void Add(LogRecord record)
        {
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
            _ids.Clear();
            _vectors.Clear();
            _labels.Clear();
            _seen.Clear();
        }
    }
}
