using AnnServer.Core.Grouping;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Grouping;

/// <summary>Points with a keyword "kind" of 12 values, spread independently of position; every 10th has no field.
/// Built once for the class's tests.</summary>
public sealed class GroupedIndexFixture : IDisposable
{
    public const int Dimension = 16;
    public const int Points = 4_000;

    public GroupedIndexFixture()
    {
        Data = TestData.Clustered(Points, Dimension, seed: 21, clusters: 20);
        var payloads = new Payload?[Points];
        var random = new Random(3);
        for (int i = 0; i < Points; i++)
            payloads[i] = i % 10 == 0 ? null : new Payload { { "kind", $"k{random.Next(12)}" }, { "shard", (long)(i % 7) }, { "weight", 0.5 } };
        Index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 12, EfConstruction = 100 });
        Index.UpsertMany(Data, TestData.Ids(Points), labels: null, payloads, threads: 2);
    }

    public HnswIndex Index { get; }
    public float[] Data { get; }

    public void Dispose() => Index.Dispose();
}

public class GroupedSearchTests(GroupedIndexFixture fixture) : IClassFixture<GroupedIndexFixture>
{
    private const int Dimension = GroupedIndexFixture.Dimension;
    private const int Points = GroupedIndexFixture.Points;

    private (HnswIndex Index, float[] Data) Build() => (fixture.Index, fixture.Data);

    /// <summary>The exact grouped answer: every point with the field by distance, dealt into groups.</summary>
    private static List<(string Key, long[] Ids)> ExactGroups(HnswIndex index, ReadOnlySpan<float> query, string field, int groups, int groupSize)
    {
        var result = new List<(string Key, List<long> Ids)>();
        foreach (var hit in index.ExactSearch(query, Points))
        {
            if (!index.TryGetPayload(hit.Id, out var payload, [field]) || !payload.TryGetValue(field, out var value)) continue;
            string key = value.Kind == PayloadKind.Keyword ? value.AsKeyword() : value.AsInt64().ToString();
            int g = result.FindIndex(r => r.Key == key);
            if (g < 0)
            {
                if (result.Count == groups) continue;
                result.Add((key, new List<long>()));
                g = result.Count - 1;
            }
            if (result[g].Ids.Count < groupSize) result[g].Ids.Add(hit.Id);
        }
        return result.Select(r => (r.Key, r.Ids.ToArray())).ToList();
    }

    [Fact]
    public void GroupedAnswerMatchesTheExactGroupedAnswer()
    {
        var (index, _) = Build();
        float[] queries = TestData.Clustered(30, Dimension, seed: 22, clusters: 20);
        int found = 0, total = 0;
        for (int q = 0; q < 30; q++)
        {
            var query = TestData.Row(queries, q, Dimension);
            var exact = ExactGroups(index, query, "kind", groups: 4, groupSize: 3);
            var groups = index.SearchGroups(query, new GroupBy("kind", GroupSize: 3, Groups: 4), ef: 64);
            var byKey = groups.ToDictionary(g => g.Key.AsKeyword(), g => g.Hits.Select(h => h.Id).ToHashSet());
            foreach (var (key, ids) in exact)
            {
                total += ids.Length;
                if (byKey.TryGetValue(key, out var got)) found += ids.Count(got.Contains);
            }
        }
        double recall = (double)found / total;
        Assert.True(recall >= 0.9, $"grouped recall was {recall:F3}");
    }

    [Fact]
    public void GroupLimitsAreHonouredAndPointsWithoutTheFieldLeftOut()
    {
        var (index, data) = Build();
        var groups = index.SearchGroups(TestData.Row(data, 5, Dimension), new GroupBy("kind", GroupSize: 2, Groups: 5), ef: 32);

        Assert.Equal(5, groups.Count);
        Assert.Equal(5, groups.Select(g => g.Key.AsKeyword()).Distinct().Count());
        Assert.All(groups, g => Assert.Equal(2, g.Hits.Length));
        Assert.All(groups.SelectMany(g => g.Hits), h => Assert.NotEqual(0, h.Id % 10));
        Assert.All(groups, g => Assert.True(g.Hits[0].Distance <= g.Hits[1].Distance));
        for (int g = 1; g < groups.Count; g++) Assert.True(groups[g - 1].Hits[0].Distance <= groups[g].Hits[0].Distance);
    }

    [Fact]
    public void IntFieldsGroup()
    {
        var (index, data) = Build();
        var groups = index.SearchGroups(TestData.Row(data, 9, Dimension), new GroupBy("shard", GroupSize: 1, Groups: 7), ef: 32);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i), groups.Select(g => g.Key.AsInt64()).Order());
    }

    [Fact]
    public void TheWalkGrowsUntilARareValueFillsItsGroup()
    {
        float[] data = TestData.Clustered(2_000, Dimension, seed: 31, clusters: 10);
        var payloads = new Payload?[2_000];
        for (int i = 0; i < payloads.Length; i++) payloads[i] = new Payload { { "kind", i % 20 == 0 ? "rare" : "common" } };
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 12, EfConstruction = 100 });
        index.UpsertMany(data, TestData.Ids(2_000), labels: null, payloads, threads: 2);
        var query = TestData.Row(data, 7, Dimension);
        var rareIds = new HashSet<long>(Enumerable.Range(0, 2_000).Where(i => i % 20 == 0).Select(i => (long)i));
        Assert.DoesNotContain(index.Search(query, 10, 10), h => rareIds.Contains(h.Id) && h.Id != 7); // precondition

        var groups = index.SearchGroups(query, new GroupBy("kind", GroupSize: 2, Groups: 2), ef: 10);

        Assert.Equal(["common", "rare"], groups.Select(g => g.Key.AsKeyword()).Order());
        Assert.All(groups, g => Assert.Equal(2, g.Hits.Length));
    }

    [Fact]
    public void AFieldNoPointHasGivesNoGroups()
    {
        var (index, data) = Build();
        Assert.Empty(index.SearchGroups(TestData.Row(data, 1, Dimension), new GroupBy("missing", 2, 2), ef: 16));
    }

    [Fact]
    public void ADoubleFieldIsRefusedNamingIt()
    {
        var (index, data) = Build();
        var error = Assert.Throws<ArgumentException>(() => index.SearchGroups(TestData.Row(data, 1, Dimension), new GroupBy("weight", 2, 2), ef: 16));
        Assert.Contains("weight", error.Message);
    }

    [Fact]
    public void MoreHitsThanTheLimitAreRefused()
    {
        var (index, data) = Build();
        var error = Assert.Throws<ArgumentException>(() => index.SearchGroups(TestData.Row(data, 1, Dimension), new GroupBy("kind", 1000, 11), ef: 16));
        Assert.Contains("MaxHits", error.Message);
    }

    [Fact]
    public void BestScoreGroupsAreGroupedByTheSameRule()
    {
        var (index, data) = Build();
        float[] positives = TestData.Row(data, 3, Dimension).ToArray();
        var plain = index.SearchGroups(positives, new GroupBy("kind", 2, 3), ef: 64);
        var byExamples = index.SearchBestScoreGroups(positives, [], new GroupBy("kind", 2, 3), ef: 64);
        // One positive and no negative: the score is an increasing function of the distance, so the groups agree.
        Assert.Equal(plain.Select(g => g.Key.AsKeyword()), byExamples.Select(g => g.Key.AsKeyword()));
        Assert.Equal(plain.SelectMany(g => g.Hits.Select(h => h.Id)), byExamples.SelectMany(g => g.Hits.Select(h => h.Id)));
    }
}
