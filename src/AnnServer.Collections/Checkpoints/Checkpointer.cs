using System.Diagnostics;
using AnnServer.Core.Snapshots;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

// Checkpoints: a snapshot covering log position P, then the log truncated before P.
//
// P is read from the applied position before the snapshot starts: every record before P is fully applied. Writes go on
// while the snapshot is written (the core's writer copies each link list, and drops links to nodes allocated after it
// froze the node table), so the snapshot may also hold some records at or after P: those applied before the freeze.
// After a restart they are replayed a second time, which is harmless: a sequence of upserts and deletes decides each
// id by the last operation on it, and every id a record after P touches is touched again by the replay, so "snapshot
// at the freeze + replay from P" ends in the same state as "state at P + replay from P". (An upsert replaces the id's
// vector and labels; a delete of a deleted id does nothing.)

/// <summary>
/// A collection's checkpoints (the comment above), requested or automatic, and the snapshot they leave in place.
/// Lock: <see cref="_checkpointLock"/>, held for a whole checkpoint (compaction included), so that one runs at a time
/// and a close can wait for the one running. The snapshot in place (<see cref="SnapshotState"/>) is immutable and
/// replaced whole; the automatic checkpoint's flags are interlocked.
/// </summary>
internal sealed class Checkpointer
{
    private static readonly TimeSpan AutomaticCheckpointBackoff = TimeSpan.FromMinutes(1);

    private readonly string _name;
    private readonly string _folder;
    private readonly CollectionLog _log;
    private readonly DurabilityOptions _durability;
    private readonly IndexSlot _index;
    private readonly AppliedProgress _applied;
    private readonly WritePipeline _writes;
    private readonly Compactor _compactor;
    private readonly IStreamSequenceObserver? _streamSequences;
    private readonly Func<CollectionLease?> _tryLease;
    private readonly ILogger _logger;

    private readonly SemaphoreSlim _checkpointLock = new(1, 1);
    private SnapshotState _snapshot;
    private int _automaticCheckpointRunning;
    private long _noAutomaticCheckpointBefore;

    /// <param name="tryLease">a lease on the collection, or null once it is closed: an automatic checkpoint holds one.</param>
    public Checkpointer(string name, string folder, long snapshotLogPosition, CollectionLog log, DurabilityOptions durability,
        IndexSlot index, AppliedProgress applied, WritePipeline writes, Compactor compactor, IStreamSequenceObserver? streamSequences,
        Func<CollectionLease?> tryLease, ILogger logger)
    {
        _name = name;
        _folder = folder;
        _log = log;
        _durability = durability;
        _index = index;
        _applied = applied;
        _writes = writes;
        _compactor = compactor;
        _streamSequences = streamSequences;
        _tryLease = tryLease;
        _logger = logger;
        // An operator may have placed the snapshot as a link (the first checkpoint's rename replaces the link itself).
        FileInfo snapshot = LinkedFile.Resolve(DataDirectory.SnapshotPath(folder));
        _snapshot = new SnapshotState(snapshotLogPosition, snapshot.Exists ? snapshot.Length : 0,
            snapshot.Exists ? snapshot.LastWriteTimeUtc : DateTimeOffset.UtcNow, Records: 0, Writes: 0);
    }

    /// <summary>The snapshot in place. Read it before <see cref="AppliedProgress"/> when comparing the two: the applied
    /// counts only grow, and a checkpoint's counts were read from them before it published, so the applied counts read
    /// second are never behind the snapshot's.</summary>
    public SnapshotState SnapshotInPlace => Volatile.Read(ref _snapshot);

    /// <summary>Writes applied since the last snapshot; they are in the log, and replayed at the next start.</summary>
    public bool HasUnsavedWrites
    {
        get
        {
            SnapshotState snapshot = SnapshotInPlace;
            return _applied.Read().Writes > snapshot.Writes;
        }
    }

    /// <summary>Where a checkpoint writes its snapshot before verifying it and renaming it over snapshot.snap.</summary>
    internal static string PendingSnapshotPath(string folder) => DataDirectory.SnapshotPath(folder) + ".new";

    /// <summary>A checkpoint that a crash interrupted leaves its snapshot-to-be (and the writer's temporary file)
    /// beside snapshot.snap, which is still the previous, complete snapshot: they are garbage.</summary>
    public static void RemoveInterrupted(string folder, ILogger logger)
    {
        string pending = PendingSnapshotPath(folder);
        string temporaries = "." + Path.GetFileName(DataDirectory.SnapshotPath(folder)) + "*.tmp";
        foreach (string file in Directory.EnumerateFiles(folder, temporaries).Append(pending).Where(File.Exists).ToList())
        {
            File.Delete(file);
            logger.LogInformation("Removed {File}, left by a checkpoint that did not finish", file);
        }
    }

    /// <summary>Waits for the checkpoint in progress, if any, to finish (a close: the checkpoints after it see
    /// <see cref="WritePipeline.IsClosed"/> and stop).</summary>
    public async Task WaitForRunningAsync()
    {
        await _checkpointLock.WaitAsync().ConfigureAwait(false);
        _checkpointLock.Release();
    }

    /// <summary>
    /// Saves a snapshot of everything applied so far, atomically replacing the previous one, then truncates the log
    /// before the position it covers; returns how long it took. Searches and writes go on meanwhile; one checkpoint
    /// runs at a time.
    /// <para>
    /// The snapshot is written beside the old one (<c>snapshot.snap.new</c>), its checksums are verified, and only then
    /// is it renamed over <c>snapshot.snap</c>: a snapshot that cannot be read never replaces one that can. Should the
    /// check fail, the snapshot is written once more with the applier paused (writes are then still logged and
    /// committed, and acknowledged once it is done), and if that fails too the previous snapshot is kept.
    /// </para>
    /// </summary>
    public async ValueTask<TimeSpan> CheckpointAsync(CancellationToken cancellationToken)
    {
        await _checkpointLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _writes.ThrowIfClosed();
            long start = Stopwatch.GetTimestamp();
            await _compactor.CompactIfDueAsync().ConfigureAwait(false);
            // A drop cancels the compaction and waits for this lock: the snapshot would be deleted with the folder.
            _writes.ThrowIfClosed();
            string path = DataDirectory.SnapshotPath(_folder), pending = PendingSnapshotPath(_folder);
            AppliedState covered = _applied.Read();
            // Relaxed mode applies writes before they are committed; a snapshot must never cover records the log
            // could lose, or the next start would find the snapshot ahead of the log.
            await _log.WaitUntilDurableAsync(covered.Position, cancellationToken).ConfigureAwait(false);
            if (!await Task.Run(() => SaveAndVerify(pending, covered.Position), CancellationToken.None).ConfigureAwait(false))
            {
                _logger.LogWarning("Collection {Name}: the new snapshot failed its checksum check; writing it again with writes paused", _name);
                await _writes.PauseAppliesAsync().ConfigureAwait(false);
                try
                {
                    covered = _applied.Read();
                    await _log.WaitUntilDurableAsync(covered.Position, CancellationToken.None).ConfigureAwait(false);
                    if (!await Task.Run(() => SaveAndVerify(pending, covered.Position), CancellationToken.None).ConfigureAwait(false))
                        throw new IOException($"the new snapshot of collection '{_name}' fails its checksum check right after it was written, " +
                            "twice (is the disk damaging data?); the previous snapshot is kept");
                }
                finally
                {
                    _writes.ResumeApplies();
                }
            }
            // A replica keeps the stream sequence the snapshot covers beside it, in two steps around its rename, so that
            // whichever moment a crash hits, what it keeps matches the snapshot in place (IStreamSequenceObserver).
            _streamSequences?.SnapshotWriting(_folder, covered.Position, covered.StreamSequence);
            File.Move(pending, path, overwrite: true);
            _streamSequences?.SnapshotReplaced(_folder);
            DirectorySync.Flush(_folder);
            TimeSpan duration = Stopwatch.GetElapsedTime(start);
            long bytes = new FileInfo(path).Length; // no link: the rename put a file in the link's place, if there was one

            // Only now that the new snapshot is on disk may the records it covers leave the log.
            _log.TruncateUntil(covered.Position);
            Volatile.Write(ref _snapshot, new SnapshotState(covered.Position, bytes, DateTimeOffset.UtcNow, covered.Records, covered.Writes));
            _streamSequences?.Checkpointed(path, covered.Position, covered.StreamSequence);
            return duration;
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
        Snapshot.Save(_index.Index, path, position);
        if (Snapshot.ReadInfo(path).AllChecksumsValid)
            return true;
        File.Delete(path);
        return false;
    }

    /// <summary>Starts a checkpoint in the background when the log beyond the snapshot has grown past
    /// <see cref="DurabilityOptions.CheckpointLogBytes"/> or <see cref="DurabilityOptions.CheckpointRecords"/>.
    /// Called by the applier after each write.</summary>
    public void CheckpointIfDue()
    {
        SnapshotState snapshot = SnapshotInPlace;
        AppliedState applied = _applied.Read();
        long records = applied.Records - snapshot.Records;
        long bytes = applied.Position - snapshot.LogPosition;
        bool due = (_durability.CheckpointRecords > 0 && records >= _durability.CheckpointRecords)
                   || (_durability.CheckpointLogBytes > 0 && bytes >= _durability.CheckpointLogBytes);
        // While a checkpoint runs, the counts still refer to the previous snapshot: wait for it rather than start another.
        if (!due || _writes.IsClosed || _checkpointLock.CurrentCount == 0 || Environment.TickCount64 < Volatile.Read(ref _noAutomaticCheckpointBefore))
            return;
        if (Interlocked.CompareExchange(ref _automaticCheckpointRunning, 1, 0) != 0)
            return;
        _ = Task.Run(() => CheckpointAutomaticallyAsync(records, bytes));
    }

    private async Task CheckpointAutomaticallyAsync(long records, long bytes)
    {
        // A lease, as a request's checkpoint holds one: otherwise a drop meanwhile could dispose the index (when the last
        // search's lease is returned) while the snapshot or a compaction's copy still reads it.
        CollectionLease? lease = _tryLease();
        try
        {
            if (lease is null) return;
            TimeSpan duration = await CheckpointAsync(CancellationToken.None).ConfigureAwait(false);
            SnapshotState saved = SnapshotInPlace;
            _logger.LogInformation(
                "Checkpointed collection {Name} automatically ({Records} log records, {LogBytes} bytes of log beyond the last snapshot) " +
                "in {Ms:F0} ms: snapshot of {Count} points, {SnapshotBytes} bytes, covers log position {Position}",
                _name, records, bytes, duration.TotalMilliseconds, _index.Read(static index => index.Count), saved.Bytes, saved.LogPosition);
        }
        catch (CollectionNotFoundException)
        {
            // Dropped or shut down meanwhile.
        }
        catch (Exception e)
        {
            Volatile.Write(ref _noAutomaticCheckpointBefore, Environment.TickCount64 + (long)AutomaticCheckpointBackoff.TotalMilliseconds);
            _logger.LogError(e, "Collection {Name}: automatic checkpoint failed ({Message}); next attempt in {Minutes} min at the earliest. " +
                "Writes go on and stay durable in the log", _name, e.Message, AutomaticCheckpointBackoff.TotalMinutes);
        }
        finally
        {
            lease?.Dispose();
            Volatile.Write(ref _automaticCheckpointRunning, 0);
        }
    }
}
