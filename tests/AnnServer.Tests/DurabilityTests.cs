using System.Collections;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using AnnServer.Settings;
using AnnServer.Storage;

namespace AnnServer.Tests;

/// <summary>The write-ahead log under the server: what is written where, group commit, replay, damage, checkpoints.</summary>
public sealed class DurabilityTests
{
    private const int Dimension = 8;

    private static float[] VectorOf(long id) => Enumerable.Range(0, Dimension).Select(j => id * 0.5f + j).ToArray();

    private static UpsertRequest UpsertOne(string collection, long id) =>
        new() { Collection = collection, Points = { TestData.Point(id, VectorOf(id)) } };

    private static CreateCollectionRequest Create(string name) =>
        new() { Name = name, Dimension = Dimension, Metric = Metric.L2, M = 8, EfConstruction = 32 };

    [Fact]
    public async Task AWriteIsInTheLogUntilACheckpointCoversIt()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await server.Collections.CreateCollectionAsync(Create("c"));

        UpsertResponse written = await server.Vectors.UpsertAsync(UpsertOne("c", 1));
        CollectionInfo before = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        CheckpointResponse checkpoint = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });

        Assert.NotEmpty(Directory.GetFiles(Path.Combine(server.DataDir, "c", "log"), "log.*"));
        Assert.Equal(written.LogPosition, before.LogPosition);
        Assert.True(before.LogPosition > before.SnapshotLogPosition);
        Assert.Equal(1ul, before.WritesSinceSnapshot);
        Assert.Equal(written.LogPosition, checkpoint.Info.SnapshotLogPosition);
        Assert.Equal(0ul, checkpoint.Info.WritesSinceSnapshot);
    }

    [Fact]
    public async Task ConcurrentWritersShareLogCommits()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await server.Collections.CreateCollectionAsync(Create("c"));

        await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (int k = 0; k < 10; k++)
                await server.Vectors.UpsertAsync(UpsertOne("c", w * 100 + k));
        })));
        using CollectionLease lease = server.Registry.Acquire("c");
        var (appends, commits) = lease.Collection.LogCounts;

        Assert.Equal(160, appends);
        Assert.True(commits * 2 <= appends, $"{commits} commits for {appends} appends: concurrent writers should share commits");
        Assert.Equal(160, lease.Collection.Count);
    }

    [Fact]
    public async Task ASearchAfterTheAcknowledgementSeesTheWrite()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await server.Collections.CreateCollectionAsync(Create("c"));

        var misses = await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            int missed = 0;
            for (int k = 0; k < 10; k++)
            {
                long id = w * 100 + k;
                await server.Vectors.UpsertAsync(UpsertOne("c", id));
                SearchResponse nearest = await server.Vectors.SearchAsync(TestData.Search("c", VectorOf(id), k: 1, ef: 64));
                if (nearest.Hits.Count == 0 || nearest.Hits[0].Id != id) missed++;
            }
            return missed;
        })));

        Assert.All(misses, m => Assert.Equal(0, m));
    }

    [Fact]
    public async Task ADroppedCollectionTakesItsLogAlong()
    {
        using var dataDir = new TempFolder();
        await using (RunningServer server = await RunningServer.StartAsync(dataDir.Path))
        {
            await server.Collections.CreateCollectionAsync(Create("c"));
            await server.Vectors.UpsertAsync(UpsertOne("c", 1));
            await server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "c" });
            await server.Collections.CreateCollectionAsync(Create("c"));
            CollectionInfo fresh = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
            Assert.Equal(0ul, fresh.Count);
            await server.Vectors.UpsertAsync(UpsertOne("c", 2));
        }

        await using RunningServer restarted = await RunningServer.StartAsync(dataDir.Path);
        GetResponse read = await restarted.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { 1, 2 } });

        Assert.Equal([2L], read.Points.Select(p => p.Id));
        Assert.Equal(["c"], Directory.GetDirectories(dataDir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task RelaxedDurabilityAcknowledgesFromMemoryAndKeepsWritesAcrossARestart()
    {
        using var dataDir = new TempFolder();
        await using (RunningServer server = await RunningServer.StartAsync(dataDir.Path, args: ["--durability", "relaxed", "--relaxed-commit-ms", "5"]))
        {
            await server.Collections.CreateCollectionAsync(Create("c"));
            for (int id = 1; id <= 20; id++)
                await server.Vectors.UpsertAsync(UpsertOne("c", id));
            await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { 3 } });
            SearchResponse nearest = await server.Vectors.SearchAsync(TestData.Search("c", VectorOf(20), k: 1));
            Assert.Equal(20, nearest.Hits[0].Id);
        }

        await using RunningServer restarted = await RunningServer.StartAsync(dataDir.Path);
        GetResponse read = await restarted.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { 1, 3, 20 } });

        Assert.Equal([1L, 20L], read.Points.Select(p => p.Id));
        Assert.Equal([3L], read.MissingIds);
        Assert.Equal(VectorOf(20), read.Points[1].Vector);
    }

    [Fact]
    public void DurabilitySettingsAreReadAndChecked()
    {
        using var defaultSettings = ReadSettings.From([]);
        using var givenSettings = ReadSettings.From(
            ["--durability", "relaxed", "--relaxed-commit-ms", "20", "--checkpoint-log-bytes", "8589934592", "--checkpoint-records", "0"]);
        var defaults = defaultSettings.Get<PersistenceOptions>();
        var given = givenSettings.Get<PersistenceOptions>();

        Assert.Equal((LogDurability.Strict, 256L << 20, 100_000L), (defaults.Durability, defaults.CheckpointLogBytes, defaults.CheckpointRecords));
        Assert.Equal((LogDurability.Relaxed, 20, 8L << 30, 0L), (given.Durability, given.RelaxedCommitMs, given.CheckpointLogBytes, given.CheckpointRecords));
        Assert.Contains("--durability: expected strict or relaxed, got 'sometimes'",
            Assert.Throws<ServerConfigurationException>(() => ReadSettings.From(["--durability", "sometimes"])).Message);
        Assert.Contains("checkpoint-records must be 0 (never by count) or more",
            Assert.Throws<ServerConfigurationException>(() => ReadSettings.From(["--checkpoint-records", "-1"])).Message);
    }

    [Fact]
    public async Task WithAcceptLogLossADamagedLogTailIsDroppedAndReportedAndEverythingBeforeItIsKept()
    {
        // Without --accept-log-loss the collection would be FAILED, its files untouched (QuarantineTests).
        using var dataDir = new TempFolder();
        string[] noAutomaticCheckpoints = ["--checkpoint-records", "0", "--checkpoint-log-bytes", "0", "--accept-log-loss"];
        await using (ChildServer server = await ChildServer.StartAsync(dataDir.Path, noAutomaticCheckpoints))
        {
            await server.Collections.CreateCollectionAsync(Create("c"));
            for (int id = 1; id <= 30; id++)
                await server.Vectors.UpsertAsync(UpsertOne("c", id));
            await server.KillAsync();
        }

        // Find the last record in the log, then overwrite the last 8 bytes of its entry (checksum and padding). The record
        // is committed, so this is damage, not a torn tail: a torn append is beyond the committed end and never read.
        string logFolder = Path.Combine(dataDir.Path, "c", "log");
        var ends = new List<long>();
        await using (CollectionLog log = CollectionLog.Open(logFolder))
            log.Replay(0, (_, next) => ends.Add(next));
        Assert.Equal(30, ends.Count);
        long lastStart = ends[^2], lastEnd = ends[^1];
        using (var segment = new FileStream(Path.Combine(logFolder, "log.0"), FileMode.Open, FileAccess.ReadWrite))
        {
            segment.Position = lastEnd - 8;
            segment.Write(new byte[] { 0xDE, 0xAD, 0xBE, 0xEF, 0xDE, 0xAD, 0xBE, 0xEF });
        }

        await using (ChildServer restarted = await ChildServer.StartAsync(dataDir.Path, noAutomaticCheckpoints))
        {
            GetResponse read = await restarted.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { Enumerable.Range(1, 30).Select(i => (long)i) } });

            Assert.Equal(Enumerable.Range(1, 29).Select(i => (long)i), read.Points.Select(p => p.Id));
            Assert.All(read.Points, p => Assert.Equal(VectorOf(p.Id), p.Vector));
            Assert.Equal([30L], read.MissingIds);
            Assert.Contains($"the log is damaged at position {lastStart}", restarted.Output);
            Assert.Contains("checksum", restarted.Output);
            Assert.Contains($"Dropped {lastEnd - lastStart} bytes of committed log", restarted.Output);
            Assert.Contains("LOG LOSS ACCEPTED", restarted.Output);

            await restarted.Vectors.UpsertAsync(UpsertOne("c", 31)); // written behind the damaged range
            await restarted.KillAsync();
        }

        await using ChildServer again = await ChildServer.StartAsync(dataDir.Path, noAutomaticCheckpoints);
        CollectionInfo info = await again.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        GetResponse last = await again.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { 29, 30, 31 } });

        Assert.Equal(30ul, info.Count);
        Assert.Equal([29L, 31L], last.Points.Select(p => p.Id));
        Assert.Contains($"stepped over log positions {lastStart}", again.Output);
    }

    [Fact]
    public async Task CheckpointsDuringConcurrentWritesLeaveEveryAcknowledgedWriteExactlyOnce()
    {
        using var dataDir = new TempFolder();
        var clients = Enumerable.Range(0, 4).Select(c => new AcknowledgedWrites(c, Dimension, seed: 100 + c)).ToArray();
        int checkpoints = 0;
        await using (ChildServer server = await ChildServer.StartAsync(dataDir.Path, "--checkpoint-records", "0", "--checkpoint-log-bytes", "0"))
        {
            await server.Collections.CreateCollectionAsync(Create("c"));
            using (var stop = new CancellationTokenSource())
            {
                Task[] writers = clients.Select(c => Task.Run(() => c.RunAsync(server.Vectors, "c", stop.Token))).ToArray();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                // Checkpoint back to back for 2 s, and until at least 3 checkpoints covered some writes (a loaded
                // machine can be slow to start the writers).
                while (clock.Elapsed < TimeSpan.FromSeconds(2) || (checkpoints < 3 && clock.Elapsed < TimeSpan.FromSeconds(30)))
                {
                    CheckpointResponse checkpoint = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });
                    if (checkpoint.Info.SnapshotLogPosition > 64) checkpoints++;
                }
                await stop.CancelAsync();
                await Task.WhenAll(writers);
            }
            // More writes after the last checkpoint, so that the restart needs the snapshot and the log's remainder.
            using (var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
                await Task.WhenAll(clients.Select(c => Task.Run(() => c.RunAsync(server.Vectors, "c", stop.Token, atLeast: 1))));
            await server.KillAsync();
        }

        await using ChildServer restarted = await ChildServer.StartAsync(dataDir.Path);
        var request = new GetRequest { Collection = "c" };
        request.Ids.Add(clients.SelectMany(c => c.TouchedIds));
        GetResponse got = await restarted.Vectors.GetAsync(request);
        CollectionInfo info = await restarted.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        List<string> problems = clients.SelectMany(c => c.CheckAndAdopt(got.Points.ToDictionary(p => p.Id, p => p.Vector.ToArray()))).ToList();

        Assert.True(checkpoints >= 3, $"only {checkpoints} checkpoints covered writes");
        Assert.Empty(problems);
        Assert.Equal((ulong)clients.Sum(c => c.LiveCount), info.Count); // each live id exactly once, nothing else
        Assert.True(info.SnapshotLogPosition > 64, $"the snapshot should cover part of the log: {info}, {checkpoints} checkpoints, acknowledged {clients.Sum(c => c.AcknowledgedCount)}\n{restarted.Output}");
        Assert.InRange(info.WritesSinceSnapshot, 1ul, (ulong)clients.Sum(c => c.AcknowledgedCount) - 1); // the rest was replayed
    }
}
