using AnnServer.Core;
using AnnServer.Datasets;
using BenchmarkDotNet.Attributes;

namespace AnnServer.Benchmarks;

/// <summary>
/// One top-10 search at a fixed ef on a prepared index (M = 16, efConstruction = 200). Each invocation searches the
/// next query of a fixed set, so the figure is a mean over many queries, not one lucky path through the graph.
/// The memory column must read zero: the search path is allocation-free by contract.
/// </summary>
public class HnswSearchBenchmarks
{
    private const int K = 10;
    private HnswIndex _index = null!;
    private VectorSet _queries = null!;
    private readonly SearchHit[] _hits = new SearchHit[K];
    private int _next;

    [ParamsSource(nameof(DataSets))]
    public string Data { get; set; } = BenchmarkData.Synthetic;

    [Params(64)]
    public int Ef { get; set; }

    public static IEnumerable<string> DataSets() => BenchmarkData.Available();

    [GlobalSetup]
    public void Setup()
    {
        (_index, _queries) = BenchmarkData.Prepared(Data);
        _next = 0;
    }

    [Benchmark]
    public int Search()
    {
        int q = _next;
        _next = q + 1 == _queries.Count ? 0 : q + 1;
        return _index.Search(_queries.Row(q), K, Ef, _hits);
    }
}
