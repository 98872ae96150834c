using System.Diagnostics;
using AnnServer.Core.Snapshots;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

// Checkpoints: a snapshot covering log position P, then the log truncated before P.
//
// The snapshot is taken with the applier paused: P is the position just past the last write applied, no write is
// half applied, and the index does not change while Snapshot.Save reads it. Pausing the applier does not stop
// writes: they are still enqueued and committed to the log meanwhile, and applied and acknowledged as soon as the
// snapshot is written; searches are not affected at all. (The core's snapshot writer cannot yet run beside writes: it
// hashes and writes each block of links in two reads of live memory, and writes links to nodes inserted after it froze
// the node table, which the loader rightly refuses. Once it can, only ReadAppliedState needs the pause.)
//
// Replaying a record the snapshot already holds would be harmless anyway: a sequence of upserts and deletes decides
// each id by the last operation on it, so applying a suffix of the log twice ends in the same state.
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
    /// before the position it covers. Searches go on meanwhile; writes are logged and committed meanwhile, and
    /// acknowledged once the snapshot is written. One checkpoint runs at a time.
    /// <para>
    /// The snapshot is written beside the old one (<c>snapshot.snap.new</c>), its checksums are verified, and only then
    /// is it renamed over <c>snapshot.snap</c>: a snapshot that cannot be read never replaces one that can.
    /// </para>
    /// </summary>
    public async ValueTask<(CollectionStatus Status, TimeSpan Duration)> CheckpointAsync(CancellationToken cancellationToken)
    {
        await _checkpointLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            long start = Stopwatch.GetTimestamp();
            string path = DataDirectory.SnapshotPath(Folder), pending = PendingSnapshotPath(Folder);
            AppliedState covered;
            await PauseAppliesAsync().ConfigureAwait(false);
            try
            {
                covered = ReadAppliedState();
                // Relaxed mode applies writes before they are committed; a snapshot must never cover records the log
                // could lose, or the next start would find the snapshot ahead of the log.
                await _log.WaitUntilDurableAsync(covered.Position, CancellationToken.None).ConfigureAwait(false);
                await Task.Run(() => Snapshot.Save(_index, pending, covered.Position), CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                ResumeApplies();
            }
            if (!Snapshot.ReadInfo(pending).AllChecksumsValid)
            {
                File.Delete(pending);
                throw new IOException($"the new snapshot of collection '{Name}' fails its checksum check right after it was written " +
                    "(is the disk damaging data?); the previous snapshot is kept");
            }
            File.Move(pending, path, overwrite: true);
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
            return (Status(), duration);
        }
        finally
        {
            _checkpointLock.Release();
        }
    }

    /// <summary>Where a checkpoint writes its snapshot before verifying it and renaming it over snapshot.snap.</summary>
    internal static string PendingSnapshotPath(string folder) => DataDirectory.SnapshotPath(folder) + ".new";

    private readonly record struct AppliedState(long Position, long Records, long Writes);

    private AppliedState ReadAppliedState()
    {
        lock (_appliedLock)
            return new AppliedState(_appliedPosition, _appliedRecords, _appliedWrites);
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
