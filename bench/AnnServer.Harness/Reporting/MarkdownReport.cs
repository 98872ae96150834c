using System.Globalization;
using System.Text;
using AnnServer.Harness.Results;

namespace AnnServer.Harness.Reporting;

/// <summary>
/// A report as Markdown for bench/results: the speed at fixed recall targets (the figure issue 7 is judged on),
/// every measured point, build time and memory, and the commands and machines that produced them.
/// </summary>
public static class MarkdownReport
{
    public static readonly double[] RecallTargets = [0.90, 0.95, 0.99];

    public static string Render(BenchmarkReport report, string? plotFile = null, string? note = null)
    {
        var md = new StringBuilder();
        bool loadOnly = report.Rows.All(r => r.Load is not null);
        md.AppendLine(loadOnly
            ? $"# {report.Dataset}: search latency under load, k = {report.K}"
            : $"# {report.Dataset}: recall@{report.K} against queries per second");
        md.AppendLine();
        if (!string.IsNullOrWhiteSpace(note))
        {
            md.AppendLine(note.Trim());
            md.AppendLine();
        }
        if (plotFile is not null)
        {
            md.AppendLine(loadOnly ? $"![latency by percentile]({plotFile})" : $"![recall against QPS]({plotFile})");
            md.AppendLine();
        }

        var loadRows = report.Rows.Where(r => r.Load is not null).ToList();
        if (loadRows.Count > 0)
        {
            md.AppendLine("## Under load (gRPC)");
            md.AppendLine();
            md.AppendLine("Latencies in microseconds, measured by the client: from the send (closed loop) or from the due time (open loop).");
            md.AppendLine();
            md.AppendLine("| mode | callers / in flight | rate asked | requests | throughput/s | p50 | p90 | p99 | p99.9 | max | errors | late sends | recall |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
            foreach (var row in loadRows)
            {
                var load = row.Load!;
                double? At(double p) => load.Percentiles.FirstOrDefault(x => x.Percentile == p)?.LatencyUs;
                string errors = load.Errors.Count == 0 ? "none" : string.Join(", ", load.Errors.Select(e => $"{e.Key} {e.Value}"));
                md.AppendLine($"| {load.Mode} | {load.Concurrency} | {F(load.Rate, "F0")} | {load.Requests} | {F(load.Throughput, "F0")} | " +
                              $"{F(At(50), "F0")} | {F(At(90), "F0")} | {F(At(99), "F0")} | {F(At(99.9), "F0")} | {F(At(100), "F0")} | " +
                              $"{errors} | {(load.LateSends is long late ? late.ToString(CultureInfo.InvariantCulture) : "–")} | {F(row.Points.FirstOrDefault()?.Recall, "F4")} |");
            }
            md.AppendLine();
        }
        if (loadRows.Count == report.Rows.Count)
            return RenderTail(report, md);

        // The reference is hnswlib, and where several hnswlib rows exist (the Debian Python build and a native one),
        // the fastest of them at each target: a claim to beat hnswlib must beat its best build.
        var references = report.Rows.Where(r => r.System == "hnswlib").ToList();
        string reference = references.Count > 0 ? "hnswlib" : report.Rows[0].System;
        if (references.Count == 0) references.Add(report.Rows[0]);
        md.AppendLine($"## Queries per second at the smallest ef reaching a recall@{report.K} target");
        md.AppendLine();
        md.AppendLine($"Single-thread QPS at the first ef whose recall@{report.K} reaches the target, and its ratio to {reference}" +
                      (references.Count > 1 ? $" (the fastest of its {references.Count} builds at that target)." : "."));
        md.AppendLine();
        md.AppendLine("Every QPS is the fastest timed pass at its ef: of the rounds (separate processes, the systems in turn) × the timed " +
                      "passes within each round, as the column \"fastest of\" says. One process's speed moves from one minute to the next " +
                      "on a shared machine; the fastest of several is the least disturbed.");
        md.AppendLine();
        md.Append("| system | fastest of |");
        foreach (double target in RecallTargets) md.Append($" ≥ {F(target, "F2")}: ef | QPS | × {reference} |");
        md.AppendLine();
        md.Append("|---|---:|");
        foreach (double _ in RecallTargets) md.Append("---:|---:|---:|");
        md.AppendLine();
        foreach (var row in report.Rows)
        {
            md.Append($"| {RecallPlot.Label(row)} | {RoundsTimesPasses(row)} |");
            foreach (double target in RecallTargets)
            {
                var point = FirstReaching(row, target);
                var referencePoint = references.Select(r => FirstReaching(r, target)).Where(p => p is not null)
                    .MaxBy(p => p!.Qps);
                if (point is null)
                {
                    md.Append(" – | – | – |");
                    continue;
                }
                string ratio = referencePoint is null ? "–" : F(point.Qps / referencePoint.Qps, "F2");
                md.Append($" {point.Ef} | {F(point.Qps, "F0")} | {ratio} |");
            }
            md.AppendLine();
        }
        md.AppendLine();

        return RenderTail(report, md);
    }

    /// <summary>Every point, build and memory, and how it was measured.</summary>
    private static string RenderTail(BenchmarkReport report, StringBuilder md)
    {
        md.AppendLine("## Every point");
        md.AppendLine();
        md.AppendLine($"| system | ef | recall@{report.K} | QPS | mean µs | p50 µs | p99 µs | distances/query |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in report.Rows)
            foreach (var p in row.Points)
                md.AppendLine($"| {RecallPlot.Label(row)} | {p.Ef} | {F(p.Recall, "F4")} | {F(p.Qps, "F0")} | {F(p.MeanUs, "F1")} | {F(p.P50Us, "F1")} | {F(p.P99Us, "F1")} | {F(p.DistanceComputations, "F0")} |");
        md.AppendLine();

        md.AppendLine("## Build and memory");
        md.AppendLine();
        md.AppendLine("| system | build s | memory MiB | bytes/point | resident MiB | bytes/point | peak MiB | parameters |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var row in report.Rows)
        {
            md.AppendLine($"| {RecallPlot.Label(row)} | {F(row.BuildSeconds, "F1")} | {F(row.MemoryBytes / 1048576.0, "F1")} | {PerPoint(row.MemoryBytes, report)} | " +
                          $"{F(row.ResidentBytes / 1048576.0, "F1")} | {PerPoint(row.ResidentBytes, report)} | {F(row.PeakResidentBytes / 1048576.0, "F1")} | " +
                          $"`{row.Params.ToJsonString(ReportJson.Compact)}` |");
        }
        md.AppendLine();
        md.AppendLine("**memory** is what each system counts itself: AnnServer `HnswIndex.MemoryBytes` (its vectors, int8 codes, links, ids " +
                      "and labels, and an estimate of its id map), USearch `usearch_memory_usage`; hnswlib compiled here has no such count " +
                      "and gives its resident growth; hnswlib and FAISS through Debian's Python give the size of the saved index file, the " +
                      "closest figure their bindings expose.");
        md.AppendLine();
        md.AppendLine("**resident** is measured the same way for every system that has it: the growth of the process's resident memory " +
                      "(/proc/self/statm) from just before the index is made to just after it is built or loaded, each reading taken once " +
                      "freed memory has gone back to the kernel (.NET: full blocking compacting collections around the finalizers; both: " +
                      "glibc `malloc_trim`). It counts what an own count leaves out, such as hnswlib's per-element mutexes, link-list " +
                      "pointers, levels, label hash map and visited-list pool, and leaves out what was allocated but never touched " +
                      "(AnnServer's count includes the whole of its last, partly filled 16 MiB chunk per store). The first index made " +
                      "in an ann-bench process also carries the runtime's one-time growth for the code it runs first (about 7 MiB when building, " +
                      "measured by building each quantization first and second).");
        md.AppendLine();
        md.AppendLine("**peak** is the most the process's resident memory rose above the same starting reading while the index was built or " +
                      "loaded: the kernel's high-water mark (VmHWM in /proc/self/status), reset to the current level just before (writing 5 " +
                      "to /proc/self/clear_refs). It counts the build's or load's temporaries (for a mapped load, the file pages it read " +
                      "through the mapping), not the input vectors read before. Blank where the kernel gives no peak.");
        md.AppendLine();
        if (report.Rows.Any(r => r.Rounds > 1))
        {
            md.AppendLine("Where a row combines rounds, its build time and memory come from the round that built the index; the other " +
                          "rounds loaded it from the saved file, without timing a build.");
            md.AppendLine();
        }

        md.AppendLine("## How it was measured");
        md.AppendLine();
        var sources = report.Sources is { Count: > 0 }
            ? report.Sources
            : [new ReportSource { File = "(this run)", Command = report.Command, Machine = report.Machine, CreatedUtc = report.CreatedUtc }];
        foreach (var source in sources)
        {
            string systems = source.Systems is { Count: > 0 } ? $" ({string.Join(", ", source.Systems)})" : "";
            md.AppendLine($"- `{source.File}`{systems}, {source.CreatedUtc ?? "unknown time"}:");
            md.AppendLine($"  `{source.Command ?? "command not recorded"}`");
            if (source.Machine is { } machine)
                md.AppendLine($"  on {machine.Cpu}, {machine.Cores} cores, {machine.Os}, {machine.Runtime}" + (machine.Simd is null ? "" : $", {machine.Simd}"));
        }
        md.AppendLine();
        md.AppendLine($"Dataset {report.Dataset}: {report.BaseCount?.ToString(CultureInfo.InvariantCulture) ?? "?"} base points, " +
                      $"{report.QueryCount?.ToString(CultureInfo.InvariantCulture) ?? "?"} queries, metric {report.Metric ?? "?"}. " +
                      "Recall is tie-aware (bench/README.md); QPS is single-thread unless the parameters say otherwise.");
        return md.ToString();
    }

    private static string PerPoint(long? bytes, BenchmarkReport report) =>
        bytes is long b && report.BaseCount is int n && n > 0 ? F(b / (double)n, "F0") : "–";

    /// <summary>"5 × 3": rounds combined by `ann-bench merge` × timed passes per ef in each.</summary>
    internal static string RoundsTimesPasses(ResultRow row)
    {
        string passes = row.Params.TryGetPropertyValue("runs", out var runs) && runs is not null ? runs.ToString() : "?";
        return $"{row.Rounds ?? 1} × {passes}";
    }

    /// <summary>The point of smallest ef whose recall reaches the target, or null.</summary>
    public static ResultPoint? FirstReaching(ResultRow row, double target) =>
        row.Points.Where(p => p.Recall is double r && r >= target).OrderBy(p => p.Ef).FirstOrDefault();

    private static string F(double? value, string format) =>
        value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";
}
