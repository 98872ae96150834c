using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;
using Xunit.Abstractions;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>
/// A filter that disagrees with the vectors: points carry the cluster they were drawn from as a keyword, and each query,
/// drawn from one cluster, asks for another. The greedy descent ends among the query's own cluster, where nothing
/// passes; the two-hop walk starts instead from the nearest of a sample of the filter's candidates, and keeps its recall
/// without falling back to the exact scan.
/// </summary>
public class SeededWalkTests(ITestOutputHelper output)
{
    private const int Dimension = 16;
    private const int Clusters = 10;
    private const int Points = 10_000;
    private const int Queries = 100;

    private static readonly Lazy<(HnswIndex Index, float[] Queries, int[] QueryClusters)> Shared = new(() =>
    {
        var (data, clusters) = ClusteredWithLabels(Points, seed: 71);
        var payloads = clusters.Select(c => (Payload?)new Payload { { "cluster", $"c{c}" } }).ToList();
        var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 16, EfConstruction = 100 });
        index.UpsertMany(data, TestData.Ids(Points), null, payloads, threads: 2);
        var (queries, queryClusters) = ClusteredWithLabels(Queries, seed: 72);
        return (index, queries, queryClusters);
    });

    [Fact]
    public void AWalkForAnotherClusterStartsAmongItsPointsAndKeepsItsRecall()
    {
        var (index, queries, queryClusters) = Shared.Value;
        index.ForcedStrategy = FilteredSearchStrategy.TwoHopWalk;
        try
        {
            long fallbacksBefore = index.WalksAnsweredByScan;
            double recall = 0;
            for (int q = 0; q < Queries; q++)
            {
                var query = TestData.Row(queries, q, Dimension);
                var filter = OtherCluster(queryClusters[q], q);
                recall += TestData.Recall(index.Search(query, 10, 32, filter), index.ExactSearch(query, 10, filter));
            }
            recall /= Queries;
            long fallbacks = index.WalksAnsweredByScan - fallbacksBefore;
            output.WriteLine($"recall@10 {recall:F4}, {fallbacks} of {Queries} walks answered by the scan");
            Assert.True(recall >= 0.95, $"recall@10 for another cluster was {recall:F4}");
            Assert.True(fallbacks <= Queries / 10, $"{fallbacks} of {Queries} walks came up short and were answered by the scan");
        }
        finally
        {
            index.ForcedStrategy = null;
        }
    }

    [Fact]
    public void WithoutSeedsTheSameWalksComeUpShort()
    {
        var (index, queries, queryClusters) = Shared.Value;
        index.ForcedStrategy = FilteredSearchStrategy.TwoHopWalk;
        index.SeedsTwoHopWalks = false;
        try
        {
            long fallbacksBefore = index.WalksAnsweredByScan;
            for (int q = 0; q < Queries; q++) index.Search(TestData.Row(queries, q, Dimension), 10, 32, OtherCluster(queryClusters[q], q));
            long fallbacks = index.WalksAnsweredByScan - fallbacksBefore;
            output.WriteLine($"{fallbacks} of {Queries} unseeded walks answered by the scan");
            Assert.True(fallbacks > Queries / 2, $"only {fallbacks} of {Queries} unseeded walks came up short: the data does not show what seeding is for");
        }
        finally
        {
            index.ForcedStrategy = null;
            index.SeedsTwoHopWalks = true;
        }
    }

    private static SearchFilter OtherCluster(int own, int q) =>
        SearchFilter.Of(Filter.All(new KeywordMatch("cluster", $"c{(own + 1 + q % (Clusters - 1)) % Clusters}")));

    /// <summary>Points around <see cref="Clusters"/> centres, with the cluster each was drawn from.</summary>
    private static (float[] Data, int[] Clusters) ClusteredWithLabels(int count, int seed)
    {
        var centerRandom = new Random(5);
        var centers = new float[Clusters * Dimension];
        for (int i = 0; i < centers.Length; i++) centers[i] = (float)(centerRandom.NextDouble() * 2 - 1);
        var random = new Random(seed);
        var data = new float[count * Dimension];
        var clusters = new int[count];
        for (int row = 0; row < count; row++)
        {
            int center = clusters[row] = random.Next(Clusters);
            for (int d = 0; d < Dimension; d++)
                data[row * Dimension + d] = centers[center * Dimension + d] + (float)(TestData.Gaussian(random) * 0.3);
        }
        return (data, clusters);
    }
}
