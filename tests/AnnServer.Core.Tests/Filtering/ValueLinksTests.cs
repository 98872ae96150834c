using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;
using Xunit.Abstractions;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>
/// Linked keyword fields (HnswIndex.LinkValues): declared at creation or later, kept up to date by inserts and payload
/// updates, refused for fields that cannot be linked.
/// </summary>
public class ValueLinksTests(ITestOutputHelper output)
{
    private const int Dimension = 16;
    private const int Points = 4_000;

    [Fact]
    public void PointsInsertedOneByOneIntoALinkedFieldAreLinkedToTheirValuesNearest()
    {
        var (data, clusters) = DisagreeingFilterTests.ClusteredWithLabels(Points, seed: 81);
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 16, EfConstruction = 100, LinkedFields = ["cluster"] });
        for (int i = 0; i < Points; i++)
            index.Upsert(i, TestData.Row(data, i, Dimension), new Payload { { "cluster", $"c{clusters[i]}" } });

        Assert.Equal(["cluster"], index.LinkedFields);
        var (queries, queryClusters) = DisagreeingFilterTests.ClusteredWithLabels(100, seed: 82);
        index.ForcedStrategy = FilteredSearchStrategy.TwoHopWalk;
        double recall = DisagreeingFilterTests.MeanRecall(index, queries, 100, q => $"c{(queryClusters[q] + 1 + q % 9) % 10}", ef: 32);
        output.WriteLine($"another cluster, links kept by inserts: recall@10 {recall:F4}");
        Assert.True(recall >= 0.95, $"recall@10 for another cluster with links kept by inserts was {recall:F4}");
    }

    [Fact]
    public void LinkingAFieldLaterLinksThePointsAlreadyThere()
    {
        var (data, clusters) = DisagreeingFilterTests.ClusteredWithLabels(Points, seed: 83);
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 16, EfConstruction = 100 });
        index.UpsertMany(data, TestData.Ids(Points), null, clusters.Select(c => (Payload?)new Payload { { "cluster", $"c{c}" } }).ToList(), threads: 2);
        index.LinkValues("cluster", threads: 2);

        int linked = 0;
        foreach (var links in index.ValueLinkTables)
            for (int node = 0; node < index.NodeCount; node++)
                if (links.Links(node).Length >= index.M) linked++;
        Assert.Equal(Points, linked);
    }

    [Fact]
    public void EveryLinkJoinsTwoPointsOfTheSameValue()
    {
        var (data, clusters) = DisagreeingFilterTests.ClusteredWithLabels(500, seed: 84);
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 4, LinkedFields = ["cluster"] });
        for (int i = 0; i < 500; i++)
            index.Upsert(i, TestData.Row(data, i, Dimension), new Payload { { "cluster", $"c{clusters[i]}" } });
        var links = index.ValueLinkTables.Single();
        for (int node = 0; node < 500; node++)
            foreach (int other in links.Links(node))
                Assert.Equal(clusters[node], clusters[other]);
    }

    [Fact]
    public void APayloadUpdateThatChangesTheValueRelinksThePoint()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2, M = 2, LinkedFields = ["color"] });
        index.Upsert(1, [0, 0], new Payload { { "color", "red" } });
        index.Upsert(2, [0, 1], new Payload { { "color", "red" } });
        index.Upsert(3, [5, 5], new Payload { { "color", "blue" } });
        index.Upsert(4, [0, 2], new Payload { { "color", "blue" } });
        var links = index.ValueLinkTables.Single();
        Assert.Equal([1], links.Links(0).ToArray());
        Assert.Equal([2], links.Links(3).ToArray());

        index.SetPayload(4, new Payload { { "color", "red" } });
        Assert.Equal([1, 0], links.Links(3).ToArray());
    }

    [Fact]
    public void AFieldHoldingAnotherKindCannotBeLinkedAndNothingChanges()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        index.Upsert(1, [0, 0], new Payload { { "price", 5L } });
        var e = Assert.Throws<ArgumentException>(() => index.LinkValues("price"));
        Assert.Contains("'price'", e.Message);
        Assert.Empty(index.LinkedFields);
    }

    [Fact]
    public void ALinkedFieldRefusesValuesOfAnotherKind()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2, LinkedFields = ["color"] });
        var e = Assert.Throws<ArgumentException>(() => index.Upsert(1, [0, 0], new Payload { { "color", 3L } }));
        Assert.Contains("'color'", e.Message);
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void OneLinkedFieldTooManyIsRefusedNamingTheLimit()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new HnswOptions { Dimension = 2, LinkedFields = ["a", "b", "c", "d", "e"] }.Validate());
        Assert.Contains("MaxLinkedFields (4)", e.Message);

        using var index = new HnswIndex(new HnswOptions { Dimension = 2, LinkedFields = ["a", "b", "c", "d"] });
        e = Assert.Throws<ArgumentException>(() => index.LinkValues("e"));
        Assert.Contains("'e'", e.Message);
        Assert.Contains("MaxLinkedFields (4)", e.Message);
        Assert.Equal(["a", "b", "c", "d"], index.LinkedFields);
    }
}
