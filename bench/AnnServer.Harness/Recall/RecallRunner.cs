using System.Diagnostics;
using AnnServer.Datasets;
using AnnServer.Harness.Results;
using AnnServer.Harness.Systems;
using HdrHistogram;

namespace AnnServer.Harness.Recall;

/// <summary>How one ef is measured.</summary>
public sealed class RecallRunOptions
{
    public required int K { get; init; }

    /// <summary>Search threads; the queries are dealt round-robin to them and QPS is over the whole pass.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Queries searched (per thread) before timing, so code is jitted and caches are warm.</summary>
    public int Warmup { get; init; } = 1000;

    /// <summary>Timed passes over all queries; the fastest is kept, as ann-benchmarks does.</summary>
    public int Runs { get; init; } = 1;
}

/// <summary>
/// Times a system over a query set at one ef: every query is timed on its own (HdrHistogram, nanoseconds) and the
/// pass as a whole gives the QPS. The timed loop only reads the clock, searches and records: no allocation.
/// </summary>
public static class RecallRunner
{
    // An hour in nanoseconds: far above any search; 3 significant digits keep the histogram small.
    private const long HighestTrackableNanoseconds = 3_600_000_000_000;

    public static ResultPoint Measure(ISearchSystem system, VectorSet queries, int ef, RecallRunOptions options,
        RecallScorer? scorer)
    {
        int k = options.K;
        int threads = Math.Max(1, options.Threads);
        system.SetEf(ef);
        var searchers = new ISearcher[threads];
        for (int t = 0; t < threads; t++) searchers[t] = system.CreateSearcher(k);
        var ids = new long[(long)queries.Count * k];
        var counts = new int[queries.Count];

        RunPass(searchers, queries, k, ids, counts, histograms: null, limit: Math.Min(options.Warmup, queries.Count));

        long? distancesBefore = system.DistanceComputations;
        double bestSeconds = double.MaxValue;
        LongHistogram? best = null;
        for (int run = 0; run < Math.Max(1, options.Runs); run++)
        {
            var histograms = new LongHistogram[threads];
            for (int t = 0; t < threads; t++) histograms[t] = new LongHistogram(HighestTrackableNanoseconds, 3);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            double seconds = RunPass(searchers, queries, k, ids, counts, histograms, queries.Count);
            if (seconds < bestSeconds)
            {
                bestSeconds = seconds;
                best = histograms[0];
                for (int t = 1; t < threads; t++) best.Add(histograms[t]);
            }
        }
        long? distancesAfter = system.DistanceComputations;
        double? distancePerQuery = distancesBefore is long before && distancesAfter is long after
            ? (after - before) / (double)((long)queries.Count * Math.Max(1, options.Runs))
            : null;

        var latencies = best ?? throw new InvalidOperationException("no timed pass ran");
        return new ResultPoint
        {
            Ef = ef,
            Recall = scorer?.MeanRecall(ids, counts),
            Qps = queries.Count / bestSeconds,
            MeanUs = latencies.GetMean() / 1000.0,
            P50Us = latencies.GetValueAtPercentile(50) / 1000.0,
            P90Us = latencies.GetValueAtPercentile(90) / 1000.0,
            P99Us = latencies.GetValueAtPercentile(99) / 1000.0,
            P999Us = latencies.GetValueAtPercentile(99.9) / 1000.0,
            MaxUs = latencies.GetMaxValue() / 1000.0,
            DistanceComputations = distancePerQuery,
        };
    }

    /// <summary>
    /// Searches, untimed, for <paramref name="duration"/> on one thread, so that the runtime has recompiled the search
    /// code at its final tier before anything is timed. Tiered compilation first runs a method unoptimised and
    /// recompiles it on a background thread once it is hot and no new method has been jitted for 100 ms; a warm-up of
    /// 1,000 queries lasts about 50 ms. A build warms most of the search code, a loaded snapshot nothing: the first ef of
    /// `--index` on 10,000 Fashion-MNIST points measured 10,425 QPS against 36,089 for the same ef just after it.
    /// </summary>
    public static void WarmUpRuntime(ISearchSystem system, VectorSet queries, int ef, int k, TimeSpan duration)
    {
        system.SetEf(ef);
        var searcher = system.CreateSearcher(k);
        var ids = new long[k];
        long start = Stopwatch.GetTimestamp();
        for (int q = 0; Stopwatch.GetElapsedTime(start) < duration; q = q + 1 == queries.Count ? 0 : q + 1)
            searcher.Search(queries.Row(q), ids);
    }

    /// <summary>Searches queries 0..limit-1, thread t taking every threads-th one; returns the wall-clock seconds.</summary>
    private static double RunPass(ISearcher[] searchers, VectorSet queries, int k, long[] ids, int[] counts,
        LongHistogram[]? histograms, int limit)
    {
        int threads = searchers.Length;
        long start = Stopwatch.GetTimestamp();
        if (threads == 1)
        {
            SearchSlice(searchers[0], queries, k, ids, counts, histograms?[0], 0, 1, limit);
        }
        else
        {
            var workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                int first = t;
                workers[t] = new Thread(() => SearchSlice(searchers[first], queries, k, ids, counts, histograms?[first], first, threads, limit))
                {
                    IsBackground = true,
                    Name = $"ann-bench search {t}",
                };
                workers[t].Start();
            }
            foreach (var worker in workers) worker.Join();
        }
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static void SearchSlice(ISearcher searcher, VectorSet queries, int k, long[] ids, int[] counts,
        LongHistogram? histogram, int first, int step, int limit)
    {
        double ticksToNanoseconds = 1e9 / Stopwatch.Frequency;
        for (int q = first; q < limit; q += step)
        {
            var query = queries.Row(q);
            var slots = ids.AsSpan(q * k, k);
            long before = Stopwatch.GetTimestamp();
            counts[q] = searcher.Search(query, slots);
            long elapsed = Stopwatch.GetTimestamp() - before;
            histogram?.RecordValue((long)(elapsed * ticksToNanoseconds));
        }
    }
}
