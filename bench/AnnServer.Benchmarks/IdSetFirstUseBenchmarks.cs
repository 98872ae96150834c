using AnnServer.Core;
using AnnServer.Core.Filtering;
using BenchmarkDotNet.Attributes;

namespace AnnServer.Benchmarks;

/// <summary>
/// What a stored id set costs the first time a filter names it on an index (its bitmap over the node slots is built:
/// one id-map lookup per id, then a pass over the nodes' states) (with the put's sort of the ids) against a search with the set already built: a
/// top-10 search (ef 64) excluding the set, on 60,000 random 8-d points.
/// </summary>
/// <remarks>dotnet run -c Release --project bench/AnnServer.Benchmarks -- --filter '*IdSetFirstUseBenchmarks*' --job short</remarks>
public class IdSetFirstUseBenchmarks
{
    private const int Points = 60_000;
    private const int Dimension = 8;
    private HnswIndex _index = null!;
    private long[] _ids = [];
    private SearchFilter _warm = null!;
    private readonly float[] _query = new float[Dimension];
    private readonly SearchHit[] _hits = new SearchHit[10];

    [Params(1_000, 10_000, 50_000)] public int SetSize { get; set; }

    private sealed class OneSet(IdSet set) : IIdSetSource
    {
        public IdSet? Find(string name) => set;
    }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(23);
        var vectors = new float[Points * Dimension];
        for (int i = 0; i < vectors.Length; i++) vectors[i] = (float)random.NextDouble();
        _index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 16, EfConstruction = 100 });
        _index.UpsertMany(vectors, Enumerable.Range(0, Points).Select(i => (long)i).ToArray(), threads: Environment.ProcessorCount);
        _ids = [.. Enumerable.Range(0, SetSize).Select(_ => (long)random.Next(Points))];
        _warm = Filter(new IdSet(_ids));
        _index.Search(_query, 10, 64, _hits, _warm);
    }

    [GlobalCleanup]
    public void Cleanup() => _index.Dispose();

    private static SearchFilter Filter(IdSet set) => SearchFilter.WithIdSets(SearchFilter.Of(Core.Filtering.Filter.None(new InIdSet("s"))), new OneSet(set));

    [Benchmark(Baseline = true)]
    public int SearchWithABuiltSet() => _index.Search(_query, 10, 64, _hits, _warm);

    [Benchmark]
    public int PutAndFirstSearch() => _index.Search(_query, 10, 64, _hits, Filter(new IdSet(_ids)));
}
