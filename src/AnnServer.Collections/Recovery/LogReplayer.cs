using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

/// <summary>
/// Recovery: the snapshot's index, brought up to date by replaying the log from the position the snapshot covers
/// (<see cref="Collection.Open"/> runs it once, before the collection is shared, so it needs no lock). A damaged log
/// tail is dropped and reported (see <see cref="CollectionLog.Replay"/>).
/// </summary>
internal static class LogReplayer
{
    /// <summary>Replays <paramref name="log"/> from <paramref name="from"/> onto <paramref name="index"/>; returns what the
    /// replay did and the stream sequence of the last record that carried one (0: none).</summary>
    /// <exception cref="InvalidOperationException">the log holds a record of another dimension.</exception>
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
            logger.LogWarning(
                "Collection {Name}: the log is damaged at position {Position}: {Reason}. Dropped {Bytes} bytes of log (positions {Position} to {End}); " +
                "the {Records} records before it were recovered. Writes acknowledged in Strict mode are never in a dropped tail unless " +
                "the disk itself damaged them. The range is recorded in the log folder, so later starts step over it",
                name, dropped.Position, dropped.Reason, dropped.Length, dropped.Position, dropped.EndPosition, result.RecordsApplied);
        return (result, lastSequence);
    }
}
