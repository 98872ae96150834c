using System.CommandLine;
using AnnServer.Datasets;
using AnnServer.Harness.Datasets;
using AnnServer.Harness.Filtered;
using AnnServer.Harness.Recommend;

namespace AnnServer.Harness.Cli;

/// <summary>
/// `ann-bench recommend`: Fashion-MNIST with its class label as payload; recall@k against each query's exact answer and
/// single-thread QPS per ef for Recommend (average vector, best score) and a search grouped by class, against a plain
/// search at the same recall.
/// </summary>
public static class RecommendCommand
{
    public static readonly int[] DefaultEfs = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256];

    public static Command Create()
    {
        var dataset = new FashionMnistIndexOptions();
        var maxQueriesOption = new Option<int>("--max-queries") { Description = "queries of each kind (one per test image)", DefaultValueFactory = _ => 200 };
        var kOption = new Option<int>("--k") { Description = "hits per query (recall@k)", DefaultValueFactory = _ => 10 };
        var efOption = new Option<int[]>("--ef")
        {
            Description = "search breadths to measure, comma-separated",
            CustomParser = CliParsers.PositiveList,
            DefaultValueFactory = _ => DefaultEfs,
        };
        var runsOption = new Option<int>("--runs") { Description = "timed passes per ef; the fastest is kept", DefaultValueFactory = _ => 3 };
        var groupsOption = new Option<int>("--groups") { Description = "groups of the grouped search", DefaultValueFactory = _ => 5 };
        var groupSizeOption = new Option<int>("--group-size") { Description = "hits per group of the grouped search", DefaultValueFactory = _ => 3 };
        var markdownOption = new Option<string?>("--markdown") { Description = "write the results page to this markdown file" };
        var noteOption = new Option<string?>("--note") { Description = "a paragraph for the markdown page (how and when it was measured)" };

        var command = new Command("recommend", "Recommend and group-by on Fashion-MNIST: recall@k against the exact answer and single-thread QPS against a plain search")
        {
            dataset.Source, dataset.MaxBase, maxQueriesOption, kOption, dataset.M, dataset.EfConstruction, dataset.BuildThreads, efOption, runsOption,
            groupsOption, groupSizeOption, markdownOption, noteOption,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            int k = parse.GetValue(kOption);
            int[] efs = parse.GetValue(efOption) ?? DefaultEfs;
            int runs = parse.GetValue(runsOption), maxQueries = parse.GetValue(maxQueriesOption);
            int groups = parse.GetValue(groupsOption), groupSize = parse.GetValue(groupSizeOption);
            if (k <= 0) throw new UsageException($"--k must be positive, got {k}");
            if (runs <= 0) throw new UsageException($"--runs must be positive, got {runs}");
            if (maxQueries <= 0) throw new UsageException($"--max-queries must be positive, got {maxQueries}");
            if (groups <= 0 || groupSize <= 0) throw new UsageException("--groups and --group-size must be positive");
            if (parse.GetValue(dataset.MaxBase) is <= 0) throw new UsageException("--max-base must be positive");
            foreach (int ef in efs)
                if (ef < k) throw new UsageException($"--ef {ef} is smaller than k = {k}; every ef must be at least k");

            var (baseVectors, classes) = dataset.ReadBase(parse);
            VectorSet queries = FashionMnist.ReadImages(parse.GetValue(dataset.Source)!, FashionMnist.QueryFile, maxQueries);

            var options = new RecommendRunOptions
            {
                K = k,
                M = parse.GetValue(dataset.M),
                EfConstruction = parse.GetValue(dataset.EfConstruction),
                BuildThreads = dataset.BuildThreadsOf(parse),
                Efs = efs,
                Runs = runs,
                Groups = groups,
                GroupSize = groupSize,
            };
            string commandLine = "ann-bench " + string.Join(' ', parse.Tokens.Select(token => RecallCommand.Quote(token.Value)));
            RecommendReport report = RecommendRunner.Run(baseVectors, classes, queries, options, commandLine);
            if (parse.GetValue(markdownOption) is { } markdown) RecommendMarkdown.Write(report, markdown, parse.GetValue(noteOption));
            foreach (var series in report.Series)
                Console.WriteLine($"{series.Name,-40} best recall {series.Points.Max(p => p.Recall):F4}  QPS at {options.TargetRecall:F2}: " +
                    $"{series.QpsAtTarget?.ToString("F0") ?? "not reached"}  ratio to search: {series.Ratio?.ToString("F2") ?? "-"}");
            return 0;
        }));
        return command;
    }
}
