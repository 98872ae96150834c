using System.Diagnostics;
using AnnServer.Core.Snapshots;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

// Checkpoints: a snapshot covering log position P, then the log truncated before P.
//
// P is read from _appliedPosition before the snapshot starts: every record before P is fully applied. Writes go on
// while the snapshot is written, so the snapshot may also hold some records at or after P (those applied before its
// node table was frozen). After a restart those are replayed a second time, which is harmless: replaying a sequence
// of upserts and deletes decides each id by the last operation on it, and every id touched by a record after P is
// touched again by the replay, so "snapshot at freeze + replay from P" ends in the same state as "state at P +
// replay from P". (An upsert replaces the id's vector and labels; a delete of a deleted id does nothing.)
public sealed partial class Collection
{
    private static readonly TimeSpan AutomaticCheckpointBackoff = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _checkpointLock = new(1, 1);
    private long _snapshotLogPosition;
    private long _snapshotBytes;
    private DateTimeOffset _snapshotTime;
    private long _recordsAtSnapshot;
    private long _writesAtSnapshot;
    private int _automaticCheckpointRunning;
    private long _noAutomaticCheckpointBefore;

    /// <summary>Writes applied since the last snapshot; they are in the log, and replayed at the next start.</summary>
    public bool HasUnsavedWrites
    {
        get
        {
            lock (_appliedLock) return _appliedWrites > _writesAtSnapshot;
        }
    }

    /// <summary>
    /// Saves a snapshot of everything applied so far, atomically replacing the previous one, then truncates the log
    /// before the position it covers. Searches and writes go on meanwhile; one checkpoint runs at a time.
    /// </summary>
    public async ValueTask<(CollectionStatus Status, TimeSpan Duration)> CheckpointAsync(CancellationToken cancellationToken)
    {
        await _checkpointLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            long start = Stopwatch.GetTimestamp();
            long position, records, writes;
            lock (_appliedLock)
                (position, records, writes) = (_appliedPosition, _appliedRecords, _appliedWrites);

            // Relaxed mode applies writes before they are committed; a snapshot must never cover records the log
            // could lose, or the next start would find the snapshot ahead of the log.
            await _log.WaitUntilDurableAsync(position, cancellationToken).ConfigureAwait(false);
            string path = DataDirectory.SnapshotPath(Folder);
            await Task.Run(() => Snapshot.Save(_index, path, position), CancellationToken.None).ConfigureAwait(false);
            TimeSpan duration = Stopwatch.GetElapsedTime(start);
            long bytes = new FileInfo(path).Length;

            // Only now that the new snapshot is on disk may the records it covers leave the log.
            _log.TruncateUntil(position);
            lock (_appliedLock)
            {
                _snapshotLogPosition = position;
                _snapshotBytes = bytes;
                _snapshotTime = DateTimeOffset.UtcNow;
                _recordsAtSnapshot = records;
                _writesAtSnapshot = writes;
            }
            return (Status(), duration);
        }
        finally
        {
            _checkpointLock.Release();
        }
    }

    /// <summary>Starts a checkpoint in the background when the log beyond the snapshot has grown past
    /// <see cref="DurabilityOptions.CheckpointLogBytes"/> or <see cref="DurabilityOptions.CheckpointRecords"/>.</summary>
    private void CheckpointIfDue()
    {
        long records, bytes;
        lock (_appliedLock)
        {
            records = _appliedRecords - _recordsAtSnapshot;
            bytes = _appliedPosition - _snapshotLogPosition;
        }
        bool due = (_durability.CheckpointRecords > 0 && records >= _durability.CheckpointRecords)
                   || (_durability.CheckpointLogBytes > 0 && bytes >= _durability.CheckpointLogBytes);
        if (!due || _closed || Environment.TickCount64 < Volatile.Read(ref _noAutomaticCheckpointBefore))
            return;
        if (Interlocked.CompareExchange(ref _automaticCheckpointRunning, 1, 0) != 0)
            return;
        _ = Task.Run(() => CheckpointAutomaticallyAsync(records, bytes));
    }

    private async Task CheckpointAutomaticallyAsync(long records, long bytes)
    {
        try
        {
            var (status, duration) = await CheckpointAsync(CancellationToken.None).ConfigureAwait(false);
            _logger.LogInformation(
                "Checkpointed collection {Name} automatically ({Records} log records, {LogBytes} bytes of log beyond the last snapshot) " +
                "in {Ms:F0} ms: snapshot of {Count} points, {SnapshotBytes} bytes, covers log position {Position}",
                Name, records, bytes, duration.TotalMilliseconds, status.Count, status.SnapshotBytes, status.SnapshotLogPosition);
        }
        catch (CollectionNotFoundException)
        {
            // Dropped or shut down meanwhile.
        }
        catch (Exception e)
        {
            Volatile.Write(ref _noAutomaticCheckpointBefore, Environment.TickCount64 + (long)AutomaticCheckpointBackoff.TotalMilliseconds);
            _logger.LogError(e, "Collection {Name}: automatic checkpoint failed ({Message}); next attempt in {Minutes} min at the earliest. " +
                "Writes go on and stay durable in the log", Name, e.Message, AutomaticCheckpointBackoff.TotalMinutes);
        }
        finally
        {
            Volatile.Write(ref _automaticCheckpointRunning, 0);
        }
    }
}
