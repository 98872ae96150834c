using System.Globalization;
using AnnServer.Harness.Results;
using Spectre.Console;

namespace AnnServer.Harness.Reporting;

/// <summary>The console table of a report: one line per system and ef.</summary>
public static class ResultTable
{
    public static void Print(BenchmarkReport report)
    {
        var table = new Table { Border = TableBorder.Rounded, Title = new TableTitle($"{report.Dataset}, k = {report.K}") };
        table.AddColumn("system");
        table.AddColumn(new TableColumn("ef").RightAligned());
        table.AddColumn(new TableColumn($"recall@{report.K}").RightAligned());
        table.AddColumn(new TableColumn("QPS").RightAligned());
        table.AddColumn(new TableColumn("mean µs").RightAligned());
        table.AddColumn(new TableColumn("p50 µs").RightAligned());
        table.AddColumn(new TableColumn("p99 µs").RightAligned());
        table.AddColumn(new TableColumn("dist/query").RightAligned());
        foreach (var row in report.Rows)
        {
            foreach (var point in row.Points)
            {
                table.AddRow(
                    Markup.Escape(row.System),
                    point.Ef.ToString(CultureInfo.InvariantCulture),
                    Format(point.Recall, "F4"),
                    point.Qps.ToString("F0", CultureInfo.InvariantCulture),
                    Format(point.MeanUs, "F1"),
                    point.P50Us.ToString("F1", CultureInfo.InvariantCulture),
                    point.P99Us.ToString("F1", CultureInfo.InvariantCulture),
                    Format(point.DistanceComputations, "F0"));
            }
        }
        AnsiConsole.Write(table);
        foreach (var row in report.Rows)
        {
            string build = row.BuildSeconds is double b ? $"built in {b:F1} s" : "loaded";
            string memory = row.MemoryBytes is long m ? $", {m / 1048576.0:F1} MiB" : "";
            string resident = row.ResidentBytes is long r ? $", resident +{r / 1048576.0:F1} MiB" : "";
            string rounds = row.Rounds is int n ? $", fastest of {n} round{(n == 1 ? "" : "s")}" : "";
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(row.System)}: {build}{memory}{resident}{rounds}; {Markup.Escape(row.Params.ToJsonString(ReportJson.Compact))}[/]");
        }
    }

    private static string Format(double? value, string format) =>
        value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";
}
