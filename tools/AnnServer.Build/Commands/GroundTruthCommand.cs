using System.CommandLine;
using System.Diagnostics;
using AnnServer.Build.Progress;
using AnnServer.Core;
using AnnServer.Datasets;

namespace AnnServer.Build.Commands;

/// <summary><c>ann-build ground-truth</c>: the exact k nearest base rows of every query, written as .ivecs of row numbers.</summary>
internal static class GroundTruthCommand
{
    public const int MaxK = 10_000;

    public static Command Create(ToolConsole console)
    {
        var basePath = new Option<string>("--base") { Description = "Base vectors (any input format)", Required = true };
        var queries = new Option<string>("--queries") { Description = "Query vectors (any input format)", Required = true };
        var format = CommonOptions.Format();
        var baseDataset = CommonOptions.Dataset("--base-dataset", "train");
        var queriesDataset = CommonOptions.Dataset("--queries-dataset", "test");
        var k = new Option<int>("--k") { Description = $"Neighbours per query (1..{MaxK})", DefaultValueFactory = _ => 100 };
        var metric = CommonOptions.Metric();
        var output = new Option<string>("--output", "-o") { Description = "Ground truth to write (.ivecs: base row numbers, nearest first)", Required = true };
        var threads = CommonOptions.Threads();

        var command = new Command("ground-truth", "Compute the exact top-k neighbours of queries by brute force")
        {
            basePath, queries, format, baseDataset, queriesDataset, k, metric, output, threads,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(CommandRunner.Execute(console, () =>
        {
            var fileFormat = CommonOptions.ParseFormat("--format", parse.GetValue(format));
            return Run(console, parse.GetRequiredValue(basePath), parse.GetRequiredValue(queries), fileFormat,
                parse.GetValue(baseDataset), parse.GetValue(queriesDataset), parse.GetValue(k),
                CommonOptions.ParseMetric(parse.GetRequiredValue(metric)), parse.GetRequiredValue(output),
                CommonOptions.CheckThreads(parse.GetValue(threads)), cancellationToken);
        })));
        return command;
    }

    private static int Run(ToolConsole console, string basePath, string queriesPath, VectorFormat? format, string? baseDataset,
        string? queriesDataset, int k, DistanceMetric metric, string outputPath, int threads, CancellationToken cancellationToken)
    {
        CommonOptions.CheckRange("--k", k, 1, MaxK);
        CommonOptions.CheckExtension("--output", outputPath, ".ivecs", "ground truth is written as TEXMEX int vectors");
        AtomicOutputFile.CheckPath("--output", outputPath, basePath, queriesPath);
        var display = ProgressDisplay.For(console);
        var clock = Stopwatch.StartNew();

        var baseVectors = Read(console, display, "base", basePath, format, baseDataset, AnnBenchmarksHdf5.Train, cancellationToken);
        var queryVectors = Read(console, display, "queries", queriesPath, format, queriesDataset, AnnBenchmarksHdf5.Test, cancellationToken);
        if (queryVectors.Dimension != baseVectors.Dimension)
            throw new InvalidDataException($"{queriesPath}: queries have dimension {queryVectors.Dimension} but the base vectors in {basePath} have {baseVectors.Dimension}");
        if (k > baseVectors.Count)
            throw new UsageException($"--k {k} is more than the {baseVectors.Count} base vectors");
        var readTime = clock.Elapsed;

        var hits = display.Run("search", queryVectors.Count, "queries", progress =>
            ExactSearch.SearchBatch(baseVectors.Data, queryVectors.Data, baseVectors.Dimension, k, metric, threads, new IntProgress(progress)));
        cancellationToken.ThrowIfCancellationRequested();
        var searchTime = clock.Elapsed - readTime;

        var rows = new int[hits.Length][];
        for (int q = 0; q < hits.Length; q++)
        {
            rows[q] = new int[hits[q].Length];
            for (int i = 0; i < hits[q].Length; i++) rows[q][i] = checked((int)hits[q][i].Id);
        }
        using (var output = new AtomicOutputFile(outputPath))
        {
            using (var stream = output.Create())
            {
                Texmex.WriteIvecs(stream, rows);
                stream.Flush(flushToDisk: true);
            }
            output.Commit();
        }

        console.Out.WriteLine($"wrote {outputPath}");
        console.Out.WriteLine($"  queries      {HumanFormat.Count(queryVectors.Count)} × top {k} of {HumanFormat.Count(baseVectors.Count)} base vectors, dimension {baseVectors.Dimension}, {CommonOptions.MetricName(metric)}");
        console.Out.WriteLine($"  read         {HumanFormat.Seconds(readTime)}");
        console.Out.WriteLine($"  search       {HumanFormat.Seconds(searchTime)} ({HumanFormat.Rate(queryVectors.Count / searchTime.TotalSeconds)} queries/s)");
        return ExitCodes.Success;
    }

    private static VectorSet Read(ToolConsole console, ProgressDisplay display, string stage, string path, VectorFormat? format,
        string? dataset, string hdf5Default, CancellationToken cancellationToken)
    {
        var actual = format ?? VectorFormats.Detect(path);
        if (actual == VectorFormat.Hdf5) dataset ??= hdf5Default;
        using var reader = VectorReader.Open(path, actual, dataset);
        console.Out.WriteLine($"reading {stage} {path} ({CommonOptions.FormatName(reader.Format)}{(dataset is null ? "" : $" '{dataset}'")}, {HumanFormat.Count(reader.ExpectedRows)} rows × {reader.Dimension})");
        return display.Run(stage, reader.ExpectedRows, "rows", progress => VectorLoader.Load(reader, null, progress, cancellationToken)).Vectors;
    }
}
