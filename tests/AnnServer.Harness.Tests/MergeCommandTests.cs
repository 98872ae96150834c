using System.Text.Json.Nodes;
using AnnServer.Harness.Cli;
using AnnServer.Harness.Results;
using Xunit;

namespace AnnServer.Harness.Tests;

[Collection("ann-bench commands")]
public sealed class MergeCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ann-bench-merge-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, int k, params (string System, double Recall, double Qps)[] rows)
    {
        var report = new BenchmarkReport
        {
            Dataset = "synthetic",
            K = k,
            Metric = "l2",
            BaseCount = 1000,
            Command = $"made by the test for {name}",
            Rows = rows.Select(r => new ResultRow
            {
                System = r.System,
                Params = new JsonObject { ["m"] = 16 },
                Points =
                [
                    new ResultPoint { Ef = 10, Recall = r.Recall - 0.1, Qps = r.Qps * 2, P50Us = 1, P99Us = 2 },
                    new ResultPoint { Ef = 20, Recall = r.Recall, Qps = r.Qps, P50Us = 2, P99Us = 4 },
                ],
            }).ToList(),
        };
        string path = Path.Combine(_folder, name);
        ReportJson.Write(path, report);
        return path;
    }

    [Fact]
    public void MergedReportHoldsEveryRowAndNamesItsSources()
    {
        string ours = Write("ours.json", 10, ("annserver", 0.96, 3000), ("usearch", 0.97, 2500));
        string peers = Write("peers.json", 10, ("hnswlib", 0.96, 2000), ("faiss", 0.96, 1000));
        string json = Path.Combine(_folder, "all.json"), plot = Path.Combine(_folder, "all.png"), markdown = Path.Combine(_folder, "all.md");

        Assert.Equal(0, AnnBenchCli.Run("merge", ours, peers, "--json", json, "--plot", plot, "--markdown", markdown));

        var merged = ReportJson.Read(json);
        Assert.Equal(["annserver", "usearch", "hnswlib", "faiss"], merged.Rows.Select(r => r.System));
        Assert.Equal(["ours.json", "peers.json"], merged.Sources!.Select(s => s.File));
        Assert.True(File.Exists(plot));
        string page = File.ReadAllText(markdown);
        Assert.Contains("![recall against QPS](all.png)", page);
        Assert.Contains("made by the test for peers.json", page);
        // At recall 0.95, ours reaches it at ef 20 with 3000 QPS against hnswlib's 2000: 1.50 × hnswlib.
        Assert.Contains("| 20 | 3000 | 1.50 |", page);
    }

    [Fact]
    public void RoundsOfAPairedRunBecomeOneRowPerSystemWithBothMemoryFigures()
    {
        BenchmarkReport Round(string system, double qps, bool built) => new()
        {
            Dataset = "synthetic",
            K = 10,
            Metric = "l2",
            BaseCount = 1000,
            Command = $"{system} {(built ? "build" : "load")} at {qps}",
            Rows =
            [
                new ResultRow
                {
                    System = system,
                    Params = new JsonObject { ["m"] = 16, ["runs"] = 3 },
                    BuildSeconds = built ? 12.5 : null,
                    MemoryBytes = built ? 3_000_000 : 2_900_000,
                    ResidentBytes = built ? 3_500_000 : 3_400_000,
                    Points = [new ResultPoint { Ef = 20, Recall = 0.96, Qps = qps, P50Us = 2, P99Us = 4 }],
                },
            ],
        };
        var files = new[]
        {
            Round("annserver", 2900, built: true), Round("hnswlib", 2000, built: true),
            Round("hnswlib", 2100, built: false), Round("annserver", 3000, built: false),
            Round("annserver", 2800, built: false), Round("hnswlib", 1900, built: false),
        }.Select((report, i) =>
        {
            string path = Path.Combine(_folder, $"round{i}.json");
            ReportJson.Write(path, report);
            return path;
        }).ToArray();
        string json = Path.Combine(_folder, "all.json"), markdown = Path.Combine(_folder, "all.md");

        Assert.Equal(0, AnnBenchCli.Run(["merge", .. files, "--json", json, "--markdown", markdown]));

        var merged = ReportJson.Read(json);
        Assert.Equal(["annserver", "hnswlib"], merged.Rows.Select(r => r.System));
        Assert.Equal([3, 3], merged.Rows.Select(r => r.Rounds));
        Assert.Equal([3000.0, 2100], merged.Rows.Select(r => r.Points[0].Qps));
        Assert.Equal([12.5, 12.5], merged.Rows.Select(r => r.BuildSeconds));
        Assert.Equal(6, merged.Sources!.Count);
        string page = File.ReadAllText(markdown);
        // At recall 0.95: ours 3000 QPS (fastest of 3 rounds × 3 passes) against hnswlib's 2100: 1.43 ×.
        Assert.Contains("| annserver (M=16) | 3 × 3 | 20 | 3000 | 1.43 |", page);
        // Memory of the build round: 3,000,000 and 3,500,000 bytes over 1,000 points.
        Assert.Contains("| annserver (M=16) | 12.5 | 2.9 | 3000 | 3.3 | 3500 |", page);
        Assert.Contains("come from the round that built the index", page);
    }

    [Fact]
    public void LoadRowsGetALatencyTableAndPlot()
    {
        var report = new BenchmarkReport
        {
            Dataset = "synthetic",
            K = 10,
            Rows =
            [
                new ResultRow
                {
                    System = "annserver",
                    Points = [new ResultPoint { Ef = 64, Recall = 0.99, Qps = 900, P50Us = 400, P99Us = 2000 }],
                    Load = new LoadSummary
                    {
                        Target = "http://127.0.0.1:1/", Collection = "c", Mode = "open", Concurrency = 4, Rate = 1000,
                        DurationSeconds = 10, Requests = 10000, Succeeded = 9000, Throughput = 900, LateSends = 12,
                        Errors = new Dictionary<string, long> { ["DeadlineExceeded"] = 1000 },
                        Percentiles = [new PercentileValue(0, 100), new PercentileValue(50, 400), new PercentileValue(99, 2000), new PercentileValue(100, 9000)],
                    },
                },
            ],
        };
        string input = Path.Combine(_folder, "load.json"), markdown = Path.Combine(_folder, "load.md"), plot = Path.Combine(_folder, "load.png");
        ReportJson.Write(input, report);

        Assert.Equal(0, AnnBenchCli.Run("merge", input, "--latency-plot", plot, "--markdown", markdown));

        string page = File.ReadAllText(markdown);
        Assert.Contains("search latency under load", page);
        Assert.Contains("![latency by percentile](load.png)", page);
        Assert.Contains("| open | 4 | 1000 | 10000 | 900 | 400 | – | 2000 | – | 9000 | DeadlineExceeded 1000 | 12 | 0.9900 |", page);
        Assert.True(new FileInfo(plot).Length > 1000);
    }

    [Fact]
    public void ReportsOfDifferentKAreNotMerged()
    {
        string a = Write("a.json", 10, ("annserver", 0.9, 1000));
        string b = Write("b.json", 100, ("hnswlib", 0.9, 1000));
        Assert.Equal(1, AnnBenchCli.Run("merge", a, b, "--json", Path.Combine(_folder, "x.json")));
    }

    [Fact]
    public void MissingInputFailsWithExitCodeOne()
    {
        Assert.Equal(1, AnnBenchCli.Run("merge", Path.Combine(_folder, "absent.json")));
    }
}
