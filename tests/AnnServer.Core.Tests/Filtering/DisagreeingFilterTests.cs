using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;
using Xunit.Abstractions;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>
/// A filter that disagrees with the vectors: points carry the cluster they were drawn from as a keyword, and a query
/// drawn from one cluster asks for another. The greedy descent ends among the query's own cluster, where nothing
/// passes; the search still finds the other cluster's nearest points (the walk, or the scan it falls back to), as it
/// finds its own cluster's; and with each cluster's points linked among themselves (value links), the walk seeded
/// from a sample of the cluster's points finds them.
/// </summary>
public class DisagreeingFilterTests(ITestOutputHelper output)
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
    public void ASearchForAnotherClusterKeepsItsRecall()
    {
        var (index, queries, queryClusters) = Shared.Value;
        double recall = MeanRecall(index, queries, q => $"c{(queryClusters[q] + 1 + q % (Clusters - 1)) % Clusters}");
        output.WriteLine($"another cluster: recall@10 {recall:F4}");
        Assert.True(recall >= 0.95, $"recall@10 for another cluster was {recall:F4}");
    }

    [Fact]
    public void ASearchForItsOwnClusterKeepsItsRecall()
    {
        var (index, queries, queryClusters) = Shared.Value;
        double recall = MeanRecall(index, queries, q => $"c{queryClusters[q]}");
        output.WriteLine($"own cluster: recall@10 {recall:F4}");
        Assert.True(recall >= 0.95, $"recall@10 for the own cluster was {recall:F4}");
    }

    [Fact]
    public void WithValueLinksTheSeededWalkForAnotherClusterKeepsItsRecall()
    {
        var (data, clusters) = ClusteredWithLabels(Points, seed: 71);
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 16, EfConstruction = 100 });
        index.UpsertMany(data, TestData.Ids(Points), null, clusters.Select(c => (Payload?)new Payload { { "cluster", $"c{c}" } }).ToList(), threads: 1);
        index.LinkValues("cluster", threads: 2);
        var (queries, queryClusters) = ClusteredWithLabels(Queries, seed: 72);
        index.ForcedStrategy = FilteredSearchStrategy.TwoHopWalk;
        double recall = MeanRecall(index, queries, q => $"c{(queryClusters[q] + 1 + q % (Clusters - 1)) % Clusters}", ef: 32);
        output.WriteLine($"another cluster, value links: recall@10 {recall:F4}");
        Assert.True(recall >= 0.95, $"recall@10 for another cluster with value links was {recall:F4}");
    }

    private static double MeanRecall(HnswIndex index, float[] queries, Func<int, string> cluster, int ef = 16) =>
        MeanRecall(index, queries, Queries, cluster, ef);

    internal static double MeanRecall(HnswIndex index, float[] queries, int count, Func<int, string> cluster, int ef)
    {
        double recall = 0;
        for (int q = 0; q < count; q++)
        {
            var query = TestData.Row(queries, q, Dimension);
            var filter = SearchFilter.Of(Filter.All(new KeywordMatch("cluster", cluster(q))));
            recall += TestData.Recall(index.Search(query, 10, ef, filter), index.ExactSearch(query, 10, filter));
        }
        return recall / count;
    }

    /// <summary>Points around <see cref="Clusters"/> centres, with the cluster each was drawn from.</summary>
    internal static (float[] Data, int[] Clusters) ClusteredWithLabels(int count, int seed)
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
