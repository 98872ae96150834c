using AnnServer.Core;
using AnnServer.Core.Payloads;
using Microsoft.Extensions.Logging.Abstractions;

namespace AnnServer.Collections.Tests;

/// <summary>A compaction rebuilds the index from its live points: their payloads go along with their vectors.</summary>
public sealed class CompactionPayloadTests
{
    [Fact]
    public async Task ACompactionCopiesEveryLivePointsPayload()
    {
        using var dataDir = new TempFolder();
        await using var registry = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance,
            new DurabilityOptions { CompactDeletedFraction = 0.3 });
        await registry.LoadAsync([], CancellationToken.None);
        await registry.CreateAsync("c", new HnswOptions { Dimension = 4, M = 8, EfConstruction = 32 }, CancellationToken.None);
        using CollectionLease lease = registry.Acquire("c");
        Collection collection = lease.Collection;
        long[] ids = Enumerable.Range(0, 200).Select(i => (long)i).ToArray();
        await collection.UpsertAsync(new UpsertBatch(4, ids, TestData.RandomVectors(200, 4, seed: 1), new int[]?[200]), CancellationToken.None);
        HnswIndex before = collection.CurrentIndex;
        foreach (long id in ids)
            Assert.True(before.SetPayload(id, new Payload { { "color", id % 2 == 0 ? "red" : "blue" }, { "rank", id }, { "tags", PayloadValue.Keywords("a", $"t{id}") } }));
        await collection.DeleteAsync(ids[..100], CancellationToken.None);

        await collection.CheckpointAsync(CancellationToken.None);

        Assert.Equal(1, collection.Compactions);
        HnswIndex after = collection.CurrentIndex;
        Assert.NotSame(before, after);
        for (long id = 100; id < 200; id++)
        {
            Assert.True(after.TryGetPayload(id, out Payload payload), $"id {id} lost its payload");
            Assert.Equal(id % 2 == 0 ? "red" : "blue", payload.Single(f => f.Name == "color").Value.AsKeyword());
            Assert.Equal(id, payload.Single(f => f.Name == "rank").Value.AsInt64());
            Assert.Equal(["a", $"t{id}"], payload.Single(f => f.Name == "tags").Value.AsKeywords());
        }
        Assert.Equal(50, after.CountMatching(SearchFilter.Of(Core.Filtering.Filter.All(new Core.Filtering.KeywordMatch("color", "red")))));
    }
}
