using System.CommandLine;
using AnnServer.Core.Filtering;
using AnnServer.Datasets;
using AnnServer.Harness.Datasets;
using AnnServer.Harness.Filtered;

namespace AnnServer.Harness.Cli;

/// <summary>
/// `ann-bench filtered`: Fashion-MNIST with its class labels and generated fields as payloads; recall@k and
/// single-thread QPS per ef for filters of 50 % to 0.1 % selectivity, against the unfiltered search at the same recall.
/// </summary>
public static class FilteredCommand
{
    public static readonly int[] DefaultEfs = [10, 12, 14, 16, 20, 24, 32, 40, 64, 80, 160];

    public static Command Create()
    {
        var dataset = new FashionMnistIndexOptions();
        var maxQueriesOption = new Option<int>("--max-queries") { Description = "use only the first N test images as queries", DefaultValueFactory = _ => 1000 };
        var kOption = new Option<int>("--k") { Description = "neighbours per query (recall@k)", DefaultValueFactory = _ => 10 };
        var efOption = new Option<int[]>("--ef")
        {
            Description = "search breadths to measure, comma-separated",
            CustomParser = CliParsers.PositiveList,
            DefaultValueFactory = _ => DefaultEfs,
        };
        var runsOption = new Option<int>("--runs") { Description = "timed passes per ef; the fastest is kept", DefaultValueFactory = _ => 3 };
        var warmupOption = new Option<int>("--warmup") { Description = "queries searched (unfiltered and with every filter) before timing", DefaultValueFactory = _ => 200 };
        var caseOption = new Option<string[]>("--case")
        {
            Description = "measure only the filters whose name contains one of these (e.g. '10 %')",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [],
        };
        var strategyOption = new Option<string[]>("--strategy")
        {
            Description = "how filtered searches run: as the planner chooses, or forced to walk, two-hop or scan; several are measured in turn (paired)",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => ["planner"],
        };
        strategyOption.AcceptOnlyFromAmong("planner", "walk", "two-hop", "scan");
        var variantOption = new Option<string[]>("--variant")
        {
            Description = "also measure the planner without one of its parts, paired: 'unindexed' (ranges without their sorted indexes)",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [],
        };
        variantOption.AcceptOnlyFromAmong("unindexed", "unlinked");
        var valueLinksOption = new Option<string?>("--value-links") { Description = "link the points of each value of this keyword field among themselves (e.g. class) before measuring; variant 'unlinked' measures without" };
        var jsonOption = new Option<string?>("--json") { Description = "write the results to this JSON file" };
        var markdownOption = new Option<string?>("--markdown") { Description = "write the results page to this markdown file" };
        var plotOption = new Option<string?>("--plot") { Description = "draw the recall/QPS curves to this PNG (linked from --markdown)" };
        var noteOption = new Option<string?>("--note") { Description = "a paragraph for the markdown page (how and when it was measured)" };

        var command = new Command("filtered", "Filtered search on Fashion-MNIST with payloads: recall@k and single-thread QPS per selectivity against unfiltered")
        {
            dataset.Source, dataset.MaxBase, maxQueriesOption, kOption, dataset.M, dataset.EfConstruction, dataset.BuildThreads, efOption,
            runsOption, warmupOption, caseOption, strategyOption, variantOption, valueLinksOption, jsonOption, markdownOption, plotOption, noteOption,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            int k = parse.GetValue(kOption);
            int[] efs = parse.GetValue(efOption) ?? DefaultEfs;
            int runs = parse.GetValue(runsOption);
            int maxQueries = parse.GetValue(maxQueriesOption);
            if (k <= 0) throw new UsageException($"--k must be positive, got {k}");
            if (runs <= 0) throw new UsageException($"--runs must be positive, got {runs}");
            if (maxQueries <= 0) throw new UsageException($"--max-queries must be positive, got {maxQueries}");
            if (parse.GetValue(dataset.MaxBase) is <= 0) throw new UsageException("--max-base must be positive");
            foreach (int ef in efs)
                if (ef < k) throw new UsageException($"--ef {ef} is smaller than k = {k}; every ef must be at least k");

            string source = parse.GetValue(dataset.Source)!;
            var (baseVectors, classes) = dataset.ReadBase(parse);
            var queries = FashionMnist.ReadImages(source, FashionMnist.QueryFile, maxQueries);
            byte[] queryClasses = FashionMnistLabels.Read(FashionMnist.SourceFile(source, FashionMnistLabels.QueryFile), maxQueries);
            if (queryClasses.Length != queries.Count)
                throw new InvalidDataException($"{FashionMnistLabels.QueryFile} has {queryClasses.Length} labels for {queries.Count} images");
            if (baseVectors.Count < k) throw new UsageException($"the base holds {baseVectors.Count} points, fewer than k = {k}");

            var options = new FilteredRunOptions
            {
                K = k,
                M = parse.GetValue(dataset.M),
                EfConstruction = parse.GetValue(dataset.EfConstruction),
                BuildThreads = dataset.BuildThreadsOf(parse),
                Efs = efs,
                Runs = runs,
                Warmup = Math.Max(0, parse.GetValue(warmupOption)),
                Cases = parse.GetValue(caseOption) ?? [],
                Strategies = (parse.GetValue(strategyOption) ?? ["planner"]).Distinct().Select(name => name switch
                {
                    "walk" => FilteredSearchStrategy.GraphWalk,
                    "two-hop" => FilteredSearchStrategy.TwoHopWalk,
                    "scan" => FilteredSearchStrategy.ExactScan,
                    _ => (FilteredSearchStrategy?)null,
                }).ToArray(),
                Variants = (parse.GetValue(variantOption) ?? []).Distinct().ToArray(),
                ValueLinksField = parse.GetValue(valueLinksOption),
            };
            string commandLine = "ann-bench " + string.Join(' ', parse.Tokens.Select(token => RecallCommand.Quote(token.Value)));
            var (report, index) = FilteredRunner.Run(baseVectors, classes, queries, queryClasses, options, "fashion-mnist", commandLine);
            index.Dispose();

            string? json = parse.GetValue(jsonOption), markdown = parse.GetValue(markdownOption), plot = parse.GetValue(plotOption);
            if (json is not null) report.Write(json);
            if (plot is not null) FilteredPlot.Save(report, plot);
            if (markdown is not null)
            {
                string? plotLink = plot is null ? null
                    : Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(markdown))!, Path.GetFullPath(plot));
                FilteredMarkdown.Write(report, markdown, plotLink, parse.GetValue(noteOption));
            }
            foreach (var c in report.Cases)
                Console.WriteLine($"{c.Name,-26} best recall {c.Points.Max(p => p.Recall):F4}  QPS at {report.TargetRecall:F2}: " +
                    $"{c.QpsAtTarget?.ToString("F0") ?? "not reached"}  ratio to unfiltered: {c.RatioAtTarget?.ToString("F2") ?? "-"}");
            return 0;
        }));
        return command;
    }
}
