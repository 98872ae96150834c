using System.CommandLine;
using AnnServer.Harness.Datasets;
using Spectre.Console;

namespace AnnServer.Harness.Cli;

/// <summary>`ann-bench datasets fashion-mnist --out DIR`: the benchmark files everyone measures on.</summary>
public static class DatasetsCommand
{
    public static Command Create()
    {
        var nameArgument = new Argument<string>("name") { Description = "the dataset: fashion-mnist" };
        nameArgument.AcceptOnlyFromAmong("fashion-mnist");
        var outOption = new Option<string>("--out") { Description = "folder for base.fvecs, query.fvecs and gt.ivecs", Required = true };
        var sourceOption = new Option<string>("--source")
        {
            Description = "folder holding the IDX files (Debian's dataset-fashion-mnist installs them here)",
            DefaultValueFactory = _ => FashionMnist.DefaultSource,
        };
        var maxBaseOption = new Option<int?>("--max-base") { Description = "keep only the first N training images (quick trials)" };
        var maxQueriesOption = new Option<int?>("--max-queries") { Description = "keep only the first N test images (quick trials)" };
        var threadsOption = new Option<int>("--threads") { Description = "threads for the exact search (0 = all cores)", DefaultValueFactory = _ => 0 };
        var command = new Command("datasets", "Write a benchmark dataset as base.fvecs, query.fvecs and exact top-100 gt.ivecs")
        {
            nameArgument, outOption, sourceOption, maxBaseOption, maxQueriesOption, threadsOption,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            int? maxBase = parse.GetValue(maxBaseOption), maxQueries = parse.GetValue(maxQueriesOption);
            if (maxBase is <= 0) throw new UsageException($"--max-base must be positive, got {maxBase}");
            if (maxQueries is <= 0) throw new UsageException($"--max-queries must be positive, got {maxQueries}");
            string output = parse.GetValue(outOption)!;
            FashionMnist.Files files = null!;
            AnsiConsole.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(context =>
                {
                    ProgressTask? task = null;
                    var gate = new object();
                    files = FashionMnist.Prepare(parse.GetValue(sourceOption)!, output, maxBase ?? int.MaxValue, maxQueries ?? int.MaxValue,
                        parse.GetValue(threadsOption), CommandGuard.Status,
                        (done, total) =>
                        {
                            lock (gate)
                            {
                                task ??= context.AddTask("exact ground truth", maxValue: total);
                                task.Value = Math.Max(task.Value, done);
                            }
                        });
                });
            CommandGuard.Status($"{files.BaseCount} base and {files.QueryCount} query vectors of dimension {files.Dimension}");
            Console.WriteLine(files.Base);
            Console.WriteLine(files.Queries);
            Console.WriteLine(files.GroundTruth);
            return 0;
        }));
        return command;
    }
}
