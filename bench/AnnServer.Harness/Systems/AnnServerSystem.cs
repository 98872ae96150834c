using System.Diagnostics;
using System.Text.Json.Nodes;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets;

namespace AnnServer.Harness.Systems;

/// <summary>Our engine, in-process: an <see cref="HnswIndex"/> built from the base vectors or loaded from a snapshot.</summary>
public sealed class AnnServerSystem : ISearchSystem
{
    private readonly HnswIndex _index;
    private readonly List<Searcher> _searchers = [];
    private string _nameSuffix;
    private QuantizedSearchOptions _quantized;
    private int _ef;

    private AnnServerSystem(HnswIndex index, JsonObject parameters, double? buildSeconds, string nameSuffix = "")
    {
        _index = index;
        _nameSuffix = nameSuffix;
        Params = parameters;
        BuildSeconds = buildSeconds;
        _ef = Math.Max(10, index.EfConstruction);
    }

    public string Name => NameFor(_index.Quantization) + _nameSuffix;

    /// <summary>"annserver" for float32, "annserver-int8" and "annserver-int4" for the quantized modes: rows of one table.</summary>
    public static string NameFor(VectorQuantization quantization) => quantization switch
    {
        VectorQuantization.Int8 => "annserver-int8",
        VectorQuantization.Int4 => "annserver-int4",
        _ => "annserver",
    };

    /// <summary>The --quantization name of a mode: none, int8, int4.</summary>
    public static string QuantizationName(VectorQuantization quantization) => quantization switch
    {
        VectorQuantization.Int8 => "int8",
        VectorQuantization.Int4 => "int4",
        _ => "none",
    };

    public static VectorQuantization ParseQuantization(string name) => name switch
    {
        "int8" => VectorQuantization.Int8,
        "int4" => VectorQuantization.Int4,
        _ => VectorQuantization.None,
    };
    public JsonObject Params { get; }
    public double? BuildSeconds { get; }
    public long? MemoryBytes => _index.MemoryBytes;

    /// <summary>The engine keeps a running mean per search; times the searches made through our searchers gives the
    /// total, so the runner can take differences around one ef.</summary>
    public long? DistanceComputations
    {
        get
        {
            long searches = 0;
            lock (_searchers)
                foreach (var searcher in _searchers) searches += Volatile.Read(ref searcher.Searches);
            return (long)Math.Round(_index.DistanceComputationsPerSearch * searches);
        }
    }

    public HnswIndex Index => _index;

    /// <summary>Inserts every base row with its row number as id, over <paramref name="threads"/> threads.</summary>
    public static AnnServerSystem Build(VectorSet baseVectors, DistanceMetric metric, int m, int efConstruction, int threads,
        IProgress<int>? progress = null, VectorQuantization quantization = VectorQuantization.None)
    {
        var options = new HnswOptions
        {
            Dimension = baseVectors.Dimension, Metric = metric, M = m, EfConstruction = efConstruction, Quantization = quantization,
        };
        options.Validate();
        var index = new HnswIndex(options);
        var ids = new long[baseVectors.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = i;
        var clock = Stopwatch.StartNew();
        index.UpsertMany(baseVectors.Data, ids, labels: null, threads: threads, progress: progress);
        double seconds = clock.Elapsed.TotalSeconds;
        var parameters = new JsonObject
        {
            ["m"] = m,
            ["ef_construction"] = efConstruction,
            ["build_threads"] = threads,
            ["metric"] = MetricNames.Format(metric),
            ["quantization"] = QuantizationName(quantization),
        };
        AddBytesPerPoint(parameters, index);
        return new AnnServerSystem(index, parameters, seconds);
    }

    /// <summary>Loads a snapshot written by ann-build or the server. With <paramref name="mapVectors"/> the float32
    /// vectors stay in the file's mapping (a quantized index then reads them only to re-rank); with
    /// <paramref name="encodeAs"/> a float32 snapshot is loaded as that quantization, its codes computed at load.</summary>
    public static AnnServerSystem Load(string path, bool mapVectors = false, VectorQuantization? encodeAs = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such snapshot file", path);
        var clock = Stopwatch.StartNew();
        var loaded = Snapshot.Load(path, new SnapshotLoadOptions { ReadIntoMemory = !mapVectors, EncodeAs = encodeAs });
        double seconds = clock.Elapsed.TotalSeconds;
        var index = loaded.Index;
        var parameters = new JsonObject
        {
            ["m"] = index.M,
            ["ef_construction"] = index.EfConstruction,
            ["metric"] = MetricNames.Format(index.Metric),
            ["quantization"] = QuantizationName(index.Quantization),
            ["snapshot"] = Path.GetFileName(path),
            ["snapshot_load_seconds"] = Math.Round(seconds, 3),
            ["vectors_mapped"] = mapVectors,
        };
        if (encodeAs is not null) parameters["codes_encoded_at_load"] = true;
        AddBytesPerPoint(parameters, index);
        return new AnnServerSystem(index, parameters, buildSeconds: null);
    }

    /// <summary>
    /// This index with its nodes renumbered (<see cref="HnswIndex.Reordered"/>), as a system of its own named for the
    /// ordering ("annserver-rcm"); this system is disposed. The reordering's time is in the parameters.
    /// </summary>
    public AnnServerSystem Reordered(NodeOrdering ordering)
    {
        var clock = Stopwatch.StartNew();
        HnswIndex reordered = _index.Reordered(ordering);
        double seconds = clock.Elapsed.TotalSeconds;
        var parameters = (JsonObject)Params.DeepClone();
        parameters["reorder"] = OrderingName(ordering);
        parameters["reorder_seconds"] = Math.Round(seconds, 3);
        Dispose();
        return new AnnServerSystem(reordered, parameters, BuildSeconds, $"{_nameSuffix}-{OrderingName(ordering)}");
    }

    /// <summary>
    /// Searches from now on leave the walk's results with their codes' distances (<see cref="QuantizedSearchOptions"/>
    /// without the re-rank), and the system is named for it ("annserver-int8-bfs-norescore"). Only for a quantized index:
    /// one without codes has nothing to skip.
    /// </summary>
    public void SkipRescore()
    {
        if (_index.Quantization == VectorQuantization.None)
            throw new InvalidOperationException($"{Name} has no codes: only a quantized index re-ranks");
        _quantized = new QuantizedSearchOptions(rescore: false);
        _nameSuffix += "-norescore";
        Params["rescore"] = false;
    }

    /// <summary>The name of an ordering on the command line and in reports: bfs, rcm.</summary>
    public static string OrderingName(NodeOrdering ordering) => ordering switch
    {
        NodeOrdering.BreadthFirst => "bfs",
        NodeOrdering.ReverseCuthillMcKee => "rcm",
        _ => throw new ArgumentOutOfRangeException(nameof(ordering)),
    };

    /// <summary>What a search reads per visited point (the codes when quantized, else the vector) and the links, which
    /// every mode has alike.</summary>
    private static void AddBytesPerPoint(JsonObject parameters, HnswIndex index)
    {
        parameters["vector_bytes_per_point"] = index.VectorBytesPerPoint;
        parameters["code_bytes_per_point"] = index.CodeBytesPerPoint;
        parameters["hot_bytes_per_point"] = index.CodeBytesPerPoint > 0 ? index.CodeBytesPerPoint : index.VectorBytesPerPoint;
        parameters["link_bytes_per_point"] = Math.Round(index.LinkBytesPerPoint, 1);
    }

    public void SetEf(int ef) => _ef = ef;

    public ISearcher CreateSearcher(int k)
    {
        var searcher = new Searcher(_index, k, _ef, _quantized);
        lock (_searchers) _searchers.Add(searcher);
        return searcher;
    }

    public void Dispose() => _index.Dispose();

    private sealed class Searcher(HnswIndex index, int k, int ef, QuantizedSearchOptions quantized) : ISearcher
    {
        private readonly SearchHit[] _hits = new SearchHit[k];

        /// <summary>Searches made by this searcher (one thread writes it).</summary>
        public long Searches;

        public int Search(ReadOnlySpan<float> query, Span<long> ids)
        {
            int n = index.Search(query, k, ef, _hits, filter: null, quantized);
            Searches++;
            for (int i = 0; i < n; i++) ids[i] = _hits[i].Id;
            return n;
        }
    }
}
