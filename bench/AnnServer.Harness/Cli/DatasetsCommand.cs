using System.CommandLine;
using AnnServer.Core;
using AnnServer.Harness.Datasets;
using Spectre.Console;

namespace AnnServer.Harness.Cli;

/// <summary>
/// `ann-bench datasets fashion-mnist --out DIR`: the benchmark files everyone measures on; `ann-bench datasets clustered
/// --out DIR --points N`: generated catalogue-like vectors (<see cref="ClusteredGaussian"/>), exact ground truth per metric.
/// </summary>
public static class DatasetsCommand
{
    public static Command Create()
    {
        var nameArgument = new Argument<string>("name") { Description = "the dataset: fashion-mnist, or clustered (generated)" };
        nameArgument.AcceptOnlyFromAmong("fashion-mnist", "clustered");
        var outOption = new Option<string>("--out") { Description = "folder for base.fvecs, query.fvecs and gt.ivecs", Required = true };
        var sourceOption = new Option<string>("--source")
        {
            Description = "folder holding the IDX files (Debian's dataset-fashion-mnist installs them here)",
            DefaultValueFactory = _ => FashionMnist.DefaultSource,
        };
        var maxBaseOption = new Option<int?>("--max-base") { Description = "keep only the first N training images (quick trials)" };
        var maxQueriesOption = new Option<int?>("--max-queries") { Description = "keep only the first N test images (quick trials)" };
        var threadsOption = new Option<int>("--threads") { Description = "threads for the exact search (0 = all cores)", DefaultValueFactory = _ => 0 };
        var pointsOption = new Option<int>("--points") { Description = "clustered: base vectors", DefaultValueFactory = _ => 1_000_000 };
        var queriesOption = new Option<int>("--queries") { Description = "clustered: query vectors", DefaultValueFactory = _ => 10_000 };
        var dimensionOption = new Option<int>("--dimension") { Description = "clustered: dimension", DefaultValueFactory = _ => 128 };
        var clustersOption = new Option<int>("--clusters") { Description = "clustered: Gaussian clusters", DefaultValueFactory = _ => 1_000 };
        var seedOption = new Option<int>("--seed") { Description = "clustered: the seed every vector follows from", DefaultValueFactory = _ => 21 };
        var metricOption = new Option<string[]>("--metric")
        {
            Description = "clustered: a ground truth gt-METRIC.ivecs per metric (l2, ip, cosine)",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => ["l2", "cosine"],
        };
        var command = new Command("datasets", "Write a benchmark dataset as base.fvecs, query.fvecs and exact top-100 ground truth (.ivecs)")
        {
            nameArgument, outOption, sourceOption, maxBaseOption, maxQueriesOption, threadsOption,
            pointsOption, queriesOption, dimensionOption, clustersOption, seedOption, metricOption,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            int? maxBase = parse.GetValue(maxBaseOption), maxQueries = parse.GetValue(maxQueriesOption);
            if (maxBase is <= 0) throw new UsageException($"--max-base must be positive, got {maxBase}");
            if (maxQueries is <= 0) throw new UsageException($"--max-queries must be positive, got {maxQueries}");
            string output = parse.GetValue(outOption)!;
            if (parse.GetValue(nameArgument) == "clustered")
            {
                var parameters = new ClusteredGaussian.Parameters(parse.GetValue(pointsOption), parse.GetValue(queriesOption),
                    parse.GetValue(dimensionOption), parse.GetValue(clustersOption), parse.GetValue(seedOption));
                if (parameters.Points <= 0 || parameters.Queries <= 0 || parameters.Dimension <= 0 || parameters.Clusters <= 0)
                    throw new UsageException($"--points, --queries, --dimension and --clusters must be positive, got {parameters}");
                if ((long)parameters.Points * parameters.Dimension > Array.MaxLength)
                    throw new UsageException($"--points × --dimension must be at most {Array.MaxLength}, got {parameters.Points} × {parameters.Dimension}");
                var metrics = new List<DistanceMetric>();
                foreach (string name in parse.GetValue(metricOption) ?? [])
                {
                    if (!MetricNames.TryParse(name, out DistanceMetric metric)) throw new UsageException($"--metric: unknown metric '{name}' (l2, ip, cosine)");
                    metrics.Add(metric);
                }
                WithProgress(report => ClusteredGaussian.Prepare(parameters, metrics, output, parse.GetValue(threadsOption),
                    CommandGuard.Status, report));
                Console.WriteLine(output);
                return 0;
            }
            FashionMnist.Files files = null!;
            WithProgress(report => files = FashionMnist.Prepare(parse.GetValue(sourceOption)!, output, maxBase ?? int.MaxValue,
                maxQueries ?? int.MaxValue, parse.GetValue(threadsOption), CommandGuard.Status, report));
            CommandGuard.Status($"{files.BaseCount} base and {files.QueryCount} query vectors of dimension {files.Dimension}");
            Console.WriteLine(files.Base);
            Console.WriteLine(files.Queries);
            Console.WriteLine(files.GroundTruth);
            return 0;
        }));
        return command;
    }

    /// <summary>Runs <paramref name="prepare"/> with a progress bar for each exact ground truth it computes.</summary>
    private static void WithProgress(Action<Action<int, int>> prepare) =>
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                ProgressTask? task = null;
                var gate = new object();
                prepare((done, total) =>
                {
                    lock (gate)
                    {
                        if (task is null || task.IsFinished) task = context.AddTask("exact ground truth", maxValue: total);
                        task.Value = Math.Max(task.Value, done);
                    }
                });
            });
}
