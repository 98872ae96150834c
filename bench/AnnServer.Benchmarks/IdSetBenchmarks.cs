using BenchmarkDotNet.Attributes;
using Roaring.Net.CRoaring;

namespace AnnServer.Benchmarks;

/// <summary>
/// Stored id sets (docs/api.md, "Stored id sets"): the membership test a filtered walk makes per node, on a plain
/// bitmap over the node slots (what the server uses), a roaring bitmap (CRoaring through Roaring.Net), and the sorted
/// ids the plain bitmap falls back to for nodes it does not cover yet. Each operation tests 4,096 random nodes. The
/// bytes of each form are printed by the setup ("memory: ...").
/// </summary>
/// <remarks>dotnet run -c Release --project bench/AnnServer.Benchmarks -- --filter '*IdSetBenchmarks*' --job short</remarks>
public class IdSetBenchmarks
{
    private const int Probes = 4096;
    private ulong[] _bits = [];
    private long[] _sortedIds = [];
    private Roaring32Bitmap _roaring = null!;
    private int[] _probes = [];
    private long[] _idOfNode = [];

    [Params(60_000, 1_000_000)] public int Nodes { get; set; }

    [Params(1_000, 10_000, 100_000)] public int SetSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(23);
        // Ids are not node numbers: a node holds an arbitrary 64-bit id (here a scrambled one).
        _idOfNode = new long[Nodes];
        for (int n = 0; n < Nodes; n++) _idOfNode[n] = (long)((ulong)n * 0x9E3779B97F4A7C15UL >> 1);
        int members = Math.Min(SetSize, Nodes);
        var nodes = new HashSet<int>();
        while (nodes.Count < members) nodes.Add(random.Next(Nodes));
        _bits = new ulong[(Nodes + 63) / 64];
        foreach (int n in nodes) _bits[n >> 6] |= 1UL << n;
        _sortedIds = [.. nodes.Select(n => _idOfNode[n]).Order()];
        _roaring = new Roaring32Bitmap();
        _roaring.AddMany([.. nodes.Select(n => (uint)n).Order()]);
        _roaring.Optimize();
        _probes = [.. Enumerable.Range(0, Probes).Select(_ => random.Next(Nodes))];
        Console.WriteLine($"// memory: nodes {Nodes:N0}, set {members:N0}: plain bitmap {_bits.Length * 8L:N0} B, " +
            $"roaring {_roaring.GetSerializationSize(SerializationFormat.Portable):N0} B (portable serialization), sorted ids {_sortedIds.Length * 8L:N0} B");
    }

    [GlobalCleanup]
    public void Cleanup() => _roaring.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Probes)]
    public int PlainBitmap()
    {
        ulong[] bits = _bits;
        int found = 0;
        foreach (int node in _probes)
            if ((bits[node >> 6] & (1UL << node)) != 0) found++;
        return found;
    }

    [Benchmark(OperationsPerInvoke = Probes)]
    public int Roaring()
    {
        int found = 0;
        foreach (int node in _probes)
            if (_roaring.Contains((uint)node)) found++;
        return found;
    }

    [Benchmark(OperationsPerInvoke = Probes)]
    public int SortedIds()
    {
        int found = 0;
        foreach (int node in _probes)
            if (_sortedIds.AsSpan().BinarySearch(_idOfNode[node]) >= 0) found++;
        return found;
    }
}
