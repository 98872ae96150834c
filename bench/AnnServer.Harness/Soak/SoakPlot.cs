using ScottPlot;

namespace AnnServer.Harness.Soak;

/// <summary>The soak over time, one panel per figure sharing the time axis: memory (RSS, RSS minus the index's own
/// bytes, GC heap), threads, and search latency (p50, p99); a dashed line marks the end of the warm-up.</summary>
public static class SoakPlot
{
    public static void Save(SoakReport report, string path, int width = 1000, int height = 1000)
    {
        var samples = report.Samples.Where(s => double.IsFinite(s.WorkingSetBytes)).ToList();
        if (samples.Count < 2) throw new InvalidOperationException("nothing to plot: fewer than two samples");
        double[] minutes = samples.Select(s => s.ElapsedSeconds / 60).ToArray();
        var palette = new ScottPlot.Palettes.Category10();

        var multiplot = new Multiplot();
        multiplot.AddPlots(3);
        Plot memory = multiplot.GetPlot(0), threads = multiplot.GetPlot(1), latency = multiplot.GetPlot(2);

        Line(memory, minutes, samples.Select(s => s.WorkingSetBytes / 1048576), "working set (RSS)", palette.GetColor(0));
        Line(memory, minutes, samples.Select(s => s.OverheadBytes / 1048576), "RSS minus index bytes", palette.GetColor(1));
        Line(memory, minutes, samples.Select(s => s.GcHeapBytes / 1048576), "GC heap", palette.GetColor(2));
        memory.YLabel("MiB");
        memory.Title($"ann-bench soak: {report.Collection} ({report.Dimension}-d), {report.Clients} clients, " +
                     $"{report.Minutes:0.#} min, memory {(report.MemoryFlat ? "flat" : "NOT flat")} after warm-up");

        Line(threads, minutes, samples.Select(s => s.Threads), "server threads", palette.GetColor(3));
        threads.YLabel("threads");

        var measured = samples.Skip(1).ToList();
        double[] measuredMinutes = measured.Select(s => s.ElapsedSeconds / 60).ToArray();
        Line(latency, measuredMinutes, measured.Select(s => s.SearchP50Ms), "search p50", palette.GetColor(4));
        Line(latency, measuredMinutes, measured.Select(s => s.SearchP99Ms), "search p99", palette.GetColor(5));
        Line(latency, measuredMinutes, measured.Select(s => s.WriteP99Ms), "write p99", palette.GetColor(6));
        latency.YLabel("ms (per sample interval)");
        latency.XLabel("minutes");

        foreach (Plot plot in new[] { memory, threads, latency })
        {
            plot.Axes.SetLimitsX(0, minutes[^1]);
            var warmup = plot.Add.VerticalLine(report.WarmupMinutes);
            warmup.LinePattern = LinePattern.Dashed;
            warmup.Color = Colors.Gray;
            plot.ShowLegend(Alignment.UpperLeft);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        multiplot.SavePng(path, width, height);
    }

    private static void Line(Plot plot, double[] xs, IEnumerable<double> ys, string label, Color color)
    {
        var line = plot.Add.ScatterLine(xs, ys.ToArray(), color);
        line.LineWidth = 2;
        line.LegendText = label;
    }
}
