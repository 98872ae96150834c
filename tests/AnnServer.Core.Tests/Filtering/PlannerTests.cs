using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>The planner's estimates against the true counts, and its choice between walk and scan.</summary>
public class PlannerTests
{
    private static HnswIndex IndexWithBuckets(int points)
    {
        var index = new HnswIndex(new HnswOptions { Dimension = 2, M = 8, EfConstruction = 20 });
        var random = new Random(3);
        var vectors = new float[points * 2];
        for (int i = 0; i < vectors.Length; i++) vectors[i] = (float)random.NextDouble();
        var payloads = Enumerable.Range(0, points).Select(i => (Payload?)new Payload
        {
            { "bucket", (long)(i % 100) }, { "price", i % 1000 / 10.0 }, { "color", i % 10 == 0 ? "red" : "blue" }, { "ok", i % 4 == 0 },
        }).ToList();
        index.UpsertMany(vectors, TestData.Ids(points), null, payloads, threads: 1);
        return index;
    }

    private static double Estimate(HnswIndex index, Filter filter)
    {
        lock (index.MapLock)
            return FilterCompiler.Compile(SearchFilter.Of(filter), index.Storage, index.Payloads, new Dictionary<int, int>(), index.Count).EstimatedMatches;
    }

    [Theory]
    [InlineData("keyword")]
    [InlineData("integer")]
    [InlineData("int range")]
    [InlineData("double range")]
    [InlineData("bool")]
    [InlineData("and")]
    [InlineData("or")]
    [InlineData("not")]
    public void EstimatesAreWithinTenPercentOfTheTruthForIndependentConditions(string kind)
    {
        using var index = IndexWithBuckets(10_000);
        Filter filter = kind switch
        {
            "keyword" => Filter.All(new KeywordMatch("color", "red")),
            "integer" => Filter.All(new IntegerMatch("bucket", 3, 4, 5)),
            "int range" => Filter.All(new NumericRange("bucket") { Gte = 10, Lt = 35 }),
            "double range" => Filter.All(new NumericRange("price") { Gt = 12.5, Lte = 80 }),
            "bool" => Filter.All(new BoolMatch("ok", true)),
            "and" => Filter.All(new BoolMatch("ok", false), new NumericRange("price") { Lt = 50 }),
            "or" => Filter.Any(new IntegerMatch("bucket", 1), new NumericRange("price") { Gte = 90 }),
            _ => Filter.None(new KeywordMatch("color", "red")),
        };
        double truth = index.CountMatching(SearchFilter.Of(filter));

        Assert.InRange(Estimate(index, filter), truth * 0.9, truth * 1.1);
    }

    [Fact]
    public void EstimatesFollowDeletesAndPayloadUpdates()
    {
        using var index = IndexWithBuckets(1_000);
        var red = Filter.All(new KeywordMatch("color", "red"));
        for (long id = 0; id < 1_000; id += 20) index.Delete(id); // half the red ones
        for (long id = 10; id < 1_000; id += 20) index.SetPayload(id, new Payload { { "color", "green" } }); // the other half

        Assert.Equal(0, Estimate(index, red));
        Assert.Equal(50, Estimate(index, Filter.All(new KeywordMatch("color", "green"))));
    }

    [Theory]
    [InlineData(100_000, 50_000, "GraphWalk")]     // 50 %: the plain walk barely slows down
    [InlineData(100_000, 3_000, "TwoHopWalk")]     // 3 %: stepping over failing nodes beats both
    [InlineData(100_000, 1_000, "ExactScan")]      // 1 %: too few pass to walk among them
    [InlineData(1_000_000, 30_000, "TwoHopWalk")]
    [InlineData(1_000_000, 1_000, "ExactScan")]
    [InlineData(20_000, 2_000, "ExactScan")]
    public void ThePlannerTakesTheCheapestStrategy(long nodes, double matching, string expected) =>
        Assert.Equal(expected, FilteredSearchPlanner.Choose(matching, nodes, m: 16, ef: 64).Strategy.ToString());

    /// <summary>Fashion-MNIST's 784 dimensions at recall 0.95's ef: as the paired runs of ann-bench filtered measured.</summary>
    [Theory]
    [InlineData(30_000, 6_000, "GraphWalk")]   // 50 %: walk 0.77× the unfiltered QPS, two-hop 0.36×
    [InlineData(6_000, 6_000, "TwoHopWalk")]   // 10 %: two-hop 0.46×, walk 0.18×
    [InlineData(6_000, -1, "TwoHopWalk")]      // 10 % of a range: no candidates, no cheaper scan
    [InlineData(600, 600, "ExactScan")]        // 1 %: the postings scan
    [InlineData(600, -1, "ExactScan")]         // 1 % of a range: the two-hop walk's recall@10 was 0.72
    public void AtHighDimensionFilterTestsAreCheapAndTheTwoHopWalkWinsAtTenPercent(double matching, long candidates, string expected) =>
        Assert.Equal(expected, FilteredSearchPlanner.Choose(matching, 60_000, m: 16, ef: 14, candidates, dimension: 784).Strategy.ToString());
}
