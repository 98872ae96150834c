using System.Security.Cryptography;
using AnnServer.Protocol.V1;
using AnnServer.Storage;
using Grpc.Core;
using Grpc.Health.V1;

namespace AnnServer.Tests;

/// <summary>
/// A collection whose files are damaged is quarantined, end to end with real files and a real server process: the
/// server starts and serves the others, the damaged one is FAILED with a reason naming what and where, calls to it are
/// FAILED_PRECONDITION, and its files are left byte for byte as they were. Damage below the committed end of a log is
/// such damage, unless the server is started with --accept-log-loss.
/// </summary>
public sealed class QuarantineTests
{
    private const int Dimension = 8;
    private static readonly string[] NoAutomaticCheckpoints = ["--checkpoint-records", "0", "--checkpoint-log-bytes", "0"];

    private static float[] VectorOf(long id) => Enumerable.Range(0, Dimension).Select(j => id * 0.5f + j).ToArray();

    private static CreateCollectionRequest Create(string name) =>
        new() { Name = name, Dimension = Dimension, Metric = Metric.L2, M = 8, EfConstruction = 32 };

    /// <summary>Collections "good" and "bad", each with ids 1..<paramref name="points"/> upserted one per call (one log
    /// record each); "bad" is checkpointed first when asked. The server is then killed.</summary>
    private static async Task WriteAndKillAsync(string dataDir, int points, bool checkpointBad)
    {
        await using ChildServer server = await ChildServer.StartAsync(dataDir, NoAutomaticCheckpoints);
        foreach (string name in (string[])["good", "bad"])
        {
            await server.Collections.CreateCollectionAsync(Create(name));
            for (int id = 1; id <= points; id++)
                await server.Vectors.UpsertAsync(new UpsertRequest { Collection = name, Points = { TestData.Point(id, VectorOf(id)) } });
        }
        if (checkpointBad)
            await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "bad" });
        await server.KillAsync();
    }

    [Fact]
    public async Task ADamagedSnapshotLeavesItsCollectionFailedAndTheOthersServed()
    {
        using var dataDir = new TempFolder();
        await WriteAndKillAsync(dataDir.Path, 20, checkpointBad: true);
        string snapshot = Path.Combine(dataDir.Path, "bad", "snapshot.snap");
        FlipByte(snapshot, new FileInfo(snapshot).Length / 2);
        var before = FolderBytes(Path.Combine(dataDir.Path, "bad"));

        await using (ChildServer server = await ChildServer.StartAsync(dataDir.Path, NoAutomaticCheckpoints))
        {
            CollectionInfo bad = await AssertQuarantinedAsync(server, "bad");
            Assert.Contains(snapshot, bad.Failure);
            Assert.Contains("checksum", bad.Failure);
            await AssertTheOtherServesAsync(server, 20);
            await server.KillAsync();
        }

        Assert.Equal(before, FolderBytes(Path.Combine(dataDir.Path, "bad")));
    }

    [Fact]
    public async Task AFlippedByteBelowTheCommittedEndOfTheLogLeavesTheCollectionFailedUnlessTheLossIsAccepted()
    {
        using var dataDir = new TempFolder();
        await WriteAndKillAsync(dataDir.Path, 20, checkpointBad: false);
        string logFolder = Path.Combine(dataDir.Path, "bad", "log");
        List<long> ends = RecordEnds(logFolder);
        Assert.Equal(20, ends.Count);
        long damaged = ends[9]; // record #11 starts here: 10 records before it, 10 from it on
        FlipByte(Path.Combine(logFolder, "log.0"), damaged + 30);
        var before = FolderBytes(Path.Combine(dataDir.Path, "bad"));

        await using (ChildServer server = await ChildServer.StartAsync(dataDir.Path, NoAutomaticCheckpoints))
        {
            CollectionInfo bad = await AssertQuarantinedAsync(server, "bad");
            Assert.Contains($"damaged below its committed end, at position {damaged}", bad.Failure);
            Assert.Contains("checksum", bad.Failure);
            Assert.Contains($"committed up to {ends[^1]}", bad.Failure);
            Assert.Contains("at least 10 record(s)", bad.Failure);
            Assert.Contains("--accept-log-loss", bad.Failure);
            await AssertTheOtherServesAsync(server, 20);
            await server.KillAsync();
        }
        Assert.Equal(before, FolderBytes(Path.Combine(dataDir.Path, "bad")));

        await using ChildServer accepting = await ChildServer.StartAsync(dataDir.Path, [.. NoAutomaticCheckpoints, "--accept-log-loss"]);
        await AssertLossAcceptedAsync(accepting, keptPoints: 10, droppedRecords: 10);
        Assert.Contains($"the log is damaged at position {damaged}", accepting.Output);
    }

    [Fact]
    public async Task ADeletedLogSegmentLeavesTheCollectionFailedUnlessTheLossIsAccepted()
    {
        using var dataDir = new TempFolder();
        await WriteAndKillAsync(dataDir.Path, 20, checkpointBad: false);
        string logFolder = Path.Combine(dataDir.Path, "bad", "log");
        long committedEnd = RecordEnds(logFolder)[^1];
        File.Delete(Path.Combine(logFolder, "log.0"));
        var before = FolderBytes(Path.Combine(dataDir.Path, "bad"));

        await using (ChildServer server = await ChildServer.StartAsync(dataDir.Path, NoAutomaticCheckpoints))
        {
            CollectionInfo bad = await AssertQuarantinedAsync(server, "bad");
            Assert.Contains($"{Path.Combine(logFolder, "log.0")} is missing", bad.Failure);
            Assert.Contains($"positions [64, {committedEnd})", bad.Failure);
            await AssertTheOtherServesAsync(server, 20);
            await server.KillAsync();
        }
        Assert.Equal(before, FolderBytes(Path.Combine(dataDir.Path, "bad")));

        await using ChildServer accepting = await ChildServer.StartAsync(dataDir.Path, [.. NoAutomaticCheckpoints, "--accept-log-loss"]);
        await AssertLossAcceptedAsync(accepting, keptPoints: 0, droppedRecords: 0);
        Assert.Contains("segment file log.0", accepting.Output);
    }

    [Fact]
    public async Task DroppingAFailedCollectionDeletesItsFilesAndFreesTheName()
    {
        using var dataDir = new TempFolder();
        await WriteAndKillAsync(dataDir.Path, 5, checkpointBad: true);
        string snapshot = Path.Combine(dataDir.Path, "bad", "snapshot.snap");
        FlipByte(snapshot, new FileInfo(snapshot).Length / 2);

        await using ChildServer server = await ChildServer.StartAsync(dataDir.Path, NoAutomaticCheckpoints);
        await server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "bad" });
        ListCollectionsResponse list = await server.Collections.ListCollectionsAsync(new ListCollectionsRequest());
        var (_, healthz) = await server.GetMetricsPortAsync("/healthz");
        string metrics = (await server.GetMetricsPortAsync("/metrics")).Body;
        await server.Collections.CreateCollectionAsync(Create("bad"));
        await server.Vectors.UpsertAsync(new UpsertRequest { Collection = "bad", Points = { TestData.Point(1, VectorOf(1)) } });

        Assert.Equal(["good"], list.Collections.Select(c => c.Name));
        Assert.Equal("Healthy", healthz);
        Assert.DoesNotContain("annserver_collection_failed{", metrics);
        Assert.Contains("Dropped collection bad, which had failed to load", server.Output);
    }

    [Fact]
    public async Task ACollectionThatFailedToLoadCannotBeCreatedAgainBeforeItIsDropped()
    {
        using var dataDir = new TempFolder();
        await WriteAndKillAsync(dataDir.Path, 5, checkpointBad: true);
        string snapshot = Path.Combine(dataDir.Path, "bad", "snapshot.snap");
        FlipByte(snapshot, new FileInfo(snapshot).Length / 2);

        await using ChildServer server = await ChildServer.StartAsync(dataDir.Path, NoAutomaticCheckpoints);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await server.Collections.CreateCollectionAsync(Create("bad")));

        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);
        Assert.Contains("failed to load", e.Status.Detail);
    }

    /// <summary>"bad" is listed and described as FAILED, refuses every data-plane call with FAILED_PRECONDITION and
    /// its reason, and is named by /healthz (200 Degraded), grpc health (SERVING), the metric and the log (once).</summary>
    private static async Task<CollectionInfo> AssertQuarantinedAsync(ChildServer server, string name)
    {
        ListCollectionsResponse list = await server.Collections.ListCollectionsAsync(new ListCollectionsRequest());
        Assert.Equal(["bad", "good"], list.Collections.Select(c => c.Name));
        Assert.Equal([CollectionState.Failed, CollectionState.Ready], list.Collections.Select(c => c.State));
        Assert.Equal("", list.Collections[1].Failure);
        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = name });
        Assert.Equal(CollectionState.Failed, info.State);
        Assert.Equal(list.Collections[0].Failure, info.Failure);
        Assert.NotEmpty(info.Failure);
        Assert.Equal((0u, Metric.Unspecified, 0ul), (info.Dimension, info.Metric, info.Count)); // nothing of it is known

        var calls = new Func<Task>[]
        {
            async () => await server.Vectors.SearchAsync(TestData.Search(name, VectorOf(1), k: 1)),
            async () => await server.Vectors.SearchBatchAsync(new SearchBatchRequest { Collection = name, K = 1, Queries = { new BatchQuery { Vector = { VectorOf(1) } } } }),
            async () => await server.Vectors.UpsertAsync(new UpsertRequest { Collection = name, Points = { TestData.Point(99, VectorOf(99)) } }),
            async () => await server.Vectors.DeleteAsync(new DeleteRequest { Collection = name, Ids = { 1 } }),
            async () => await server.Vectors.GetAsync(new GetRequest { Collection = name, Ids = { 1 } }),
            async () => await server.Collections.CheckpointAsync(new CheckpointRequest { Name = name }),
        };
        foreach (Func<Task> call in calls)
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
            Assert.Contains(info.Failure, e.Status.Detail);
        }

        HealthCheckResponse health = await new Health.HealthClient(server.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        var (status, healthz) = await server.GetMetricsPortAsync("/healthz");
        Assert.Equal(200, status);
        Assert.StartsWith("Degraded\n", healthz);
        Assert.Contains($"{name}: {info.Failure}", healthz);
        string metrics = (await server.GetMetricsPortAsync("/metrics")).Body;
        Assert.Contains($"annserver_collection_failed{{collection=\"{name}\"}} 1", metrics);
        Assert.DoesNotContain("annserver_collection_failed{collection=\"good\"}", metrics);
        Assert.Single(server.Output.Split('\n'), line => line.Contains($"Collection {name} FAILED to load"));
        return info;
    }

    private static async Task AssertTheOtherServesAsync(ChildServer server, int points)
    {
        GetResponse read = await server.Vectors.GetAsync(new GetRequest { Collection = "good", Ids = { Enumerable.Range(1, points).Select(i => (long)i) } });
        Assert.Equal(points, read.Points.Count);
        SearchResponse nearest = await server.Vectors.SearchAsync(TestData.Search("good", VectorOf(7), k: 1, ef: 32));
        Assert.Equal(7, nearest.Hits[0].Id);
        await server.Vectors.UpsertAsync(new UpsertRequest { Collection = "good", Points = { TestData.Point(1000, VectorOf(1000)) } });
    }

    private static async Task AssertLossAcceptedAsync(ChildServer server, int keptPoints, int droppedRecords)
    {
        CollectionInfo bad = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "bad" });
        string metrics = (await server.GetMetricsPortAsync("/metrics")).Body;

        Assert.Equal(CollectionState.Ready, bad.State);
        Assert.Equal((ulong)keptPoints, bad.Count);
        Assert.Contains("LOG LOSS ACCEPTED", server.Output);
        Assert.Contains(server.Output.Split('\n'), line => line.StartsWith("fail:") && line.Contains("LOG LOSS ACCEPTED"));
        Assert.Contains("annserver_log_loss_accepted_total{collection=\"bad\"} 1", metrics);
        Assert.Contains($"annserver_log_records_dropped_total{{collection=\"bad\"}} {droppedRecords}", metrics);
        Assert.Equal("Healthy", (await server.GetMetricsPortAsync("/healthz")).Body);
        await server.Vectors.UpsertAsync(new UpsertRequest { Collection = "bad", Points = { TestData.Point(500, VectorOf(500)) } });
    }

    /// <summary>The position just past each committed record of the log, read without changing a byte of it.</summary>
    private static List<long> RecordEnds(string logFolder)
    {
        var ends = new List<long>();
        CollectionLog log = CollectionLog.Open(logFolder);
        try
        {
            Assert.Null(log.Replay(0, (_, next) => ends.Add(next)).DroppedTail);
        }
        finally
        {
            log.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        return ends;
    }

    private static void FlipByte(string file, long offset)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        int value = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(value ^ 0xFF));
    }

    /// <summary>Every file under <paramref name="folder"/> with a hash of its bytes.</summary>
    private static SortedDictionary<string, string> FolderBytes(string folder) => new(
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))),
        StringComparer.Ordinal);
}
