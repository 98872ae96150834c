using System.CommandLine;
using AnnServer.Datasets;
using AnnServer.Harness.Cli;
using Spectre.Console;

namespace AnnServer.Harness.Soak;

/// <summary>
/// `ann-bench soak`: a long mixed load against a running server (searches, upserts and deletes from many clients),
/// sampling the server's memory, GC heap, threads and latency every ten seconds; writes JSON and a plot, checks every
/// acknowledged write at the end, and says whether memory stayed flat after warm-up. Exit code 0, or 3 when a write the
/// server acknowledged is not what it holds.
/// <code>
/// ann-bench soak --target http://127.0.0.1:50051 --collection fmnist --base bench-data/fmnist/base.fvecs --minutes 30 \
///     --json soak.json --plot soak.png
/// </code>
/// </summary>
public static class SoakCommand
{
    public static Command Create()
    {
        var target = new Option<string>("--target") { Description = "server address", DefaultValueFactory = _ => "http://127.0.0.1:50051" };
        var metrics = new Option<string?>("--metrics") { Description = "the server's /metrics URL (default: the target's host, port 9090)" };
        var collection = new Option<string>("--collection") { Description = "collection to load (created, L2, when missing)", DefaultValueFactory = _ => "soak" };
        var baseVectors = new Option<string?>("--base") { Description = "vectors to search with and write (.fvecs); random ones otherwise" };
        var dimension = new Option<int>("--dimension") { Description = "dimension of the random vectors (without --base)", DefaultValueFactory = _ => 128 };
        var rows = new Option<int>("--random-rows") { Description = "number of random vectors (without --base)", DefaultValueFactory = _ => 100_000 };
        var preload = new Option<int>("--preload") { Description = "upsert this many points first (ids below the soak's own), e.g. 1000000", DefaultValueFactory = _ => 0 };
        var minutes = new Option<double>("--minutes") { Description = "length of the run", DefaultValueFactory = _ => 30 };
        var warmup = new Option<double?>("--warmup-minutes") { Description = "memory is judged after this (default: a tenth of the run, 1 to 5 minutes)" };
        var sample = new Option<double>("--sample-seconds") { Description = "sampling period", DefaultValueFactory = _ => 10 };
        var clients = new Option<int>("--clients") { Description = "concurrent callers", DefaultValueFactory = _ => 16 };
        var upserts = new Option<double>("--upsert-fraction") { Description = "share of calls that are upserts", DefaultValueFactory = _ => 0.08 };
        var deletes = new Option<double>("--delete-fraction") { Description = "share of calls that are deletes", DefaultValueFactory = _ => 0.04 };
        var batch = new Option<int>("--max-batch") { Description = "most points per upsert or delete", DefaultValueFactory = _ => 8 };
        var ids = new Option<int>("--ids-per-client") { Description = "ids each caller writes to", DefaultValueFactory = _ => 2000 };
        var rate = new Option<double>("--rate") { Description = "calls per second from all clients together (0: as fast as answered)", DefaultValueFactory = _ => 0 };
        var k = new Option<int>("--k") { Description = "neighbours per search", DefaultValueFactory = _ => 10 };
        var ef = new Option<int>("--ef") { Description = "search breadth", DefaultValueFactory = _ => 64 };
        var apiKey = new Option<string?>("--api-key") { Description = "API key with the write role (or ANNBENCH_API_KEY)" };
        var json = new Option<string?>("--json") { Description = "write the samples and the verdicts to this JSON file" };
        var plot = new Option<string?>("--plot") { Description = "draw memory, threads and latency over time to this PNG" };
        var seed = new Option<int>("--seed") { Description = "seed of the callers' choices", DefaultValueFactory = _ => 1 };
        var command = new Command("soak", "A long mixed load (searches, upserts, deletes) that samples the server's memory, threads and latency, then checks every acknowledged write")
        {
            target, metrics, collection, baseVectors, dimension, rows, preload, minutes, warmup, sample, clients, upserts, deletes, batch,
            ids, rate, k, ef, apiKey, json, plot, seed,
        };
        command.SetAction((parse, cancellationToken) => CommandGuard.RunAsync(async () =>
        {
            if (!Uri.TryCreate(parse.GetValue(target), UriKind.Absolute, out Uri? targetUri) || targetUri.Scheme is not ("http" or "https"))
                throw new UsageException($"--target: '{parse.GetValue(target)}' is not an http:// or https:// address");
            string metricsUrl = parse.GetValue(metrics) ?? $"http://{targetUri.Host}:9090/metrics";
            if (!Uri.TryCreate(metricsUrl, UriKind.Absolute, out Uri? metricsUri))
                throw new UsageException($"--metrics: '{metricsUrl}' is not an address");
            double runMinutes = parse.GetValue(minutes);
            if (!(runMinutes > 0)) throw new UsageException($"--minutes must be positive, got {runMinutes}");
            double warmupMinutes = parse.GetValue(warmup) ?? Math.Clamp(runMinutes / 10, Math.Min(1, runMinutes / 3), 5);
            double upsertFraction = parse.GetValue(upserts), deleteFraction = parse.GetValue(deletes);
            if (upsertFraction < 0 || deleteFraction < 0 || upsertFraction + deleteFraction > 1)
                throw new UsageException("--upsert-fraction and --delete-fraction must be at least 0 and add up to at most 1");
            if (parse.GetValue(clients) < 1) throw new UsageException("--clients must be at least 1");
            if (parse.GetValue(batch) < 1 || parse.GetValue(batch) > parse.GetValue(ids))
                throw new UsageException("--max-batch must be between 1 and --ids-per-client");
            if (parse.GetValue(sample) < 1) throw new UsageException("--sample-seconds must be at least 1");
            if (!(parse.GetValue(rate) >= 0)) throw new UsageException("--rate must be 0 or a positive number of calls per second");

            VectorSet vectors = parse.GetValue(baseVectors) is { } path
                ? Texmex.ReadFvecs(RecallCommand.RequireFile(path, "--base"))
                : RandomVectors(parse.GetValue(rows), parse.GetValue(dimension), parse.GetValue(seed));
            var options = new SoakOptions
            {
                Target = targetUri,
                Metrics = metricsUri,
                Collection = parse.GetValue(collection)!,
                Duration = TimeSpan.FromMinutes(runMinutes),
                Warmup = TimeSpan.FromMinutes(warmupMinutes),
                SampleInterval = TimeSpan.FromSeconds(parse.GetValue(sample)),
                Clients = parse.GetValue(clients),
                UpsertFraction = upsertFraction,
                DeleteFraction = deleteFraction,
                MaxBatch = parse.GetValue(batch),
                IdsPerClient = parse.GetValue(ids),
                Rate = parse.GetValue(rate),
                K = parse.GetValue(k),
                Ef = parse.GetValue(ef),
                ApiKey = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("ANNBENCH_API_KEY"),
                Seed = parse.GetValue(seed),
            };
            string commandLine = "ann-bench " + string.Join(' ', parse.Tokens.Select(t => RecallCommand.Quote(t.Value)));
            return await ExecuteAsync(options, vectors, parse.GetValue(preload), parse.GetValue(json), parse.GetValue(plot), commandLine, cancellationToken);
        }));
        return command;
    }

    public static async Task<int> ExecuteAsync(SoakOptions options, VectorSet vectors, int preload, string? json, string? plot,
        string commandLine, CancellationToken cancellationToken)
    {
        DateTime started = DateTime.UtcNow;
        var runner = new SoakRunner(options, vectors)
        {
            Progress = s => CommandGuard.Status(
                $"{s.ElapsedSeconds / 60,5:F1} min{(s.WarmingUp ? " (warm-up)" : "")}  RSS {s.WorkingSetBytes / 1048576,6:F0} MiB  " +
                $"index {s.IndexBytes / 1048576,6:F0} MiB  GC heap {s.GcHeapBytes / 1048576,5:F0} MiB  threads {s.Threads,3:F0}  " +
                $"{s.SearchesPerSecond,6:F0} searches/s  p99 {s.SearchP99Ms,7:F1} ms  write p99 {s.WriteP99Ms,7:F1} ms  errors {s.Errors}"),
        };
        if (preload > 0)
            await runner.PreloadAsync(preload, cancellationToken);
        CommandGuard.Status($"soak: {options.Clients} clients for {options.Duration.TotalMinutes:F0} min against {options.Target} " +
                            $"(collection {options.Collection}), sampling {options.Metrics} every {options.SampleInterval.TotalSeconds:F0} s");
        SoakResult result = await runner.RunAsync(cancellationToken);
        SoakReport report = SoakReport.From(result, options, commandLine, started);
        if (json is not null) report.Save(json);
        if (plot is not null) SoakPlot.Save(report, plot);

        AnsiConsole.WriteLine($"searches {report.Searches:N0}, acknowledged writes {report.Writes:N0}, errors: " +
                              (report.Errors.Count == 0 ? "none" : string.Join(", ", report.Errors.Select(e => $"{e.Key} {e.Value}"))));
        foreach (MinuteFigures minute in report.PerMinute)
            AnsiConsole.WriteLine($"  minute {minute.Minute,3}: {minute.Searches,8:N0} searches, p99 {minute.P99Ms,7:F1} ms");
        foreach (MemoryTrend trend in report.Memory)
            AnsiConsole.WriteLine($"  {trend.Name}: {trend.AfterWarmupBytes / 1048576:F0} MiB after warm-up, {trend.EndBytes / 1048576:F0} MiB at the end " +
                                  $"({trend.ChangeBytes / 1048576:+0;-0} MiB, {trend.SlopeBytesPerHour / 1048576:+0.0;-0.0} MiB/h): {(trend.Flat ? "flat" : "GREW")}");
        AnsiConsole.WriteLine($"memory after warm-up: {(report.MemoryFlat ? "flat" : "NOT flat")} (judged on RSS minus index bytes and on the GC heap)");
        Verification v = report.Verification;
        AnsiConsole.WriteLine($"read-back: {v.IdsChecked:N0} ids written checked ({v.IdsPresent:N0} present), {v.Mismatches} differ from their last acknowledged write");
        foreach (string example in v.Examples) AnsiConsole.WriteLine("  " + example);
        if (json is not null) AnsiConsole.WriteLine($"wrote {json}");
        if (plot is not null) AnsiConsole.WriteLine($"wrote {plot}");
        return v.Mismatches == 0 ? 0 : 3;
    }

    private static VectorSet RandomVectors(int rows, int dimension, int seed)
    {
        if (rows < 1 || dimension < 1) throw new UsageException("--random-rows and --dimension must be positive");
        var random = new Random(seed);
        var data = new float[(long)rows * dimension];
        for (long i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        return new VectorSet(data, rows, dimension);
    }
}
