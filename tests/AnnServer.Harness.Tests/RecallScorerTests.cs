using AnnServer.Core;
using AnnServer.Datasets;
using AnnServer.Harness.Recall;
using Xunit;

namespace AnnServer.Harness.Tests;

public class RecallScorerTests
{
    // Points on a line at 0, 1, 2, 3, 3, 10 (rows 3 and 4 tie); one query at 0.
    private static readonly VectorSet Line = new([0f, 1f, 2f, 3f, 3f, 10f], 6, 1);
    private static readonly VectorSet QueryAtZero = new([0f], 1, 1);

    [Fact]
    public void EitherOfTwoTiedKthNeighboursIsExact()
    {
        var scorer = new RecallScorer(Line, QueryAtZero, [[0, 1, 2, 3, 4, 5]], k: 4, DistanceMetric.L2);
        Assert.Equal(1.0, scorer.MeanRecall([0, 1, 2, 4], [4]));
        Assert.Equal(1.0, scorer.MeanRecall([0, 1, 2, 3], [4]));
    }

    [Fact]
    public void FartherPointIsAMissAndMissingSlotsCount()
    {
        var scorer = new RecallScorer(Line, QueryAtZero, [[0, 1, 2, 3, 4, 5]], k: 4, DistanceMetric.L2);
        Assert.Equal(0.75, scorer.MeanRecall([0, 1, 2, 5], [4]));
        Assert.Equal(0.5, scorer.MeanRecall([0, 1, 0, 0], [2]));
    }

    [Fact]
    public void IdOutsideTheBaseIsAMiss()
    {
        var scorer = new RecallScorer(Line, QueryAtZero, [[0, 1]], k: 2, DistanceMetric.L2);
        Assert.Equal(0.5, scorer.MeanRecall([0, 99], [2]));
    }

    [Fact]
    public void GroundTruthNamingAMissingRowIsRejectedWithItsRow()
    {
        var e = Assert.Throws<InvalidDataException>(() => new RecallScorer(Line, QueryAtZero, [[0, 17]], k: 2, DistanceMetric.L2));
        Assert.Contains("row 0", e.Message);
        Assert.Contains("17", e.Message);
    }

    [Fact]
    public void GroundTruthShorterThanKIsRejected()
    {
        var e = Assert.Throws<InvalidDataException>(() => new RecallScorer(Line, QueryAtZero, [[0, 1]], k: 4, DistanceMetric.L2));
        Assert.Contains("fewer than k = 4", e.Message);
    }
}
