using AnnServer.Core.Recommend;

namespace AnnServer.Core.Tests.Recommend;

/// <summary>One index of clustered points for the class's tests, built once.</summary>
public sealed class BestScoreIndexFixture : IDisposable
{
    public const int Dimension = 16;
    public const int Points = 4_000;

    public BestScoreIndexFixture()
    {
        Data = TestData.Clustered(Points, Dimension, seed: 11, clusters: 20);
        Ids = TestData.Ids(Points);
        Index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 12, EfConstruction = 100 });
        Index.UpsertMany(Data, Ids, threads: 2);
    }

    public HnswIndex Index { get; }
    public float[] Data { get; }
    public long[] Ids { get; }

    public void Dispose() => Index.Dispose();
}

public class BestScoreSearchTests(BestScoreIndexFixture fixture) : IClassFixture<BestScoreIndexFixture>
{
    private const int Dimension = BestScoreIndexFixture.Dimension;
    private const int Points = BestScoreIndexFixture.Points;

    private (HnswIndex Index, float[] Data, long[] Ids) Build() => (fixture.Index, fixture.Data, fixture.Ids);

    private static float[] Rows(float[] data, params int[] rows) =>
        rows.SelectMany(r => data.AsSpan(r * Dimension, Dimension).ToArray()).ToArray();

    [Fact]
    public void WalkFindsTheBruteForceBestScoreTop10()
    {
        var (index, data, ids) = Build();
        var random = new Random(5);
        double recall = 0;
        const int queries = 40;
        for (int q = 0; q < queries; q++)
        {
            int[] examples = [random.Next(Points), random.Next(Points), random.Next(Points), random.Next(Points)];
            float[] positives = Rows(data, examples[0], examples[1]), negatives = Rows(data, examples[2], examples[3]);
            var excluded = new HashSet<long>(examples.Select(e => (long)e));
            long[] truth = BestScoreReference.TopK(data, ids, Dimension, positives, negatives, 10, excluded);
            var found = new SearchHit[10];
            int count = index.SearchBestScore(positives, negatives, 10, 100, found, new SearchFilter(excludedIds: excluded));
            recall += found.Take(count).Count(h => truth.Contains(h.Id)) / 10.0;
        }
        recall /= queries;
        Assert.True(recall >= 0.95, $"best-score recall@10 at ef 100 was {recall:F3}");
    }

    [Fact]
    public void ExactBestScoreIsTheBruteForceAnswer()
    {
        var (index, data, ids) = Build();
        float[] positives = Rows(data, 3, 700), negatives = Rows(data, 1500);
        long[] truth = BestScoreReference.TopK(data, ids, Dimension, positives, negatives, 20);
        Assert.Equal(truth, index.ExactBestScore(positives, negatives, 20).Select(h => h.Id));
    }

    [Fact]
    public void WithoutNegativesTheNearestToAnyPositiveComeFirst()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        index.Upsert(1, [0, 0]);
        index.Upsert(2, [10, 10]);
        index.Upsert(3, [0.1f, 0]);
        index.Upsert(4, [10, 10.2f]);
        index.Upsert(5, [5, 5]);

        var hits = index.ExactBestScore([0, 0, 10, 10], [], 5);

        Assert.Equal([1L, 2, 3, 4, 5], hits.Select(h => h.Id));
    }

    [Fact]
    public void PointsNearerANegativeComeAfterEveryPointNearerAPositive()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        index.Upsert(1, [0, 1]);    // nearer the positive
        index.Upsert(2, [0, 9]);    // nearer the negative, but far from it
        index.Upsert(3, [0, 9.9f]); // right next to the negative: last
        index.Upsert(4, [0, 4]);    // nearer the positive, farther than 1

        var hits = new SearchHit[4];
        int found = index.SearchBestScore([0, 0], [0, 10], 4, 10, hits);

        Assert.Equal(4, found);
        Assert.Equal([1L, 4, 2, 3], hits.Select(h => h.Id));
        Assert.True(hits[1].Distance < 90 && hits[2].Distance > 200, "the two kinds of score lie apart");
    }

    [Fact]
    public void MoreExamplesThanTheLimitAreRefusedNamingIt()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        index.Upsert(1, [0, 0]);
        var error = Assert.Throws<ArgumentException>(() =>
            index.SearchBestScore(new float[2 * (HnswIndex.MaxExamples + 1)], [], 1, 1, new SearchHit[1]));
        Assert.Contains("MaxExamples", error.Message);
    }

    [Fact]
    public void NoPositiveIsRefused()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        Assert.Throws<ArgumentException>(() => index.SearchBestScore([], [1, 1], 1, 1, new SearchHit[1]));
    }

    [Fact]
    public void ScoreKeepsEachSidesOrder()
    {
        Assert.True(BestScore.Combine(0.1f, float.PositiveInfinity) < BestScore.Combine(0.2f, float.PositiveInfinity));
        Assert.True(BestScore.Combine(5f, 1f) > BestScore.Combine(5f, 2f));
        Assert.True(BestScore.Combine(100f, 101f) < BestScore.Combine(0.5f, 0.4f));
    }
}
