using AnnServer.Harness.Results;
using ScottPlot;

namespace AnnServer.Harness.Reporting;

/// <summary>
/// Latency by percentile, as HdrHistogram plots it: x is log10(1 / (1 − p)), so 90 %, 99 %, 99.9 % are evenly spaced
/// and the tail is as visible as the median; latency on a log10 axis. One line per load row (e.g. 1 and 16 callers).
/// </summary>
public static class LatencyPlot
{
    public static void Save(BenchmarkReport report, string path, int width = 900, int height = 600)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int drawn = 0;
        double lowest = double.MaxValue, highest = 1;
        for (int r = 0; r < report.Rows.Count; r++)
        {
            var load = report.Rows[r].Load;
            if (load is null || load.Percentiles.Count == 0) continue;
            var points = load.Percentiles.Where(p => p.Percentile < 100).OrderBy(p => p.Percentile).ToArray();
            double[] xs = points.Select(p => Position(p.Percentile)).ToArray();
            double[] ys = points.Select(p => Math.Log10(Math.Max(p.LatencyUs, 1))).ToArray();
            var line = plot.Add.ScatterLine(xs, ys, palette.GetColor(r));
            line.LineWidth = 2;
            line.LegendText = Legend(load);
            lowest = Math.Min(lowest, points.Min(p => Math.Max(p.LatencyUs, 1)));
            highest = Math.Max(highest, points.Max(p => Math.Max(p.LatencyUs, 1)));
            drawn++;
        }
        if (drawn == 0) throw new InvalidOperationException("nothing to plot: no row has load percentiles");

        double[] marks = [0, 50, 90, 99, 99.9, 99.99, 99.999];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            marks.Select(Position).ToArray(), marks.Select(m => $"{m}%").ToArray());
        plot.Title($"{report.Dataset}: latency by percentile");
        plot.XLabel("percentile");
        plot.Axes.Left.TickGenerator = LogScale.Ticks(lowest, highest, LogScale.Microseconds);
        plot.YLabel("latency (log scale)");
        plot.ShowLegend(Alignment.LowerRight);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, width, height);
    }

    internal static string Legend(LoadSummary load) => load.StreamWindow is int window
        ? $"closed loop, {load.Concurrency} stream{(load.Concurrency == 1 ? "" : "s")} × {window} in flight"
        : load.Mode == "open"
        ? $"open loop, {load.Rate:F0}/s, at most {load.Concurrency} in flight"
        : $"closed loop, {load.Concurrency} caller{(load.Concurrency == 1 ? "" : "s")}";

    private static double Position(double percentile) => Math.Log10(1.0 / (1.0 - Math.Min(percentile, 99.9999) / 100.0));
}
