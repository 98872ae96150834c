using AnnServer.Core.Snapshots;
using BenchmarkDotNet.Attributes;

namespace AnnServer.Benchmarks;

/// <summary>
/// Loading a snapshot of the prepared index: mapped (the default) or read into memory, with checksums verified
/// (the default) or skipped. The file is written once in setup; the OS cache is warm, so this measures our parsing,
/// checksums and index reconstruction, not the disk.
/// </summary>
public class SnapshotLoadBenchmarks
{
    private string _path = "";

    [ParamsSource(nameof(DataSets))]
    public string Data { get; set; } = BenchmarkData.Synthetic;

    [Params(false, true)]
    public bool ReadIntoMemory { get; set; }

    [Params(false, true)]
    public bool SkipChecksums { get; set; }

    public static IEnumerable<string> DataSets() => BenchmarkData.Available();

    [GlobalSetup]
    public void Setup() => _path = BenchmarkData.SnapshotFile(Data);

    [Benchmark]
    public int Load()
    {
        var loaded = Snapshot.Load(_path, new SnapshotLoadOptions { ReadIntoMemory = ReadIntoMemory, SkipChecksums = SkipChecksums });
        using var index = loaded.Index;
        return index.Count;
    }
}
