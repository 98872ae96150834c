using System.Collections.Concurrent;

namespace AnnServer.Storage.Tests;

public class CollectionLogTests
{
    private const int Dimension = 16;

    [Fact]
    public async Task SixteenConcurrentWritersReplayExactlyOnceInPositionOrder()
    {
        using var folder = new TempFolder();
        var acknowledged = new ConcurrentDictionary<long, long>(); // id -> position returned
        await using (var log = CollectionLog.Open(folder.Path))
        {
            await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
            {
                for (int k = 0; k < 100; k++)
                {
                    long id = w * 1000 + k;
                    acknowledged[id] = await log.AppendAsync(Records.Upsert(id, 1, Dimension));
                }
            })));
        }

        await using var reopened = CollectionLog.Open(folder.Path);
        var replayed = ReplayAll(reopened);

        Assert.Equal(1600, replayed.Count);
        Assert.Equal(acknowledged.Keys.Order(), replayed.Select(r => r.Record.Ids[0]).Order());
        Assert.All(replayed, r => Assert.Equal(acknowledged[r.Record.Ids[0]], r.Next));
        Assert.True(replayed.Zip(replayed.Skip(1)).All(p => p.First.Next < p.Second.Next), "positions must increase");
        Assert.All(replayed, r => Records.AssertVectorsAreDeterministic(r.Record));
    }

    [Fact]
    public async Task ACommittedRangeOfALogInUseCanBeReadWhileAppendsGoOn()
    {
        using var folder = new TempFolder();
        await using var log = CollectionLog.Open(folder.Path);
        var positions = new List<long> { log.TailPosition };
        for (long id = 0; id < 10; id++) positions.Add(await log.AppendAsync(Records.Upsert(id, 1, Dimension)));

        var read = new List<(long Id, long Next)>();
        Task appending = Task.Run(async () =>
        {
            for (long id = 10; id < 50; id++) await log.AppendAsync(Records.Upsert(id, 1, Dimension));
        });
        log.ReadCommitted(positions[3], positions[8], (record, next) => read.Add((record.Ids[0], next)));
        await appending;

        Assert.Equal([3L, 4, 5, 6, 7], read.Select(r => r.Id));
        Assert.Equal(positions[4..9], read.Select(r => r.Next));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.ReadCommitted(positions[0], log.CommittedPosition + 4, (_, _) => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => log.ReadCommitted(positions[5], positions[2], (_, _) => { }));
    }

    [Fact]
    public async Task ConcurrentWritersShareCommits()
    {
        using var folder = new TempFolder();
        await using var log = CollectionLog.Open(folder.Path);

        await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (int k = 0; k < 50; k++)
                await log.AppendAsync(Records.Upsert(w * 1000 + k, 1, Dimension));
        })));

        Assert.Equal(800, log.AppendCount);
        Assert.True(log.CommitCount * 2 <= log.AppendCount,
            $"{log.CommitCount} commits for {log.AppendCount} appends: concurrent appends should share commits");
    }

    [Fact]
    public async Task StrictAppendReturnsOnlyOnceItsRecordIsCommitted()
    {
        using var folder = new TempFolder();
        await using var log = CollectionLog.Open(folder.Path);
        for (int i = 0; i < 20; i++)
        {
            long position = await log.AppendAsync(Records.Upsert(i, 1, Dimension));
            Assert.True(log.CommittedPosition >= position, $"committed {log.CommittedPosition} < returned {position}");
        }
    }

    [Fact]
    public async Task ReplayFromAPositionStartsAfterTheRecordsBeforeIt()
    {
        using var folder = new TempFolder();
        var positions = await AppendSequentially(folder.Path, 10);

        await using var log = CollectionLog.Open(folder.Path);
        var replayed = ReplayAll(log, positions[4]);

        Assert.Equal([5L, 6, 7, 8, 9], replayed.Select(r => r.Record.Ids[0]));
    }

    [Fact]
    public async Task RecordsCrossingPageBoundariesReplayWithoutFalseGaps()
    {
        using var folder = new TempFolder();
        var options = new CollectionLogOptions { PageSizeBits = 12, MemorySizeBits = 14, SegmentSizeBits = 16 };
        var random = new Random(3);
        int written = 0;
        await using (var log = CollectionLog.Open(folder.Path, options))
        {
            for (int i = 0; i < 300; i++, written++)
                await log.AppendAsync(Records.Upsert(i * 10, random.Next(1, 7), Dimension, labels: true));
        }

        await using var reopened = CollectionLog.Open(folder.Path, options);
        var result = reopened.Replay(0, (_, _) => { });

        Assert.Null(result.DroppedTail);
        Assert.Equal(written, result.RecordsApplied);
        Assert.Equal(result.CommittedPosition, result.EndPosition);
    }

    [Fact]
    public async Task TruncateThenReplayFromTheTruncationPoint()
    {
        using var folder = new TempFolder();
        List<long> positions;
        await using (var log = CollectionLog.Open(folder.Path))
        {
            positions = [];
            for (int i = 0; i < 20; i++)
                positions.Add(await log.AppendAsync(Records.Upsert(i, 1, Dimension)));
            log.TruncateUntil(positions[9]);
            await log.CommitAsync();
            Assert.Equal(positions[9], log.BeginPosition);
        }

        await using var reopened = CollectionLog.Open(folder.Path);
        Assert.Equal(positions[9], reopened.BeginPosition);
        Assert.Equal(Enumerable.Range(10, 10).Select(i => (long)i), ReplayAll(reopened, positions[9]).Select(r => r.Record.Ids[0]));
        Assert.Equal(Enumerable.Range(10, 10).Select(i => (long)i), ReplayAll(reopened, 0).Select(r => r.Record.Ids[0]));
        var e = Assert.Throws<InvalidOperationException>(() => reopened.Replay(positions[3], (_, _) => { }));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public async Task TruncationDeletesSegmentFilesBelowTheNewBegin()
    {
        using var folder = new TempFolder();
        var options = new CollectionLogOptions { PageSizeBits = 12, MemorySizeBits = 14, SegmentSizeBits = 14 };
        await using var log = CollectionLog.Open(folder.Path, options);
        var positions = new List<long>();
        for (int i = 0; i < 120; i++)
            positions.Add(await log.AppendAsync(Records.Upsert(i, 1, 128)));
        Assert.True(File.Exists(folder.Sub("log.0")));
        long sizeBefore = log.SizeOnDisk;

        log.TruncateUntil(positions[^2]);
        await log.CommitAsync();

        Assert.True(await Eventually(() => !File.Exists(folder.Sub("log.0"))), "segment log.0 should be deleted");
        Assert.True(log.SizeOnDisk < sizeBefore);
    }

    [Fact]
    public async Task TruncatingBeyondTheCommittedLogIsRefused()
    {
        using var folder = new TempFolder();
        await using var log = CollectionLog.Open(folder.Path);
        long position = await log.AppendAsync(Records.Upsert(1, 1, Dimension));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => log.TruncateUntil(position + 1000));
        Assert.Contains("committed only up to", e.Message);
    }

    [Fact]
    public async Task PositionsInsideARecordAreRefused()
    {
        using var folder = new TempFolder();
        await using var log = CollectionLog.Open(folder.Path);
        long position = await log.AppendAsync(Records.Upsert(1, 1, Dimension));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => log.TruncateUntil(position - 2));
        Assert.Contains("not a log position", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => log.Replay(position - 2, (_, _) => { }));
    }

    [Fact]
    public async Task CorruptedLastBytesOfTheLogFileAreDroppedAndReported()
    {
        using var folder = new TempFolder();
        var positions = await AppendSequentially(folder.Path, 10);
        long lastStart = positions[8], end = positions[9];
        OverwriteLog(folder.Path, end - 6, [0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02]);

        await using var log = CollectionLog.Open(folder.Path);
        var replayed = new List<long>();
        var result = log.Replay(0, (record, _) => replayed.Add(record.Ids[0]));

        Assert.Equal(Enumerable.Range(0, 9).Select(i => (long)i), replayed);
        Assert.NotNull(result.DroppedTail);
        Assert.Equal(lastStart, result.DroppedTail!.Position);
        Assert.Equal(end, result.DroppedTail.EndPosition);
        Assert.Contains("checksum mismatch", result.DroppedTail.Reason);
        Assert.Equal(lastStart, result.EndPosition);
    }

    [Fact]
    public async Task TornLastRecordIsDroppedAndEverythingBeforeItKept()
    {
        using var folder = new TempFolder();
        var positions = await AppendSequentially(folder.Path, 10);
        long lastStart = positions[8], end = positions[9];
        long middle = (lastStart + end) / 2;
        OverwriteLog(folder.Path, middle, new byte[end - middle]); // second half never reached the disk

        await using var log = CollectionLog.Open(folder.Path);
        var result = log.Replay(0, (_, _) => { });

        Assert.Equal(9, result.RecordsApplied);
        Assert.Equal(lastStart, result.DroppedTail!.Position);
    }

    [Fact]
    public async Task ZeroedRecordHeaderInTheMiddleIsNotSilentlySkipped()
    {
        using var folder = new TempFolder();
        var positions = await AppendSequentially(folder.Path, 10);
        OverwriteLog(folder.Path, positions[4], new byte[4]); // FASTER's length field of record #5

        await using var log = CollectionLog.Open(folder.Path);
        var result = log.Replay(0, (_, _) => { });

        Assert.Equal(5, result.RecordsApplied);
        Assert.Equal(positions[4], result.DroppedTail!.Position);
        Assert.Equal(positions[9], result.DroppedTail.EndPosition);
    }

    [Fact]
    public async Task RecordsAppendedAfterADroppedTailSurviveLaterReplays()
    {
        using var folder = new TempFolder();
        var positions = await AppendSequentially(folder.Path, 10);
        OverwriteLog(folder.Path, positions[9] - 3, [1, 2, 3]);
        await using (var log = CollectionLog.Open(folder.Path, new CollectionLogOptions { AcceptLogLoss = true }))
        {
            Assert.NotNull(log.Replay(0, (_, _) => { }).DroppedTail);
            for (int i = 100; i < 105; i++)
                await log.AppendAsync(Records.Upsert(i, 1, Dimension));
        }

        await using var reopened = CollectionLog.Open(folder.Path);
        var ids = new List<long>();
        var result = reopened.Replay(0, (record, _) => ids.Add(record.Ids[0]));

        Assert.Equal(Enumerable.Range(0, 9).Select(i => (long)i).Concat([100L, 101, 102, 103, 104]), ids);
        Assert.Null(result.DroppedTail);
        var skipped = Assert.Single(result.SkippedRanges);
        Assert.Equal(positions[8], skipped.Position);
        Assert.Equal(positions[9], skipped.EndPosition);
    }

    [Fact]
    public async Task ReplayThatFindsDamageChangesNoFileUnlessTheLossIsAccepted()
    {
        using var folder = new TempFolder();
        var positions = await AppendSequentially(folder.Path, 10);
        OverwriteLog(folder.Path, positions[4] + 20, [0xFF]); // a byte inside record #6, below the committed end
        var before = await SettledFolderBytes(folder.Path);

        await using (var log = CollectionLog.Open(folder.Path))
        {
            var result = log.Replay(0, (_, _) => { });
            Assert.Equal(5, result.RecordsApplied);
            Assert.Equal(positions[4], result.DroppedTail!.Position);
            Assert.Equal(5, result.DroppedRecords); // the damaged record and the 4 intact ones behind it
        }
        Assert.Equal(before, FolderBytes(folder.Path));

        await using (var log = CollectionLog.Open(folder.Path))
            Assert.Equal(positions[4], log.Replay(0, (_, _) => { }).DroppedTail!.Position); // found again: nothing was recorded

        await using (var log = CollectionLog.Open(folder.Path, new CollectionLogOptions { AcceptLogLoss = true }))
            Assert.NotNull(log.Replay(0, (_, _) => { }).DroppedTail);
        Assert.True(File.Exists(Path.Combine(folder.Path, "damaged-ranges")));
    }

    [Fact]
    public async Task AMissingSegmentFileIsDamageThatNamesTheFileAndChangesNothing()
    {
        using var folder = new TempFolder();
        var positions = await AppendSequentially(folder.Path, 10);
        File.Delete(Path.Combine(folder.Path, "log.0"));
        var before = await SettledFolderBytes(folder.Path);

        var refused = Assert.Throws<CollectionLogCorruptException>(() => CollectionLog.Open(folder.Path));
        Assert.Contains("log.0 is missing", refused.Message);
        Assert.Contains($"positions [64, {positions[9]})", refused.Message);
        Assert.Equal(before, FolderBytes(folder.Path));

        await using var accepting = CollectionLog.Open(folder.Path, new CollectionLogOptions { AcceptLogLoss = true });
        var result = accepting.Replay(0, (_, _) => { });
        Assert.Equal(0, result.RecordsApplied);
        Assert.Equal(64, result.DroppedTail!.Position);
        Assert.Equal(positions[9], result.DroppedTail.EndPosition);
        Assert.Contains("segment file log.0", result.DroppedTail.Reason);
    }

    [Fact]
    public async Task AShortenedSegmentFileIsDamageThatNamesTheFile()
    {
        using var folder = new TempFolder();
        var positions = await AppendSequentially(folder.Path, 10);
        using (var file = new FileStream(Path.Combine(folder.Path, "log.0"), FileMode.Open, FileAccess.Write))
            file.SetLength(positions[4]);

        var refused = Assert.Throws<CollectionLogCorruptException>(() => CollectionLog.Open(folder.Path));

        Assert.Contains($"is {positions[4]} bytes, cut short", refused.Message);
    }

    /// <summary>The folder's files once FASTER has removed the commit files older than the last (it does so in the
    /// background, after the commit that made them outdated).</summary>
    private static async Task<SortedDictionary<string, string>> SettledFolderBytes(string folder)
    {
        Assert.True(await Eventually(() => Directory.GetFiles(Path.Combine(folder, "log-commits")).Length == 1));
        return FolderBytes(folder);
    }

    /// <summary>Every file under <paramref name="folder"/> with its bytes, to show that nothing was written.</summary>
    private static SortedDictionary<string, string> FolderBytes(string folder) => new(
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f), f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))),
        StringComparer.Ordinal);

    [Fact]
    public async Task ReopeningWithoutDisposeRecoversEveryAcknowledgedAppend()
    {
        using var folder = new TempFolder();
        // Never disposed, like a process that died: no final commit, no close.
        var abandoned = CollectionLog.Open(folder.Path);
        var acknowledged = new ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (int k = 0; k < 25; k++)
            {
                await abandoned.AppendAsync(Records.Upsert(w * 100 + k, 1, Dimension));
                acknowledged.Add(w * 100 + k);
            }
        })));

        await using var recovered = CollectionLog.Open(folder.Path);
        var ids = ReplayAll(recovered).Select(r => r.Record.Ids[0]).Order().ToList();

        Assert.Equal(acknowledged.Order(), ids);
        GC.KeepAlive(abandoned);
    }

    [Fact]
    public async Task RelaxedModeCommitsOnItsTimer()
    {
        using var folder = new TempFolder();
        var options = new CollectionLogOptions { Durability = LogDurability.Relaxed, RelaxedCommitInterval = TimeSpan.FromMilliseconds(10) };
        var abandoned = CollectionLog.Open(folder.Path, options);
        long last = 0;
        for (int i = 0; i < 10; i++)
            last = await abandoned.AppendAsync(Records.Upsert(i, 1, Dimension));

        Assert.True(await Eventually(() => abandoned.CommittedPosition >= last), "the timer should commit within a few intervals");
        await using var recovered = CollectionLog.Open(folder.Path, options);
        Assert.Equal(10, ReplayAll(recovered).Count);
        GC.KeepAlive(abandoned);
    }

    [Fact]
    public async Task DisposeCommitsEverythingAcceptedInRelaxedMode()
    {
        using var folder = new TempFolder();
        var options = new CollectionLogOptions { Durability = LogDurability.Relaxed, RelaxedCommitInterval = TimeSpan.FromSeconds(10) };
        await using (var log = CollectionLog.Open(folder.Path, options))
        {
            for (int i = 0; i < 10; i++)
                await log.AppendAsync(Records.Upsert(i, 1, Dimension));
        }

        await using var reopened = CollectionLog.Open(folder.Path, options);
        Assert.Equal(10, ReplayAll(reopened).Count);
    }

    [Fact]
    public async Task RecordLargerThanAPageIsRefusedWithAdvice()
    {
        using var folder = new TempFolder();
        await using var log = CollectionLog.Open(folder.Path, new CollectionLogOptions { PageSizeBits = 12, MemorySizeBits = 14, SegmentSizeBits = 14 });
        var e = await Assert.ThrowsAsync<ArgumentException>(async () => await log.AppendAsync(Records.Upsert(1, 10, 128)));
        Assert.Contains("split the batch", e.Message);
        Assert.Equal(4092, log.MaxRecordBytes);
    }

    [Fact]
    public async Task AppendAfterDisposeIsRefused()
    {
        using var folder = new TempFolder();
        var log = CollectionLog.Open(folder.Path);
        await log.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await log.AppendAsync(Records.Upsert(1, 1, Dimension)));
    }

    [Fact]
    public async Task ReplayBeyondTheCommittedEndIsRefused()
    {
        using var folder = new TempFolder();
        var positions = await AppendSequentially(folder.Path, 3);
        await using var log = CollectionLog.Open(folder.Path);
        var e = Assert.Throws<InvalidOperationException>(() => log.Replay(positions[2] + 4096, (_, _) => { }));
        Assert.Contains("snapshot is newer than the log", e.Message);
    }

    [Fact]
    public async Task UnreadableCommitMetadataRefusesToOpenInsteadOfStartingEmpty()
    {
        using var folder = new TempFolder();
        await AppendSequentially(folder.Path, 5);
        foreach (var commit in Directory.EnumerateFiles(folder.Sub("log-commits")))
            File.WriteAllBytes(commit, new byte[512]);

        var e = Assert.Throws<CollectionLogCorruptException>(() => CollectionLog.Open(folder.Path));
        Assert.Contains("commit metadata", e.Message);
    }

    [Fact]
    public async Task UnreadableFirstCommitOpensAsAnEmptyLog()
    {
        // A crash while writing commit #1: nothing had been acknowledged, so empty is right.
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.Sub("log-commits"));
        File.WriteAllBytes(Path.Combine(folder.Sub("log-commits"), "commit.1.0"), new byte[512]);

        await using var log = CollectionLog.Open(folder.Path);
        Assert.Equal(log.BeginPosition, log.CommittedPosition);
    }

    [Fact]
    public async Task EmptyLogCanBeReopenedRepeatedly()
    {
        using var folder = new TempFolder();
        for (int i = 0; i < 3; i++)
        {
            await using var log = CollectionLog.Open(folder.Path);
            Assert.Equal(0, log.Replay(0, (_, _) => { }).RecordsApplied);
        }
    }

    [Fact]
    public async Task LogTruncatedToItsEndReopensEmptyAndAcceptsAppends()
    {
        using var folder = new TempFolder();
        var positions = await AppendSequentially(folder.Path, 5);
        await using (var log = CollectionLog.Open(folder.Path))
        {
            log.TruncateUntil(positions[^1]);
            await log.CommitAsync();
        }
        await using (var log = CollectionLog.Open(folder.Path))
        {
            Assert.Empty(ReplayAll(log));
            await log.AppendAsync(Records.Upsert(42, 1, Dimension));
        }

        await using var reopened = CollectionLog.Open(folder.Path);
        Assert.Equal([42L], ReplayAll(reopened).Select(r => r.Record.Ids[0]));
    }

    [Fact]
    public async Task EmptyLogReplaysNothing()
    {
        using var folder = new TempFolder();
        await using var log = CollectionLog.Open(folder.Path);
        var result = log.Replay(0, (_, _) => throw new InvalidOperationException("no record expected"));
        Assert.Equal(0, result.RecordsApplied);
        Assert.Null(result.DroppedTail);
        Assert.Equal(log.BeginPosition, result.EndPosition);
    }

    [Fact]
    public void BadOptionsAreNamed()
    {
        using var folder = new TempFolder();
        var e = Assert.Throws<ArgumentException>(() => CollectionLog.Open(folder.Path, new CollectionLogOptions { PageSizeBits = 40 }));
        Assert.Contains("page size bits", e.Message);
        e = Assert.Throws<ArgumentException>(() => CollectionLog.Open(folder.Path, new CollectionLogOptions { MemorySizeBits = 22 }));
        Assert.Contains("memory size bits", e.Message);
    }

    [Fact]
    public async Task DeleteRemovesTheWholeFolder()
    {
        using var folder = new TempFolder();
        var logFolder = folder.Sub("pins");
        await AppendSequentially(logFolder, 3);

        CollectionLog.Delete(logFolder);

        Assert.False(Directory.Exists(logFolder));
        Assert.False(Directory.Exists(logFolder + ".deleting"));
    }

    [Fact]
    public void CompletePendingDeletesRemovesFoldersAnInterruptedDeleteLeft()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.Sub("pins.deleting"));
        File.WriteAllText(Path.Combine(folder.Sub("pins.deleting"), "log.0"), "x");
        Directory.CreateDirectory(folder.Sub("kept"));

        Assert.Equal(1, CollectionLog.CompletePendingDeletes(folder.Path));
        Assert.False(Directory.Exists(folder.Sub("pins.deleting")));
        Assert.True(Directory.Exists(folder.Sub("kept")));
    }

    internal static List<(LogRecord Record, long Next)> ReplayAll(CollectionLog log, long from = 0)
    {
        var replayed = new List<(LogRecord, long)>();
        var result = log.Replay(from, (record, next) => replayed.Add((record, next)));
        Assert.Null(result.DroppedTail);
        return replayed;
    }

    /// <summary>Appends records with ids 0..count-1 one after another; returns the positions.</summary>
    private static async Task<List<long>> AppendSequentially(string folder, int count)
    {
        var positions = new List<long>();
        await using var log = CollectionLog.Open(folder);
        for (int i = 0; i < count; i++)
            positions.Add(await log.AppendAsync(Records.Upsert(i, 1, Dimension)));
        return positions;
    }

    /// <summary>Writes <paramref name="bytes"/> over the log file at a log position (default 64 MiB segments).</summary>
    private static void OverwriteLog(string folder, long position, byte[] bytes, int segmentSizeBits = 26)
    {
        var segment = Path.Combine(folder, $"log.{position >> segmentSizeBits}");
        using var file = new FileStream(segment, FileMode.Open, FileAccess.Write);
        file.Position = position & ((1L << segmentSizeBits) - 1);
        file.Write(bytes);
        file.Flush(flushToDisk: true);
    }

    private static async Task<bool> Eventually(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
            await Task.Delay(10);
        return condition();
    }
}
