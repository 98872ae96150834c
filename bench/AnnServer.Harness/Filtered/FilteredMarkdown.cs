using System.Globalization;
using System.Text;

namespace AnnServer.Harness.Filtered;

/// <summary>The page of bench/results/filtered.md: the goals met or not, memory, every point.</summary>
public static class FilteredMarkdown
{
    /// <summary>The issue's goals: QPS at the target recall at least this share of the unfiltered QPS, by selectivity.</summary>
    public static double? GoalRatio(double selectivity) => selectivity switch
    {
        >= 0.05 and < 0.2 => 0.5,
        >= 0.005 and < 0.05 => 0.3,
        _ => null,
    };

    public static void Write(FilteredReport report, string path, string? plotFile, string? note)
    {
        var text = new StringBuilder();
        string target = F(report.TargetRecall, "0.00");
        text.AppendLine($"# {report.Dataset}: filtered search, recall@{report.K} against queries per second");
        text.AppendLine();
        text.AppendLine($"{report.BaseCount:N0} points, {report.QueryCount:N0} queries, M = {report.M}, efConstruction = {report.EfConstruction}, " +
            $"float32, squared L2, one search thread, in-process on the engine; each QPS is the fastest of {report.Runs} passes over the queries. " +
            $"The ground truth is the exact filtered top-{report.K}, computed in the run by brute force. Measured {report.CreatedUtc} on " +
            $"{report.Machine?.Cpu} ({report.Machine?.Cores} cores, {report.Machine?.Simd}).");
        if (note is not null)
        {
            text.AppendLine();
            text.AppendLine(note);
        }
        text.AppendLine();
        text.AppendLine("```");
        text.AppendLine(report.Command);
        text.AppendLine("```");
        text.AppendLine();
        if (plotFile is not null)
        {
            text.AppendLine($"![recall against QPS per filter]({plotFile})");
            text.AppendLine();
        }

        text.AppendLine($"## At recall@{report.K} {target}");
        text.AppendLine();
        text.AppendLine($"QPS at recall {target} read off each sweep (log QPS interpolated between the two efs around it), against the " +
            $"unfiltered search's at the same recall. Goals (issue 18): recall ≥ {target} at every selectivity; at 10 % at least 0.5× " +
            "the unfiltered QPS, at 1 % at least 0.3×.");
        text.AppendLine();
        text.AppendLine($"| filter | selectivity | best recall | QPS at {target} | unfiltered QPS at {target} | ratio | goal | planner at the first ef reaching {target} |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var c in report.Cases)
        {
            double best = c.Points.Max(p => p.Recall);
            var first = c.Points.FirstOrDefault(p => p.Recall >= report.TargetRecall);
            double? goal = GoalRatio(c.Selectivity);
            string verdict = goal is null ? "–" : c.RatioAtTarget is double r ? $"{F(goal.Value, "0.0")}× {(r >= goal ? "met" : "missed")}" : $"{F(goal.Value, "0.0")}× missed";
            text.AppendLine($"| {c.Name} | {F(c.MeasuredSelectivity * 100, "0.###")} % | {F(best, "0.0000")} | {Q(c.QpsAtTarget)} | {Q(c.UnfilteredQpsAtTarget)} | " +
                $"{(c.RatioAtTarget is double ratio ? F(ratio, "0.00") + "×" : "not reached")} | {verdict} | {(first is null ? "–" : $"{first.Plan} (ef {first.Ef})")} |");
        }
        text.AppendLine();

        text.AppendLine("## Memory per point");
        text.AppendLine();
        var m = report.Memory;
        text.AppendLine("The index is built without payloads, then every point's payload is set (six fields: five keywords, one double); " +
            "resident growth is read with the process settled (full compacting collections, malloc_trim) before and after each step.");
        text.AppendLine();
        text.AppendLine("| | bytes per point |");
        text.AppendLine("|---|---:|");
        text.AppendLine($"| resident, index without payload | {Q(m.ResidentBytesPerPointWithoutPayload)} |");
        text.AppendLine($"| resident, added by the payloads | {Q(m.ResidentBytesPerPointOfPayload)} |");
        text.AppendLine($"| GC heap, added by the payloads | {Q(m.GcHeapBytesPerPointOfPayload)} |");
        text.AppendLine($"| index's own accounting (MemoryBytes), without → with payload | {Q(m.IndexBytesPerPointWithoutPayload)} → {Q(m.IndexBytesPerPointWithPayload)} |");
        text.AppendLine($"| the double field's sorted range index (built by the first range filter): accounting / GC heap | {F(m.IndexBytesPerPointOfRangeIndex, "0.0")} / {F(m.GcHeapBytesPerPointOfRangeIndex, "0.0")} |");
        if (m.ValueLinksField is { } linked)
            text.AppendLine($"| the links of keyword field '{linked}' (--value-links; HnswIndex.LinkValues, {F(m.ValueLinksSeconds, "0")} s to link): accounting | {F(m.IndexBytesPerPointOfValueLinks, "0")} |");
        text.AppendLine();

        text.AppendLine("## Every point");
        text.AppendLine();
        text.AppendLine("Ratio: QPS ÷ the unfiltered QPS at the same recall (the unfiltered sweep interpolated; above its best recall, its best-recall point's QPS).");
        text.AppendLine();
        text.AppendLine("| filter | ef | recall | QPS | unfiltered QPS at that recall | ratio | planner |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var p in report.Unfiltered)
            text.AppendLine($"| unfiltered | {p.Ef} | {F(p.Recall, "0.0000")} | {Q(p.Qps)} | | | |");
        foreach (var c in report.Cases)
            foreach (var p in c.Points)
                text.AppendLine($"| {c.Name} | {p.Ef} | {F(p.Recall, "0.0000")} | {Q(p.Qps)} | {Q(p.UnfilteredQpsAtRecall)} | {(p.Ratio is double r ? F(r, "0.00") : "–")} | {p.Plan} |");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, text.ToString());
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
    private static string Q(double? value) => value is double v ? v.ToString("N0", CultureInfo.InvariantCulture) : "–";
}
