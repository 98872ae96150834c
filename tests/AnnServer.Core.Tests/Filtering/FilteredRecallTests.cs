using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;
using Xunit.Abstractions;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>
/// Recall@10 of filtered search against the exact filtered top-10 at 50 %, 10 %, 1 % and 0.1 % selectivity, on
/// clustered synthetic data whose payload is independent of the vectors.
/// </summary>
public class FilteredRecallTests(ITestOutputHelper output)
{
    private const int Dimension = 32;
    private const int Points = 20_000;
    private const int Queries = 100;

    private static readonly Lazy<(HnswIndex Index, float[] Queries)> Shared = new(() =>
    {
        float[] data = TestData.Clustered(Points, Dimension, seed: 61);
        var random = new Random(62);
        var payloads = new Payload?[Points];
        for (int i = 0; i < Points; i++)
        {
            // bucket is uniform in [0, 1000): "bucket < b" passes b/10 % of the points.
            long bucket = random.Next(1000);
            payloads[i] = new Payload { { "bucket", bucket }, { "tier", $"t{bucket % 10}" }, { "hidden", random.Next(100) == 0 } };
        }
        var index = new HnswIndex(new HnswOptions { Dimension = Dimension, EfConstruction = 100 });
        index.UpsertMany(data, TestData.Ids(Points), null, payloads, threads: 2);
        return (index, TestData.Clustered(Queries, Dimension, seed: 63));
    });

    public static TheoryData<int, string> Selectivities => new()
    {
        { 500, "50 %" }, { 100, "10 %" }, { 10, "1 %" }, { 1, "0.1 %" },
    };

    [Theory]
    [MemberData(nameof(Selectivities))]
    public void RecallAt10IsAtLeast95PercentAtEverySelectivity(int bucketsBelow, string selectivity)
    {
        var (index, queries) = Shared.Value;
        var filter = SearchFilter.Of(new Filter(
            must: [new NumericRange("bucket") { Lt = bucketsBelow }],
            mustNot: [new BoolMatch("hidden", true)]));

        double recall = MeanRecall(index, queries, filter, ef: 64);

        output.WriteLine($"selectivity {selectivity}: recall@10 {recall:F4}");
        Assert.True(recall >= 0.95, $"recall@10 at {selectivity} was {recall:F4}");
    }

    /// <summary>
    /// Forced either way, the search keeps its recall: the walk stops only once it holds ef passing points, so at low
    /// selectivity it costs (about ef/s nodes visited) rather than loses its way; that cost is why the planner scans.
    /// The timings it prints (with <c>--logger "console;verbosity=detailed"</c>; single-threaded, on a shared machine)
    /// show where each strategy wins.
    /// </summary>
    [Theory]
    [MemberData(nameof(Selectivities))]
    public void EitherStrategyAloneKeepsRecall(int bucketsBelow, string selectivity)
    {
        var (index, queries) = Shared.Value;
        var filter = SearchFilter.Of(Filter.All(new NumericRange("bucket") { Lt = bucketsBelow }));
        foreach (var strategy in new FilteredSearchStrategy?[] { null, FilteredSearchStrategy.GraphWalk, FilteredSearchStrategy.TwoHopWalk, FilteredSearchStrategy.ExactScan })
        {
            index.ForcedStrategy = strategy;
            try
            {
                double recall = MeanRecall(index, queries, filter, 64);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var hits = new SearchHit[10];
                for (int q = 0; q < Queries; q++) index.Search(TestData.Row(queries, q, Dimension), 10, 64, hits, filter);
                double microseconds = clock.Elapsed.TotalMicroseconds / Queries;
                output.WriteLine($"selectivity {selectivity}, {strategy?.ToString() ?? "planner"}: recall@10 {recall:F4}, {microseconds:F0} µs/query");
                Assert.True(recall >= 0.95, $"recall@10 at {selectivity} with {strategy?.ToString() ?? "the planner"} was {recall:F4}");
            }
            finally
            {
                index.ForcedStrategy = null;
            }
        }
    }

    private static double MeanRecall(HnswIndex index, float[] queries, SearchFilter filter, int ef)
    {
        double recall = 0;
        for (int q = 0; q < Queries; q++)
        {
            var query = TestData.Row(queries, q, Dimension);
            var exact = index.ExactSearch(query, 10, filter);
            var hits = index.Search(query, 10, ef, filter);
            Assert.Equal(exact.Length, hits.Length);
            recall += TestData.Recall(hits, exact);
        }
        return recall / Queries;
    }
}
