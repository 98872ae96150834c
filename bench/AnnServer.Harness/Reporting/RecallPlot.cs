using AnnServer.Harness.Results;
using ScottPlot;

namespace AnnServer.Harness.Reporting;

/// <summary>
/// The recall–QPS curve of every row, as ann-benchmarks draws it: recall on x, queries per second on a log10 y axis,
/// up and to the right is better. ScottPlot has no log axis, so the values are log10'd and the ticks relabelled.
/// </summary>
public static class RecallPlot
{
    public static void Save(BenchmarkReport report, string path, int width = 900, int height = 600)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int drawn = 0;
        for (int r = 0; r < report.Rows.Count; r++)
        {
            var row = report.Rows[r];
            var points = row.Points.Where(p => p.Recall is not null && p.Qps > 0).OrderBy(p => p.Ef).ToArray();
            if (points.Length == 0) continue;
            double[] xs = points.Select(p => p.Recall!.Value).ToArray();
            double[] ys = points.Select(p => Math.Log10(p.Qps)).ToArray();
            var scatter = plot.Add.Scatter(xs, ys, palette.GetColor(r));
            scatter.LegendText = Label(row);
            scatter.MarkerSize = 7;
            scatter.LineWidth = 2;
            drawn++;
        }
        if (drawn == 0)
            throw new InvalidOperationException("nothing to plot: no row has a point with a recall (was --ground-truth given?)");

        var qps = report.Rows.SelectMany(r => r.Points).Where(p => p.Qps > 0).Select(p => p.Qps).ToArray();
        plot.Axes.Left.TickGenerator = LogScale.Ticks(qps.Min(), qps.Max(), v => v.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(.15);
        plot.Grid.MinorLineColor = Colors.Black.WithOpacity(.05);
        plot.Grid.MinorLineWidth = 1;
        plot.Title($"{report.Dataset}: recall@{report.K} vs queries per second");
        plot.XLabel($"recall@{report.K}");
        plot.YLabel("queries per second (log scale)");
        plot.ShowLegend(Alignment.LowerLeft);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, width, height);
    }

    internal static string Label(ResultRow row)
    {
        var p = row.Params;
        string? Value(string key) => p.TryGetPropertyValue(key, out var node) && node is not null ? node.ToString() : null;
        var parts = new List<string>();
        if (Value("m") is string m) parts.Add($"M={m}");
        if (Value("ef_construction") is string efc) parts.Add($"efC={efc}");
        if (Value("search_threads") is string t && t != "1") parts.Add($"{t} threads");
        if (Value("variant") is string v) parts.Add(v);
        return parts.Count == 0 ? row.System : $"{row.System} ({string.Join(", ", parts)})";
    }
}
