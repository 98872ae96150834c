using AnnServer.Core.Payloads;
using BenchmarkDotNet.Attributes;

namespace AnnServer.Benchmarks;

/// <summary>
/// What the range filter that finds a field's sorted index stale pays, under the index's map lock: a refresh that folds
/// the tail of n/64 written nodes into the run, against sorting the whole column again (what every refresh did before).
/// </summary>
/// <remarks>dotnet run -c Release --project bench/AnnServer.Benchmarks -- --filter '*RangeIndexRefreshBenchmarks*' --job short</remarks>
public class RangeIndexRefreshBenchmarks
{
    private double[] _values = [];
    private int[] _written = [];
    private NumericRangeIndex<double> _index = null!;
    private NumericRangeIndex<double>.KeysOf _keysOf = null!;
    private static readonly Predicate<int> Always = _ => true;

    [Params(100_000, 1_000_000)] public int Nodes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(29);
        _values = new double[Nodes];
        for (int i = 0; i < Nodes; i++) _values[i] = random.NextDouble() * 100;
        _written = new int[Nodes / 64];
        for (int i = 0; i < _written.Length; i++) _written[i] = random.Next(Nodes);
        _keysOf = (node, keys) => keys.Add(_values[node]);
        _index = new NumericRangeIndex<double>();
        _index.Update(Nodes, Always, Always, _keysOf);
    }

    [Benchmark(Baseline = true)]
    public int RebuildWhole()
    {
        var index = new NumericRangeIndex<double>();
        index.Update(Nodes, Always, Always, _keysOf);
        return index.Count;
    }

    [Benchmark]
    public int RefreshFromTail()
    {
        foreach (int node in _written) _index.NoteWritten(node);
        _index.Update(Nodes, Always, Always, _keysOf);
        return _index.Count;
    }
}
