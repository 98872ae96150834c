using System.Globalization;
using System.Text;

namespace AnnServer.Harness.Recommend;

/// <summary>The page of bench/results/recommend.md.</summary>
public static class RecommendMarkdown
{
    public static void Write(RecommendReport report, string path, string? note)
    {
        var options = report.Options;
        var text = new StringBuilder();
        text.AppendLine($"# fashion-mnist: Recommend and group-by, recall@{options.K} against queries per second");
        text.AppendLine();
        text.AppendLine($"{report.BaseCount:N0} points, {report.QueryCount:N0} queries of each kind, M = {options.M}, efConstruction = " +
            $"{options.EfConstruction}, float32, squared L2, one search thread, in-process on the engine; each QPS is the fastest of " +
            $"{options.Runs} passes over the queries, every kind timed at every ef in turn within each pass. Recall is against the exact " +
            $"answer of the same query, computed in the run by brute force. Measured {report.CreatedUtc} on {report.Machine}.");
        text.AppendLine();
        text.AppendLine("- search: the test image's nearest training images (the baseline).");
        text.AppendLine("- recommend: two training images of one class as positives, one of another class as negative (seeded picks, one " +
            "per test image); the examples are excluded. Average vector searches avg_pos + (avg_pos − avg_neg); best score walks the " +
            "graph with the best-score rule (a walk per positive, merged).");
        text.AppendLine($"- grouped: the test image's nearest training images grouped by class label (int64 field `class`), {options.Groups} " +
            $"groups of {options.GroupSize}; recall counts the (group, point) pairs of the exact grouped answer found. Its ef is the walk's " +
            "first ef (at least groups × group size), grown while groups are short.");
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
        string target = F(options.TargetRecall, "0.00");
        text.AppendLine($"## At recall {target}");
        text.AppendLine();
        text.AppendLine($"| query kind | QPS at recall {target} | plain search's QPS at that recall | ratio |");
        text.AppendLine("| --- | ---: | ---: | ---: |");
        foreach (var series in report.Series)
            text.AppendLine($"| {series.Name} | {Qps(series.QpsAtTarget)} | {Qps(series.SearchQpsAtTarget)} | " +
                $"{(series.Ratio is double r ? F(r, "0.00") : "-")} |");
        text.AppendLine();
        text.AppendLine("## Every point");
        text.AppendLine();
        text.AppendLine("| query kind | ef | recall | QPS |");
        text.AppendLine("| --- | ---: | ---: | ---: |");
        foreach (var series in report.Series)
            foreach (var point in series.Points)
                text.AppendLine($"| {series.Name} | {point.Ef} | {F(point.Recall, "0.0000")} | {F(point.Qps, "N0")} |");
        File.WriteAllText(path, text.ToString());
    }

    private static string Qps(double? qps) => qps is double value ? F(value, "N0") : "not reached";

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
