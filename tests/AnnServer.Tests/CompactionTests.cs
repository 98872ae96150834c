using System.Collections.Concurrent;
using System.Globalization;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>
/// A checkpoint rebuilds the index without its tombstones once they are --compact-deleted-fraction of the nodes, and
/// no acknowledged write is lost or undone by it, even one made while the new index was being built.
/// </summary>
public sealed class CompactionTests
{
    private const int Dimension = 16;

    // A shutdown or a drop that cancels a compaction ends within a second or two; without the cancellation it waits for
    // the copy, which the tests hold for HeldCopyLimit. The bound is far from both, for a loaded CI machine.
    private static readonly TimeSpan PromptBound = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan HeldCopyLimit = TimeSpan.FromSeconds(90);

    private static CreateCollectionRequest Create(string name) =>
        new() { Name = name, Dimension = Dimension, Metric = Metric.L2, M = 16, EfConstruction = 100 };

    /// <summary>A distinct vector per (id, version), so a search for it finds exactly that point at distance 0.</summary>
    private static float[] VectorOf(long id, int version)
    {
        var random = new Random((int)((id * 1_000_003 + version) % int.MaxValue));
        return Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray();
    }

    private static UpsertRequest Upsert(string collection, IEnumerable<long> ids, int version)
    {
        var request = new UpsertRequest { Collection = collection };
        foreach (long id in ids) request.Points.Add(TestData.Point(id, VectorOf(id, version), (int)(id % 3)));
        return request;
    }

    [Fact]
    public async Task ACheckpointPastTheTombstoneFractionRebuildsTheIndexWithTheSamePoints()
    {
        using var dataDir = new TempFolder();
        RunningServer server = await RunningServer.StartAsync(dataDir.Path, args: ["--compact-deleted-fraction", "0.3"]);
        await using var stopped = server; // stopped before the restart below: one server per data folder
        await server.Collections.CreateCollectionAsync(Create("c"));
        await server.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(0, 1000).Select(i => (long)i), version: 1));
        await server.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(0, 600).Select(i => (long)i), version: 2));
        await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { Enumerable.Range(900, 100).Select(i => (long)i) } });
        CollectionInfo before = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });

        CheckpointResponse checkpoint = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });

        Assert.Equal(1600ul, before.NodeCount);
        Assert.Equal(900ul, checkpoint.Info.Count);
        Assert.Equal(900ul, checkpoint.Info.NodeCount);
        Assert.True(checkpoint.Info.MemoryBytes <= before.MemoryBytes);
        using (CollectionLease lease = server.Registry.Acquire("c")) Assert.Equal(1, lease.Collection.Compactions);
        string metrics = await server.GetMetricsTextAsync();
        Assert.Contains("annserver_collection_compactions_total{collection=\"c\"} 1", metrics);
        Assert.Contains("annserver_collection_nodes{collection=\"c\"} 900", metrics);
        await AssertHoldsExactlyAsync(server, "c", Enumerable.Range(0, 900).ToDictionary(i => (long)i, i => i < 600 ? 2 : 1));

        // The snapshot the checkpoint saved is the compacted index: a restart finds the same points and no tombstones.
        await server.DisposeAsync();
        await using RunningServer restarted = await RunningServer.StartAsync(dataDir: dataDir.Path, args: ["--compact-deleted-fraction", "0.3"]);
        CollectionInfo after = await restarted.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        Assert.Equal(900ul, after.NodeCount);
        await AssertHoldsExactlyAsync(restarted, "c", Enumerable.Range(0, 900).ToDictionary(i => (long)i, i => i < 600 ? 2 : 1));
    }

    [Fact]
    public async Task ACompactionThatWouldNotFitInMemoryIsPutOff()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--compact-deleted-fraction", "0.3"]);
        await server.Collections.CreateCollectionAsync(Create("c"));
        await server.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(0, 100).Select(i => (long)i), version: 1));
        await server.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(0, 100).Select(i => (long)i), version: 2));
        using (CollectionLease lease = server.Registry.Acquire("c")) lease.Collection.Compaction.MemoryLimitBytes = Environment.WorkingSet;

        CheckpointResponse checkpoint = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });

        Assert.Equal(200ul, checkpoint.Info.NodeCount);
        using (CollectionLease lease = server.Registry.Acquire("c"))
        {
            Assert.Equal(0, lease.Collection.Compactions);
            Assert.Equal(1, lease.Collection.CompactionsSkippedForMemory);
            lease.Collection.Compaction.MemoryLimitBytes = null;
        }
        Assert.Contains("annserver_collection_compactions_put_off_total{collection=\"c\"} 1", await server.GetMetricsTextAsync());
        checkpoint = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });
        Assert.Equal(100ul, checkpoint.Info.NodeCount);
    }

    [Fact]
    public async Task AMemoryBudgetPutsOffACompactionThatWouldPassItAndCountsTheNewIndexWhileOneRuns()
    {
        // 200 nodes, 100 live: both the index and its copy are their first storage chunks (about 26 MB each), so a budget
        // of 1.5 of them holds the index but not the copy beside it, and one of 4 holds both.
        long chunks = MemoryEstimate.UpsertBytes(Dimension, 16, VectorQuantization.None, nodesBefore: 0, added: 200);
        using var dataDir = new TempFolder();
        await using (RunningServer tight = await RunningServer.StartAsync(dataDir: dataDir.Path,
            args: ["--compact-deleted-fraction", "0.3", "--memory-budget-bytes", (chunks * 3 / 2).ToString(CultureInfo.InvariantCulture)]))
        {
            await tight.Collections.CreateCollectionAsync(Create("c"));
            await tight.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(0, 100).Select(i => (long)i), version: 1));
            await tight.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(0, 100).Select(i => (long)i), version: 2));

            CheckpointResponse putOff = await tight.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });

            Assert.Equal(200ul, putOff.Info.NodeCount);
            using CollectionLease lease = tight.Registry.Acquire("c");
            Assert.Equal(0, lease.Collection.Compactions);
            Assert.Equal(1, lease.Collection.CompactionsSkippedForMemory);
        }

        await using RunningServer roomy = await RunningServer.StartAsync(dataDir: dataDir.Path,
            args: ["--compact-deleted-fraction", "0.3", "--memory-budget-bytes", (chunks * 4).ToString(CultureInfo.InvariantCulture)]);
        CollectionInfo before = await roomy.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        long countedDuringCopy = 0;
        using (CollectionLease lease = roomy.Registry.Acquire("c"))
            lease.Collection.Compaction.AfterCopy = () =>
            {
                countedDuringCopy = roomy.MemoryBudget.UsedBytes;
                return Task.CompletedTask;
            };

        CheckpointResponse compacted = await roomy.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });

        Assert.Equal(100ul, compacted.Info.NodeCount);
        // The budget counted the old index (measured) and the new one (reserved, about the chunks of 100 points).
        Assert.True(countedDuringCopy >= (long)before.MemoryBytes + chunks * 9 / 10,
            $"the budget counted {countedDuringCopy} bytes during the compaction; the old index holds {before.MemoryBytes}");
    }

    [Fact]
    public async Task BelowTheFractionOrWithCompactionOffTheTombstonesStay()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--compact-deleted-fraction", "0"]);
        await server.Collections.CreateCollectionAsync(Create("c"));
        await server.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(0, 100).Select(i => (long)i), version: 1));
        await server.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(0, 100).Select(i => (long)i), version: 2));

        CheckpointResponse checkpoint = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });

        Assert.Equal(200ul, checkpoint.Info.NodeCount);
        Assert.Equal(100ul, checkpoint.Info.Count);
    }

    [Fact]
    public async Task TheCopyRunsOnTheConfiguredNumberOfThreads()
    {
        int threads = Math.Min(2, Environment.ProcessorCount);
        await using RunningServer server = await RunningServer.StartAsync(
            args: ["--compact-deleted-fraction", "0.01", "--compaction-threads", threads.ToString(CultureInfo.InvariantCulture)]);
        // A small graph (M 4, efConstruction 8): the test needs many points, not a good graph.
        await server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "c", Dimension = Dimension, Metric = Metric.L2, M = 4, EfConstruction = 8 });
        for (int start = 0; start < 4200; start += 1050)
            await server.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(start, 1050).Select(i => (long)i), version: 1));
        // 4,100 live points: two copy batches of 4,096, one for each thread.
        await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { Enumerable.Range(4100, 100).Select(i => (long)i) } });
        var copyThreads = new ConcurrentDictionary<int, bool>();
        using (CollectionLease lease = server.Registry.Acquire("c"))
            lease.Collection.Compaction.BeforeCopyBatch = _ => copyThreads.TryAdd(Environment.CurrentManagedThreadId, true);

        CheckpointResponse checkpoint = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });

        Assert.Equal(4100ul, checkpoint.Info.NodeCount);
        Assert.Equal(threads, copyThreads.Count);
    }

    [Fact]
    public async Task AShutdownCancelsARunningCompactionAndTheRestartedServerHasEveryAcknowledgedWrite()
    {
        using var dataDir = new TempFolder();
        string[] args = ["--compact-deleted-fraction", "0.3"];
        RunningServer server = await RunningServer.StartAsync(dataDir: dataDir.Path, args: args);
        Collection collection;
        Task<CheckpointResponse> checkpoint;
        Dictionary<long, int> expected;
        try
        {
            expected = await WriteTombstonesAsync(server, "c");
            (collection, checkpoint) = await StartHeldCompactionAsync(server, "c");
            // Acknowledged while the copy is held: applied to the old index only, which is the one that must be kept.
            await server.Vectors.UpsertAsync(Upsert("c", [5000, 5001], version: 1));
            await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { 0 } });
            await server.Vectors.UpsertAsync(Upsert("c", [1], version: 7));
            expected[5000] = expected[5001] = 1;
            expected.Remove(0);
            expected[1] = 7;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        Task stopped = server.DisposeAsync().AsTask();
        Assert.True(await Task.WhenAny(stopped, Task.Delay(PromptBound)) == stopped,
            $"the server did not stop within {PromptBound.TotalSeconds} s of a shutdown during a compaction");
        await stopped;
        try
        {
            await checkpoint; // the client's channel closed first: the call is cancelled on the client's side
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or ObjectDisposedException)
        {
        }

        Assert.Equal(1, collection.CompactionsCancelled);
        Assert.Equal(0, collection.Compactions);
        await using RunningServer restarted = await RunningServer.StartAsync(dataDir: dataDir.Path, args: args);
        await AssertHoldsExactlyAsync(restarted, "c", expected);
        CollectionInfo info = await restarted.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        Assert.True(info.NodeCount > info.Count, "the shutdown's checkpoint compacted the index instead of saving it as it was");
    }

    [Fact]
    public async Task DroppingACollectionCancelsItsRunningCompaction()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--compact-deleted-fraction", "0.3"]);
        await WriteTombstonesAsync(server, "c");
        (Collection collection, Task<CheckpointResponse> checkpoint) = await StartHeldCompactionAsync(server, "c");

        await server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "c" }).ResponseAsync.WaitAsync(PromptBound);

        RpcException failed = await Assert.ThrowsAsync<RpcException>(() => checkpoint);
        Assert.Equal(StatusCode.NotFound, failed.StatusCode);
        Assert.Equal(1, collection.CompactionsCancelled);
        Assert.Equal(0, collection.Compactions);
        Assert.False(Directory.Exists(Path.Combine(server.DataDir, "c")));
        await server.Collections.CreateCollectionAsync(Create("c"));
        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        Assert.Equal(0ul, info.NodeCount);
    }

    /// <summary>Creates the collection with 1,600 nodes of which 900 live (past the 0.3 tombstone fraction); returns the
    /// version of each live id.</summary>
    private static async Task<Dictionary<long, int>> WriteTombstonesAsync(RunningServer server, string name)
    {
        await server.Collections.CreateCollectionAsync(Create(name));
        await server.Vectors.UpsertAsync(Upsert(name, Enumerable.Range(0, 1000).Select(i => (long)i), version: 1));
        await server.Vectors.UpsertAsync(Upsert(name, Enumerable.Range(0, 600).Select(i => (long)i), version: 2));
        await server.Vectors.DeleteAsync(new DeleteRequest { Collection = name, Ids = { Enumerable.Range(900, 100).Select(i => (long)i) } });
        return Enumerable.Range(0, 900).ToDictionary(i => (long)i, i => i < 600 ? 2 : 1);
    }

    /// <summary>Starts a Checkpoint whose compaction's copy is held until it is cancelled (or for
    /// <see cref="HeldCopyLimit"/>), and returns once the copy is being held.</summary>
    private static async Task<(Collection Collection, Task<CheckpointResponse> Checkpoint)> StartHeldCompactionAsync(
        RunningServer server, string name)
    {
        var copying = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Collection collection;
        using (CollectionLease lease = server.Registry.Acquire(name)) collection = lease.Collection;
        collection.Compaction.BeforeCopyBatch = stop =>
        {
            copying.TrySetResult();
            stop.WaitHandle.WaitOne(HeldCopyLimit);
        };
        Task<CheckpointResponse> checkpoint = server.Collections.CheckpointAsync(new CheckpointRequest { Name = name }).ResponseAsync;
        await Task.WhenAny(copying.Task, checkpoint).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(copying.Task.IsCompleted, "the checkpoint did not start a compaction");
        return (collection, checkpoint);
    }

    [Fact]
    public async Task WritesMadeWhileTheNewIndexIsBuiltAreAllInIt()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--compact-deleted-fraction", "0.2"]);
        await server.Collections.CreateCollectionAsync(Create("c"));
        const int points = 6000;
        var expected = new Dictionary<long, int>();
        for (int start = 0; start < points; start += 1000)
            await server.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(start, 1000).Select(i => (long)i), version: 1));
        await server.Vectors.UpsertAsync(Upsert("c", Enumerable.Range(0, 2000).Select(i => (long)i), version: 2));
        await server.Vectors.UpsertAsync(Upsert("c", [points + 1001, points + 1002], version: 1));
        for (long id = 0; id < points; id++) expected[id] = id < 2000 ? 2 : 1;
        expected[points + 1001] = expected[points + 1002] = 1;

        // One writer changes points one request at a time for as long as the checkpoint (and its rebuild) runs.
        using var stop = new CancellationTokenSource();
        int written = 0;
        Task writer = Task.Run(async () =>
        {
            var random = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                long id = random.Next(points + 500);
                if (random.Next(4) == 0)
                {
                    await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { id } });
                    lock (expected) expected.Remove(id);
                }
                else
                {
                    int version = 3 + written;
                    await server.Vectors.UpsertAsync(Upsert("c", [id], version));
                    lock (expected) expected[id] = version;
                }
                Interlocked.Increment(ref written);
            }
        });
        // Only once the writer is warm, so that its writes keep coming while the index is copied. And a few writes for
        // certain between the copy and the switch: applied to the old index only, they must be carried to the new one.
        while (Volatile.Read(ref written) < 20) await Task.Delay(5);
        int writtenBefore = Volatile.Read(ref written);
        using (CollectionLease lease = server.Registry.Acquire("c"))
        {
            lease.Collection.Compaction.AfterCopy = async () =>
            {
                // Ids the random writer never touches, so that the expected state does not depend on its timing.
                await server.Vectors.UpsertAsync(Upsert("c", [points + 1000], version: 1));
                await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { points + 1001 } });
                await server.Vectors.UpsertAsync(Upsert("c", [points + 1002], version: 999_999));
                lock (expected)
                {
                    expected[points + 1000] = 1;
                    expected.Remove(points + 1001);
                    expected[points + 1002] = 999_999;
                }
            };
        }
        CheckpointResponse checkpoint = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });
        await Task.Delay(100);
        await stop.CancelAsync();
        await writer;

        await AssertHoldsExactlyAsync(server, "c", expected);
        using (CollectionLease lease = server.Registry.Acquire("c"))
        {
            Assert.Equal(1, lease.Collection.Compactions);
            Assert.True(lease.Collection.CompactionReappliedRecords >= 3, "the writes made between the copy and the switch were not read back");
        }
        Assert.True(written > writtenBefore, "no write ran beside the checkpoint");
    }

    /// <summary>Every id of <paramref name="versions"/> is found with its version's vector, by Get and by a search for that
    /// vector, and the collection holds no other point.</summary>
    private static async Task AssertHoldsExactlyAsync(RunningServer server, string collection, Dictionary<long, int> versions)
    {
        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = collection });
        Assert.Equal((ulong)versions.Count, info.Count);
        foreach (long[] chunk in versions.Keys.Order().Chunk(1000))
        {
            GetResponse got = await server.Vectors.GetAsync(new GetRequest { Collection = collection, Ids = { chunk } });
            Assert.Empty(got.MissingIds);
            foreach (Point point in got.Points)
            {
                Assert.Equal(VectorOf(point.Id, versions[point.Id]), point.Vector);
                Assert.Equal([(int)(point.Id % 3)], point.Labels);
            }
        }
        int notFirst = 0;
        foreach ((long id, int version) in versions)
        {
            SearchResponse found = await server.Vectors.SearchAsync(TestData.Search(collection, VectorOf(id, version), k: 1, ef: 400));
            // Another point may hold the same vector (the seeds of two versions can collide): distance 0 is as good.
            if (found.Hits.Count == 0 || (found.Hits[0].Id != id && found.Hits[0].Distance != 0)) notFirst++;
        }
        Assert.Equal(0, notFirst);
    }
}
