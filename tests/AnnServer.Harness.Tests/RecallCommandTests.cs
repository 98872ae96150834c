using AnnServer.Harness.Cli;
using AnnServer.Harness.Results;
using Xunit;

namespace AnnServer.Harness.Tests;

[Collection("ann-bench commands")]
public sealed class RecallCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ann-bench-recall-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void RecallRunWithUSearchPeerWritesTableJsonAndPlot()
    {
        var (basePath, queryPath, truthPath) = SyntheticData.WriteFiles(_folder, count: 2000, queries: 50, dimension: 16);
        string json = Path.Combine(_folder, "out.json"), plot = Path.Combine(_folder, "out.png");

        int exit = AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--ground-truth", truthPath,
            "--k", "10", "--m", "8", "--ef-construction", "64", "--build-threads", "2", "--ef", "10,80",
            "--warmup", "10", "--peer", "usearch", "--dataset", "synthetic", "--json", json, "--plot", plot);

        Assert.Equal(0, exit);
        var report = ReportJson.Read(json);
        Assert.Equal("synthetic", report.Dataset);
        Assert.Equal(10, report.K);
        Assert.Equal(["annserver", "usearch"], report.Rows.Select(r => r.System));
        foreach (var row in report.Rows)
        {
            Assert.Equal([10, 80], row.Points.Select(p => p.Ef));
            Assert.All(row.Points, p => Assert.True(p.Qps > 0 && p.P99Us >= p.P50Us && p.P50Us > 0));
            // Ours must reach 0.95 (0.968-0.974 over 40 builds). The peer's figure only shows it is wired right (wrong
            // ids or metric give recall near 0): USearch's two-thread build varies more, 0.924-0.986 over 48 builds,
            // and one below 0.95 failed CI.
            double floor = row.System == "annserver" ? 0.95 : 0.8;
            Assert.True(row.Points[1].Recall >= floor, $"{row.System} recall@10 at ef 80 is {row.Points[1].Recall}");
            Assert.True(row.BuildSeconds > 0);
            Assert.Equal(8, row.Params["m"]!.GetValue<int>());
        }
        Assert.NotNull(report.Rows[0].Points[0].DistanceComputations);
        Assert.True(new FileInfo(plot).Length > 1000);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(plot)[..4]);
    }

    [Fact]
    public void SavedIndexIsLoadedBackWithTheSameRecall()
    {
        var (basePath, queryPath, truthPath) = SyntheticData.WriteFiles(_folder, count: 1000, queries: 30, dimension: 8);
        string snapshot = Path.Combine(_folder, "index.snap");
        string built = Path.Combine(_folder, "built.json"), loaded = Path.Combine(_folder, "loaded.json");

        Assert.Equal(0, AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--ground-truth", truthPath,
            "--m", "8", "--ef-construction", "40", "--ef", "20", "--warmup", "0", "--save-index", snapshot, "--json", built));
        Assert.Equal(0, AnnBenchCli.Run("recall", "--index", snapshot, "--queries", queryPath, "--ground-truth", truthPath,
            "--ef", "20", "--warmup", "0", "--json", loaded));

        var fromBuild = ReportJson.Read(built).Rows[0];
        var fromSnapshot = ReportJson.Read(loaded).Rows[0];
        Assert.Null(fromSnapshot.BuildSeconds);
        Assert.Equal("index.snap", fromSnapshot.Params["snapshot"]!.GetValue<string>());
        // Recall judged from the vectors stored in the index equals recall judged from the base file.
        Assert.Equal(fromBuild.Points[0].Recall, fromSnapshot.Points[0].Recall);
    }

    [Fact]
    public void BothQuantizationsAreSavedAndLoadedBackSideBySide()
    {
        var (basePath, queryPath, truthPath) = SyntheticData.WriteFiles(_folder, count: 1000, queries: 30, dimension: 8);
        string float32 = Path.Combine(_folder, "float32.snap"), int8 = Path.Combine(_folder, "int8.snap");
        string built = Path.Combine(_folder, "built.json"), loaded = Path.Combine(_folder, "loaded.json");

        Assert.Equal(0, AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--ground-truth", truthPath,
            "--m", "8", "--ef-construction", "40", "--ef", "20", "--warmup", "0", "--quantization", "none", "int8",
            "--save-index", float32, int8, "--json", built));
        Assert.Equal(0, AnnBenchCli.Run("recall", "--index", float32, int8, "--queries", queryPath, "--ground-truth", truthPath,
            "--ef", "20", "--warmup", "0", "--json", loaded));

        var fromBuild = ReportJson.Read(built).Rows;
        var fromSnapshots = ReportJson.Read(loaded).Rows;
        Assert.Equal(["annserver", "annserver-int8"], fromSnapshots.Select(r => r.System));
        Assert.Equal(["float32.snap", "int8.snap"], fromSnapshots.Select(r => r.Params["snapshot"]!.GetValue<string>()));
        Assert.Equal(fromBuild.Select(r => r.Points[0].Recall), fromSnapshots.Select(r => r.Points[0].Recall));
        Assert.All(fromSnapshots, r => Assert.Null(r.BuildSeconds));
        // Present, though not necessarily positive: tests in parallel share this process's resident memory, and a
        // thousand 8-d points are less than what they allocate and free meanwhile.
        if (OperatingSystem.IsLinux())
        {
            Assert.All(fromBuild.Concat(fromSnapshots), r => Assert.NotNull(r.ResidentBytes));
            Assert.All(fromBuild.Concat(fromSnapshots), r => Assert.NotNull(r.PeakResidentBytes));
        }
    }

    [Fact]
    public void ASnapshotIsMeasuredAsLoadedAndReorderedSideBySide()
    {
        var (basePath, queryPath, truthPath) = SyntheticData.WriteFiles(_folder, count: 1000, queries: 30, dimension: 8);
        string snapshot = Path.Combine(_folder, "index.snap"), reordered = Path.Combine(_folder, "reordered.snap");
        string loaded = Path.Combine(_folder, "loaded.json");
        Assert.Equal(0, AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--m", "8", "--ef-construction", "40",
            "--ef", "20", "--warmup", "0", "--save-index", snapshot));

        Assert.Equal(0, AnnBenchCli.Run("recall", "--index", snapshot, snapshot, "--reorder", "none", "rcm", "--queries", queryPath,
            "--ground-truth", truthPath, "--ef", "20", "--warmup", "0", "--save-index", Path.Combine(_folder, "as-built.snap"), reordered,
            "--json", loaded));

        var rows = ReportJson.Read(loaded).Rows;
        Assert.Equal(["annserver", "annserver-rcm"], rows.Select(r => r.System));
        Assert.Equal("rcm", rows[1].Params["reorder"]!.GetValue<string>());
        Assert.Equal(rows[0].Points[0].Recall, rows[1].Points[0].Recall);
        Assert.Equal(rows[0].Points[0].DistanceComputations, rows[1].Points[0].DistanceComputations);
        Assert.True(File.Exists(reordered));
    }

    [Fact]
    public void AQuantizedIndexIsMeasuredWithAndWithoutItsRescoreSideBySide()
    {
        var (basePath, queryPath, truthPath) = SyntheticData.WriteFiles(_folder, count: 1000, queries: 30, dimension: 8);
        string snapshot = Path.Combine(_folder, "int8.snap"), report = Path.Combine(_folder, "rescore.json");
        Assert.Equal(0, AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--m", "8", "--ef-construction", "40",
            "--ef", "20", "--warmup", "0", "--quantization", "int8", "--save-index", snapshot));

        Assert.Equal(0, AnnBenchCli.Run("recall", "--index", snapshot, snapshot, "--rescore", "on", "off", "--queries", queryPath,
            "--ground-truth", truthPath, "--ef", "20", "--warmup", "0", "--json", report));

        var rows = ReportJson.Read(report).Rows;
        Assert.Equal(["annserver-int8", "annserver-int8-norescore"], rows.Select(r => r.System));
        Assert.False(rows[1].Params["rescore"]!.GetValue<bool>());
        // The same walk: only the re-rank's float32 distances are left out.
        Assert.True(rows[1].Points[0].DistanceComputations < rows[0].Points[0].DistanceComputations);
        Assert.InRange(rows[1].Points[0].Recall!.Value, 0.5, 1.0);
    }

    [Fact]
    public void RescoreOffIsRefusedForAFloat32Index()
    {
        var (basePath, queryPath, _) = SyntheticData.WriteFiles(_folder, count: 100, queries: 5, dimension: 4);
        Assert.Equal(1, AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--ef", "10", "--rescore", "off"));
    }

    [Fact]
    public void ReorderNeedsOneValueOrOnePerIndex()
    {
        var (basePath, queryPath, _) = SyntheticData.WriteFiles(_folder, count: 100, queries: 5, dimension: 4);
        Assert.Equal(1, AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--ef", "10",
            "--reorder", "none", "bfs"));
    }

    [Fact]
    public void SaveIndexNeedsOnePathPerQuantization()
    {
        var (basePath, queryPath, _) = SyntheticData.WriteFiles(_folder, count: 100, queries: 5, dimension: 4);
        Assert.Equal(1, AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--ef", "10",
            "--quantization", "none", "int8", "--save-index", Path.Combine(_folder, "only-one.snap")));
    }

    [Fact]
    public void MissingQueriesFileFailsWithExitCodeOne()
    {
        var (basePath, _, _) = SyntheticData.WriteFiles(_folder, count: 100, queries: 5, dimension: 4);
        Assert.Equal(1, AnnBenchCli.Run("recall", "--base", basePath, "--queries", Path.Combine(_folder, "nope.fvecs")));
    }

    [Fact]
    public void EfSmallerThanKIsRefused()
    {
        var (basePath, queryPath, _) = SyntheticData.WriteFiles(_folder, count: 100, queries: 5, dimension: 4);
        Assert.Equal(1, AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--k", "10", "--ef", "5"));
    }

    [Fact]
    public void PeerWithoutBaseVectorsIsRefused()
    {
        var (_, queryPath, _) = SyntheticData.WriteFiles(_folder, count: 100, queries: 5, dimension: 4);
        Assert.Equal(1, AnnBenchCli.Run("recall", "--index", Path.Combine(_folder, "x.snapshot"), "--queries", queryPath, "--peer", "usearch"));
    }

    [Fact]
    public void GroundTruthOfOtherDataIsRefused()
    {
        var (basePath, queryPath, _) = SyntheticData.WriteFiles(_folder, count: 100, queries: 5, dimension: 4);
        string otherTruth = Path.Combine(_folder, "other.ivecs");
        AnnServer.Datasets.Texmex.WriteIvecs(otherTruth, Enumerable.Range(0, 5).Select(_ => Enumerable.Range(500, 10).ToArray()).ToArray());
        Assert.Equal(1, AnnBenchCli.Run("recall", "--base", basePath, "--queries", queryPath, "--ground-truth", otherTruth, "--ef", "10"));
    }
}
