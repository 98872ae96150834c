using AnnServer.Harness.Cli;

namespace AnnServer.Harness.Tests;

// In the commands' collection: a recall build shows a Spectre.Console progress display, and Spectre refuses two live
// displays in one process (InvalidOperationException, exit 1) when another command test runs beside this one.
[Collection("ann-bench commands")]
public sealed class MemoryCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ann-bench-memory-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ASavedIndexIsLoadedAsOftenAsAskedAndEachLoadIsReported()
    {
        if (!OperatingSystem.IsLinux()) return; // resident memory is read from /proc/self/statm
        var (basePath, queryPath, truthPath) = SyntheticData.WriteFiles(_folder, count: 1000, queries: 10, dimension: 8);
        string snapshot = Path.Combine(_folder, "index.snap");
        Assert.Equal(0, AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--ground-truth", truthPath,
            "--m", "8", "--ef-construction", "40", "--ef", "20", "--warmup", "0", "--save-index", snapshot));

        var output = new StringWriter();
        TextWriter original = Console.Out;
        Console.SetOut(output);
        int exit;
        try
        {
            exit = AnnBenchCli.Run("memory", "--index", snapshot, "--loads", "2");
        }
        finally
        {
            Console.SetOut(original);
        }

        Assert.Equal(0, exit);
        Assert.Contains("load 1: resident +", output.ToString());
        Assert.Contains("load 2: resident +", output.ToString());
        Assert.Contains("(1000 points)", output.ToString());
    }

    [Fact]
    public void AMissingSnapshotOrABadLoadCountIsRefused()
    {
        Assert.Equal(1, AnnBenchCli.Run("memory", "--index", Path.Combine(_folder, "absent.snap")));
        string file = Path.Combine(_folder, "x.snap");
        File.WriteAllText(file, "x");
        Assert.Equal(1, AnnBenchCli.Run("memory", "--index", file, "--loads", "0"));
        Assert.Equal(1, AnnBenchCli.Run("memory", "--index", file)); // not a snapshot
    }
}
