using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

/// <summary>
/// Recovery: the snapshot's index, brought up to date by replaying the log from the position the snapshot covers.
/// In two steps: <see cref="ReadTail"/> reads and checks every record of the tail into memory (at disk speed), then
/// <see cref="Apply"/> inserts them into the graph in log order (at graph-insert speed, over all cores), either before
/// the collection serves or while it serves (<see cref="BackgroundReplay"/>). Damage below the log's committed end
/// refuses the collection (<see cref="CollectionLogCorruptException"/>, which quarantines it) unless the loss is
/// accepted (<see cref="DurabilityOptions.AcceptLogLoss"/>): then the damaged range is dropped for good and the loss
/// logged as an error (see <see cref="CollectionLog.Replay"/>).
/// </summary>
internal static class LogReplayer
{
    /// <summary>Reads the log of <paramref name="name"/> from <paramref name="from"/> to its committed end.</summary>
    /// <exception cref="InvalidOperationException">the log holds a record of another dimension.</exception>
    /// <exception cref="CollectionLogCorruptException">the log is damaged below its committed end and the log was not
    /// opened with <see cref="CollectionLogOptions.AcceptLogLoss"/>.</exception>
    public static LogTail ReadTail(CollectionLog log, int dimension, string name, long from, ILogger logger)
    {
        bool warnedAboutName = false;
        long points = 0;
        ulong lastSequence = 0;
        var records = new List<LogRecord>();
        ReplayResult result = log.Replay(from, (record, next) =>
        {
            points += record.Count;
            if (record.StreamSequence != 0) lastSequence = record.StreamSequence;
            if (record.Collection != name && !warnedAboutName)
            {
                // A renamed collection folder: the records still belong to this collection.
                logger.LogWarning("Collection {Name}: its log records name collection '{Recorded}' (was the folder renamed?); applying them",
                    name, record.Collection);
                warnedAboutName = true;
            }
            if (record.Operation == LogOperation.Upsert && record.Dimension != dimension)
                throw new InvalidOperationException(
                    $"the log of collection '{name}' holds an upsert of dimension {record.Dimension} (ending at position {next}), " +
                    $"but the collection has dimension {dimension}: the log in {log.Directory} does not belong to this snapshot");
            records.Add(record);
        });

        foreach (LogDamage skipped in result.SkippedRanges)
            logger.LogInformation("Collection {Name}: stepped over log positions {Position} to {End}, dropped at an earlier start ({Reason})",
                name, skipped.Position, skipped.EndPosition, skipped.Reason);
        if (result.DroppedTail is { } dropped)
        {
            if (!log.Options.AcceptLogLoss)
                throw new CollectionLogCorruptException(
                    $"its write-ahead log in {log.Directory} is damaged below its committed end, at position {dropped.Position}: {dropped.Reason}. " +
                    $"The log is committed up to {dropped.EndPosition}, so {dropped.Length} bytes from {dropped.Position} on, at least " +
                    $"{result.DroppedRecords} record(s) of acknowledged writes, cannot be replayed ({result.RecordsApplied} record(s) before " +
                    "them could). Restore the files, or start with --accept-log-loss to drop those records for good");
            logger.LogError(
                "Collection {Name}: LOG LOSS ACCEPTED (--accept-log-loss): the log is damaged at position {Position}: {Reason}. Dropped {Bytes} bytes " +
                "of committed log (positions {Position} to {End}), at least {Dropped} record(s) of acknowledged writes; the {Records} records " +
                "before it were recovered. The range is recorded in the log folder, so later starts step over it",
                name, dropped.Position, dropped.Reason, dropped.Length, dropped.Position, dropped.EndPosition, result.DroppedRecords,
                result.RecordsApplied);
        }
        return new LogTail(records, points, result, lastSequence);
    }

    /// <summary>
    /// Applies the tail's records to <paramref name="index"/> in log order, reporting to <paramref name="progress"/> (null:
    /// none) after each record how many are in the index; returns the time it took. Stops between records when
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public static TimeSpan Apply(LogTail tail, HnswIndex index, string name, ILogger logger, ReplayingTail? progress = null,
        Action<int>? beforeRecord = null, CancellationToken cancellationToken = default)
    {
        long started = Stopwatch.GetTimestamp();
        var applier = new LogRecordApplier(index);
        for (int r = 0; r < tail.Records.Count; r++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            beforeRecord?.Invoke(r);
            applier.Apply(tail.Records[r]);
            progress?.MarkApplied(applier.AppliedRecords);
        }
        applier.Flush();
        progress?.MarkApplied(applier.AppliedRecords);
        TimeSpan elapsed = Stopwatch.GetElapsedTime(started);

        if (tail.Records.Count > 0)
        {
            ReplayResult read = tail.Read;
            logger.LogInformation(
                "Collection {Name}: replayed {Records} log records ({Points} points, {Bytes} bytes) from position {From} to {End}: read in " +
                "{ReadMs:F0} ms, inserted in {Ms:F0} ms ({PointRate:F0} points/s)",
                name, read.RecordsApplied, tail.Points, read.BytesRead, read.FromPosition, read.EndPosition, read.Elapsed.TotalMilliseconds,
                elapsed.TotalMilliseconds, tail.Points / Math.Max(elapsed.TotalSeconds, 1e-9));
        }
        return elapsed;
    }
}

/// <summary>A log tail read into memory: its records in log order, how many points they carry, what the read found
/// (positions, damage), and the stream sequence of the last record that carried one (0: none).</summary>
internal sealed record LogTail(IReadOnlyList<LogRecord> Records, long Points, ReplayResult Read, ulong LastStreamSequence);
