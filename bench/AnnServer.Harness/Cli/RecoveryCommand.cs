using System.CommandLine;
using System.Globalization;
using System.Text;
using AnnServer.Datasets;
using AnnServer.Harness.Recovery;
using Spectre.Console;

namespace AnnServer.Harness.Cli;

/// <summary>`ann-bench recovery`: restart time after a crash against the size of the log tail beyond the snapshot.</summary>
public static class RecoveryCommand
{
    private const string Collection = "recovery";

    public static Command Create()
    {
        var snapshotOption = new Option<string>("--snapshot") { Description = "the collection's snapshot (ann-build output)", Required = true };
        var tailOption = new Option<string>("--tail") { Description = "vectors whose first rows fill the log (.npy, .fvecs, ...)", Required = true };
        var pointsOption = new Option<string>("--log-points") { Description = "log sizes to measure, in points, comma-separated", DefaultValueFactory = _ => "0,100000,250000,500000" };
        var serverOption = new Option<string>("--server") { Description = "the server's annserver.dll", Required = true };
        var workOption = new Option<string>("--work-dir") { Description = "where the crash images are written (replaced)", Required = true };
        var argsOption = new Option<string>("--server-args") { Description = "extra server arguments, space-separated", DefaultValueFactory = _ => "" };
        var baselineOption = new Option<string?>("--baseline-args") { Description = "also measure each size with these server arguments instead (e.g. \"--background-replay-points 0\")" };
        var firstIdOption = new Option<long>("--first-id") { Description = "id of the log's first point (must not be in the snapshot)", DefaultValueFactory = _ => 1_000_000_000 };
        var timeoutOption = new Option<TimeSpan>("--timeout") { Description = "longest wait for one restart", CustomParser = CliParsers.Duration, DefaultValueFactory = _ => TimeSpan.FromMinutes(20) };
        var outputOption = new Option<string?>("--output") { Description = "write the table as Markdown to this file" };
        var command = new Command("recovery", "Restart time after a crash against the log size: time to serve (a search finds the last acknowledged point) and to READY (the log in the graph)")
        {
            snapshotOption, tailOption, pointsOption, serverOption, workOption, argsOption, baselineOption, firstIdOption, timeoutOption, outputOption,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            int[] sizes = parse.GetValue(pointsOption)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            VectorSet tail = VectorLoader.Load(parse.GetValue(tailOption)!).Vectors;
            if (sizes.Any(s => s < 0 || s > tail.Count)) throw new UsageException($"--log-points must be between 0 and the tail's {tail.Count} rows");
            var variants = new List<(string Name, string[] Arguments)> { ("this build", Split(parse.GetValue(argsOption)!)) };
            if (parse.GetValue(baselineOption) is { } baseline) variants.Add(("baseline", [.. Split(parse.GetValue(argsOption)!), .. Split(baseline)]));

            var rows = new List<(string Variant, RecoveryResult Result)>();
            string work = parse.GetValue(workOption)!;
            foreach (int size in sizes)
            {
                string dataDir = Path.Combine(work, "data");
                CrashImage.WriteAsync(dataDir, Collection, parse.GetValue(snapshotOption)!, tail, size, parse.GetValue(firstIdOption)).GetAwaiter().GetResult();
                foreach ((string name, string[] arguments) in variants)
                {
                    // The same image for every variant: a restart that finished its replay leaves the log as it found it
                    // (no checkpoint is taken before the server is killed).
                    RecoveryResult result = RecoveryRun.MeasureAsync(parse.GetValue(serverOption)!, dataDir, Collection, tail, size,
                        parse.GetValue(firstIdOption), arguments, parse.GetValue(timeoutOption)).GetAwaiter().GetResult();
                    rows.Add((name, result));
                    AnsiConsole.MarkupLineInterpolated(
                        $"{name}: log {size:N0} points ({result.LogBytes / 1048576.0:F0} MiB): serving after {result.ServingSeconds:F1} s (count {result.CountAtServing:N0}), READY after {result.ReadySeconds:F1} s, search {result.SearchMillisWhileReplaying:F1} ms while replaying");
                }
            }
            if (parse.GetValue(outputOption) is { } output) File.WriteAllText(output, Markdown(rows));
            return 0;
        }));
        return command;
    }

    private static string[] Split(string arguments) => arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string Markdown(List<(string Variant, RecoveryResult Result)> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("| server | log points | log MiB | serving after (s) | READY after (s) | replay (points/s) | search while replaying (ms, median) |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach ((string variant, RecoveryResult r) in rows)
        {
            double rate = r.LogPoints == 0 ? 0 : r.LogPoints / Math.Max(r.ReadySeconds - r.ServingSeconds, 1e-3);
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {variant} | {r.LogPoints:N0} | {r.LogBytes / 1048576.0:F0} | {r.ServingSeconds:F1} | {r.ReadySeconds:F1} | {(r.LogPoints == 0 || r.ReadySeconds - r.ServingSeconds < 0.5 ? "–" : rate.ToString("N0", CultureInfo.InvariantCulture))} | {(r.SearchMillisWhileReplaying == 0 ? "–" : r.SearchMillisWhileReplaying.ToString("F1", CultureInfo.InvariantCulture))} |"));
        }
        return text.ToString();
    }
}
