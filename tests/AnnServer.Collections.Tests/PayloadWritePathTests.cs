using AnnServer.Core;
using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;
using Microsoft.Extensions.Logging.Abstractions;

namespace AnnServer.Collections.Tests;

/// <summary>
/// The collection's payload write path: writes in flight cannot give a field two kinds (the kinds are reserved in log
/// order, so nothing logged fails to apply or to replay), payload writes replay from the log, and while a log tail
/// replays in the background, reads that need payloads are refused (UNAVAILABLE) rather than answered wrong.
/// </summary>
public sealed class PayloadWritePathTests
{
    private const int Dimension = 4;
    private static readonly HnswOptions Options = new() { Dimension = Dimension, M = 8, EfConstruction = 32 };

    private static UpsertBatch Batch(long firstId, int count, Func<long, Payload?> payloadOf)
    {
        long[] ids = Enumerable.Range(0, count).Select(i => firstId + i).ToArray();
        return new UpsertBatch(Dimension, ids, TestData.RandomVectors(count, Dimension, seed: (int)firstId), new int[]?[count],
            ids.Select(payloadOf).ToArray());
    }

    private static async Task<CollectionRegistry> OpenAsync(string dataDir, DurabilityOptions? durability = null)
    {
        var registry = new CollectionRegistry(new DataDirectory(dataDir), NullLogger<CollectionRegistry>.Instance, durability ?? new DurabilityOptions());
        await registry.LoadAsync([], CancellationToken.None);
        return registry;
    }

    [Fact]
    public async Task ConcurrentWritesCannotGiveANewFieldTwoKindsAndWhatWasAcknowledgedReplays()
    {
        using var dataDir = new TempFolder();
        var acknowledged = new Dictionary<long, PayloadKind>();
        await using (CollectionRegistry registry = await OpenAsync(dataDir.Path))
        {
            await registry.CreateAsync("c", Options, CancellationToken.None);
            using CollectionLease lease = registry.Acquire("c");
            for (int round = 0; round < 5; round++)
            {
                string field = $"f{round}";
                Task<UpsertResult>[] writes = Enumerable.Range(0, 8).Select(w =>
                {
                    long id = round * 100 + w;
                    PayloadValue value = w % 2 == 0 ? PayloadValue.Int64(w) : PayloadValue.Keyword($"k{w}");
                    return Task.Run(async () => await lease.Collection.UpsertAsync(Batch(id, 1, _ => new Payload { { field, value } }), CancellationToken.None));
                }).ToArray();
                await Task.WhenAll(writes.Select(w => w.ContinueWith(_ => { })));

                PayloadKind? kind = null;
                for (int w = 0; w < writes.Length; w++)
                {
                    PayloadKind written = w % 2 == 0 ? PayloadKind.Int64 : PayloadKind.Keyword;
                    if (writes[w].IsCompletedSuccessfully)
                    {
                        Assert.True(kind is null || kind == written, $"round {round}: both kinds of '{field}' were acknowledged");
                        kind = written;
                        acknowledged[round * 100 + w] = written;
                    }
                    else
                    {
                        ArgumentException refused = Assert.IsAssignableFrom<ArgumentException>(writes[w].Exception!.InnerException);
                        Assert.Contains($"'{field}'", refused.Message);
                        Assert.False(lease.Collection.CurrentIndex.Contains(round * 100 + w), "a refused write changed the collection");
                    }
                }
                Assert.NotNull(kind);
            }
        }

        await using CollectionRegistry reopened = await OpenAsync(dataDir.Path);
        using CollectionLease after = reopened.Acquire("c");
        Assert.Equal(acknowledged.Count, after.Collection.Count);
        foreach ((long id, PayloadKind kind) in acknowledged)
        {
            Assert.True(after.Collection.CurrentIndex.TryGetPayload(id, out Payload payload));
            Assert.Equal(kind, payload.Single().Value.Kind);
        }
    }

    [Fact]
    public async Task ManySmallUpsertsAppliedTogetherKeepEachPointsPayload()
    {
        using var dataDir = new TempFolder();
        await using CollectionRegistry registry = await OpenAsync(dataDir.Path);
        await registry.CreateAsync("c", Options, CancellationToken.None);
        using CollectionLease lease = registry.Acquire("c");

        // 64 concurrent writes of 8 points: durable together, they are applied as runs of more than 256 points (one
        // UpsertMany over all cores), some points with a payload and some without.
        await Task.WhenAll(Enumerable.Range(0, 64).Select(w => Task.Run(async () =>
            await lease.Collection.UpsertAsync(Batch(w * 8, 8, id => id % 3 == 0 ? null : new Payload { { "id", id }, { "writer", $"w{w}" } }),
                CancellationToken.None))));

        for (long id = 0; id < 512; id++)
        {
            Payload? payload = lease.Collection.ReadPayload(id, PayloadSelection.All);
            Assert.Equal(id % 3 == 0 ? null : $"{{id: {id}, writer: \"w{id / 8}\"}}", payload?.ToString());
        }
    }

    [Fact]
    public async Task PayloadChangesReplayFromTheLogInTheOrderTheyWereAcknowledged()
    {
        using var dataDir = new TempFolder();
        await using (CollectionRegistry registry = await OpenAsync(dataDir.Path))
        {
            await registry.CreateAsync("c", Options, CancellationToken.None);
            using CollectionLease lease = registry.Acquire("c");
            Collection collection = lease.Collection;
            await collection.UpsertAsync(Batch(0, 10, id => new Payload { { "color", "red" }, { "rank", id } }), CancellationToken.None);
            PayloadWriteResult set = await collection.SetPayloadAsync([1, 2, 77], new Payload { { "color", "blue" } }, PayloadWriteMode.Merge, CancellationToken.None);
            await collection.SetPayloadAsync([3], new Payload { { "tags", PayloadValue.Keywords("x") } }, PayloadWriteMode.Replace, CancellationToken.None);
            await collection.DeletePayloadAsync([4, 2], ["rank"], CancellationToken.None);
            await collection.SetPayloadAsync([5], new Payload(), PayloadWriteMode.Replace, CancellationToken.None);
            Assert.Equal((2, 1), (set.Updated, set.NotFound));
        }

        await using CollectionRegistry reopened = await OpenAsync(dataDir.Path);
        using CollectionLease after = reopened.Acquire("c");
        Payload Read(long id) => after.Collection.ReadPayload(id, PayloadSelection.All) ?? new Payload();
        Assert.Equal("{color: \"blue\", rank: 1}", Read(1).ToString());
        Assert.Equal("{color: \"blue\"}", Read(2).ToString());
        Assert.Equal("{tags: [\"x\"]}", Read(3).ToString());
        Assert.Equal("{color: \"red\"}", Read(4).ToString());
        Assert.Empty(Read(5));
        Assert.Equal(2, after.Collection.CountMatching(SearchFilter.Of(Filter.All(new KeywordMatch("color", "blue")))));
    }

    [Fact]
    public async Task WhileTheTailReplaysReadsThatNeedPayloadsAreRefusedAndOthersAnswered()
    {
        using var dataDir = new TempFolder();
        await using (CollectionRegistry registry = await OpenAsync(dataDir.Path))
        {
            await registry.CreateAsync("c", Options, CancellationToken.None);
            using CollectionLease lease = registry.Acquire("c");
            await lease.Collection.UpsertAsync(Batch(0, 50, id => new Payload { { "even", id % 2 == 0 } }), CancellationToken.None);
        }

        using var hold = new ManualResetEventSlim(false);
        var reached = new TaskCompletionSource();
        var durability = new DurabilityOptions
        {
            BackgroundReplayPoints = 1,
            BeforeBackgroundReplayRecord = _ =>
            {
                reached.TrySetResult();
                hold.Wait(TimeSpan.FromMinutes(2));
            },
        };
        await using CollectionRegistry reopened = await OpenAsync(dataDir.Path, durability);
        using CollectionLease replaying = reopened.Acquire("c");
        Collection collection = replaying.Collection;
        await reached.Task.WaitAsync(TimeSpan.FromMinutes(1));
        var even = SearchFilter.Of(Filter.All(new BoolMatch("even", true)));
        var hits = new SearchHit[5];
        try
        {
            Assert.True(collection.IsReplaying);
            Assert.Throws<CollectionUnavailableException>(() => collection.Search(new float[Dimension], 5, 16, hits, even));
            Assert.Throws<CollectionUnavailableException>(() => PointReads.Read(collection, [1], 1 << 20, PayloadSelection.All, true, CancellationToken.None));
            Assert.Throws<CollectionUnavailableException>(() => collection.CountMatching(even));
            Assert.Throws<CollectionUnavailableException>(() => collection.Scroll(new ScrollParameters(null, null, 10, 1 << 20, ReadOptions.Default), CancellationToken.None));
            // What needs no payload is answered, exactly, from the tail.
            Assert.Equal(5, collection.Search(new float[Dimension], 5, 16, hits, null));
            Assert.Single(PointReads.Read(collection, [1], 1 << 20, PayloadSelection.None, true, CancellationToken.None).Points);
            Assert.Equal(50, collection.CountMatching(null));
        }
        finally
        {
            hold.Set();
        }
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (collection.IsReplaying && waited.Elapsed < TimeSpan.FromMinutes(1)) await Task.Delay(10);

        Assert.Equal(25, collection.CountMatching(even));
        Assert.Equal(5, collection.Search(new float[Dimension], 5, 16, hits, even));
        Assert.All(hits, h => Assert.Equal(0, h.Id % 2));
    }

    [Fact]
    public async Task ACollectionWithoutPayloadsAnswersPayloadReadsWhileItsTailReplays()
    {
        using var dataDir = new TempFolder();
        await using (CollectionRegistry registry = await OpenAsync(dataDir.Path))
        {
            await registry.CreateAsync("c", Options, CancellationToken.None);
            using CollectionLease lease = registry.Acquire("c");
            await lease.Collection.UpsertAsync(Batch(0, 20, _ => null), CancellationToken.None);
        }

        using var hold = new ManualResetEventSlim(false);
        var reached = new TaskCompletionSource();
        var durability = new DurabilityOptions
        {
            BackgroundReplayPoints = 1,
            BeforeBackgroundReplayRecord = _ =>
            {
                reached.TrySetResult();
                hold.Wait(TimeSpan.FromMinutes(2));
            },
        };
        await using CollectionRegistry reopened = await OpenAsync(dataDir.Path, durability);
        using CollectionLease replaying = reopened.Acquire("c");
        await reached.Task.WaitAsync(TimeSpan.FromMinutes(1));
        try
        {
            // A Get asks for every payload field by default: a current client's Get must keep working during a replay.
            PointsResult read = PointReads.Read(replaying.Collection, [3], 1 << 20, PayloadSelection.All, true, CancellationToken.None);
            Assert.Null(read.Points.Single().Payload);
        }
        finally
        {
            hold.Set();
        }
    }
}
