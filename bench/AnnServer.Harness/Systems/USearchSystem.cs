using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using AnnServer.Core;
using AnnServer.Datasets;
using Cloud.Unum.USearch;

namespace AnnServer.Harness.Systems;

/// <summary>
/// USearch (NuGet Cloud.Unum.USearch) as a peer, configured like our index: float32 storage, connectivity = M
/// (level 0 keeps 2·M, as ours and hnswlib), expansion_add = efConstruction, expansion_search = ef.
/// Cosine is run as inner product on vectors normalised here, which is what our engine does too.
/// </summary>
public sealed class USearchSystem : ISearchSystem
{
    public const int MaxSearchThreads = 64;

    private nint _index;
    private readonly bool _normalizeQueries;

    private USearchSystem(nint index, JsonObject parameters, double buildSeconds, bool normalizeQueries)
    {
        _index = index;
        Params = parameters;
        BuildSeconds = buildSeconds;
        _normalizeQueries = normalizeQueries;
    }

    public string Name => "usearch";
    public JsonObject Params { get; }
    public double? BuildSeconds { get; }
    public long? DistanceComputations => null;

    public long? MemoryBytes
    {
        get
        {
            nuint bytes = USearchNative.MemoryUsage(_index, out nint error);
            return error == 0 ? (long)bytes : null;
        }
    }

    public static unsafe USearchSystem Build(VectorSet baseVectors, DistanceMetric metric, int m, int efConstruction,
        int threads, IProgress<int>? progress = null)
    {
        var options = new USearchNative.InitOptions
        {
            MetricKind = metric == DistanceMetric.L2 ? MetricKind.L2sq : MetricKind.Ip,
            Quantization = ScalarKind.Float32,
            Dimensions = (nuint)baseVectors.Dimension,
            Connectivity = (nuint)m,
            ExpansionAdd = (nuint)efConstruction,
            ExpansionSearch = 64,
        };
        nint index = USearchNative.Init(&options, out nint error);
        USearchNative.Check(error, "init");
        try
        {
            threads = threads <= 0 ? Environment.ProcessorCount : threads;
            USearchNative.Reserve(index, (nuint)baseVectors.Count, out error);
            USearchNative.Check(error, "reserve");
            USearchNative.ChangeThreadsAdd(index, (nuint)threads, out error);
            USearchNative.Check(error, "change_threads_add");

            float[] data = metric == DistanceMetric.Cosine ? Normalized(baseVectors) : baseVectors.Data;
            int dimension = baseVectors.Dimension;
            int done = 0;
            var clock = Stopwatch.StartNew();
            // USearch takes a free thread slot per add call, so plain parallel adds use all the slots reserved above.
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, worker =>
            {
                fixed (float* all = data)
                {
                    for (int row = worker; row < baseVectors.Count; row += threads)
                    {
                        USearchNative.Add(index, (ulong)row, all + (long)row * dimension, ScalarKind.Float32, out nint addError);
                        USearchNative.Check(addError, $"add of row {row}");
                        int count = Interlocked.Increment(ref done);
                        if (count % 4096 == 0) progress?.Report(count);
                    }
                }
            });
            double seconds = clock.Elapsed.TotalSeconds;
            progress?.Report(baseVectors.Count);

            // USearch gives each concurrent search a context slot; --threads callers need as many. 64 covers any
            // sensible --threads (RecallCommand caps it there) at a few bytes per point per slot.
            USearchNative.ChangeThreadsSearch(index, (nuint)Math.Max(MaxSearchThreads, Environment.ProcessorCount), out error);
            USearchNative.Check(error, "change_threads_search");

            var parameters = new JsonObject
            {
                ["m"] = m,
                ["ef_construction"] = efConstruction,
                ["build_threads"] = threads,
                ["metric"] = MetricNames.Format(metric),
                ["quantization"] = "f32",
                ["version"] = Marshal.PtrToStringUTF8(USearchNative.Version()),
                ["hardware_acceleration"] = Marshal.PtrToStringUTF8(USearchNative.HardwareAcceleration(index, out _)),
            };
            return new USearchSystem(index, parameters, seconds, metric == DistanceMetric.Cosine);
        }
        catch
        {
            USearchNative.Free(index, out _);
            throw;
        }
    }

    public void SetEf(int ef)
    {
        USearchNative.ChangeExpansionSearch(_index, (nuint)ef, out nint error);
        USearchNative.Check(error, "change_expansion_search");
    }

    public ISearcher CreateSearcher(int k) => new Searcher(this, k);

    public void Dispose()
    {
        if (_index != 0)
        {
            USearchNative.Free(_index, out _);
            _index = 0;
        }
    }

    private static float[] Normalized(VectorSet vectors)
    {
        var copy = (float[])vectors.Data.Clone();
        for (int r = 0; r < vectors.Count; r++)
            NormalizeInPlace(copy.AsSpan(r * vectors.Dimension, vectors.Dimension));
        return copy;
    }

    private static void NormalizeInPlace(Span<float> v)
    {
        float norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(v, v));
        if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(v, norm, v);
    }

    private sealed unsafe class Searcher(USearchSystem owner, int k) : ISearcher
    {
        private readonly ulong[] _keys = new ulong[k];
        private readonly float[] _distances = new float[k];
        private readonly float[]? _normalized = owner._normalizeQueries ? new float[4096] : null;

        public int Search(ReadOnlySpan<float> query, Span<long> ids)
        {
            if (_normalized is not null)
            {
                var copy = _normalized.AsSpan(0, query.Length);
                query.CopyTo(copy);
                NormalizeInPlace(copy);
                query = copy;
            }
            nuint found;
            nint error;
            fixed (float* q = query)
            fixed (ulong* keys = _keys)
            fixed (float* distances = _distances)
                found = USearchNative.Search(owner._index, q, ScalarKind.Float32, (nuint)k, keys, distances, out error);
            USearchNative.Check(error, "search");
            int n = (int)found;
            for (int i = 0; i < n; i++) ids[i] = (long)_keys[i];
            return n;
        }
    }
}
