using System.CommandLine;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Harness.Recall;

namespace AnnServer.Harness.Cli;

/// <summary>
/// `ann-bench memory`: the resident memory one index holds, apart from the runtime's own growth. It loads the same
/// snapshot several times into one process (read into memory, as `recall --index` does) and prints each load's
/// resident growth: the first load also carries the one-time growth of the runtime for the code it runs first (4 to
/// 11 MiB on Fashion-MNIST, depending on what ran before), the later ones are the index alone, the figure to set beside
/// hnswlib-native's (Fashion-MNIST, M 16: float32 3,337 bytes/point, int8 4,195; hnswlib 3,434).
/// </summary>
public static class MemoryCommand
{
    public static Command Create()
    {
        var indexOption = new Option<string>("--index") { Description = "a snapshot (written by ann-build, ann-bench recall --save-index or the server)", Required = true };
        var loadsOption = new Option<int>("--loads") { Description = "how many times to load it, all kept in memory", DefaultValueFactory = _ => 3 };
        var command = new Command("memory", "Resident memory per point of an index, loaded several times in one process") { indexOption, loadsOption };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            string path = RecallCommand.RequireFile(parse.GetValue(indexOption)!, "--index");
            int loads = parse.GetValue(loadsOption);
            if (loads is < 1 or > 16) throw new UsageException($"--loads must be 1 to 16, got {loads}");
            if (ResidentMemory.SettledBytes() is null) throw new UsageException("resident memory needs /proc/self/statm (Linux)");
            var kept = new List<HnswIndex>(loads);
            try
            {
                for (int load = 1; load <= loads; load++)
                {
                    long before = ResidentMemory.SettledBytes()!.Value;
                    HnswIndex index = Snapshot.Load(path, new SnapshotLoadOptions { ReadIntoMemory = true }).Index;
                    kept.Add(index);
                    // One search, so that the search code's one-time growth lands in the first load too.
                    index.Search(new float[index.Dimension], 1, 16, new SearchHit[1]);
                    long grown = ResidentMemory.SettledBytes()!.Value - before;
                    int points = Math.Max(1, index.Count);
                    Console.WriteLine($"load {load}: resident +{grown / 1048576.0:F1} MiB = {(double)grown / points:F0} bytes/point; " +
                                      $"MemoryBytes {(double)index.MemoryBytes / points:F0} bytes/point ({index.Count} points)");
                }
            }
            finally
            {
                foreach (HnswIndex index in kept) index.Dispose();
            }
            return 0;
        }));
        return command;
    }
}
