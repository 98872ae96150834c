using System.Diagnostics;
using AnnServer.Core.Snapshots;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

// Checkpoints: a snapshot covering log position P, then the log truncated before P.
//
// P is read from _appliedPosition before the snapshot starts: every record before P is fully applied. Writes go on
// while the snapshot is written (the core's writer copies each link list, and drops links to nodes allocated after it
// froze the node table), so the snapshot may also hold some records at or after P: those applied before the freeze.
// After a restart they are replayed a second time, which is harmless: a sequence of upserts and deletes decides each
// id by the last operation on it, and every id a record after P touches is touched again by the replay, so "snapshot
// at the freeze + replay from P" ends in the same state as "state at P + replay from P". (An upsert replaces the id's
// vector and labels; a delete of a deleted id does nothing.)
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
    /// <para>
    /// The snapshot is written beside the old one (<c>snapshot.snap.new</c>), its checksums are verified, and only then
    /// is it renamed over <c>snapshot.snap</c>: a snapshot that cannot be read never replaces one that can. Should the
    /// check fail, the snapshot is written once more with the applier paused (writes are then still logged and
    /// committed, and acknowledged once it is done), and if that fails too the previous snapshot is kept.
    /// </para>
    /// </summary>
    public async ValueTask<(CollectionStatus Status, TimeSpan Duration)> CheckpointAsync(CancellationToken cancellationToken)
    {
        await _checkpointLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            long start = Stopwatch.GetTimestamp();
            await CompactIfDueAsync().ConfigureAwait(false);
            // A drop cancels the compaction and waits for this lock: the snapshot would be deleted with the folder.
            ThrowIfClosed();
            string path = DataDirectory.SnapshotPath(Folder), pending = PendingSnapshotPath(Folder);
            AppliedState covered = ReadAppliedState();
            // Relaxed mode applies writes before they are committed; a snapshot must never cover records the log
            // could lose, or the next start would find the snapshot ahead of the log.
            await _log.WaitUntilDurableAsync(covered.Position, cancellationToken).ConfigureAwait(false);
            if (!await Task.Run(() => SaveAndVerify(pending, covered.Position), CancellationToken.None).ConfigureAwait(false))
            {
                _logger.LogWarning("Collection {Name}: the new snapshot failed its checksum check; writing it again with writes paused", Name);
                await PauseAppliesAsync().ConfigureAwait(false);
                try
                {
                    covered = ReadAppliedState();
                    await _log.WaitUntilDurableAsync(covered.Position, CancellationToken.None).ConfigureAwait(false);
                    if (!await Task.Run(() => SaveAndVerify(pending, covered.Position), CancellationToken.None).ConfigureAwait(false))
                        throw new IOException($"the new snapshot of collection '{Name}' fails its checksum check right after it was written, " +
                            "twice (is the disk damaging data?); the previous snapshot is kept");
                }
                finally
                {
                    ResumeApplies();
                }
            }
            // A replica's stream sequence file goes beside the snapshot in two steps around its rename, so that one of
            // its two names always matches the snapshot in place (StreamSequenceFile.Resolve).
            string sequencePath = StreamSequenceFile.PathIn(Folder), pendingSequence = StreamSequenceFile.PendingPathIn(Folder);
            if (_followsStream)
                StreamSequenceFile.Write(pendingSequence, covered.Position, covered.Sequence);
            File.Move(pending, path, overwrite: true);
            if (_followsStream)
                File.Move(pendingSequence, sequencePath, overwrite: true);
            DirectorySync.Flush(Folder);
            TimeSpan duration = Stopwatch.GetElapsedTime(start);
            long bytes = new FileInfo(path).Length;

            // Only now that the new snapshot is on disk may the records it covers leave the log.
            _log.TruncateUntil(covered.Position);
            lock (_appliedLock)
            {
                _snapshotLogPosition = covered.Position;
                _snapshotBytes = bytes;
                _snapshotTime = DateTimeOffset.UtcNow;
                _recordsAtSnapshot = covered.Records;
                _writesAtSnapshot = covered.Writes;
            }
            if (SnapshotSaved is { } saved)
                _ = saved(new SavedSnapshot(Name, path, covered.Position, covered.Sequence));
            return (Status(), duration);
        }
        finally
        {
            _checkpointLock.Release();
        }
    }

    /// <summary>Writes the snapshot to <paramref name="path"/> (atomically, flushed) and verifies every checksum;
    /// deletes it and returns false when one fails.</summary>
    private bool SaveAndVerify(string path, long position)
    {
        Snapshot.Save(Index, path, position);
        if (Snapshot.ReadInfo(path).AllChecksumsValid)
            return true;
        File.Delete(path);
        return false;
    }

    /// <summary>Where a checkpoint writes its snapshot before verifying it and renaming it over snapshot.snap.</summary>
    internal static string PendingSnapshotPath(string folder) => DataDirectory.SnapshotPath(folder) + ".new";

    private readonly record struct AppliedState(long Position, long Records, long Writes, ulong Sequence);

    private AppliedState ReadAppliedState()
    {
        lock (_appliedLock)
            return new AppliedState(_appliedPosition, _appliedRecords, _appliedWrites, _appliedSequence);
    }

    /// <summary>Takes the applier's place, so that no write is applied until <see cref="ResumeApplies"/>; writes go on
    /// being logged and committed, and wait for their acknowledgement.</summary>
    private async Task PauseAppliesAsync()
    {
        while (Interlocked.CompareExchange(ref _applying, 1, 0) != 0)
            await Task.Delay(1).ConfigureAwait(false);
    }

    /// <summary>Gives the applier's place back and applies what became durable meanwhile.</summary>
    private void ResumeApplies()
    {
        Interlocked.Exchange(ref _applying, 0);
        ApplyDurableWrites();
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
        // While a checkpoint runs, the counts still refer to the previous snapshot: wait for it rather than start another.
        if (!due || _closed || _checkpointLock.CurrentCount == 0 || Environment.TickCount64 < Volatile.Read(ref _noAutomaticCheckpointBefore))
            return;
        if (Interlocked.CompareExchange(ref _automaticCheckpointRunning, 1, 0) != 0)
            return;
        _ = Task.Run(() => CheckpointAutomaticallyAsync(records, bytes));
    }

    private async Task CheckpointAutomaticallyAsync(long records, long bytes)
    {
        // A lease, as a request's checkpoint holds one: otherwise a drop meanwhile could dispose the index (when the last
        // search's lease is returned) while the snapshot or a compaction's copy still reads it.
        bool leased = TryEnter();
        try
        {
            if (!leased) return;
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
            if (leased) Exit();
            Volatile.Write(ref _automaticCheckpointRunning, 0);
        }
    }
}
