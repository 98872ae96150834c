using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Core.Grouping;
using AnnServer.Core.Payloads;
using AnnServer.Datasets;
using AnnServer.Harness.Cli;
using AnnServer.Harness.Filtered;

namespace AnnServer.Harness.Recommend;

/// <summary>Settings of one `ann-bench recommend` run.</summary>
public sealed class RecommendRunOptions
{
    public int K { get; init; } = 10;
    public int M { get; init; } = 16;
    public int EfConstruction { get; init; } = 200;
    public int BuildThreads { get; init; } = 2;
    public required int[] Efs { get; init; }
    public int Runs { get; init; } = 3;
    public double TargetRecall { get; init; } = 0.95;
    public int Groups { get; init; } = 5;
    public int GroupSize { get; init; } = 3;
}

/// <summary>One query kind's sweep: recall against its own exact answer and single-thread QPS, per ef.</summary>
public sealed record RecommendSeries(string Name, List<FilteredPoint> Points, double? QpsAtTarget, double? SearchQpsAtTarget)
{
    public double? Ratio => QpsAtTarget / SearchQpsAtTarget;
}

public sealed record RecommendReport(string Command, int BaseCount, int QueryCount, RecommendRunOptions Options, string Machine,
    string CreatedUtc, List<RecommendSeries> Series);

/// <summary>
/// Builds the index in-process with the class label as the int64 payload field "class", computes each query kind's
/// exact answer by brute force (all cores), then sweeps ef single-threaded, every kind timed at every ef once per
/// round in turn (a slow spell on a shared machine falls on all alike); the fastest of the rounds is kept.
/// </summary>
public static class RecommendRunner
{
    private delegate int Query(HnswIndex index, int q, int ef, SearchHit[] hits);

    public static RecommendReport Run(VectorSet baseVectors, byte[] classes, VectorSet queries, RecommendRunOptions options, string command)
    {
        using var index = new HnswIndex(new HnswOptions
        {
            Dimension = baseVectors.Dimension, Metric = DistanceMetric.L2, M = options.M, EfConstruction = options.EfConstruction,
        });
        var ids = new long[baseVectors.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = i;
        var payloads = new Payload?[baseVectors.Count];
        for (int i = 0; i < payloads.Length; i++) payloads[i] = new Payload { { "class", (long)classes[i] } };
        var clock = Stopwatch.StartNew();
        index.UpsertMany(baseVectors.Data, ids, labels: null, payloads, threads: options.BuildThreads);
        CommandGuard.Status($"built {baseVectors.Count} points in {clock.Elapsed.TotalSeconds:F1} s");

        var workload = RecommendWorkload.Make(baseVectors, classes, queries.Count);
        var groupBy = new GroupBy("class", options.GroupSize, options.Groups);
        int k = options.K;
        var kinds = new (string Name, Query Run, Func<int, long[]> Truth)[]
        {
            ("search", (ix, q, ef, hits) => ix.Search(queries.Row(q), k, ef, hits),
                q => Ids(index.ExactSearch(queries.Row(q), k))),
            ("recommend, average vector", (ix, q, ef, hits) => ix.Search(workload.Averages[q], k, ef, hits, workload.Exclusions[q]),
                q => Ids(index.ExactSearch(workload.Averages[q], k, workload.Exclusions[q]))),
            ("recommend, best score", (ix, q, ef, hits) => ix.SearchBestScore(workload.PositiveVectors[q], workload.NegativeVectors[q], k, ef, hits, workload.Exclusions[q]),
                q => Ids(index.ExactBestScore(workload.PositiveVectors[q], workload.NegativeVectors[q], k, workload.Exclusions[q]))),
            ($"search grouped by class ({options.Groups} × {options.GroupSize})", (ix, q, ef, hits) => Flatten(ix.SearchGroups(queries.Row(q), groupBy, ef), hits),
                q => ExactGroups(index, queries.Row(q), classes, groupBy)),
        };

        var truths = kinds.Select(kind =>
        {
            var truth = new long[queries.Count][];
            Parallel.For(0, queries.Count, q => truth[q] = kind.Truth(q));
            CommandGuard.Status($"exact answers of '{kind.Name}' computed");
            return truth;
        }).ToArray();

        var hits = new SearchHit[Math.Max(k, groupBy.Hits)];
        var recalls = kinds.Select((kind, s) => options.Efs.Select(ef =>
        {
            double found = 0, expected = 0;
            for (int q = 0; q < queries.Count; q++)
            {
                int count = kind.Run(index, q, ef, hits);
                expected += truths[s][q].Length;
                for (int i = 0; i < count; i++)
                    if (Array.IndexOf(truths[s][q], hits[i].Id) >= 0) found++;
            }
            return expected == 0 ? 1 : found / expected;
        }).ToArray()).ToArray();

        var fastest = kinds.Select(_ => Enumerable.Repeat(double.MaxValue, options.Efs.Length).ToArray()).ToArray();
        for (int round = 0; round < options.Runs; round++)
        {
            for (int e = 0; e < options.Efs.Length; e++)
            {
                for (int s = 0; s < kinds.Length; s++)
                {
                    long start = Stopwatch.GetTimestamp();
                    for (int q = 0; q < queries.Count; q++) kinds[s].Run(index, q, options.Efs[e], hits);
                    fastest[s][e] = Math.Min(fastest[s][e], Stopwatch.GetElapsedTime(start).TotalSeconds);
                }
            }
            CommandGuard.Status($"timing round {round + 1} of {options.Runs} done");
        }

        var sweeps = kinds.Select((_, s) => options.Efs.Select((ef, e) => new FilteredPoint
        {
            Ef = ef, Recall = recalls[s][e], Qps = queries.Count / fastest[s][e],
        }).ToList()).ToList();
        double? searchQps = RecallCurve.QpsAtOrBest(sweeps[0], options.TargetRecall);
        var series = kinds.Select((kind, s) => new RecommendSeries(kind.Name, sweeps[s], RecallCurve.QpsAt(sweeps[s], options.TargetRecall), searchQps)).ToList();
        var machine = Results.MachineInfo.Current();
        return new RecommendReport(command, baseVectors.Count, queries.Count, options, $"{machine.Cpu} ({machine.Cores} cores, {machine.Simd})",
            DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"), series);
    }

    private static long[] Ids(SearchHit[] hits) => hits.Select(h => h.Id).ToArray();

    /// <summary>The groups' hits laid end to end (recall counts the (group, point) pairs found).</summary>
    private static int Flatten(IReadOnlyList<HitGroup> groups, SearchHit[] hits)
    {
        int count = 0;
        foreach (var group in groups)
            foreach (var hit in group.Hits) hits[count++] = hit;
        return count;
    }

    /// <summary>The exact grouped answer: every point by distance, dealt into the first groups met, each taking its first
    /// group-size points.</summary>
    private static long[] ExactGroups(HnswIndex index, ReadOnlySpan<float> query, byte[] classes, GroupBy groupBy)
    {
        var order = new List<int>();
        var members = new Dictionary<int, List<long>>();
        foreach (SearchHit hit in index.ExactSearch(query, index.Count))
        {
            int key = classes[hit.Id];
            if (!members.TryGetValue(key, out var group))
            {
                if (members.Count == groupBy.Groups) continue;
                members.Add(key, group = []);
                order.Add(key);
            }
            if (group.Count < groupBy.GroupSize) group.Add(hit.Id);
            if (members.Count == groupBy.Groups && members.Values.All(g => g.Count == groupBy.GroupSize)) break;
        }
        return order.SelectMany(key => members[key]).ToArray();
    }
}
