using System.Diagnostics;
using System.Buffers;
using FASTER.core;

namespace AnnServer.Storage;

/// <summary>
/// The write-ahead log of one collection: a FASTER <see cref="FasterLog"/> in its own folder,
/// holding <see cref="LogRecord"/>s encoded by <see cref="LogRecordCodec"/>.
/// <para>
/// Writes: <see cref="AppendAsync"/> enqueues a record and, in <see cref="LogDurability.Strict"/>
/// mode, returns only once a commit covering it is on disk. Commits are grouped by a single
/// committer loop: a writer wakes the loop, the loop commits everything enqueued so far while
/// later writers queue up behind it, then commits again for them. No timer, no sleep; the more
/// concurrent writers, the more records each commit carries.
/// </para>
/// <para>
/// Reads: <see cref="Replay"/> hands committed records to a callback in log order and stops
/// cleanly before a damaged record. Positions are FASTER logical addresses: the first record is
/// at 64, and the position "just past" a record is where the next one starts (or the padding
/// before the next page). See docs/log-format.md.
/// </para>
/// Files in the folder: <c>log.0</c>, <c>log.1</c>, ... (FASTER segments), <c>log-commits/</c>
/// (FASTER commit metadata) and, only after damage was found, <c>damaged-ranges</c>.
/// </summary>
public sealed partial class CollectionLog : IAsyncDisposable
{
    private const string DeviceFileName = "log";
    private const string CommitFolderName = "log-commits";
    private const string DeletingSuffix = ".deleting";

    private readonly IDevice _device;
    private readonly FasterLog _log;
    private readonly DamagedRangeFile _damaged;
    private readonly int _pageSizeBits;

    // Committer loop state. _commitWanted is 1 from the first append after a commit started
    // until the loop picks the request up; only the 0 -> 1 transition releases the semaphore, so
    // a burst of writers costs one wake-up.
    private readonly SemaphoreSlim _wakeCommitter = new(0);
    private readonly CancellationTokenSource _stopCommitter = new();
    private readonly Task _committer;
    private int _commitWanted;

    // Appends in flight between the closing check and the end of their enqueue; disposal waits
    // for them so that its final commit covers every record that was accepted.
    private int _activeAppends;
    private int _closing;

    private long _appendCount;
    private long _commitCount;
    private long _commitTicks;

    private CollectionLog(string directory, CollectionLogOptions options, IDevice device, FasterLog log, DamagedRangeFile damaged)
    {
        Directory = directory;
        Options = options;
        _device = device;
        _log = log;
        _damaged = damaged;
        _pageSizeBits = options.PageSizeBits;
        _committer = options.Durability == LogDurability.Strict
            ? Task.Run(RunStrictCommitterAsync)
            : Task.Run(RunRelaxedCommitterAsync);
    }

    /// <summary>The folder holding this log's files.</summary>
    public string Directory { get; }

    public CollectionLogOptions Options { get; }

    /// <summary>Position of the first record still in the log (moves forward with <see cref="TruncateUntil"/>).</summary>
    public long BeginPosition => _log.BeginAddress;

    /// <summary>Everything before this position is durable and will be replayed after a crash.</summary>
    public long CommittedPosition => _log.CommittedUntilAddress;

    /// <summary>Position where the next record will go (records before it may not be committed yet).</summary>
    public long TailPosition => _log.TailAddress;

    /// <summary>Largest encoded record this log accepts; larger batches must be split by the caller.</summary>
    public int MaxRecordBytes => Options.MaxRecordBytes;

    /// <summary>Records appended since this instance was opened.</summary>
    public long AppendCount => Interlocked.Read(ref _appendCount);

    /// <summary>Commits issued by this instance; AppendCount / CommitCount is the mean group size.</summary>
    public long CommitCount => Interlocked.Read(ref _commitCount);

    /// <summary>Time spent in commits (the write and flush of the log to disk); divided by <see cref="CommitCount"/>,
    /// the mean commit latency that every strict write waits for.</summary>
    public TimeSpan CommitTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _commitTicks));

    /// <summary>Bytes of all files in the log folder (segments, commit metadata, damaged-range list).</summary>
    public long SizeOnDisk
    {
        get
        {
            long total = 0;
            var folder = new DirectoryInfo(Directory);
            if (!folder.Exists) return 0; // deleted with its collection while a reader still held it
            foreach (var file in folder.EnumerateFiles("*", SearchOption.AllDirectories))
            {
                try
                {
                    total += file.Length;
                }
                catch (FileNotFoundException)
                {
                    // A segment or an old commit file removed by FASTER while we were counting.
                }
            }
            return total;
        }
    }

    /// <summary>
    /// Opens the log in <paramref name="directory"/>, creating it if needed, and recovers to its
    /// last commit. Call <see cref="Replay"/> before the first append when the log may hold records.
    /// </summary>
    /// <exception cref="ArgumentException">Bad options (the message names the setting).</exception>
    /// <exception cref="CollectionLogCorruptException">The folder holds committed data that cannot be recovered.</exception>
    public static CollectionLog Open(string directory, CollectionLogOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        options ??= new CollectionLogOptions();
        options.Validate();
        directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(directory);

        var newestCommit = EnsureSomeCommitIsReadable(directory);
        if (newestCommit is { } committed && !options.AcceptLogLoss)
            EnsureSegmentsArePresent(directory, committed.Begin, committed.Until, options.SegmentSizeBits);
        IDevice device = Devices.CreateLogDevice(Path.Combine(directory, DeviceFileName), recoverDevice: true);
        if (options.WrapDevice is { } wrap) device = wrap(device);
        FasterLog? log = null;
        try
        {
            var settings = new FasterLogSettings
            {
                LogDevice = device,
                LogCommitDir = directory,
                PageSizeBits = options.PageSizeBits,
                MemorySizeBits = options.MemorySizeBits,
                SegmentSizeBits = options.SegmentSizeBits,
                LogChecksum = LogChecksumType.None,     // our records carry their own XxHash64
                AutoRefreshSafeTailAddress = false,     // we never read uncommitted records
                TryRecoverLatest = false,               // FASTER would swallow recovery errors; we recover below
                RemoveOutdatedCommits = true,
            };
            log = new FasterLog(settings);
            try
            {
                log.Recover();
            }
            catch (Exception e)
            {
                throw new CollectionLogCorruptException($"cannot recover the log in {directory}: {e.Message}", e);
            }
            var damaged = DamagedRangeFile.Load(directory);
            return new CollectionLog(directory, options, device, log, damaged);
        }
        catch
        {
            log?.Dispose();
            device.Dispose();
            throw;
        }
    }

    /// <summary>
    /// FASTER recovers to an empty log when no commit file can be read, silently. That is right
    /// after a crash during the very first commit (nothing was acknowledged yet), and wrong when
    /// later commits existed: their committed records would vanish, so we refuse to open.
    /// </summary>
    /// <returns>The committed range [begin, until) of the newest readable commit (the one FASTER
    /// recovers from); null when there is none (a new log, or a crash during its first commit).</returns>
    private static (long Begin, long Until)? EnsureSomeCommitIsReadable(string directory)
    {
        var commitFolder = Path.Combine(directory, CommitFolderName);
        if (!System.IO.Directory.Exists(commitFolder))
            return null;
        var unreadable = new List<(string Name, long Number)>();
        (long Begin, long Until, long Number)? newest = null;
        foreach (var file in System.IO.Directory.EnumerateFiles(commitFolder, "commit.*"))
        {
            // FASTER names commit files "commit.<number>.0", numbering commits from 1.
            var name = Path.GetFileName(file);
            long number = name.Split('.') is [_, var text, ..] && long.TryParse(text, out long n) ? n : 0;
            if (ReadCommit(file) is { } info)
            {
                if (newest is null || number > newest.Value.Number)
                    newest = (info.BeginAddress, info.UntilAddress, number);
                continue;
            }
            unreadable.Add((name, number));
        }
        if (newest is { } found)
            return (found.Begin, found.Until);
        if (unreadable.Exists(c => c.Number > 1))
            throw new CollectionLogCorruptException(
                $"the log in {directory} has commit metadata ({string.Join(", ", unreadable.Select(c => c.Name))}) but none of it can be read, " +
                "so its committed records cannot be located. Move the folder aside and restore the collection from its snapshot.");
        return null;
    }

    /// <summary>
    /// Every segment file holding part of the committed log [<paramref name="begin"/>, <paramref name="until"/>) must be
    /// there, and long enough. Checked before FASTER opens its device, which creates a missing segment file (empty) as
    /// soon as it opens the log: the folder is then no longer as the operator left it, and the replay would only see
    /// zeros. With <see cref="CollectionLogOptions.AcceptLogLoss"/> this check is skipped and the replay drops what is
    /// missing (<see cref="Replay"/> names the file).
    /// </summary>
    private static void EnsureSegmentsArePresent(string directory, long begin, long until, int segmentSizeBits)
    {
        if (until <= begin)
            return;
        for (long segment = begin >> segmentSizeBits; segment <= (until - 1) >> segmentSizeBits; segment++)
        {
            long segmentStart = segment << segmentSizeBits;
            long from = Math.Max(begin, segmentStart), to = Math.Min(until, (segment + 1) << segmentSizeBits);
            var file = new FileInfo(Path.Combine(directory, $"{DeviceFileName}.{segment}"));
            string? problem = !file.Exists ? "is missing"
                : file.Length < to - segmentStart ? $"is {file.Length} bytes, cut short of the {to - segmentStart} bytes committed in it"
                : null;
            if (problem is not null)
                throw new CollectionLogCorruptException(
                    $"the segment file {file.FullName} {problem}: the log is committed over positions [{begin}, {until}), and the records " +
                    $"in positions [{from}, {to}) ({to - from} bytes), with every record after them, cannot be replayed. Restore the file, " +
                    "or start with --accept-log-loss to drop them for good");
        }
    }

    /// <summary>
    /// A FASTER commit file is an int32 length and that many bytes of FasterLogRecoveryInfo;
    /// FASTER's own parser checks its version and checksum. Null when it cannot be read.
    /// </summary>
    private static FasterLogRecoveryInfo? ReadCommit(string file)
    {
        try
        {
            var bytes = File.ReadAllBytes(file);
            if (bytes.Length < sizeof(int))
                return null;
            int length = BitConverter.ToInt32(bytes, 0);
            if (length <= 0 || length > bytes.Length - sizeof(int))
                return null;
            var info = new FasterLogRecoveryInfo();
            info.Initialize(new BinaryReader(new MemoryStream(bytes, sizeof(int), length)));
            return info;
        }
        catch (Exception e) when (e is FasterException or IOException or EndOfStreamException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// Appends <paramref name="record"/>. In Strict mode returns once a commit covering it is on
    /// disk; in Relaxed mode once it is in the log's memory. Returns the position just past the
    /// record (what a snapshot that includes this record should store).
    /// Equivalent to <see cref="EnqueueAsync"/> followed, in Strict mode, by <see cref="WaitUntilDurableAsync"/>.
    /// </summary>
    /// <remarks>
    /// Cancelling <paramref name="ct"/> only stops the wait: a record that was enqueued may still
    /// become durable and will then be replayed.
    /// </remarks>
    /// <exception cref="ArgumentException">The encoded record is larger than <see cref="MaxRecordBytes"/>.</exception>
    /// <exception cref="ObjectDisposedException">The log is closing.</exception>
    public async ValueTask<long> AppendAsync(LogRecord record, CancellationToken ct = default)
    {
        long end = await EnqueueAsync(record, ct).ConfigureAwait(false);
        if (Options.Durability == LogDurability.Strict)
            await WaitUntilDurableAsync(end, ct).ConfigureAwait(false);
        return end;
    }

    /// <summary>
    /// Puts <paramref name="record"/> in the log's memory, after every record enqueued before it,
    /// and returns the position just past it; in Strict mode it also asks the committer for a
    /// commit. Nothing is durable yet: <see cref="WaitUntilDurableAsync"/> waits for that.
    /// <para>
    /// The two halves exist so that a caller can fix the order of its records under its own lock
    /// (enqueueing takes microseconds) and wait for the disk outside it: writers that wait
    /// together share one commit.
    /// </para>
    /// Normally completes synchronously; it waits only when the log's memory is full of pages
    /// that are still being written.
    /// </summary>
    /// <exception cref="ArgumentException">The encoded record is larger than <see cref="MaxRecordBytes"/>.</exception>
    /// <exception cref="ObjectDisposedException">The log is closing.</exception>
    public async ValueTask<long> EnqueueAsync(LogRecord record, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        int length = LogRecordCodec.GetEncodedLength(record);
        if (length > MaxRecordBytes)
            throw new ArgumentException(
                $"record of {record.Count} ids is {length} bytes, but a log page holds at most {MaxRecordBytes}; " +
                $"split the batch or raise {nameof(CollectionLogOptions.PageSizeBits)}", nameof(record));

        long address;
        Interlocked.Increment(ref _activeAppends);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _closing) != 0, this);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                LogRecordCodec.Encode(record, buffer);
                address = await _log.EnqueueAsync(buffer.AsMemory(0, length), ct).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _activeAppends);
        }

        Interlocked.Increment(ref _appendCount);
        if (Options.Durability == LogDurability.Strict)
            RequestCommit();
        return address + _log.HeaderSize + Align4(length);
    }

    /// <summary>
    /// Returns once everything before <paramref name="position"/> (a position returned by
    /// <see cref="EnqueueAsync"/>) is committed: at once if it already is (also after the log
    /// was disposed, whose final commit covers every enqueued record); otherwise after the
    /// commit the committer runs (Strict) or the next timer commit (Relaxed).
    /// </summary>
    /// <exception cref="Exception">The commit failed (FASTER's exception, e.g. an I/O error).</exception>
    public async ValueTask WaitUntilDurableAsync(long position, CancellationToken ct = default)
    {
        if (position <= _log.CommittedUntilAddress)
            return;
        if (Options.Durability == LogDurability.Strict)
            RequestCommit();
        try
        {
            // commitNum 0: wait for the address only, not for commits other writers issued later.
            await _log.WaitForCommitAsync(position, 0, ct).ConfigureAwait(false);
        }
        catch (ObjectDisposedException) when (position <= _log.CommittedUntilAddress)
        {
            // Disposed meanwhile: its final commit covered the position.
        }
    }

    /// <summary>Commits everything enqueued so far and returns when it is on disk (in either mode).</summary>
    public async ValueTask CommitAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closing) != 0, this);
        await CommitAndCountAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Drops the records before <paramref name="position"/> (a position returned by
    /// <see cref="AppendAsync"/> or passed to the replay callback, typically the one stored in a
    /// snapshot that is now safely on disk). The new begin is made durable by the next commit,
    /// which is requested now (Strict) or comes with the next tick (Relaxed); await
    /// <see cref="CommitAsync"/> to wait for it. Whole segment files below the new begin are
    /// deleted at that commit.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The position is beyond the committed log or not a record boundary.</exception>
    public void TruncateUntil(long position)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closing) != 0, this);
        EnsureRecordBoundary(position, nameof(position));
        long committed = CommittedPosition;
        if (position > committed)
            throw new ArgumentOutOfRangeException(nameof(position), position,
                $"cannot truncate to {position}: the log is committed only up to {committed}");
        if (position <= BeginPosition)
            return;
        _log.TruncateUntil(position);
        RequestCommit();
    }

    /// <summary>
    /// Deletes the log folder of a collection that is being dropped. The log must be disposed.
    /// The folder is first renamed to "&lt;folder&gt;.deleting" (atomic, flushed), then removed: a
    /// crash in between leaves a folder that <see cref="CompletePendingDeletes"/> removes, never a
    /// half-deleted log under the collection's name.
    /// </summary>
    public static void Delete(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        if (!System.IO.Directory.Exists(full))
            return;
        var doomed = full + DeletingSuffix;
        if (System.IO.Directory.Exists(doomed))
            System.IO.Directory.Delete(doomed, recursive: true);
        System.IO.Directory.Move(full, doomed);
        DirectorySync.Flush(Path.GetDirectoryName(full)!);
        System.IO.Directory.Delete(doomed, recursive: true);
    }

    /// <summary>Removes folders left by a <see cref="Delete"/> that a crash interrupted; returns how many.</summary>
    public static int CompletePendingDeletes(string parentDirectory)
    {
        if (!System.IO.Directory.Exists(parentDirectory))
            return 0;
        int removed = 0;
        foreach (var doomed in System.IO.Directory.EnumerateDirectories(parentDirectory, "*" + DeletingSuffix))
        {
            System.IO.Directory.Delete(doomed, recursive: true);
            removed++;
        }
        return removed;
    }

    /// <summary>
    /// Stops accepting appends, commits everything already enqueued (so every append that was
    /// accepted is durable, in either mode), and closes the files.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
            return;
        var spin = new SpinWait();
        while (Volatile.Read(ref _activeAppends) != 0)
            spin.SpinOnce();

        _stopCommitter.Cancel();
        await _committer.ConfigureAwait(false);
        try
        {
            // Only when there is something to commit: FASTER writes a new commit file on every commit, and a log that
            // was opened, replayed and closed (a collection refused for damage) must leave its folder as it was.
            if (_log.TailAddress > _log.CommittedUntilAddress || _log.BeginAddress > _log.CommittedBeginAddress)
                await CommitAndCountAsync(default).ConfigureAwait(false);
        }
        finally
        {
            _log.Dispose();
            _device.Dispose();
            _stopCommitter.Dispose();
            _wakeCommitter.Dispose();
        }
    }

    private void RequestCommit()
    {
        if (Interlocked.Exchange(ref _commitWanted, 1) != 0)
            return;
        try
        {
            _wakeCommitter.Release();
        }
        catch (ObjectDisposedException)
        {
            // The log was disposed; its final commit covered everything enqueued.
        }
    }

    private async Task RunStrictCommitterAsync()
    {
        var stop = _stopCommitter.Token;
        while (true)
        {
            try
            {
                await _wakeCommitter.WaitAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            // Clear the request before the commit reads the tail: an append that finds it set
            // (and so does not wake us) was enqueued before this point and is in this commit.
            Interlocked.Exchange(ref _commitWanted, 0);
            await CommitForCommitterAsync().ConfigureAwait(false);
        }
    }

    private async Task RunRelaxedCommitterAsync()
    {
        using var timer = new PeriodicTimer(Options.RelaxedCommitInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopCommitter.Token).ConfigureAwait(false))
            {
                if (_log.TailAddress > _log.CommittedUntilAddress || _log.BeginAddress > _log.CommittedBeginAddress)
                    await CommitForCommitterAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task CommitForCommitterAsync()
    {
        try
        {
            await CommitAndCountAsync(default).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // FASTER keeps the failure: the writers waiting for this commit get it from
            // WaitForCommitAsync, and later enqueues throw it. Nothing more to do here.
        }
    }

    private async ValueTask CommitAndCountAsync(CancellationToken ct)
    {
        long started = Stopwatch.GetTimestamp();
        await _log.CommitAsync(ct).ConfigureAwait(false);
        Interlocked.Add(ref _commitTicks, Stopwatch.GetTimestamp() - started);
        Interlocked.Increment(ref _commitCount);
    }

    private static int Align4(int length) => (length + 3) & ~3;

    /// <summary>
    /// Every FASTER entry starts on a multiple of 4, so any other value cannot have come from
    /// <see cref="AppendAsync"/> or <see cref="Replay"/>. Truncating or replaying from inside a
    /// record would make everything after it look damaged, hence the early, explicit refusal.
    /// </summary>
    private static void EnsureRecordBoundary(long position, string parameter)
    {
        if (position < 0 || (position & 3) != 0)
            throw new ArgumentOutOfRangeException(parameter, position,
                $"{position} is not a log position (positions are multiples of 4 returned by AppendAsync or Replay)");
    }
}
