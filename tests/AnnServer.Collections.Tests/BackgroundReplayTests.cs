using AnnServer.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace AnnServer.Collections.Tests;

/// <summary>
/// A restart whose log tail is large serves before the tail is in the graph: held half way through that replay, every
/// read sees exactly the state after the whole log (acknowledged upserts, replacements and deletes), writes and
/// checkpoints are refused, and once the replay ends everything is as after a replay before serving.
/// </summary>
public sealed class BackgroundReplayTests
{
    private const int Dimension = 8;
    private static readonly HnswOptions Options = new() { Dimension = Dimension, M = 8, EfConstruction = 64 };

    // The tail's records 0-5 are upserts of distinct ids, gathered in one run and inserted together when record 6 (a
    // delete) comes: held before record 4 nothing is in the graph yet; before record 7, records 0-6 are and 7-8 are not.
    [Theory]
    [InlineData(4)]
    [InlineData(7)]
    public async Task ReadsHalfWayThroughTheReplaySeeTheStateAfterTheWholeLog(int heldBeforeRecord)
    {
        using var dataDir = new TempFolder();
        Dictionary<long, float[]> expected = await WriteSnapshotAndTailAsync(dataDir.Path);

        using var hold = new ManualResetEventSlim(false);
        var reached = new TaskCompletionSource();
        var durability = new DurabilityOptions
        {
            BackgroundReplayPoints = 1,
            BeforeBackgroundReplayRecord = record =>
            {
                if (record != heldBeforeRecord) return;
                reached.TrySetResult();
                hold.Wait(TimeSpan.FromMinutes(2));
            },
        };
        await using var registry = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance, durability);
        await registry.LoadAsync([], CancellationToken.None);
        using CollectionLease lease = registry.Acquire("c");
        Collection collection = lease.Collection;
        await reached.Task.WaitAsync(TimeSpan.FromMinutes(1));
        try
        {
            await AssertHalfWayAsync(collection, expected);
        }
        finally
        {
            hold.Set(); // else a failure above waits for the hold's timeout in the registry's close
        }
        await WaitUntilAsync(() => !collection.IsReplaying);

        Assert.Equal(CollectionState.Ready, collection.Status().State);
        Assert.Equal(0, collection.Status().ReplayPendingPoints);
        AssertReadsSee(collection, expected);
        UpsertResult written = await collection.UpsertAsync(new UpsertBatch(Dimension, [9999], new float[Dimension], [null]), CancellationToken.None);
        Assert.Equal(1, written.Inserted);
        await collection.CheckpointAsync(CancellationToken.None);
    }

    private static async Task AssertHalfWayAsync(Collection collection, Dictionary<long, float[]> expected)
    {

        Assert.True(collection.IsReplaying);
        CollectionStatus status = collection.Status();
        Assert.Equal(CollectionState.Replaying, status.State);
        Assert.True(status.ReplayPendingPoints > 0, $"{status.ReplayPendingPoints} points pending");
        AssertReadsSee(collection, expected);
        var refused = await Assert.ThrowsAsync<CollectionUnavailableException>(async () =>
            await collection.UpsertAsync(new UpsertBatch(Dimension, [9999], new float[Dimension], [null]), CancellationToken.None));
        Assert.Contains("log records left", refused.Message);
        await Assert.ThrowsAsync<CollectionUnavailableException>(async () => await collection.DeleteAsync(new long[] { 60 }, CancellationToken.None));
        await Assert.ThrowsAsync<CollectionUnavailableException>(async () => await collection.CheckpointAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AReplayStoppedByAShutdownIsFinishedByTheNextStart()
    {
        using var dataDir = new TempFolder();
        Dictionary<long, float[]> expected = await WriteSnapshotAndTailAsync(dataDir.Path);

        using var hold = new ManualResetEventSlim(false);
        var reached = new TaskCompletionSource();
        var holding = new DurabilityOptions
        {
            BackgroundReplayPoints = 1,
            BeforeBackgroundReplayRecord = record =>
            {
                if (record != 2) return;
                reached.TrySetResult();
                hold.Wait(TimeSpan.FromMinutes(2));
            },
        };
        var registry = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance, holding);
        await registry.LoadAsync([], CancellationToken.None);
        await reached.Task.WaitAsync(TimeSpan.FromMinutes(1));
        ValueTask closing = registry.DisposeAsync();
        hold.Set();
        await closing;

        await using var reopened = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance,
            new DurabilityOptions { BackgroundReplayPoints = 1 });
        await reopened.LoadAsync([], CancellationToken.None);
        using CollectionLease lease = reopened.Acquire("c");
        await WaitUntilAsync(() => !lease.Collection.IsReplaying);
        AssertReadsSee(lease.Collection, expected);
    }

    [Fact]
    public async Task ATailBelowTheThresholdIsReplayedBeforeTheCollectionServes()
    {
        using var dataDir = new TempFolder();
        Dictionary<long, float[]> expected = await WriteSnapshotAndTailAsync(dataDir.Path);

        await using var registry = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance,
            new DurabilityOptions { BackgroundReplayPoints = 100_000 });
        await registry.LoadAsync([], CancellationToken.None);
        using CollectionLease lease = registry.Acquire("c");

        Assert.False(lease.Collection.IsReplaying);
        AssertReadsSee(lease.Collection, expected);
    }

    /// <summary>A checkpointed snapshot of ids 0..299, then a tail of records (left unsaved) that replaces 200..299,
    /// adds 300..499, deletes 0..49 and 450..459 and re-adds 455; returns each live id's final vector.</summary>
    private static async Task<Dictionary<long, float[]>> WriteSnapshotAndTailAsync(string dataDir)
    {
        var expected = new Dictionary<long, float[]>();
        await using var registry = new CollectionRegistry(new DataDirectory(dataDir), NullLogger<CollectionRegistry>.Instance);
        await registry.LoadAsync([], CancellationToken.None);
        await registry.CreateAsync("c", Options, CancellationToken.None);
        using CollectionLease lease = registry.Acquire("c");
        Collection collection = lease.Collection;

        async Task UpsertAsync(long from, int count, int seed)
        {
            long[] ids = Enumerable.Range(0, count).Select(i => from + i).ToArray();
            float[] vectors = TestData.RandomVectors(count, Dimension, seed);
            await collection.UpsertAsync(new UpsertBatch(Dimension, ids, vectors, new int[]?[count]), CancellationToken.None);
            for (int i = 0; i < count; i++) expected[ids[i]] = TestData.Row(vectors, Dimension, i);
        }
        async Task DeleteAsync(long from, int count)
        {
            long[] ids = Enumerable.Range(0, count).Select(i => from + i).ToArray();
            await collection.DeleteAsync(ids, CancellationToken.None);
            foreach (long id in ids) expected.Remove(id);
        }

        for (int b = 0; b < 3; b++) await UpsertAsync(b * 100, 100, seed: b);
        await collection.CheckpointAsync(CancellationToken.None);
        for (int b = 0; b < 6; b++) await UpsertAsync(200 + b * 50, 50, seed: 10 + b);
        await DeleteAsync(0, 50);
        await DeleteAsync(450, 10);
        await UpsertAsync(455, 1, seed: 99);
        Assert.True(collection.HasUnsavedWrites);
        return expected; // closed without a checkpoint: the next start replays 9 records
    }

    /// <summary>Gets, the count and searches answer exactly the final state: every live id with its last vector, no
    /// deleted id, no id twice, each hit's distance the one to the id's last vector.</summary>
    private static void AssertReadsSee(Collection collection, Dictionary<long, float[]> expected)
    {
        Assert.Equal(expected.Count, collection.Count);
        Assert.Equal(expected.Count, collection.Status().Count);
        var vector = new float[Dimension];
        for (long id = 0; id < 500; id++)
        {
            bool found = collection.TryGet(id, vector, out _);
            Assert.Equal(expected.ContainsKey(id), found);
            if (found) Assert.Equal(expected[id], vector);
        }

        var hits = new SearchHit[20];
        foreach ((long id, float[] own) in expected)
        {
            int count = collection.Search(own, 20, 64, hits, filter: null);
            Assert.Equal(20, count);
            Assert.Equal(id, hits[0].Id);
            Assert.Equal(0f, hits[0].Distance);
            var seen = new HashSet<long>();
            for (int i = 0; i < count; i++)
            {
                Assert.True(seen.Add(hits[i].Id), $"id {hits[i].Id} answered twice");
                Assert.True(expected.TryGetValue(hits[i].Id, out float[]? final), $"deleted id {hits[i].Id} answered");
                float distance = 0;
                for (int d = 0; d < Dimension; d++) distance += (own[d] - final![d]) * (own[d] - final[d]);
                Assert.Equal(distance, hits[i].Distance, 1e-4f);
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the replay did not end within a minute");
            await Task.Delay(10);
        }
    }
}
