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
        md.AppendLine($"# {report.Dataset}: recall@{report.K} against queries per second");
        md.AppendLine();
        if (!string.IsNullOrWhiteSpace(note))
        {
            md.AppendLine(note.Trim());
            md.AppendLine();
        }
        if (plotFile is not null)
        {
            md.AppendLine($"![recall against QPS]({plotFile})");
            md.AppendLine();
        }

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
        md.Append("| system |");
        foreach (double target in RecallTargets) md.Append($" ≥ {F(target, "F2")}: ef | QPS | × {reference} |");
        md.AppendLine();
        md.Append("|---|");
        foreach (double _ in RecallTargets) md.Append("---:|---:|---:|");
        md.AppendLine();
        foreach (var row in report.Rows)
        {
            md.Append($"| {RecallPlot.Label(row)} |");
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
        md.AppendLine("| system | build s | memory MiB | bytes/point | parameters |");
        md.AppendLine("|---|---:|---:|---:|---|");
        foreach (var row in report.Rows)
        {
            string perPoint = row.MemoryBytes is long m && report.BaseCount is int n && n > 0 ? F(m / (double)n, "F0") : "–";
            md.AppendLine($"| {RecallPlot.Label(row)} | {F(row.BuildSeconds, "F1")} | {F(row.MemoryBytes / 1048576.0, "F1")} | {perPoint} | `{row.Params.ToJsonString(ReportJson.Compact)}` |");
        }
        md.AppendLine();
        md.AppendLine("Memory is what each system reports: AnnServer `HnswIndex.MemoryBytes`, USearch `usearch_memory_usage`, " +
                      "hnswlib and FAISS the size of the saved index file (their Python bindings expose nothing closer).");
        md.AppendLine();

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

    /// <summary>The point of smallest ef whose recall reaches the target, or null.</summary>
    public static ResultPoint? FirstReaching(ResultRow row, double target) =>
        row.Points.Where(p => p.Recall is double r && r >= target).OrderBy(p => p.Ef).FirstOrDefault();

    private static string F(double? value, string format) =>
        value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : "–";
}
