using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

/// <summary>
/// Recovery: the snapshot's index, brought up to date by replaying the log from the position the snapshot covers
/// (<see cref="Collection.Open"/> runs it once, before the collection is shared, so it needs no lock). Damage below the
/// log's committed end refuses the collection (<see cref="CollectionLogCorruptException"/>, which quarantines it) unless
/// the loss is accepted (<see cref="DurabilityOptions.AcceptLogLoss"/>): then the damaged range is dropped for good and
/// the loss logged as an error (see <see cref="CollectionLog.Replay"/>).
/// </summary>
internal static class LogReplayer
{
    /// <summary>Replays <paramref name="log"/> from <paramref name="from"/> onto <paramref name="index"/>; returns what the
    /// replay did and the stream sequence of the last record that carried one (0: none).</summary>
    /// <exception cref="InvalidOperationException">the log holds a record of another dimension.</exception>
    /// <exception cref="CollectionLogCorruptException">the log is damaged below its committed end and the log was not
    /// opened with <see cref="CollectionLogOptions.AcceptLogLoss"/>.</exception>
    public static (ReplayResult Result, ulong LastStreamSequence) Replay(CollectionLog log, HnswIndex index, string name, long from, ILogger logger)
    {
        long started = Stopwatch.GetTimestamp();
        var applier = new LogRecordApplier(index);
        bool warnedAboutName = false;
        long points = 0;
        ulong lastSequence = 0;
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
            if (record.Operation == LogOperation.Upsert && record.Dimension != index.Dimension)
                throw new InvalidOperationException(
                    $"the log of collection '{name}' holds an upsert of dimension {record.Dimension} (ending at position {next}), " +
                    $"but the collection has dimension {index.Dimension}: the log in {log.Directory} does not belong to this snapshot");
            applier.Apply(record);
        });
        applier.Flush();
        // The last run is applied after Replay returns: count it in the time (and so in the records per second).
        result = result with { Elapsed = Stopwatch.GetElapsedTime(started) };

        if (result.RecordsApplied > 0)
            logger.LogInformation(
                "Collection {Name}: replayed {Records} log records ({Points} points, {Bytes} bytes) from position {From} to {End} in {Ms:F0} ms " +
                "({Rate:F0} records/s, {PointRate:F0} points/s)",
                name, result.RecordsApplied, points, result.BytesRead, result.FromPosition, result.EndPosition, result.Elapsed.TotalMilliseconds,
                result.RecordsPerSecond, points / Math.Max(result.Elapsed.TotalSeconds, 1e-9));
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
        return (result, lastSequence);
    }
}
