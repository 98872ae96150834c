using AnnServer.Harness.Results;
using ScottPlot;

namespace AnnServer.Harness.Reporting;

/// <summary>
/// Latency by percentile, as HdrHistogram plots it: x is log10(1 / (1 − p)), so 90 %, 99 %, 99.9 % are evenly spaced
/// and the tail is as visible as the median. One line per load row (e.g. 1 and 16 callers).
/// </summary>
public static class LatencyPlot
{
    public static void Save(BenchmarkReport report, string path, int width = 900, int height = 600)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int drawn = 0;
        for (int r = 0; r < report.Rows.Count; r++)
        {
            var load = report.Rows[r].Load;
            if (load is null || load.Percentiles.Count == 0) continue;
            var points = load.Percentiles.Where(p => p.Percentile < 100).OrderBy(p => p.Percentile).ToArray();
            double[] xs = points.Select(p => Position(p.Percentile)).ToArray();
            double[] ys = points.Select(p => p.LatencyUs / 1000.0).ToArray();
            var line = plot.Add.ScatterLine(xs, ys, palette.GetColor(r));
            line.LineWidth = 2;
            line.LegendText = $"{load.Mode} loop, {load.Concurrency} callers" + (load.Rate is double rate ? $", {rate:F0}/s" : "");
            drawn++;
        }
        if (drawn == 0) throw new InvalidOperationException("nothing to plot: no row has load percentiles");

        double[] marks = [0, 50, 90, 99, 99.9, 99.99, 99.999];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            marks.Select(Position).ToArray(), marks.Select(m => $"{m}%").ToArray());
        plot.Title($"{report.Dataset}: latency by percentile");
        plot.XLabel("percentile");
        plot.YLabel("latency (ms)");
        plot.ShowLegend(Alignment.UpperLeft);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, width, height);
    }

    private static double Position(double percentile) => Math.Log10(1.0 / (1.0 - Math.Min(percentile, 99.9999) / 100.0));
}
