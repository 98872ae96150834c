using System.Diagnostics;
using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;
using Xunit.Abstractions;

namespace AnnServer.Core.Tests.Filtering;

/// <summary>
/// Not a test but the measurement behind <see cref="FilteredSearchPlanner"/>'s constants, run on demand:
/// <code>ANNSERVER_MEASURE_FILTERED=100000 dotnet test tests/AnnServer.Core.Tests -c Release --filter FilteredSearchMeasurement --logger "console;verbosity=detailed"</code>
/// (the value is the point count). It prints the filter test's cost per node, payload memory per point, and per
/// selectivity the recall@10 and single-thread µs per query of the planner's choice and of each strategy forced.
/// </summary>
public class FilteredSearchMeasurement(ITestOutputHelper output)
{
    private const int Dimension = 32, Queries = 200, Ef = 64;

    [Fact]
    public void Measure()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("ANNSERVER_MEASURE_FILTERED"), out int points)) return;
        float[] data = TestData.Clustered(points, Dimension, seed: 61);
        float[] queries = TestData.Clustered(Queries, Dimension, seed: 63);
        var random = new Random(62);
        var payloads = new Payload?[points];
        for (int i = 0; i < points; i++)
        {
            long bucket = random.Next(1000);
            payloads[i] = new Payload { { "bucket", bucket }, { "key", $"k{bucket}" } };
        }
        using var plain = new HnswIndex(new HnswOptions { Dimension = Dimension, EfConstruction = 100 });
        plain.UpsertMany(data, TestData.Ids(points), threads: 2);
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, EfConstruction = 100 });
        index.UpsertMany(data, TestData.Ids(points), null, payloads, threads: 2);
        output.WriteLine($"{points} points of {Dimension} dimensions; memory {plain.MemoryBytes / points} B a point without payload, " +
            $"{index.MemoryBytes / points} B with an int64 and a keyword field");

        var range = SearchFilter.Of(Filter.All(new NumericRange("bucket") { Lt = 100 }));
        var clock = new Stopwatch();
        double best = double.MaxValue;
        for (int rep = 0; rep < 5; rep++)
        {
            clock.Restart();
            index.CountMatching(range);
            best = Math.Min(best, clock.Elapsed.TotalNanoseconds / points);
        }
        output.WriteLine($"filter test (one range, in CountMatching): {best:F1} ns a node");

        double unfiltered = Time(index, queries, null, null, out double unfilteredRecall);
        output.WriteLine($"unfiltered: recall@10 {unfilteredRecall:F4}, {unfiltered:F0} µs a query");
        foreach (int below in new[] { 500, 100, 30, 10, 1 })
        foreach (string kind in new[] { "range", "keyword" })
        {
            // The same points pass either way: bucket < b, or key one of k0 … k(b−1) (which has postings to scan).
            var filter = SearchFilter.Of(kind == "range"
                ? Filter.All(new NumericRange("bucket") { Lt = below })
                : Filter.All(new KeywordMatch("key", [.. Enumerable.Range(0, below).Select(b => $"k{b}")])));
            foreach (var strategy in new FilteredSearchStrategy?[] { null, FilteredSearchStrategy.GraphWalk, FilteredSearchStrategy.TwoHopWalk, FilteredSearchStrategy.ExactScan })
            {
                double microseconds = Time(index, queries, filter, strategy, out double recall);
                output.WriteLine($"selectivity {below / 10.0} % ({kind}), {strategy?.ToString() ?? "planner"}: recall@10 {recall:F4}, " +
                    $"{microseconds:F0} µs a query, {unfiltered / microseconds:F2}x the unfiltered QPS");
            }
        }
    }

    /// <summary>Recall@10 against the exact filtered top-10, and the best of three timed passes over the queries.</summary>
    private static double Time(HnswIndex index, float[] queries, SearchFilter? filter, FilteredSearchStrategy? strategy, out double recall)
    {
        index.ForcedStrategy = strategy;
        try
        {
            recall = 0;
            for (int q = 0; q < Queries; q++)
            {
                var query = TestData.Row(queries, q, Dimension);
                recall += TestData.Recall(index.Search(query, 10, Ef, filter), index.ExactSearch(query, 10, filter));
            }
            recall /= Queries;
            var hits = new SearchHit[10];
            double best = double.MaxValue;
            for (int rep = 0; rep < 3; rep++)
            {
                var clock = Stopwatch.StartNew();
                for (int q = 0; q < Queries; q++) index.Search(TestData.Row(queries, q, Dimension), 10, Ef, hits, filter);
                best = Math.Min(best, clock.Elapsed.TotalMicroseconds / Queries);
            }
            return best;
        }
        finally
        {
            index.ForcedStrategy = null;
        }
    }
}
