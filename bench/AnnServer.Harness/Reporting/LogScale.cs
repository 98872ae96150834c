using System.Globalization;

namespace AnnServer.Harness.Reporting;

/// <summary>
/// A log10 axis for ScottPlot, which has none: plot log10(value), then label the ticks with the values.
/// Labelled ticks at 1, 2 and 5 × 10ⁿ and unlabelled ones at the other integers, so even a curve spanning less than a
/// decade gets several readable values.
/// </summary>
public static class LogScale
{
    public static ScottPlot.TickGenerators.NumericManual Ticks(double min, double max, Func<double, string> label)
    {
        int low = (int)Math.Floor(Math.Log10(min)), high = (int)Math.Ceiling(Math.Log10(max));
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int decade = low; decade <= high; decade++)
        {
            for (int mantissa = 1; mantissa <= 9; mantissa++)
            {
                double value = mantissa * Math.Pow(10, decade);
                if (mantissa is 1 or 2 or 5) ticks.AddMajor(Math.Log10(value), label(value));
                else ticks.AddMinor(Math.Log10(value));
            }
        }
        return ticks;
    }

    /// <summary>A latency in microseconds as a short label: 250 µs, 3 ms, 1.5 s.</summary>
    public static string Microseconds(double us) => us switch
    {
        < 1000 => $"{us.ToString("G3", CultureInfo.InvariantCulture)} µs",
        < 1_000_000 => $"{(us / 1000).ToString("G3", CultureInfo.InvariantCulture)} ms",
        _ => $"{(us / 1_000_000).ToString("G3", CultureInfo.InvariantCulture)} s",
    };
}
