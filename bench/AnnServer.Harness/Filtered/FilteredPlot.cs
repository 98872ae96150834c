using AnnServer.Harness.Reporting;
using ScottPlot;

namespace AnnServer.Harness.Filtered;

/// <summary>Recall–QPS curves per filter and unfiltered, drawn as <see cref="RecallPlot"/> draws the peers' (log10 QPS).</summary>
public static class FilteredPlot
{
    public static void Save(FilteredReport report, string path, int width = 1000, int height = 650)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var series = new List<(string Name, List<FilteredPoint> Points)> { ("unfiltered", report.Unfiltered) };
        series.AddRange(report.Cases.Select(c => (c.Name, c.Points)));
        for (int i = 0; i < series.Count; i++)
        {
            var points = series[i].Points.Where(p => p.Qps > 0).OrderBy(p => p.Ef).ToArray();
            if (points.Length == 0) continue;
            var scatter = plot.Add.Scatter(points.Select(p => p.Recall).ToArray(), points.Select(p => Math.Log10(p.Qps)).ToArray(), palette.GetColor(i));
            scatter.LegendText = series[i].Name;
            scatter.MarkerSize = 6;
            scatter.LineWidth = i == 0 ? 3 : 2;
        }
        double[] qps = series.SelectMany(s => s.Points).Where(p => p.Qps > 0).Select(p => p.Qps).ToArray();
        if (qps.Length == 0) throw new InvalidOperationException("nothing to plot: no point was measured");
        var target = plot.Add.VerticalLine(report.TargetRecall, 1, Colors.Gray);
        target.LinePattern = LinePattern.Dashed;
        plot.Axes.Left.TickGenerator = LogScale.Ticks(qps.Min(), qps.Max(), v => v.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        plot.Grid.MajorLineColor = Colors.Black.WithOpacity(.15);
        plot.Title($"{report.Dataset}: filtered search, recall@{report.K} vs queries per second (one thread)");
        plot.XLabel($"recall@{report.K}");
        plot.YLabel("queries per second (log scale)");
        plot.ShowLegend(Alignment.LowerLeft);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, width, height);
    }
}
