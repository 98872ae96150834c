using System.CommandLine;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets;
using AnnServer.Harness.Recall;
using AnnServer.Harness.Reporting;
using AnnServer.Harness.Results;
using AnnServer.Harness.Systems;
using Spectre.Console;

namespace AnnServer.Harness.Cli;

/// <summary>
/// `ann-bench recall`: builds (or loads) our index in-process, optionally builds peers on the same files, and measures
/// recall@k, QPS and latency at each ef, as ann-benchmarks does.
/// </summary>
public static class RecallCommand
{
    public static readonly int[] DefaultEfs = [10, 20, 40, 80, 160, 320];

    /// <summary>Untimed searches per system before the first ef, for the runtime's tiered compilation (RecallRunner.WarmUpRuntime).</summary>
    private static readonly TimeSpan RuntimeWarmUp = TimeSpan.FromSeconds(1);

    public static Command Create()
    {
        var baseOption = new Option<string?>("--base") { Description = "base vectors (.fvecs) to build the index from; ids are row numbers" };
        var indexOption = new Option<string[]>("--index")
        {
            Description = "snapshots to load instead of building (written by ann-build, the server or --save-index); several are measured side by side",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [],
        };
        var queriesOption = new Option<string>("--queries") { Description = "query vectors (.fvecs)", Required = true };
        var truthOption = new Option<string?>("--ground-truth") { Description = "exact neighbour ids per query (.ivecs), e.g. gt.ivecs from `ann-bench datasets`" };
        var kOption = new Option<int>("--k") { Description = "neighbours per query (recall@k)", DefaultValueFactory = _ => 10 };
        var mOption = new Option<int>("--m") { Description = "HNSW links per node (level 0 keeps 2·M)", DefaultValueFactory = _ => 16 };
        var efConstructionOption = new Option<int>("--ef-construction") { Description = "candidate list size while building", DefaultValueFactory = _ => 200 };
        var buildThreadsOption = new Option<int>("--build-threads") { Description = "threads for building (0 = all cores)", DefaultValueFactory = _ => 0 };
        var efOption = new Option<int[]>("--ef")
        {
            Description = "search breadths to measure, comma-separated",
            CustomParser = CliParsers.PositiveList,
            DefaultValueFactory = _ => DefaultEfs,
        };
        var threadsOption = new Option<int>("--threads") { Description = "search threads", DefaultValueFactory = _ => 1 };
        var peerOption = new Option<string[]>("--peer")
        {
            Description = "also run a peer on the same files with the same M/efConstruction/ef: usearch",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [],
        };
        peerOption.AcceptOnlyFromAmong("usearch");
        var quantizationOption = new Option<string[]>("--quantization")
        {
            Description = "our index's stored-vector modes to build and measure side by side: none (float32), int8 (int8 codes, float32 re-rank), " +
                          "int4 (4-bit codes, float32 re-rank); with --index, each mode other than none loads a float32 snapshot with its codes computed at load",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => ["none"],
        };
        quantizationOption.AcceptOnlyFromAmong("none", "int8", "int4");
        var mapVectorsOption = new Option<bool>("--map-vectors")
        {
            Description = "with --index: leave the float32 vectors in the snapshot's file mapping instead of copying them into memory " +
                          "(a quantized index reads them only to re-rank), as the server's --map-snapshots",
        };
        var metricOption = new Option<string>("--metric") { Description = "l2, ip or cosine (when building)", DefaultValueFactory = _ => "l2" };
        metricOption.AcceptOnlyFromAmong("l2", "ip", "cosine");
        var warmupOption = new Option<int>("--warmup") { Description = "queries searched before timing each ef", DefaultValueFactory = _ => 1000 };
        var runsOption = new Option<int>("--runs") { Description = "timed passes per ef; the fastest is kept", DefaultValueFactory = _ => 1 };
        var maxQueriesOption = new Option<int?>("--max-queries") { Description = "use only the first N queries" };
        var datasetOption = new Option<string?>("--dataset") { Description = "dataset name for the table and JSON (default: the queries' folder name)" };
        var jsonOption = new Option<string?>("--json") { Description = "write the results to this JSON file (schema in bench/README.md)" };
        var plotOption = new Option<string?>("--plot") { Description = "draw the recall/QPS curves to this PNG" };
        var saveIndexOption = new Option<string[]>("--save-index")
        {
            Description = "also save our indexes as snapshots: one path per --quantization (or per --index), in the same order",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [],
        };
        var reorderOption = new Option<string[]>("--reorder")
        {
            Description = "renumber our indexes' nodes for locality before measuring (HnswIndex.Reordered): none, bfs or rcm "
                + "(reverse Cuthill-McKee); one value for all, or one per --index (or --quantization) in the same order, so that "
                + "`--index A.snap A.snap --reorder none rcm` measures both orders side by side. --save-index saves the reordered index",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [],
        };
        reorderOption.AcceptOnlyFromAmong("none", "bfs", "rcm");
        var rescoreOption = new Option<string[]>("--rescore")
        {
            Description = "whether our quantized indexes re-rank the walk's nearest results with the float32 vectors (on, the "
                + "default) or answer with the codes' distances (off: QuantizedSearchOptions without the re-rank, the API's "
                + "quantization.rescore = false); one value for all, or one per index in the order of --reorder, so that "
                + "`--index I8.snap I8.snap --rescore on off` measures both side by side",
            AllowMultipleArgumentsPerToken = true,
        };
        rescoreOption.AcceptOnlyFromAmong("on", "off");

        var command = new Command("recall", "Recall@k against queries per second at each ef, in-process, for our index and its peers")
        {
            baseOption, indexOption, queriesOption, truthOption, kOption, mOption, efConstructionOption, buildThreadsOption,
            efOption, threadsOption, peerOption, metricOption, warmupOption, runsOption, maxQueriesOption, datasetOption,
            jsonOption, plotOption, saveIndexOption, quantizationOption, reorderOption, rescoreOption, mapVectorsOption,
        };
        command.SetAction(parse => CommandGuard.Run(() => Execute(new Settings
        {
            Base = parse.GetValue(baseOption),
            Indexes = parse.GetValue(indexOption) ?? [],
            Queries = parse.GetValue(queriesOption)!,
            GroundTruth = parse.GetValue(truthOption),
            K = parse.GetValue(kOption),
            M = parse.GetValue(mOption),
            EfConstruction = parse.GetValue(efConstructionOption),
            BuildThreads = parse.GetValue(buildThreadsOption),
            Efs = parse.GetValue(efOption) ?? DefaultEfs,
            Threads = parse.GetValue(threadsOption),
            Peers = parse.GetValue(peerOption) ?? [],
            Quantizations = parse.GetValue(quantizationOption) ?? ["none"],
            MapVectors = parse.GetValue(mapVectorsOption),
            Metric = parse.GetValue(metricOption) ?? "l2",
            Warmup = parse.GetValue(warmupOption),
            Runs = parse.GetValue(runsOption),
            MaxQueries = parse.GetValue(maxQueriesOption),
            Dataset = parse.GetValue(datasetOption),
            Json = parse.GetValue(jsonOption),
            Plot = parse.GetValue(plotOption),
            SaveIndexes = parse.GetValue(saveIndexOption) ?? [],
            Reorder = parse.GetValue(reorderOption) ?? [],
            Rescore = parse.GetValue(rescoreOption) ?? [],
            CommandLine = "ann-bench " + string.Join(' ', parse.Tokens.Select(t => Quote(t.Value))),
        })));
        return command;
    }

    public sealed class Settings
    {
        public string? Base { get; init; }

        /// <summary>Snapshots to load; empty to build from <see cref="Base"/>.</summary>
        public string[] Indexes { get; init; } = [];

        public required string Queries { get; init; }
        public string? GroundTruth { get; init; }
        public int K { get; init; } = 10;
        public int M { get; init; } = 16;
        public int EfConstruction { get; init; } = 200;
        public int BuildThreads { get; init; }
        public int[] Efs { get; init; } = DefaultEfs;
        public int Threads { get; init; } = 1;
        public string[] Peers { get; init; } = [];
        public string[] Quantizations { get; init; } = ["none"];

        /// <summary>Loaded snapshots keep their float32 vectors in the file mapping.</summary>
        public bool MapVectors { get; init; }
        public string Metric { get; init; } = "l2";
        public int Warmup { get; init; } = 1000;
        public int Runs { get; init; } = 1;
        public int? MaxQueries { get; init; }
        public string? Dataset { get; init; }
        public string? Json { get; init; }
        public string? Plot { get; init; }

        /// <summary>Where to save our indexes, one path per built quantization (or loaded snapshot), in order.</summary>
        public string[] SaveIndexes { get; init; } = [];

        /// <summary>Node orderings (none, bfs, rcm) for our indexes: empty, one for all, or one per index in order.</summary>
        public string[] Reorder { get; init; } = [];

        /// <summary>on / off for our indexes' float32 re-rank: empty (on), one for all, or one per index in order.</summary>
        public string[] Rescore { get; init; } = [];

        public string? CommandLine { get; init; }
    }

    public static int Execute(Settings s)
    {
        Validate(s);
        if (!MetricNames.TryParse(s.Metric, out var metric))
            throw new UsageException($"--metric: '{s.Metric}' is not one of l2, ip, cosine");
        int buildThreads = s.BuildThreads <= 0 ? Environment.ProcessorCount : s.BuildThreads;

        var queries = Texmex.ReadFvecs(RequireFile(s.Queries, "--queries"), s.MaxQueries ?? int.MaxValue);
        VectorSet? baseVectors = s.Base is null ? null : Texmex.ReadFvecs(RequireFile(s.Base, "--base"));
        int[][]? truth = s.GroundTruth is null ? null : Texmex.ReadIvecs(RequireFile(s.GroundTruth, "--ground-truth"), queries.Count);
        if (baseVectors is not null && baseVectors.Dimension != queries.Dimension)
            throw new UsageException($"--queries have dimension {queries.Dimension} but --base {baseVectors.Dimension}");
        if (baseVectors is not null && baseVectors.Count < s.K)
            throw new UsageException($"--base holds {baseVectors.Count} points, fewer than k = {s.K}");

        var systems = new List<ISearchSystem>();
        // Resident growth and peak per system, in the order of systems: measured around each build or load (ResidentMemory).
        var memory = new List<MakingMemory>();
        try
        {
            if (s.Indexes.Length > 0)
            {
                foreach (string path in s.Indexes)
                foreach (string quantization in s.Quantizations.Distinct())
                {
                    VectorQuantization? encodeAs = quantization == "none" ? null : AnnServerSystem.ParseQuantization(quantization);
                    AddMeasured(systems, memory, () => LoadIndex(path, s.MapVectors, encodeAs), baseVectors?.Count);
                }
            }
            else
            {
                foreach (string quantization in s.Quantizations.Distinct())
                    AddMeasured(systems, memory, () => BuildOurs(quantization, baseVectors!, metric, s, buildThreads), baseVectors!.Count);
            }
            ReorderOurs(systems, s.Reorder);
            SkipRescoreWhereAsked(systems, s.Rescore);
            var ourSystems = systems.Cast<AnnServerSystem>().ToList();
            var ours = ourSystems[0];
            metric = ours.Index.Metric;
            foreach (var system in ourSystems)
            {
                if (system.Index.Dimension != queries.Dimension)
                    throw new UsageException($"the index {system.Params["snapshot"]?.ToString() ?? system.Name} has dimension {system.Index.Dimension} but --queries {queries.Dimension}");
                if (system.Index.Metric != metric)
                    throw new UsageException($"the indexes use different metrics ({MetricNames.Format(metric)} and {MetricNames.Format(system.Index.Metric)}); one report has one metric");
            }
            for (int i = 0; i < s.SaveIndexes.Length; i++)
            {
                Snapshot.Save(ourSystems[i].Index, s.SaveIndexes[i]);
                CommandGuard.Status($"{ourSystems[i].Name}: saved the index to {s.SaveIndexes[i]}");
            }
            foreach (string peer in s.Peers.Distinct())
                AddMeasured(systems, memory,
                    () => Build(peer, baseVectors!, progress => USearchSystem.Build(baseVectors!, metric, ours.Index.M, ours.Index.EfConstruction, buildThreads, progress)),
                    baseVectors!.Count);

            RecallScorer? scorer = null;
            if (truth is not null)
            {
                if (truth.Length < queries.Count)
                    throw new UsageException($"--ground-truth has {truth.Length} rows for {queries.Count} queries");
                scorer = baseVectors is not null
                    ? new RecallScorer(baseVectors, queries, truth, s.K, metric)
                    : RecallScorer.FromIndex(ours.Index, queries, truth, s.K);
            }
            else
            {
                CommandGuard.Status("no --ground-truth: recall is not computed");
            }

            var rows = systems.Select(system => new List<ResultPoint>()).ToList();
            var options = new RecallRunOptions { K = s.K, Threads = s.Threads, Warmup = s.Warmup, Runs = s.Runs };
            foreach (var system in systems)
                RecallRunner.WarmUpRuntime(system, queries, s.Efs[0], s.K, RuntimeWarmUp);
            // Systems alternate at each ef, so a slow spell on a shared machine does not fall on one system only.
            foreach (int ef in s.Efs)
            {
                for (int i = 0; i < systems.Count; i++)
                {
                    var point = RecallRunner.Measure(systems[i], queries, ef, options, scorer);
                    rows[i].Add(point);
                    CommandGuard.Status($"{systems[i].Name,-10} ef={ef,-5} recall={point.Recall?.ToString("F4") ?? "-"}  qps={point.Qps,9:F0}  p50={point.P50Us:F1}µs  p99={point.P99Us:F1}µs");
                }
            }

            var report = new BenchmarkReport
            {
                Dataset = s.Dataset ?? DefaultDatasetName(s.Queries),
                K = s.K,
                Metric = MetricNames.Format(metric),
                BaseCount = baseVectors?.Count ?? ours.Index.Count,
                QueryCount = queries.Count,
                CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
                Command = s.CommandLine,
                Machine = MachineInfo.Current(),
                Rows = systems.Select((system, i) => new ResultRow
                {
                    System = system.Name,
                    Params = WithSearchSettings(system, s, scorer),
                    BuildSeconds = system.BuildSeconds is double b ? Math.Round(b, 3) : null,
                    MemoryBytes = system.MemoryBytes,
                    ResidentBytes = memory[i].GrowthBytes,
                    PeakResidentBytes = memory[i].PeakBytes,
                    Points = rows[i],
                }).ToList(),
            };

            ResultTable.Print(report);
            if (s.Json is not null)
            {
                ReportJson.Write(s.Json, report);
                CommandGuard.Status($"wrote {s.Json}");
            }
            if (s.Plot is not null)
            {
                RecallPlot.Save(report, s.Plot);
                CommandGuard.Status($"wrote {s.Plot}");
            }
            return 0;
        }
        finally
        {
            foreach (var system in systems) system.Dispose();
        }
    }

    private static AnnServerSystem BuildOurs(string quantization, VectorSet baseVectors, DistanceMetric metric, Settings s, int buildThreads)
    {
        var mode = AnnServerSystem.ParseQuantization(quantization);
        return Build(AnnServerSystem.NameFor(mode), baseVectors,
            progress => AnnServerSystem.Build(baseVectors, metric, s.M, s.EfConstruction, buildThreads, progress, mode));
    }

    private static void Validate(Settings s)
    {
        bool loading = s.Indexes.Length > 0;
        if (s.Quantizations.Length == 0) throw new UsageException("--quantization needs at least one of none, int8, int4");
        if (s.MapVectors && !loading) throw new UsageException("--map-vectors applies to a loaded --index");
        if (s.Base is null && !loading)
            throw new UsageException("give --base FILE.fvecs (to build an index) or --index SNAPSHOT (to load one)");
        if (s.Base is not null && loading && s.Peers.Length == 0 && s.GroundTruth is null)
            throw new UsageException("--base and --index together only make sense with --peer or --ground-truth; give one of them");
        if (s.Peers.Length > 0 && s.Base is null)
            throw new UsageException("--peer needs --base: the peer is built from the same base vectors");
        int ourIndexes = (loading ? s.Indexes.Length : 1) * s.Quantizations.Distinct().Count();
        if (s.SaveIndexes.Length > 0 && s.SaveIndexes.Length != ourIndexes)
            throw new UsageException(loading
                ? $"--save-index needs one path per --index: {s.Indexes.Length} snapshots, {s.SaveIndexes.Length} paths"
                : $"--save-index needs one path per --quantization, in the same order: {ourIndexes} quantizations, {s.SaveIndexes.Length} paths");
        if (s.Reorder.Length > 1 && s.Reorder.Length != ourIndexes)
            throw new UsageException($"--reorder needs one value for all our indexes or one per index: {ourIndexes} indexes, {s.Reorder.Length} values");
        if (s.Rescore.Length > 1 && s.Rescore.Length != ourIndexes)
            throw new UsageException($"--rescore needs one value for all our indexes or one per index: {ourIndexes} indexes, {s.Rescore.Length} values");
        if (s.K <= 0) throw new UsageException($"--k must be positive, got {s.K}");
        if (s.Threads is <= 0 or > USearchSystem.MaxSearchThreads)
            throw new UsageException($"--threads must be between 1 and {USearchSystem.MaxSearchThreads}, got {s.Threads}");
        if (s.Runs <= 0) throw new UsageException($"--runs must be positive, got {s.Runs}");
        if (s.Warmup < 0) throw new UsageException($"--warmup cannot be negative, got {s.Warmup}");
        if (s.MaxQueries is <= 0) throw new UsageException($"--max-queries must be positive, got {s.MaxQueries}");
        if (s.Efs.Length == 0) throw new UsageException("--ef needs at least one value");
        foreach (int ef in s.Efs)
            if (ef < s.K) throw new UsageException($"--ef {ef} is smaller than k = {s.K}; every ef must be at least k");
    }

    /// <summary>
    /// Makes a system and adds it with the resident memory its making added (settled before and after, so garbage of
    /// the files read before and of the build itself does not count), and the peak above the settled start while it was
    /// made (temporaries included). The first system made in a process also carries the runtime's one-time growth for
    /// the code it runs first (jitted code, thread stacks): a few MiB.
    /// </summary>
    private static void AddMeasured(List<ISearchSystem> systems, List<MakingMemory> memory, Func<ISearchSystem> make, int? points)
    {
        long? before = ResidentMemory.SettledBytes();
        bool peakReset = ResidentMemory.ResetPeak();
        var system = make();
        long? peak = peakReset ? ResidentMemory.PeakBytes() - before : null;
        systems.Add(system);
        long? growth = ResidentMemory.SettledBytes() - before;
        memory.Add(new MakingMemory(growth, peak));
        points ??= (system as AnnServerSystem)?.Index.Count;
        if (growth is long bytes)
            CommandGuard.Status($"{system.Name}: resident memory grew by {bytes / 1048576.0:F1} MiB" +
                                (points is int n && n > 0 ? $" ({bytes / (double)n:F0} bytes/point)" : "") +
                                (peak is long most ? $", at most {most / 1048576.0:F1} MiB while it was made" : ""));
    }

    /// <summary>What making one system did to the process's resident memory: kept, and at most (null where unknown).</summary>
    private readonly record struct MakingMemory(long? GrowthBytes, long? PeakBytes);

    /// <summary>Replaces each of our systems by its reordered copy where <paramref name="orderings"/> asks for one.</summary>
    private static void ReorderOurs(List<ISearchSystem> systems, string[] orderings)
    {
        for (int i = 0; i < systems.Count && orderings.Length > 0; i++)
        {
            NodeOrdering? ordering = (orderings.Length == 1 ? orderings[0] : orderings[i]) switch
            {
                "bfs" => NodeOrdering.BreadthFirst,
                "rcm" => NodeOrdering.ReverseCuthillMcKee,
                _ => null,
            };
            if (ordering is null) continue;
            var system = ((AnnServerSystem)systems[i]).Reordered(ordering.Value);
            systems[i] = system;
            CommandGuard.Status($"{system.Name}: reordered in {system.Params["reorder_seconds"]} s");
        }
    }

    /// <summary>Turns off the float32 re-rank of each of our systems <paramref name="rescore"/> says "off" for.</summary>
    private static void SkipRescoreWhereAsked(List<ISearchSystem> systems, string[] rescore)
    {
        for (int i = 0; i < systems.Count && rescore.Length > 0; i++)
        {
            if ((rescore.Length == 1 ? rescore[0] : rescore[i]) != "off") continue;
            var system = (AnnServerSystem)systems[i];
            if (system.Index.Quantization == VectorQuantization.None)
                throw new UsageException($"--rescore off for {system.Name}: a float32 index has no codes to answer with (use --quantization int8 or int4)");
            system.SkipRescore();
        }
    }

    private static AnnServerSystem LoadIndex(string path, bool mapVectors, VectorQuantization? encodeAs)
    {
        CommandGuard.Status(encodeAs is null ? $"loading snapshot {path}" : $"loading snapshot {path} with {encodeAs} codes computed at load");
        AnnServerSystem system;
        try
        {
            system = AnnServerSystem.Load(path, mapVectors, encodeAs);
        }
        catch (ArgumentException e) when (encodeAs is not null)
        {
            throw new UsageException($"--quantization {AnnServerSystem.QuantizationName(encodeAs.Value)} with --index {path}: {e.Message}");
        }
        CommandGuard.Status($"{system.Name}: loaded {system.Index.Count} points in {system.Params["snapshot_load_seconds"]} s");
        return system;
    }

    private static T Build<T>(string name, VectorSet baseVectors, Func<IProgress<int>, T> build) where T : ISearchSystem
    {
        T system = default!;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask($"building {name}", maxValue: baseVectors.Count);
                system = build(new Progress<int>(done => task.Value = done));
                task.Value = baseVectors.Count;
            });
        CommandGuard.Status($"{name}: built {baseVectors.Count} points in {system.BuildSeconds:F1} s, {system.MemoryBytes / 1048576.0:F1} MiB");
        return system;
    }

    private static System.Text.Json.Nodes.JsonObject WithSearchSettings(ISearchSystem system, Settings s, RecallScorer? scorer)
    {
        var parameters = system.Params.DeepClone().AsObject();
        parameters["search_threads"] = s.Threads;
        parameters["warmup"] = s.Warmup;
        parameters["runs"] = s.Runs;
        if (scorer is not null) parameters["recall"] = scorer.TieAware ? "tie-aware" : "by-id";
        return parameters;
    }

    internal static string RequireFile(string path, string option) =>
        File.Exists(path) ? path : throw new UsageException($"{option}: {path} does not exist");

    internal static string DefaultDatasetName(string queriesPath) =>
        new DirectoryInfo(Path.GetDirectoryName(Path.GetFullPath(queriesPath)) ?? ".").Name;

    internal static string Quote(string token) =>
        token.Length > 0 && token.All(c => char.IsLetterOrDigit(c) || "-_./,:=@+".Contains(c)) ? token : $"'{token.Replace("'", "'\\''")}'";
}
