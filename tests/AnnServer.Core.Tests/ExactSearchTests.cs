using AnnServer.Core;
using Xunit;

namespace AnnServer.Core.Tests;

public sealed class ExactSearchTests
{
    private const int Dimension = 128;

    /// <summary>
    /// 2,100 rows of 128 floats are two of the batch search's row blocks (2,048 rows), and 40 queries two query blocks (32), the last
    /// one short: every block boundary is crossed, and the answers are those of one query against every row in turn.
    /// </summary>
    [Theory]
    [InlineData(DistanceMetric.L2)]
    [InlineData(DistanceMetric.Cosine)]
    [InlineData(DistanceMetric.InnerProduct)]
    public void BatchAnswersEqualOneQueryAgainstEveryRow(DistanceMetric metric)
    {
        float[] rows = TestData.Clustered(2_100, Dimension, seed: 8);
        float[] queries = TestData.Clustered(40, Dimension, seed: 9);
        const int k = 7;

        SearchHit[][] batch = ExactSearch.SearchBatch(rows, queries, Dimension, k, metric, threads: 2);

        // The index's own scan is the reference (its graph is not used: built as cheaply as allowed).
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, Metric = metric, M = 4, EfConstruction = 8 });
        index.UpsertMany(rows, TestData.Ids(2_100), threads: 2);
        for (int q = 0; q < 40; q++)
            Assert.Equal(index.ExactSearch(TestData.Row(queries, q, Dimension), k).Select(h => h.Id), batch[q].Select(h => h.Id));
    }
}
