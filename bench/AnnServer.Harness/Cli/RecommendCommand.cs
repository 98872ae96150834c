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
        var sourceOption = new Option<string>("--source")
        {
            Description = "folder of Fashion-MNIST's IDX files, images and labels (Debian's dataset-fashion-mnist)",
            DefaultValueFactory = _ => FashionMnist.DefaultSource,
        };
        var maxBaseOption = new Option<int?>("--max-base") { Description = "use only the first N training images" };
        var maxQueriesOption = new Option<int>("--max-queries") { Description = "queries of each kind (one per test image)", DefaultValueFactory = _ => 200 };
        var kOption = new Option<int>("--k") { Description = "hits per query (recall@k)", DefaultValueFactory = _ => 10 };
        var mOption = new Option<int>("--m") { Description = "HNSW links per node (level 0 keeps 2·M)", DefaultValueFactory = _ => 16 };
        var efConstructionOption = new Option<int>("--ef-construction") { Description = "candidate list size while building", DefaultValueFactory = _ => 200 };
        var buildThreadsOption = new Option<int>("--build-threads") { Description = "threads for building (0 = all cores)", DefaultValueFactory = _ => 0 };
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
            sourceOption, maxBaseOption, maxQueriesOption, kOption, mOption, efConstructionOption, buildThreadsOption, efOption, runsOption,
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
            if (parse.GetValue(maxBaseOption) is <= 0) throw new UsageException("--max-base must be positive");
            foreach (int ef in efs)
                if (ef < k) throw new UsageException($"--ef {ef} is smaller than k = {k}; every ef must be at least k");

            string source = parse.GetValue(sourceOption)!;
            int maxBase = parse.GetValue(maxBaseOption) ?? int.MaxValue;
            VectorSet baseVectors = FashionMnist.ReadImages(source, FashionMnist.BaseFile, maxBase);
            byte[] classes = FashionMnistLabels.Read(FashionMnist.SourceFile(source, FashionMnistLabels.BaseFile), maxBase);
            VectorSet queries = FashionMnist.ReadImages(source, FashionMnist.QueryFile, maxQueries);
            if (classes.Length != baseVectors.Count)
                throw new InvalidDataException($"{FashionMnistLabels.BaseFile} has {classes.Length} labels for {baseVectors.Count} images");

            var options = new RecommendRunOptions
            {
                K = k,
                M = parse.GetValue(mOption),
                EfConstruction = parse.GetValue(efConstructionOption),
                BuildThreads = parse.GetValue(buildThreadsOption) is int t and > 0 ? t : Environment.ProcessorCount,
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
