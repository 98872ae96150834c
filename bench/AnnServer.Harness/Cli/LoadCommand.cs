using System.CommandLine;
using System.Text.Json.Nodes;
using AnnServer.Datasets;
using AnnServer.Harness.Load;
using AnnServer.Harness.Recall;
using AnnServer.Harness.Reporting;
using AnnServer.Harness.Results;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;
using HdrHistogram;
using Spectre.Console;

namespace AnnServer.Harness.Cli;

/// <summary>`ann-bench load`: latency and throughput of a running server under concurrent Search calls.</summary>
public static class LoadCommand
{
    /// <summary>The percentiles kept in the JSON and drawn in the plot.</summary>
    public static readonly double[] Percentiles = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];

    public static Command Create()
    {
        var targetOption = new Option<string>("--target") { Description = "server address", DefaultValueFactory = _ => "http://127.0.0.1:50051" };
        var collectionOption = new Option<string>("--collection") { Description = "collection to search", Required = true };
        var queriesOption = new Option<string>("--queries") { Description = "query vectors (.fvecs), sent in turn", Required = true };
        var truthOption = new Option<string?>("--ground-truth") { Description = "exact neighbour ids (.ivecs) for recall; ids must be the collection's ids" };
        var baseOption = new Option<string?>("--base") { Description = "base vectors (.fvecs) to settle ties in recall (otherwise recall counts ids)" };
        var kOption = new Option<int>("--k") { Description = "neighbours per query", DefaultValueFactory = _ => 10 };
        var efOption = new Option<int>("--ef") { Description = "search breadth sent with each request (0 = the server's default)", DefaultValueFactory = _ => 64 };
        var concurrencyOption = new Option<int>("--concurrency") { Description = "closed loop: callers; open loop: most requests in flight", DefaultValueFactory = _ => 16 };
        var durationOption = new Option<TimeSpan>("--duration") { Description = "measured time, e.g. 30s", CustomParser = CliParsers.Duration, DefaultValueFactory = _ => TimeSpan.FromSeconds(30) };
        var warmupOption = new Option<TimeSpan>("--warmup") { Description = "unmeasured time before it, e.g. 2s (0s: none)", CustomParser = CliParsers.DurationOrZero, DefaultValueFactory = _ => TimeSpan.FromSeconds(2) };
        var settleOption = new Option<TimeSpan>("--warmup-settle-limit")
        {
            Description = "the warm-up goes on past --warmup until this client's JIT has gone quiet (tiered compilation recompiles the "
                + "gRPC path for seconds after start), at most this much longer (0s: --warmup exactly)",
            CustomParser = CliParsers.DurationOrZero, DefaultValueFactory = _ => TimeSpan.FromSeconds(20),
        };
        var rateOption = new Option<double?>("--rate") { Description = "open loop: send this many requests per second on schedule, latency measured from the due time" };
        var timeoutOption = new Option<TimeSpan>("--timeout") { Description = "per-request deadline", CustomParser = CliParsers.Duration, DefaultValueFactory = _ => TimeSpan.FromSeconds(10) };
        var transportOption = new Option<string>("--transport")
        {
            Description = "unary: one Search call per search; stream: the searches go over --concurrency SearchStream calls",
            DefaultValueFactory = _ => "unary",
        };
        transportOption.AcceptOnlyFromAmong("unary", "stream");
        var windowOption = new Option<int>("--stream-window")
        {
            Description = "with --transport stream: searches each stream keeps in flight", DefaultValueFactory = _ => 16,
        };
        var perMessageOption = new Option<int>("--queries-per-message")
        {
            Description = "with --transport stream: searches in each stream message (SearchStreamRequest.searches), answered together; "
                + "--stream-window counts searches", DefaultValueFactory = _ => 1,
        };
        var datasetOption = new Option<string?>("--dataset") { Description = "dataset name for the JSON (default: the queries' folder name)" };
        var jsonOption = new Option<string?>("--json") { Description = "write the results to this JSON file" };
        var plotOption = new Option<string?>("--plot") { Description = "draw latency by percentile to this PNG" };
        var timelineOption = new Option<string?>("--timeline")
        {
            Description = "write the measured requests second by second to this JSON file: when each second began (Unix ms), "
                + "successes, errors, p50/p99/max latency of the requests due (open loop) or sent in it",
        };
        var operationOption = new Option<LoadOperation>("--operation") { Description = "the call: search (one query), batch (SearchBatch of --batch queries), upsert (--batch points, new ids)", DefaultValueFactory = _ => LoadOperation.Search };
        var batchOption = new Option<int>("--batch") { Description = "queries per SearchBatch or points per Upsert", DefaultValueFactory = _ => 1 };
        var firstIdOption = new Option<long>("--first-id") { Description = "upsert: id of the first point written", DefaultValueFactory = _ => 1_000_000_000 };
        var serverPidOption = new Option<int?>("--server-pid") { Description = "the server's process id: its CPU time per call is read from /proc" };
        var command = new Command("load", "Throughput, tail latency and CPU per call of a running server under concurrent gRPC Search, SearchBatch or Upsert calls")
        {
            targetOption, collectionOption, queriesOption, truthOption, baseOption, kOption, efOption, concurrencyOption,
            durationOption, warmupOption, settleOption, rateOption, timeoutOption, transportOption, windowOption, perMessageOption, datasetOption, jsonOption, plotOption,
            timelineOption, operationOption, batchOption, firstIdOption, serverPidOption,
        };
        command.SetAction((parse, cancellationToken) => CommandGuard.RunAsync(() => ExecuteAsync(new Settings
        {
            Target = parse.GetValue(targetOption)!,
            Collection = parse.GetValue(collectionOption)!,
            Queries = parse.GetValue(queriesOption)!,
            GroundTruth = parse.GetValue(truthOption),
            Base = parse.GetValue(baseOption),
            K = parse.GetValue(kOption),
            Ef = parse.GetValue(efOption),
            Concurrency = parse.GetValue(concurrencyOption),
            Duration = parse.GetValue(durationOption),
            Warmup = parse.GetValue(warmupOption),
            WarmupSettleLimit = parse.GetValue(settleOption),
            Rate = parse.GetValue(rateOption),
            Timeout = parse.GetValue(timeoutOption),
            Transport = parse.GetValue(transportOption)!,
            StreamWindow = parse.GetValue(windowOption),
            QueriesPerMessage = parse.GetValue(perMessageOption),
            Dataset = parse.GetValue(datasetOption),
            Json = parse.GetValue(jsonOption),
            Plot = parse.GetValue(plotOption),
            Timeline = parse.GetValue(timelineOption),
            Operation = parse.GetValue(operationOption),
            BatchSize = parse.GetValue(batchOption),
            FirstId = parse.GetValue(firstIdOption),
            ServerPid = parse.GetValue(serverPidOption),
            CommandLine = "ann-bench " + string.Join(' ', parse.Tokens.Select(t => RecallCommand.Quote(t.Value))),
        }, cancellationToken)));
        return command;
    }

    public sealed class Settings
    {
        public required string Target { get; init; }
        public required string Collection { get; init; }
        public required string Queries { get; init; }
        public string? GroundTruth { get; init; }
        public string? Base { get; init; }
        public int K { get; init; } = 10;
        public int Ef { get; init; } = 64;
        public int Concurrency { get; init; } = 16;
        public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);
        public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);
        public TimeSpan WarmupSettleLimit { get; init; } = TimeSpan.FromSeconds(20);
        public double? Rate { get; init; }
        public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

        /// <summary>"unary" or "stream".</summary>
        public string Transport { get; init; } = "unary";
        public int StreamWindow { get; init; } = 16;
        public int QueriesPerMessage { get; init; } = 1;
        public string? Dataset { get; init; }
        public string? Json { get; init; }
        public string? Plot { get; init; }
        public string? Timeline { get; init; }
        public LoadOperation Operation { get; init; } = LoadOperation.Search;
        public int BatchSize { get; init; } = 1;
        public long FirstId { get; init; } = 1_000_000_000;
        public int? ServerPid { get; init; }
        public string? CommandLine { get; init; }
    }

    public static async Task<int> ExecuteAsync(Settings s, CancellationToken cancellationToken = default)
    {
        if (!Uri.TryCreate(s.Target, UriKind.Absolute, out var target) || (target.Scheme != "http" && target.Scheme != "https"))
            throw new UsageException($"--target: '{s.Target}' is not an http:// or https:// address");
        if (s.K <= 0) throw new UsageException($"--k must be positive, got {s.K}");
        if (s.Ef < 0) throw new UsageException($"--ef cannot be negative, got {s.Ef}");
        if (s.Ef > 0 && s.Ef < s.K) throw new UsageException($"--ef {s.Ef} is smaller than k = {s.K}");
        if (s.Concurrency <= 0) throw new UsageException($"--concurrency must be positive, got {s.Concurrency}");
        if (s.BatchSize <= 0) throw new UsageException($"--batch must be positive, got {s.BatchSize}");
        if (s.Operation == LoadOperation.Search && s.BatchSize != 1) throw new UsageException("--batch applies to --operation batch or upsert");
        if (s.Rate is double r && (!double.IsFinite(r) || r <= 0)) throw new UsageException($"--rate must be a positive number of requests per second, got {r}");
        if (s.Transport is not ("unary" or "stream")) throw new UsageException($"--transport must be unary or stream, got '{s.Transport}'");
        bool streams = s.Transport == "stream";
        if (streams && s.Operation != LoadOperation.Search) throw new UsageException("--transport stream sends searches only: drop --operation");
        if (streams && s.Rate is not null) throw new UsageException("--rate (open loop) is not supported with --transport stream: streams run a closed loop");
        if (streams && s.StreamWindow <= 0) throw new UsageException($"--stream-window must be positive, got {s.StreamWindow}");
        if (s.QueriesPerMessage <= 0) throw new UsageException($"--queries-per-message must be positive, got {s.QueriesPerMessage}");
        if (!streams && s.QueriesPerMessage != 1) throw new UsageException("--queries-per-message applies to --transport stream");

        var queries = Texmex.ReadFvecs(RecallCommand.RequireFile(s.Queries, "--queries"));
        int[][]? truth = s.GroundTruth is null ? null : Texmex.ReadIvecs(RecallCommand.RequireFile(s.GroundTruth, "--ground-truth"), queries.Count);
        VectorSet? baseVectors = s.Base is null ? null : Texmex.ReadFvecs(RecallCommand.RequireFile(s.Base, "--base"));

        using var channel = GrpcChannel.ForAddress(target, new GrpcChannelOptions
        {
            // Several HTTP/2 connections once one is full, as many clients of a busy server would open.
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        });
        var collections = new CollectionService.CollectionServiceClient(channel);
        CollectionInfo info = await DescribeCollectionAsync(collections, target, s.Collection, cancellationToken);
        if (info.Dimension != queries.Dimension)
            throw new UsageException($"collection '{s.Collection}' has dimension {info.Dimension} but --queries {queries.Dimension}");
        CommandGuard.Status($"{s.Collection}: {info.Count} points of dimension {info.Dimension}, M={info.M}, efC={info.EfConstruction}");

        string mode = s.Rate is null ? "closed" : "open";
        CommandGuard.Status(streams
            ? $"closed loop: {s.Concurrency} SearchStream{(s.Concurrency == 1 ? "" : "s")} of {s.StreamWindow} in flight ({s.QueriesPerMessage} a message) for {s.Duration.TotalSeconds:F0} s (after {s.Warmup.TotalSeconds:F0} s warm-up)"
            : s.Rate is double rate
            ? $"open loop: {rate:F0} requests/s for {s.Duration.TotalSeconds:F0} s (after {s.Warmup.TotalSeconds:F0} s warm-up), at most {s.Concurrency} in flight"
            : $"closed loop: {s.Concurrency} callers for {s.Duration.TotalSeconds:F0} s (after {s.Warmup.TotalSeconds:F0} s warm-up)");
        var runner = new LoadRunner(new VectorService.VectorServiceClient(channel), queries, new LoadOptions
        {
            Target = target,
            Collection = s.Collection,
            K = s.K,
            Ef = s.Ef > 0 ? s.Ef : null,
            Concurrency = s.Concurrency,
            Duration = s.Duration,
            Warmup = s.Warmup,
            WarmupSettleLimit = s.WarmupSettleLimit,
            Rate = s.Rate,
            Timeout = s.Timeout,
            Operation = s.Operation,
            BatchSize = s.BatchSize,
            FirstId = s.FirstId,
            ServerPid = s.ServerPid,
            StreamWindow = streams ? s.StreamWindow : null,
            QueriesPerMessage = s.QueriesPerMessage,
            Timeline = s.Timeline is not null,
        })
        {
            Progress = p => CommandGuard.Status(
                $"{p.ElapsedSeconds,6:F1} s{(p.WarmingUp ? " (warm-up)" : "")}  {p.IntervalRate,8:F0} req/s  p50 {p.IntervalP50Us,8:F0} µs  p99 {p.IntervalP99Us,8:F0} µs  errors {p.Errors}"),
        };
        var result = await runner.RunAsync(cancellationToken);

        double? recall = Recall(result, queries, truth, baseVectors, s.K, info.Metric);
        var report = BuildReport(s, target, mode, info, queries.Count, result, recall);
        ResultTable.Print(report);
        PrintLoad(report.Rows[0].Load!);
        if (s.Json is not null)
        {
            ReportJson.Write(s.Json, report);
            CommandGuard.Status($"wrote {s.Json}");
        }
        if (s.Plot is not null)
        {
            LatencyPlot.Save(report, s.Plot);
            CommandGuard.Status($"wrote {s.Plot}");
        }
        if (s.Timeline is not null)
        {
            result.Timeline!.Write(s.Timeline);
            CommandGuard.Status($"wrote {s.Timeline}");
        }
        return result.Succeeded > 0 ? 0 : 1;
    }

    /// <summary>Asks for the collection, waiting up to a minute while the server is still loading its snapshots
    /// (it answers UNAVAILABLE until then), so a benchmark script can start the server and this command together.</summary>
    private static async Task<CollectionInfo> DescribeCollectionAsync(CollectionService.CollectionServiceClient collections,
        Uri target, string collection, CancellationToken cancellationToken)
    {
        var started = DateTime.UtcNow;
        bool told = false;
        while (true)
        {
            try
            {
                return await collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = collection },
                    deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                throw new UsageException($"--collection: the server at {target} has no collection '{collection}'");
            }
            // A server that answers UNAVAILABLE is loading: wait up to a minute. No connection at all (a transport
            // error, DebugException set) is more likely a wrong --target: give up after five seconds.
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable
                                         && DateTime.UtcNow - started < (e.Status.DebugException is null ? TimeSpan.FromMinutes(1) : TimeSpan.FromSeconds(5)))
            {
                if (!told) CommandGuard.Status($"waiting for {target} ({e.Status.Detail})");
                told = true;
                await Task.Delay(500, cancellationToken);
            }
            catch (RpcException e)
            {
                throw new UsageException($"--target: cannot talk to {target}: {e.StatusCode} ({e.Status.Detail})");
            }
        }
    }

    /// <summary>Mean recall over the queries that were answered at least once.</summary>
    private static double? Recall(LoadResult result, VectorSet queries, int[][]? truth, VectorSet? baseVectors, int k, Metric metric)
    {
        if (truth is null) return null;
        var answered = Enumerable.Range(0, queries.Count).Where(q => result.Counts[q] >= 0).ToArray();
        if (answered.Length == 0) return null;
        if (baseVectors is not null)
        {
            var coreMetric = metric switch
            {
                Metric.InnerProduct => Core.DistanceMetric.InnerProduct,
                Metric.Cosine => Core.DistanceMetric.Cosine,
                _ => Core.DistanceMetric.L2,
            };
            var subset = Subset(queries, answered);
            var ids = new long[(long)answered.Length * k];
            var counts = new int[answered.Length];
            var truthSubset = new int[answered.Length][];
            for (int i = 0; i < answered.Length; i++)
            {
                int q = answered[i];
                result.Ids.AsSpan(q * k, k).CopyTo(ids.AsSpan(i * k, k));
                counts[i] = result.Counts[q];
                truthSubset[i] = truth[q];
            }
            return new RecallScorer(baseVectors, subset, truthSubset, k, coreMetric).MeanRecall(ids, counts);
        }
        double sum = 0;
        foreach (int q in answered)
            sum += RecallCalculator.ById(result.Ids.AsSpan(q * k, result.Counts[q]), truth[q], k);
        return sum / answered.Length;
    }

    private static VectorSet Subset(VectorSet vectors, int[] rows)
    {
        var data = new float[(long)rows.Length * vectors.Dimension];
        for (int i = 0; i < rows.Length; i++) vectors.Row(rows[i]).CopyTo(data.AsSpan(i * vectors.Dimension, vectors.Dimension));
        return new VectorSet(data, rows.Length, vectors.Dimension);
    }

    private static BenchmarkReport BuildReport(Settings s, Uri target, string mode, CollectionInfo info, int queryCount,
        LoadResult result, double? recall)
    {
        var h = result.Latencies;
        bool any = h.TotalCount > 0;
        double Us(double percentile) => any ? h.GetValueAtPercentile(percentile) / 1000.0 : 0;
        double throughput = result.Succeeded / result.MeasuredSeconds;
        var load = new LoadSummary
        {
            Target = target.ToString(),
            Collection = s.Collection,
            Mode = mode,
            Concurrency = s.Concurrency,
            Rate = s.Rate,
            DurationSeconds = result.MeasuredSeconds,
            WarmupSeconds = result.WarmupSeconds is double w ? Math.Round(w, 2) : null,
            Requests = result.Requests,
            Succeeded = result.Succeeded,
            Errors = result.Errors,
            Throughput = Math.Round(throughput, 1),
            LateSends = s.Rate is null ? null : result.LateSends,
            StreamWindow = s.Transport == "stream" ? s.StreamWindow : null,
            Percentiles = any ? Percentiles.Select(p => new PercentileValue(p, Us(p))).ToList() : [],
            Operation = s.Operation.ToString().ToLowerInvariant(),
            BatchSize = result.ItemsPerCall,
            ItemsPerSecond = Math.Round(throughput * result.ItemsPerCall, 1),
            ServerTimeP50Us = result.ServerTimes.TotalCount > 0 ? result.ServerTimes.GetValueAtPercentile(50) / 1000.0 : null,
            ServerTimeP99Us = result.ServerTimes.TotalCount > 0 ? result.ServerTimes.GetValueAtPercentile(99) / 1000.0 : null,
            ServerCpuUsPerCall = PerCall(result.ServerCpuSeconds, result.Succeeded),
            ClientCpuUsPerCall = PerCall(result.ClientCpuSeconds, result.Succeeded),
        };
        var parameters = new JsonObject
        {
            ["transport"] = s.Transport == "stream" ? "grpc-stream" : "grpc",
            ["m"] = info.M,
            ["ef_construction"] = info.EfConstruction,
            ["mode"] = mode,
            ["concurrency"] = s.Concurrency,
            ["variant"] = LatencyPlot.Legend(load),
            ["recall"] = s.GroundTruth is null ? null : s.Base is null ? "by-id" : "tie-aware",
        };
        if (s.Transport == "stream") parameters["stream_window"] = s.StreamWindow;
        if (s.QueriesPerMessage > 1) parameters["queries_per_message"] = s.QueriesPerMessage;
        return new BenchmarkReport
        {
            Dataset = s.Dataset ?? RecallCommand.DefaultDatasetName(s.Queries),
            K = s.K,
            Metric = info.Metric switch { Metric.InnerProduct => "ip", Metric.Cosine => "cosine", _ => "l2" },
            BaseCount = (int)Math.Min(info.Count, int.MaxValue),
            QueryCount = queryCount,
            CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            Command = s.CommandLine,
            Machine = MachineInfo.Current(),
            Rows =
            [
                new ResultRow
                {
                    System = "annserver",
                    Params = parameters,
                    MemoryBytes = (long)info.MemoryBytes,
                    Points =
                    [
                        new ResultPoint
                        {
                            Ef = s.Ef,
                            Recall = recall,
                            Qps = Math.Round(throughput, 1),
                            MeanUs = any ? h.GetMean() / 1000.0 : 0,
                            P50Us = Us(50),
                            P90Us = Us(90),
                            P99Us = Us(99),
                            P999Us = Us(99.9),
                            MaxUs = any ? h.GetMaxValue() / 1000.0 : 0,
                        },
                    ],
                    Load = load,
                },
            ],
        };
    }

    private static double? PerCall(double? cpuSeconds, long calls) =>
        cpuSeconds is double seconds && calls > 0 ? Math.Round(seconds * 1e6 / calls, 1) : null;

    private static void PrintLoad(LoadSummary load)
    {
        var table = new Table { Border = TableBorder.Rounded, Title = new TableTitle(LatencyPlot.Legend(load)) };
        table.AddColumn("requests");
        table.AddColumn("ok");
        table.AddColumn("req/s");
        foreach (var p in new[] { 50, 90, 99, 99.9, 100 }) table.AddColumn(new TableColumn(p == 100 ? "max µs" : $"p{p} µs").RightAligned());
        table.AddColumn("errors");
        double At(double p) => load.Percentiles.FirstOrDefault(x => x.Percentile == p)?.LatencyUs ?? 0;
        table.AddRow(load.Requests.ToString(), load.Succeeded.ToString(), $"{load.Throughput:F0}",
            $"{At(50):F0}", $"{At(90):F0}", $"{At(99):F0}", $"{At(99.9):F0}", $"{At(100):F0}",
            load.Errors.Count == 0 ? "none" : Markup.Escape(string.Join(", ", load.Errors.Select(e => $"{e.Key}: {e.Value}"))));
        AnsiConsole.Write(table);
        if (load.ServerTimeP50Us is double serverP50)
            AnsiConsole.MarkupLine($"server time per call: p50 {serverP50:F0} µs, p99 {load.ServerTimeP99Us:F0} µs");
        if (load.ServerCpuUsPerCall is not null || load.ClientCpuUsPerCall is not null)
            AnsiConsole.MarkupLine($"CPU per call: server {load.ServerCpuUsPerCall?.ToString("F1") ?? "-"} µs, client {load.ClientCpuUsPerCall?.ToString("F1") ?? "-"} µs");
        if (load.LateSends is long late && late > 0)
            AnsiConsole.MarkupLine($"[yellow]{late} requests were sent more than 1 ms late (all {load.Concurrency} slots busy); their wait is in the latencies[/]");
    }
}
