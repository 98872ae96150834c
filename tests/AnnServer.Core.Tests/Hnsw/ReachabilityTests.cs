using AnnServer.Core;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Snapshots;

namespace AnnServer.Core.Tests.Hnsw;

/// <summary>
/// Every inserted point must stay findable by its own vector. The neighbour heuristic alone does not promise it: pruning
/// can drop an outlier from the one list that named it (these insertion orders did, before level-0 in-links were kept).
/// </summary>
public sealed class ReachabilityTests : IDisposable
{
    private const int Dimension = 32, Points = 8_000;
    private readonly string _folder = Directory.CreateTempSubdirectory("annserver-reachability-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(55)]
    [InlineData(74)]
    [InlineData(79)]
    public void APointTheHeuristicWouldOrphanStaysFindable(int shuffleSeed)
    {
        float[] data = TestData.Clustered(Points, Dimension, seed: 11);
        int[] order = [.. Enumerable.Range(0, Points)];
        new Random(shuffleSeed).Shuffle(order);
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 16, EfConstruction = 100 });
        foreach (int row in order) index.Upsert(row, TestData.Row(data, row, Dimension));

        AssertInLinkCountsMatchTheLists(index.Storage);
        Assert.Equal(0, PointsNotFoundByTheirOwnVector(index, data));
    }

    [Fact]
    public void InLinkCountsAreRebuiltWhenASnapshotIsRead()
    {
        float[] data = TestData.Clustered(2_000, Dimension, seed: 5);
        using var original = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 50 });
        original.UpsertMany(data, TestData.Ids(2_000), threads: 2);
        string path = Path.Combine(_folder, "a.snap");
        Snapshot.Save(original, path);

        foreach (bool readIntoMemory in new[] { true, false })
        {
            using var loaded = Snapshot.Load(path, new SnapshotLoadOptions { ReadIntoMemory = readIntoMemory }).Index;
            // Counted at the first insert, not at load; then they are the original's, and stay true to the lists.
            loaded.Storage.EnsureInLinksCounted();
            AssertInLinkCountsMatchTheLists(loaded.Storage);
            for (int n = 0; n < loaded.NodeCount; n++) Assert.Equal(original.Storage.InLinks0[n], loaded.Storage.InLinks0[n]);
        }
        foreach (bool readIntoMemory in new[] { true, false })
        {
            using var loaded = Snapshot.Load(path, new SnapshotLoadOptions { ReadIntoMemory = readIntoMemory }).Index;
            float[] more = TestData.Clustered(200, Dimension, seed: 6);
            loaded.UpsertMany(more, TestData.Ids(200, offset: 10_000), threads: 2);
            AssertInLinkCountsMatchTheLists(loaded.Storage);
        }
    }

    internal static unsafe void AssertInLinkCountsMatchTheLists(GraphStorage storage)
    {
        var counted = new int[storage.NodeCount];
        for (int node = 0; node < storage.NodeCount; node++)
        {
            int* links = storage.Links0(node);
            for (int i = 1; i <= links[0]; i++) counted[links[i]]++;
        }
        for (int node = 0; node < storage.NodeCount; node++) Assert.Equal(counted[node], storage.InLinks0[node]);
    }

    internal static int PointsNotFoundByTheirOwnVector(HnswIndex index, float[] data)
    {
        int missing = 0;
        for (int row = 0; row < data.Length / index.Dimension; row++)
        {
            var hits = index.Search(TestData.Row(data, row, index.Dimension), 1, 100);
            if (hits.Length == 0 || hits[0].Distance != 0) missing++;
        }
        return missing;
    }
}
