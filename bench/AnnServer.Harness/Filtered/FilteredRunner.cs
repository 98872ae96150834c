using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Core.Filtering;
using AnnServer.Core.Payloads;
using AnnServer.Datasets;
using AnnServer.Harness.Cli;
using AnnServer.Harness.Recall;

namespace AnnServer.Harness.Filtered;

/// <summary>Settings of one `ann-bench filtered` run.</summary>
public sealed class FilteredRunOptions
{
    public int K { get; init; } = 10;
    public int M { get; init; } = 16;
    public int EfConstruction { get; init; } = 200;
    public int BuildThreads { get; init; } = 2;
    public required int[] Efs { get; init; }
    public int Runs { get; init; } = 3;
    public int Warmup { get; init; } = 200;
    public double TargetRecall { get; init; } = 0.95;

    /// <summary>
    /// How filtered searches run, each measured in turn: null for the planner's choice, or a strategy forced on every
    /// search. Several give paired figures from one process and one index.
    /// </summary>
    internal FilteredSearchStrategy?[] Strategies { get; init; } = [null];

    /// <summary>
    /// Versions of the planner's choice measured in turn with the others: "unindexed" (range conditions without their
    /// sorted indexes): what that adds, paired in one process on one index.
    /// </summary>
    public string[] Variants { get; init; } = [];

    /// <summary>A keyword field to link each value's points among themselves for (HnswIndex.LinkValues), or null.</summary>
    public string? ValueLinksField { get; init; }

    /// <summary>Only the cases whose name contains one of these (all when empty).</summary>
    public string[] Cases { get; init; } = [];
}

/// <summary>
/// Builds the index in-process (without payloads, then sets them, measuring the memory each adds), computes the exact
/// filtered top-k of every query and case by brute force (over all cores), then sweeps ef single-threaded: recall@k and
/// the fastest of several timed passes, unfiltered first and then per case.
/// </summary>
public static class FilteredRunner
{
    public static (FilteredReport Report, HnswIndex Index) Run(VectorSet baseVectors, byte[] classes, VectorSet queries, byte[] queryClasses,
        FilteredRunOptions options, string dataset, string? command)
    {
        long? residentBefore = ResidentMemory.SettledBytes();
        var index = new HnswIndex(new HnswOptions
        {
            Dimension = baseVectors.Dimension, Metric = DistanceMetric.L2, M = options.M, EfConstruction = options.EfConstruction,
        });
        try
        {
            var ids = new long[baseVectors.Count];
            for (int i = 0; i < ids.Length; i++) ids[i] = i;
            var clock = Stopwatch.StartNew();
            index.UpsertMany(baseVectors.Data, ids, labels: null, threads: options.BuildThreads);
            CommandGuard.Status($"built {baseVectors.Count} points in {clock.Elapsed.TotalSeconds:F1} s");
            FilteredMemory memory = SetPayloadsMeasured(index, classes, residentBefore);
            if (options.ValueLinksField is { } linked)
            {
                var linking = Stopwatch.StartNew();
                index.LinkValues(linked, options.BuildThreads); // what the server's LinkField and ann-build --value-links run
                memory.ValueLinksField = linked;
                memory.IndexBytesPerPointOfValueLinks = index.ValueLinksMemoryBytes / (double)index.Count;
                memory.ValueLinksSeconds = linking.Elapsed.TotalSeconds;
                CommandGuard.Status($"linked the points of each '{linked}' value in {linking.Elapsed.TotalSeconds:F1} s: " +
                    $"{memory.IndexBytesPerPointOfValueLinks:F0} B per point");
            }

            var cases = FilteredWorkload.Cases(classes, queryClasses)
                .Where(c => options.Cases.Length == 0 || options.Cases.Any(n => c.Name.Contains(n, StringComparison.OrdinalIgnoreCase)))
                .ToList();
            WarmUp(index, queries, options, cases);

            // Every series (unfiltered, then each case under each strategy) is timed at every ef once per round, in
            // turn, so a slow spell on a shared machine falls on all of them alike, not on the one measured at the time.
            var series = new List<Series> { new("unfiltered", null, null) };
            bool labelled = options.Strategies.Length + options.Variants.Length > 1;
            foreach (var filterCase in cases)
            {
                foreach (var strategy in options.Strategies)
                    series.Add(new Series(labelled ? $"{filterCase.Name} [{StrategyName(strategy)}]" : filterCase.Name, filterCase, strategy));
                foreach (string variant in options.Variants)
                    series.Add(new Series($"{filterCase.Name} [{variant}]", filterCase, null, variant));
            }
            var truths = new Dictionary<string, long[][]>();
            var recalls = series.Select(s => Recalls(index, queries, s, options, truths)).ToList();
            var fastest = Time(index, queries, series, options);
            var unfiltered = Points(index, series[0], recalls[0], fastest[0], queries.Count, options);
            var results = new List<FilteredCaseResult>();
            for (int i = 1; i < series.Count; i++)
            {
                var filterCase = series[i].Case!;
                var points = Points(index, series[i], recalls[i], fastest[i], queries.Count, options)
                    .Select(p => WithRatio(p, unfiltered)).ToList();
                double? qps = RecallCurve.QpsAt(points, options.TargetRecall);
                double? reference = RecallCurve.QpsAtOrBest(unfiltered, options.TargetRecall);
                results.Add(new FilteredCaseResult
                {
                    Name = series[i].Name,
                    Field = filterCase.Field,
                    Selectivity = filterCase.Selectivity,
                    MeasuredSelectivity = MeasuredSelectivity(index, filterCase),
                    Points = points,
                    QpsAtTarget = qps,
                    UnfilteredQpsAtTarget = reference,
                    RatioAtTarget = qps / reference,
                });
            }
            var report = new FilteredReport
            {
                Dataset = dataset,
                K = options.K,
                M = options.M,
                EfConstruction = options.EfConstruction,
                BaseCount = baseVectors.Count,
                QueryCount = queries.Count,
                Runs = options.Runs,
                TargetRecall = options.TargetRecall,
                CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
                Command = command,
                Machine = Results.MachineInfo.Current(),
                Memory = memory,
                Unfiltered = unfiltered,
                Cases = results,
            };
            return (report, index);
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    private static FilteredMemory SetPayloadsMeasured(HnswIndex index, byte[] classes, long? residentBefore)
    {
        int count = index.Count;
        long? residentPlain = ResidentMemory.SettledBytes();
        long indexPlain = index.MemoryBytes;
        long heapPlain = GC.GetTotalMemory(forceFullCollection: true);
        Payload[] payloads = FilteredWorkload.Payloads(classes);
        for (int i = 0; i < payloads.Length; i++) index.SetPayload(i, payloads[i]);
        payloads = [];
        long? residentWith = ResidentMemory.SettledBytes();
        long heapWith = GC.GetTotalMemory(forceFullCollection: true);
        long indexWith = index.MemoryBytes;
        index.CountMatching(SearchFilter.Of(Filter.All(new NumericRange("price") { Gte = 0, Lt = 1 }))); // builds its range index
        long heapWithRangeIndex = GC.GetTotalMemory(forceFullCollection: true);
        var memory = new FilteredMemory
        {
            ResidentBytesPerPointWithoutPayload = (residentPlain - residentBefore) / (double)count,
            ResidentBytesPerPointOfPayload = (residentWith - residentPlain) / (double)count,
            GcHeapBytesPerPointOfPayload = (heapWith - heapPlain) / (double)count,
            IndexBytesPerPointWithoutPayload = indexPlain / (double)count,
            IndexBytesPerPointWithPayload = indexWith / (double)count,
            IndexBytesPerPointOfRangeIndex = (index.MemoryBytes - indexWith) / (double)count,
            GcHeapBytesPerPointOfRangeIndex = (heapWithRangeIndex - heapWith) / (double)count,
        };
        CommandGuard.Status($"memory per point: {memory.ResidentBytesPerPointWithoutPayload:F0} B resident without payload, " +
            $"+{memory.ResidentBytesPerPointOfPayload:F0} B resident (+{memory.GcHeapBytesPerPointOfPayload:F0} B GC heap) with it; " +
            $"index accounting {memory.IndexBytesPerPointWithoutPayload:F0} → {memory.IndexBytesPerPointWithPayload:F0} B; " +
            $"price's range index {memory.IndexBytesPerPointOfRangeIndex:F1} B (+{memory.GcHeapBytesPerPointOfRangeIndex:F1} B GC heap)");
        return memory;
    }

    /// <summary>Exact top-k ids per query (all cores: the queries in parallel).</summary>
    private static long[][] GroundTruth(HnswIndex index, VectorSet queries, int k, SearchFilter[]? filters)
    {
        var truth = new long[queries.Count][];
        Parallel.For(0, queries.Count, q =>
        {
            var hits = index.ExactSearch(queries.Row(q), k, filters?[q]);
            truth[q] = hits.Select(h => h.Id).ToArray();
        });
        return truth;
    }

    private static void WarmUp(HnswIndex index, VectorSet queries, FilteredRunOptions options, List<FilterCase> cases)
    {
        var hits = new SearchHit[options.K];
        int ef = options.Efs[0];
        for (int i = 0; i < options.Warmup; i++)
        {
            int q = i % queries.Count;
            index.Search(queries.Row(q), options.K, ef, hits);
            foreach (var filterCase in cases) index.Search(queries.Row(q), options.K, ef, hits, filterCase.Filters[q]);
        }
    }

    /// <summary>Recall@k at each ef against the exact (filtered) top-k, computed here by brute force.</summary>
    private static double[] Recalls(HnswIndex index, VectorSet queries, Series series, FilteredRunOptions options, Dictionary<string, long[][]> truths)
    {
        SearchFilter[]? filters = series.Case?.Filters;
        string key = series.Case?.Name ?? "";
        if (!truths.TryGetValue(key, out var truth)) truths[key] = truth = GroundTruth(index, queries, options.K, filters);
        Apply(index, series);
        var hits = new SearchHit[options.K];
        var recalls = new double[options.Efs.Length];
        for (int e = 0; e < options.Efs.Length; e++)
        {
            double found = 0, expected = 0;
            for (int q = 0; q < queries.Count; q++)
            {
                int count = index.Search(queries.Row(q), options.K, options.Efs[e], hits, filters?[q]);
                expected += truth[q].Length;
                for (int i = 0; i < count; i++)
                    if (Array.IndexOf(truth[q], hits[i].Id) >= 0) found++;
            }
            recalls[e] = expected == 0 ? 1 : found / expected;
        }
        return recalls;
    }

    /// <summary>The fastest pass over the queries, in seconds, per series and ef, over <c>options.Runs</c> rounds.</summary>
    private static double[][] Time(HnswIndex index, VectorSet queries, List<Series> series, FilteredRunOptions options)
    {
        var hits = new SearchHit[options.K];
        var fastest = series.Select(_ => Enumerable.Repeat(double.MaxValue, options.Efs.Length).ToArray()).ToArray();
        for (int run = 0; run < options.Runs; run++)
        {
            for (int e = 0; e < options.Efs.Length; e++)
            {
                int ef = options.Efs[e];
                for (int s = 0; s < series.Count; s++)
                {
                    SearchFilter[]? filters = series[s].Case?.Filters;
                    Apply(index, series[s]);
                    long start = Stopwatch.GetTimestamp();
                    for (int q = 0; q < queries.Count; q++) index.Search(queries.Row(q), options.K, ef, hits, filters?[q]);
                    fastest[s][e] = Math.Min(fastest[s][e], Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            }
            CommandGuard.Status($"round {run + 1} of {options.Runs} timed");
        }
        return fastest;
    }

    private static List<FilteredPoint> Points(HnswIndex index, Series series, double[] recalls, double[] seconds, int queries,
        FilteredRunOptions options)
    {
        SearchFilter[]? filters = series.Case?.Filters;
        string name = series.Name;
        Apply(index, series);
        var points = new List<FilteredPoint>();
        for (int e = 0; e < options.Efs.Length; e++)
        {
            var point = new FilteredPoint
            {
                Ef = options.Efs[e],
                Recall = recalls[e],
                Qps = queries / seconds[e],
                Plan = filters is null ? null : Plans(index, filters, options.Efs[e]),
            };
            points.Add(point);
            CommandGuard.Status($"{name,-26} ef={point.Ef,-4} recall={point.Recall:F4} qps={point.Qps,8:F0} {point.Plan}");
        }
        return points;
    }

    /// <summary>One curve of the report: unfiltered (no case), or a case under a strategy (null: the planner's), or
    /// under a variant of the planner's choice (<see cref="FilteredRunOptions.Variants"/>).</summary>
    private sealed record Series(string Name, FilterCase? Case, FilteredSearchStrategy? Strategy, string? Variant = null);

    private static void Apply(HnswIndex index, Series series)
    {
        index.ForcedStrategy = series.Strategy;
        index.UsesRangeIndexes = series.Variant != "unindexed";
        index.FollowsValueLinks = series.Variant != "unlinked";
    }

    private static string StrategyName(FilteredSearchStrategy? strategy) => strategy switch
    {
        null => "planner",
        FilteredSearchStrategy.GraphWalk => "walk",
        FilteredSearchStrategy.TwoHopWalk => "two-hop",
        _ => "scan",
    };

    private static FilteredPoint WithRatio(FilteredPoint point, List<FilteredPoint> unfiltered)
    {
        double? reference = RecallCurve.QpsAtOrBest(unfiltered, point.Recall);
        return new FilteredPoint
        {
            Ef = point.Ef, Recall = point.Recall, Qps = point.Qps, Plan = point.Plan,
            UnfilteredQpsAtRecall = reference,
            Ratio = point.Qps / reference,
        };
    }

    /// <summary>The planner's choices over the queries: "GraphWalk", or "GraphWalk 70 %, ExactScan 30 %".</summary>
    private static string Plans(HnswIndex index, SearchFilter[] filters, int ef)
    {
        var counts = new Dictionary<string, int>();
        foreach (var filter in filters)
        {
            string name = index.PlanFor(filter, ef) is { } plan ? Describe(index, plan) : "none";
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }
        if (counts.Count == 1) return counts.Keys.First();
        return string.Join(", ", counts.OrderByDescending(c => c.Value).Select(c => $"{c.Key} {100.0 * c.Value / filters.Length:F0} %"));
    }

    private static string Describe(HnswIndex index, FilteredSearchPlan plan) => plan.Strategy switch
    {
        _ when index.ForcedStrategy is { } forced => $"forced {StrategyName(forced)}",
        FilteredSearchStrategy.GraphWalk => $"walk ef {plan.WalkEf}",
        FilteredSearchStrategy.TwoHopWalk => $"two-hop ef {plan.WalkEf}",
        _ => "exact scan",
    };

    private static double MeasuredSelectivity(HnswIndex index, FilterCase filterCase)
    {
        // The first few distinct filters are enough: every value of a field has the same share by construction.
        int sample = Math.Min(filterCase.Filters.Length, 20);
        double sum = 0;
        for (int q = 0; q < sample; q++) sum += index.CountMatching(filterCase.Filters[q]);
        return sum / sample / index.Count;
    }
}
