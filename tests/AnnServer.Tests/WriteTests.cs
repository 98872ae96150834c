using AnnServer.Protocol.V1;

namespace AnnServer.Tests;

/// <summary>Creating collections, writing points, reading them back, and what survives a restart.</summary>
public sealed class WriteTests
{
    private const int Dimension = 8;

    private static async Task CreateAsync(RunningServer server, string name, Metric metric = Metric.L2) =>
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Dimension = Dimension, Metric = metric, M = 8, EfConstruction = 64 });

    private static UpsertRequest Upsert(string collection, int count, int firstId, int seed)
    {
        float[] vectors = TestData.RandomVectors(count, Dimension, seed);
        var request = new UpsertRequest { Collection = collection };
        for (int i = 0; i < count; i++)
            request.Points.Add(TestData.Point(firstId + i, TestData.Row(vectors, Dimension, i), i % 4));
        return request;
    }

    [Fact]
    public async Task ACreatedCollectionIsListedDescribedAndSnapshotted()
    {
        await using RunningServer server = await RunningServer.StartAsync();

        CreateCollectionResponse created = await server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "docs", Dimension = 16, Metric = Metric.Cosine });
        ListCollectionsResponse list = await server.Collections.ListCollectionsAsync(new ListCollectionsRequest());

        Assert.Equal("docs", created.Info.Name);
        Assert.Equal(16u, created.Info.Dimension);
        Assert.Equal(Metric.Cosine, created.Info.Metric);
        Assert.Equal(16u, created.Info.M);                // 0 = default
        Assert.Equal(200u, created.Info.EfConstruction);  // 0 = default
        Assert.Equal(0ul, created.Info.Count);
        Assert.Equal(["docs"], list.Collections.Select(c => c.Name));
        Assert.True(File.Exists(Path.Combine(server.DataDir, "docs", "snapshot.snap")));
    }

    [Fact]
    public async Task UpsertedPointsCanBeReadBackWithTheirLabels()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await CreateAsync(server, "c");
        UpsertRequest upsert = Upsert("c", 20, firstId: 1, seed: 5);

        UpsertResponse written = await server.Vectors.UpsertAsync(upsert);
        GetResponse read = await server.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { 3, 999, 7 } });

        Assert.Equal(20u, written.Inserted);
        Assert.Equal(0u, written.Replaced);
        Assert.Equal([3L, 7L], read.Points.Select(p => p.Id));
        Assert.Equal(upsert.Points[2].Vector, read.Points[0].Vector);
        Assert.Equal(upsert.Points[2].Labels, read.Points[0].Labels);
        Assert.Equal([999L], read.MissingIds);
    }

    [Fact]
    public async Task UpsertingAnExistingIdReplacesItsVector()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await CreateAsync(server, "c");
        await server.Vectors.UpsertAsync(Upsert("c", 10, firstId: 1, seed: 5));
        float[] moved = [9, 9, 9, 9, 9, 9, 9, 9];

        UpsertResponse written = await server.Vectors.UpsertAsync(new UpsertRequest { Collection = "c", Points = { TestData.Point(4, moved) } });
        SearchResponse nearest = await server.Vectors.SearchAsync(TestData.Search("c", moved, k: 1));
        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });

        Assert.Equal((0u, 1u), (written.Inserted, written.Replaced));
        Assert.Equal(4, nearest.Hits[0].Id);
        Assert.Equal(0f, nearest.Hits[0].Distance);
        Assert.Equal(10ul, info.Count);
    }

    [Fact]
    public async Task ALargeBatchIsInsertedWholeAndReplacedWhole()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await CreateAsync(server, "c");

        UpsertResponse first = await server.Vectors.UpsertAsync(Upsert("c", 600, firstId: 0, seed: 1));
        UpsertRequest second = Upsert("c", 600, firstId: 0, seed: 2);
        UpsertResponse again = await server.Vectors.UpsertAsync(second);
        GetResponse read = await server.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { 0, 599 } });
        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });

        Assert.Equal((600u, 0u), (first.Inserted, first.Replaced));
        Assert.Equal((0u, 600u), (again.Inserted, again.Replaced));
        Assert.Equal(600ul, info.Count);
        Assert.Equal(second.Points[0].Vector, read.Points[0].Vector);
        Assert.Equal(second.Points[599].Vector, read.Points[1].Vector);
    }

    [Fact]
    public async Task DeletedPointsAreNeverReturned()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await CreateAsync(server, "c");
        UpsertRequest upsert = Upsert("c", 50, firstId: 1, seed: 3);
        await server.Vectors.UpsertAsync(upsert);
        float[] query = upsert.Points[9].Vector.ToArray();

        DeleteResponse deleted = await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { 10, 11, 12345 } });
        SearchResponse nearest = await server.Vectors.SearchAsync(TestData.Search("c", query, k: 49, ef: 100));
        GetResponse read = await server.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { 10 } });

        Assert.Equal((2u, 1u), (deleted.Deleted, deleted.NotFound));
        Assert.Equal(48, nearest.Hits.Count);
        Assert.DoesNotContain(nearest.Hits, hit => hit.Id is 10 or 11);
        Assert.Equal([10L], read.MissingIds);
    }

    [Fact]
    public async Task DropRemovesTheCollectionAndItsFolder()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await CreateAsync(server, "gone");

        await server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "gone" });
        ListCollectionsResponse list = await server.Collections.ListCollectionsAsync(new ListCollectionsRequest());

        Assert.Empty(list.Collections);
        Assert.False(Directory.Exists(Path.Combine(server.DataDir, "gone")));
        Assert.Equal([".lock", ".lock.pid"], Directory.GetFileSystemEntries(server.DataDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        await CreateAsync(server, "gone"); // the name is free again
    }

    [Fact]
    public async Task CheckpointSavesEverythingWrittenSoFar()
    {
        using var dataDir = new TempFolder();
        UpsertRequest upsert = Upsert("c", 30, firstId: 1, seed: 8);
        await using (RunningServer server = await RunningServer.StartAsync(dataDir.Path))
        {
            await CreateAsync(server, "c");
            await server.Vectors.UpsertAsync(upsert);
            CheckpointResponse checkpoint = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });
            Assert.Equal(0ul, checkpoint.Info.WritesSinceSnapshot);
            Assert.Equal(30ul, checkpoint.Info.Count);
        }

        await using RunningServer restarted = await RunningServer.StartAsync(dataDir.Path);
        GetResponse read = await restarted.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { 1, 30 } });
        Assert.Equal(upsert.Points[0].Vector, read.Points[0].Vector);
        Assert.Equal(upsert.Points[29].Vector, read.Points[1].Vector);
    }

    [Fact]
    public async Task ACleanShutdownSnapshotsUnsavedWrites()
    {
        using var dataDir = new TempFolder();
        await using (RunningServer server = await RunningServer.StartAsync(dataDir.Path))
        {
            await CreateAsync(server, "a");
            await CreateAsync(server, "b", Metric.InnerProduct);
            await server.Vectors.UpsertAsync(Upsert("a", 25, firstId: 1, seed: 4));
            await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "a", Ids = { 1 } });
        }

        await using RunningServer restarted = await RunningServer.StartAsync(dataDir.Path);
        ListCollectionsResponse list = await restarted.Collections.ListCollectionsAsync(new ListCollectionsRequest());

        Assert.Equal(["a", "b"], list.Collections.Select(c => c.Name));
        Assert.Equal(24ul, list.Collections[0].Count);
        Assert.Equal(Metric.InnerProduct, list.Collections[1].Metric);
        Assert.Equal(0ul, list.Collections[0].WritesSinceSnapshot);
    }
}
