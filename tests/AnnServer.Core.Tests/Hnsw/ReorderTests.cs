using AnnServer.Core.Filtering;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Payloads;
using AnnServer.Core.Snapshots;
using AnnServer.Core.Tests.Filtering;

namespace AnnServer.Core.Tests.Hnsw;

/// <summary><see cref="HnswIndex.Reordered"/>: a renumbering of the nodes that changes no answer.</summary>
public sealed class ReorderTests : IDisposable
{
    private const int Dimension = 16;
    private const int Points = 1500;
    private readonly string _folder = Directory.CreateTempSubdirectory("annserver-reorder-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Clustered points, inserted in an order unrelated to where they lie, some deleted and some replaced.</summary>
    private static HnswIndex ChurnedIndex(VectorQuantization quantization)
    {
        var data = TestData.Clustered(Points, Dimension, seed: 3);
        var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 60, Quantization = quantization });
        index.UpsertMany(data, TestData.Ids(Points), threads: 1);
        for (long id = 0; id < Points; id += 9) index.Delete(id);
        var replacements = TestData.Clustered(50, Dimension, seed: 4);
        for (int i = 0; i < 50; i++) index.Upsert(i * 5 + 1, TestData.Row(replacements, i, Dimension), [i % 3]);
        return index;
    }

    private static void AssertSameSearches(HnswIndex expected, HnswIndex actual, SearchFilter? filter = null)
    {
        var queries = TestData.Clustered(60, Dimension, seed: 5);
        for (int q = 0; q < 60; q++)
        {
            var query = TestData.Row(queries, q, Dimension);
            foreach (int ef in (int[])[10, 40])
                Assert.Equal(expected.Search(query, 10, ef, filter), actual.Search(query, 10, ef, filter));
        }
    }

    /// <summary>GetIds lists the live points in node order, so that a compaction, which inserts them in that order, keeps a
    /// reordered index's locality.</summary>
    [Fact]
    public void GetIdsListsTheLivePointsInNodeOrder()
    {
        using var original = ChurnedIndex(VectorQuantization.None);
        using var reordered = original.Reordered(NodeOrdering.BreadthFirst);
        long[] ids = reordered.GetIds();
        var expected = new List<long>();
        for (int node = 0; node < reordered.Storage.NodeCount; node++)
            if (reordered.Storage.States[node] == NodeState.Live) expected.Add(reordered.Storage.Ids[node]);
        Assert.Equal(expected, ids);
        Assert.Equal(reordered.Count, ids.Length);
    }

    [Theory]
    [InlineData(NodeOrdering.BreadthFirst, VectorQuantization.None)]
    [InlineData(NodeOrdering.ReverseCuthillMcKee, VectorQuantization.None)]
    [InlineData(NodeOrdering.ReverseCuthillMcKee, VectorQuantization.Int8)]
    public void AReorderedIndexAnswersEverySearchExactlyAsBefore(NodeOrdering ordering, VectorQuantization quantization)
    {
        using var original = ChurnedIndex(quantization);
        using var reordered = original.Reordered(ordering);

        Assert.Equal(original.Count, reordered.Count);
        Assert.Equal(original.NodeCount, reordered.NodeCount);
        AssertSameSearches(original, reordered);
        AssertSameSearches(original, reordered, new SearchFilter(anyOfLabels: [1]));
    }

    [Fact]
    public void ReorderingPlacesLinkedNodesNearerEachOther()
    {
        using var original = ChurnedIndex(VectorQuantization.None);
        using var reordered = original.Reordered(NodeOrdering.ReverseCuthillMcKee);

        double before = MeanLinkGap(original), after = MeanLinkGap(reordered);
        // A small-world graph has no narrow band to find (a breadth-first level grows fast); on 1,000,000 clustered points
        // the gain was measured in searches per second, not in this figure (bench/results/catalogue.md).
        Assert.True(after < before * 0.8, $"mean |a − b| over level-0 links: {before:F0} before, {after:F0} after");
    }

    private static unsafe double MeanLinkGap(HnswIndex index)
    {
        GraphStorage storage = index.Storage;
        long gaps = 0, links = 0;
        for (int node = 0; node < storage.NodeCount; node++)
        {
            int* list = storage.Links0(node);
            for (int i = 1; i <= list[0]; i++) gaps += Math.Abs(list[i] - node);
            links += list[0];
        }
        return (double)gaps / links;
    }

    [Fact]
    public void GetsPayloadsLabelsAndFiltersAreUnchangedByReordering()
    {
        var points = FilterTestData.Points(400, seed: 81);
        using var original = FilterTestData.Index(points, seed: 82);
        for (long id = 0; id < 400; id += 7) original.Delete(id);
        original.SetPayload(1, new Payload { { "color", "violet" } });
        using var reordered = original.Reordered(NodeOrdering.ReverseCuthillMcKee);

        Assert.Equal(original.GetIds().Order(), reordered.GetIds().Order());
        var expectedVector = new float[FilterTestData.Dimension];
        var actualVector = new float[FilterTestData.Dimension];
        foreach (var point in points)
        {
            Assert.Equal(original.TryGet(point.Id, expectedVector, out int[] expectedLabels), reordered.TryGet(point.Id, actualVector, out int[] actualLabels));
            Assert.Equal(expectedVector, actualVector);
            Assert.Equal(expectedLabels, actualLabels);
            Assert.Equal(original.TryGetPayload(point.Id, out var expected), reordered.TryGetPayload(point.Id, out var actual));
            if (expected is not null) Assert.Equal(expected.ToList(), actual.ToList());
        }
        var filter = SearchFilter.Of(new Filter(
            must: [new KeywordMatch("color", "red", "violet")],
            should: [new NumericRange("price") { Lt = 10 }, new IntegerMatch("sizes", 40)],
            mustNot: [new BoolMatch("sponsored", true)]));
        Assert.Equal(original.Scroll(filter, null, 1000).Ids, reordered.Scroll(filter, null, 1000).Ids);
        Assert.Equal(EstimateOf(original, filter), EstimateOf(reordered, filter));
        AssertSameFilteredSearches(original, reordered, filter);
    }

    private static double EstimateOf(HnswIndex index, SearchFilter filter)
    {
        lock (index.MapLock)
            return FilterCompiler.Compile(filter, index.Storage, index.Payloads, new Dictionary<int, int>(), index.Count).EstimatedMatches;
    }

    private static void AssertSameFilteredSearches(HnswIndex expected, HnswIndex actual, SearchFilter filter)
    {
        var random = new Random(9);
        for (int q = 0; q < 40; q++)
        {
            float[] query = [.. Enumerable.Range(0, FilterTestData.Dimension).Select(_ => (float)random.NextDouble())];
            Assert.Equal(expected.Search(query, 10, 20, filter), actual.Search(query, 10, 20, filter));
        }
    }

    [Fact]
    public void AReorderedIndexIsSavedInTheSameFormatAndLoadsWithTheSameAnswers()
    {
        using var original = ChurnedIndex(VectorQuantization.None);
        original.SourcePosition = "offset 42";
        using var reordered = original.Reordered(NodeOrdering.ReverseCuthillMcKee);
        Snapshot.Save(original, Path.Combine(_folder, "original.snap"));
        Snapshot.Save(reordered, Path.Combine(_folder, "reordered.snap"));

        var before = Snapshot.ReadInfo(Path.Combine(_folder, "original.snap"));
        var after = Snapshot.ReadInfo(Path.Combine(_folder, "reordered.snap"));
        Assert.Equal(before.FormatVersion, after.FormatVersion);
        Assert.Equal(before.Sections.Select(s => (s.Name, s.Length)), after.Sections.Select(s => (s.Name, s.Length)));
        using var loaded = Snapshot.Load(Path.Combine(_folder, "reordered.snap")).Index;
        Assert.Equal("offset 42", loaded.SourcePosition);
        AssertSameSearches(original, loaded);
    }

    [Fact]
    public void AReorderedIndexTakesNewWritesAsAnyIndex()
    {
        using var original = ChurnedIndex(VectorQuantization.None);
        using var reordered = original.Reordered(NodeOrdering.BreadthFirst);
        var added = TestData.Clustered(200, Dimension, seed: 6);
        for (int i = 0; i < 200; i++)
        {
            original.Upsert(100_000 + i, TestData.Row(added, i, Dimension));
            reordered.Upsert(100_000 + i, TestData.Row(added, i, Dimension));
        }
        reordered.Delete(100_000);

        Assert.Equal(original.Count - 1, reordered.Count);
        for (int i = 1; i < 200; i++)
            Assert.Equal(100_000 + i, reordered.Search(TestData.Row(added, i, Dimension), 1, 40)[0].Id);
    }

    [Fact]
    public void ValueLinksAreRenumberedWithTheNodes()
    {
        var data = TestData.Clustered(600, Dimension, seed: 7, clusters: 6);
        var payloads = Enumerable.Range(0, 600).Select(i => (Payload?)new Payload { { "cluster", $"c{i % 6}" } }).ToList();
        using var original = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 60 });
        original.UpsertMany(data, TestData.Ids(600), null, payloads, threads: 1);
        original.LinkValues("cluster", threads: 1);
        original.ForcedStrategy = FilteredSearchStrategy.TwoHopWalk;
        using var reordered = original.Reordered(NodeOrdering.ReverseCuthillMcKee);

        Assert.Equal(original.ValueLinksMemoryBytes, reordered.ValueLinksMemoryBytes);
        AssertSameSearches(original, reordered, SearchFilter.Of(Filter.All(new KeywordMatch("cluster", "c2"))));
    }

    [Fact]
    public void APermutationMustNameEveryNodeOnce() =>
        Assert.Throws<ArgumentException>(() => new NodePermutation([0, 2, 2]));
}
