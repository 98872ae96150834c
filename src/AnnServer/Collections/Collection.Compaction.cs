using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

// Compaction: the first step of a checkpoint once tombstones (deleted points, and the old nodes of replaced ones) are
// DurabilityOptions.CompactDeletedFraction of the nodes or more. They keep their memory and every search steps over
// them, and an index whose points are re-embedded once a day would double its nodes every day.
//
// The live points are copied into a new index while searches and writes go on against the old one. Then, with the
// applier paused (writes are still logged and committed, and wait for their acknowledgement), the records applied
// since the copy began are read back from the log and applied to the new index, which takes the old one's place; the
// checkpoint goes on to save it. A record whose effect the copy already saw does no harm when applied again, for the
// reason checkpoints give (Collection.Checkpoints.cs): the last operation on an id decides it. The old index is
// disposed once the last search still reading it has finished (IndexGeneration).
public sealed partial class Collection
{
    // Points copied per batch: the batch's vectors are the only copy held outside the two indexes.
    private const int CompactionBatch = 4096;

    private long _compactions;
    private long _compactionReappliedRecords;

    /// <summary>Compactions since the collection was loaded.</summary>
    public long Compactions => Interlocked.Read(ref _compactions);

    /// <summary>Log records that were applied while a compaction copied the index, and applied to the copy after it.</summary>
    public long CompactionReappliedRecords => Interlocked.Read(ref _compactionReappliedRecords);

    /// <summary>Runs between the copy and the pause (tests: writes made there must reach the new index).</summary>
    internal Func<Task>? AfterCompactionCopy { get; set; }

    /// <summary>Called by a checkpoint, under the checkpoint lock, before it reads the position it covers.</summary>
    private async Task CompactIfDueAsync()
    {
        HnswIndex old = Index;
        int nodes = old.NodeCount, live = old.Count;
        double fraction = _durability.CompactDeletedFraction;
        if (fraction <= 0 || nodes == 0 || nodes - live < fraction * nodes)
            return;

        long started = Stopwatch.GetTimestamp();
        long from = ReadAppliedState().Position;
        HnswIndex rebuilt = await Task.Run(() => CopyLivePoints(old)).ConfigureAwait(false);
        if (AfterCompactionCopy is { } afterCopy) await afterCopy().ConfigureAwait(false);
        long records = 0, pauseStarted;
        IndexGeneration previous;
        await PauseAppliesAsync().ConfigureAwait(false);
        try
        {
            pauseStarted = Stopwatch.GetTimestamp();
            long to = ReadAppliedState().Position;
            // Relaxed durability applies writes before their commit: only committed records can be read back.
            await _log.WaitUntilDurableAsync(to, CancellationToken.None).ConfigureAwait(false);
            records = ApplyLogRange(rebuilt, from, to);
            previous = Volatile.Read(ref _generation);
            Volatile.Write(ref _generation, new IndexGeneration(rebuilt));
        }
        catch
        {
            rebuilt.Dispose();
            throw;
        }
        finally
        {
            ResumeApplies();
        }
        previous.Retire();
        Interlocked.Increment(ref _compactions);
        Interlocked.Add(ref _compactionReappliedRecords, records);
        _logger.LogInformation(
            "Collection {Name}: compacted {Nodes} nodes to {Live} live points in {Seconds:F1} s; {Records} log records applied during the copy " +
            "were applied to the new index with writes paused for {PauseMs:F0} ms",
            Name, nodes, rebuilt.Count, Stopwatch.GetElapsedTime(started).TotalSeconds, records,
            Stopwatch.GetElapsedTime(pauseStarted).TotalMilliseconds);
    }

    /// <summary>A new index with the same parameters, holding the live points of <paramref name="old"/> (each as it is
    /// when copied), built on half the cores so that searches keep the rest.</summary>
    private static HnswIndex CopyLivePoints(HnswIndex old)
    {
        var rebuilt = new HnswIndex(new HnswOptions
        {
            Dimension = old.Dimension, Metric = old.Metric, M = old.M, EfConstruction = old.EfConstruction,
            Quantization = old.Quantization, RandomSeed = old.RandomSeed,
        });
        try
        {
            int dimension = old.Dimension, threads = Math.Max(1, Environment.ProcessorCount / 2);
            long[] ids = old.GetIds();
            var vectors = new float[CompactionBatch * dimension];
            var batchIds = new long[CompactionBatch];
            var labels = new int[]?[CompactionBatch];
            for (int start = 0; start < ids.Length; start += CompactionBatch)
            {
                int count = 0;
                bool anyLabels = false;
                for (int i = start; i < Math.Min(start + CompactionBatch, ids.Length); i++)
                {
                    // Deleted since GetIds: the log range applied afterwards deletes it anyway.
                    if (!old.TryGet(ids[i], vectors.AsSpan(count * dimension, dimension), out int[] pointLabels)) continue;
                    batchIds[count] = ids[i];
                    labels[count] = pointLabels.Length == 0 ? null : pointLabels;
                    anyLabels |= pointLabels.Length > 0;
                    count++;
                }
                rebuilt.UpsertMany(vectors.AsMemory(0, count * dimension), batchIds.AsMemory(0, count),
                    anyLabels ? (IReadOnlyList<int[]?>)new ArraySegment<int[]?>(labels, 0, count) : null, threads);
            }
            return rebuilt;
        }
        catch
        {
            rebuilt.Dispose();
            throw;
        }
    }

    /// <summary>Applies the log's records in [<paramref name="from"/>, <paramref name="to"/>) to <paramref name="index"/>;
    /// returns how many there were.</summary>
    private long ApplyLogRange(HnswIndex index, long from, long to)
    {
        var run = new UpsertRun();
        long records = 0;
        _log.ReadCommitted(from, to, (record, _) =>
        {
            records++;
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
        });
        ApplyRun(index, run);
        return records;
    }
}
