using AnnServer.Harness.Recall;
using Xunit;

namespace AnnServer.Harness.Tests;

public class RecallCalculatorTests
{
    [Fact]
    public void ExactAnswerScoresOne()
    {
        double recall = RecallCalculator.TieAware([1, 2, 3], [1.0, 2.0, 3.0], kthTrueDistance: 3.0, k: 3, truthCount: 100);
        Assert.Equal(1.0, recall);
    }

    [Fact]
    public void PointTiedWithTheKthTrueNeighbourCountsAsFound()
    {
        // Ground truth top 2 is {1, 2} at distances 1 and 2; point 9 is also at distance 2, so {1, 9} is just as exact.
        double recall = RecallCalculator.TieAware([1, 9], [1.0, 2.0], kthTrueDistance: 2.0, k: 2, truthCount: 100);
        Assert.Equal(1.0, recall);
    }

    [Fact]
    public void TiedPointNotInTheGroundTruthIsAMissWhenCountingById()
    {
        double recall = RecallCalculator.ById([1, 9], [1, 2, 9], k: 2);
        Assert.Equal(0.5, recall);
    }

    [Fact]
    public void PointFartherThanTheKthTrueNeighbourIsAMiss()
    {
        double recall = RecallCalculator.TieAware([1, 2, 7, 8], [1.0, 2.0, 3.0, 3.5], kthTrueDistance: 3.0, k: 4, truthCount: 100);
        Assert.Equal(0.75, recall);
    }

    [Fact]
    public void FewerThanKResultsCountTheMissingOnesAsMisses()
    {
        double recall = RecallCalculator.TieAware([1, 2], [1.0, 2.0], kthTrueDistance: 4.0, k: 4, truthCount: 100);
        Assert.Equal(0.5, recall);
        Assert.Equal(0.5, RecallCalculator.ById([1, 2], [1, 2, 3, 4], k: 4));
    }

    [Fact]
    public void NoResultsScoreZero()
    {
        Assert.Equal(0.0, RecallCalculator.TieAware([], [], kthTrueDistance: 1.0, k: 10, truthCount: 100));
    }

    [Fact]
    public void RepeatedIdCountsOnce()
    {
        double recall = RecallCalculator.TieAware([1, 1, 2], [1.0, 1.0, 2.0], kthTrueDistance: 3.0, k: 3, truthCount: 100);
        Assert.Equal(2.0 / 3.0, recall, 12);
        Assert.Equal(2.0 / 3.0, RecallCalculator.ById([1, 1, 2], [1, 2, 3], k: 3), 12);
    }

    [Fact]
    public void OnlyTheFirstKResultsAreJudged()
    {
        double recall = RecallCalculator.TieAware([1, 50, 2], [1.0, 9.0, 2.0], kthTrueDistance: 2.0, k: 2, truthCount: 100);
        Assert.Equal(0.5, recall);
    }

    [Fact]
    public void GroundTruthShorterThanKIsTheDenominator()
    {
        // A data set of 3 points asked for k = 10: finding all 3 is perfect recall.
        double recall = RecallCalculator.TieAware([4, 5, 6], [0.5, 1.0, 1.5], kthTrueDistance: 1.5, k: 10, truthCount: 3);
        Assert.Equal(1.0, recall);
        Assert.Equal(1.0, RecallCalculator.ById([4, 5, 6], [4, 5, 6], k: 10));
    }

    [Fact]
    public void DistanceWithinRoundingOfTheThresholdCountsAsTied()
    {
        double threshold = 1234.5;
        double recall = RecallCalculator.TieAware([1, 2], [threshold * (1 + 1e-12), threshold * (1 + 1e-6)], threshold, k: 2, truthCount: 10);
        Assert.Equal(0.5, recall);
    }
}
