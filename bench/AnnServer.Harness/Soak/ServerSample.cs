using System.Globalization;

namespace AnnServer.Harness.Soak;

/// <summary>One sample of the server and of the load, every <see cref="SoakOptions.SampleInterval"/>.</summary>
public sealed record ServerSample
{
    public double ElapsedSeconds { get; init; }
    public double WorkingSetBytes { get; init; }
    public double GcHeapBytes { get; init; }
    public double Threads { get; init; }
    public double CpuSeconds { get; init; }
    public double Gen2Collections { get; init; }
    public double IndexBytes { get; init; }
    public double Points { get; init; }
    public double Searches { get; init; }
    public double SearchesPerSecond { get; init; }
    public double SearchP50Ms { get; init; }
    public double SearchP99Ms { get; init; }
    public double WriteP99Ms { get; init; }
    public double Writes { get; init; }
    public long Errors { get; init; }
    public bool WarmingUp { get; init; }

    /// <summary>Process memory beyond what the index itself counts (memory_bytes): what would grow with a leak.</summary>
    public double OverheadBytes => WorkingSetBytes - IndexBytes;
}

/// <summary>Reads the figures a soak samples from the server's Prometheus text.</summary>
public static class PrometheusText
{
    /// <summary>The value of <paramref name="metric"/> (a name, or a name with its labels as they are printed); summed
    /// over every series of that name when <paramref name="sumSeries"/>. NaN when absent.</summary>
    public static double Value(string text, string metric, bool sumSeries = false)
    {
        double sum = 0;
        bool found = false;
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#' || !line.StartsWith(metric, StringComparison.Ordinal)) continue;
            string rest = line[metric.Length..];
            bool exact = rest.StartsWith(' ');
            bool labelled = sumSeries && rest.StartsWith('{');
            if (!exact && !labelled) continue;
            int space = line.LastIndexOf(' ');
            if (!double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double value)) continue;
            if (!sumSeries) return value;
            sum += value;
            found = true;
        }
        return found ? sum : double.NaN;
    }
}
