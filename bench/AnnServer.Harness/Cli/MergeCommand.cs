using System.CommandLine;
using AnnServer.Harness.Reporting;
using AnnServer.Harness.Results;

namespace AnnServer.Harness.Cli;

/// <summary>
/// `ann-bench merge`: several result files (ours, peers, and the rounds of a paired run) into one report, table, plot
/// and Markdown page. Rows of the same system and parameters from several files are rounds, combined into one row by
/// <see cref="FastestOfRounds"/>.
/// </summary>
public static class MergeCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("files") { Description = "result files to merge (ann-bench or bench/peers/hnswlib.py JSON)", Arity = ArgumentArity.OneOrMore };
        var jsonOption = new Option<string?>("--json") { Description = "write the merged report here" };
        var plotOption = new Option<string?>("--plot") { Description = "draw every row's recall/QPS curve to this PNG" };
        var latencyPlotOption = new Option<string?>("--latency-plot") { Description = "draw the latency percentiles of load rows to this PNG" };
        var markdownOption = new Option<string?>("--markdown") { Description = "write a Markdown page (tables, commands, machine) here" };
        var noteOption = new Option<string?>("--note") { Description = "a paragraph to put at the top of the Markdown page" };
        var datasetOption = new Option<string?>("--dataset") { Description = "dataset name of the merged report (default: the first file's)" };
        var command = new Command("merge", "Merge result files into one table, JSON, plot and Markdown page; rounds of one system become one row (the fastest point at each ef)")
        {
            inputs, jsonOption, plotOption, latencyPlotOption, markdownOption, noteOption, datasetOption,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var files = parse.GetValue(inputs) ?? [];
            var report = Merge(files, parse.GetValue(datasetOption));
            ResultTable.Print(report);
            if (parse.GetValue(jsonOption) is string json)
            {
                ReportJson.Write(json, report);
                CommandGuard.Status($"wrote {json}");
            }
            string? plot = parse.GetValue(plotOption);
            if (plot is not null)
            {
                RecallPlot.Save(report, plot);
                CommandGuard.Status($"wrote {plot}");
            }
            if (parse.GetValue(latencyPlotOption) is string latencyPlot)
            {
                LatencyPlot.Save(report, latencyPlot);
                CommandGuard.Status($"wrote {latencyPlot}");
            }
            if (parse.GetValue(markdownOption) is string markdown)
            {
                // The recall plot when there is one, else the latency plot (a page of load runs).
                string? shown = plot ?? parse.GetValue(latencyPlotOption);
                string? relativePlot = shown is null ? null
                    : Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(markdown))!, Path.GetFullPath(shown)).Replace('\\', '/');
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(markdown))!);
                File.WriteAllText(markdown, MarkdownReport.Render(report, relativePlot, parse.GetValue(noteOption)));
                CommandGuard.Status($"wrote {markdown}");
            }
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// Concatenates the rows, combining the rounds of one system (<see cref="FastestOfRounds"/>); k and metric must
    /// agree (a table mixing recall@10 and recall@100 would mislead).
    /// </summary>
    public static BenchmarkReport Merge(IReadOnlyList<string> files, string? dataset = null)
    {
        if (files.Count == 0) throw new UsageException("give at least one result file to merge");
        var reports = files.Select(f => (File: f, Report: ReportJson.Read(f))).ToList();
        var first = reports[0].Report;
        foreach (var (file, report) in reports)
        {
            if (report.K != first.K)
                throw new UsageException($"{file} has k = {report.K} but {reports[0].File} has k = {first.K}; recall@k of different k cannot share a table");
            if (report.Metric is not null && first.Metric is not null && report.Metric != first.Metric)
                throw new UsageException($"{file} uses metric {report.Metric} but {reports[0].File} uses {first.Metric}");
            if (report.Dataset != first.Dataset && dataset is null)
                CommandGuard.Status($"note: {file} is dataset '{report.Dataset}', {reports[0].File} is '{first.Dataset}'; the first name is kept (use --dataset to choose)");
        }
        return new BenchmarkReport
        {
            Dataset = dataset ?? first.Dataset,
            K = first.K,
            Metric = first.Metric,
            BaseCount = first.BaseCount,
            QueryCount = first.QueryCount,
            CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            Command = "ann-bench merge " + string.Join(' ', files.Select(RecallCommand.Quote)),
            Machine = first.Machine,
            Rows = FastestOfRounds.Combine(reports.SelectMany(r => r.Report.Rows).ToList(), CommandGuard.Status),
            Sources = reports.SelectMany(r => r.Report.Sources is { Count: > 0 } nested
                    ? nested
                    : [new ReportSource
                    {
                        File = Path.GetFileName(r.File),
                        Command = r.Report.Command,
                        Machine = r.Report.Machine,
                        CreatedUtc = r.Report.CreatedUtc,
                        Systems = r.Report.Rows.Select(row => row.System).Distinct().ToList(),
                    }])
                .ToList(),
        };
    }
}
