using System.Text.Json.Nodes;
using AnnServer.Harness.Results;
using Xunit;

namespace AnnServer.Harness.Tests;

public class ReportJsonTests
{
    private static BenchmarkReport Sample() => new()
    {
        Dataset = "fashion-mnist",
        K = 10,
        Metric = "l2",
        BaseCount = 60000,
        QueryCount = 10000,
        CreatedUtc = "2025-01-01T00:00:00Z",
        Command = "ann-bench recall --base base.fvecs",
        Machine = new MachineInfo { Cpu = "test cpu", Cores = 2, Os = "linux", Runtime = ".NET", Simd = "Vector512" },
        Rows =
        [
            new ResultRow
            {
                System = "annserver",
                Params = new JsonObject { ["m"] = 16, ["ef_construction"] = 200 },
                BuildSeconds = 12.5,
                MemoryBytes = 123456789,
                Points =
                [
                    new ResultPoint { Ef = 10, Recall = 0.9123, Qps = 12345.6, MeanUs = 80.1, P50Us = 75, P99Us = 200.5, DistanceComputations = 412.5 },
                    new ResultPoint { Ef = 20, Recall = 0.97, Qps = 8000, P50Us = 110, P99Us = 300 },
                ],
            },
            new ResultRow
            {
                System = "annserver",
                Params = new JsonObject { ["mode"] = "closed" },
                Points = [new ResultPoint { Ef = 64, Qps = 5000, P50Us = 900, P90Us = 1500, P99Us = 3000, P999Us = 5000, MaxUs = 9000 }],
                Load = new LoadSummary
                {
                    Target = "http://127.0.0.1:50051/",
                    Collection = "fm",
                    Mode = "closed",
                    Concurrency = 16,
                    DurationSeconds = 30,
                    Requests = 150000,
                    Succeeded = 149990,
                    Errors = new Dictionary<string, long> { ["DeadlineExceeded"] = 10 },
                    Throughput = 4999.7,
                    Percentiles = [new PercentileValue(50, 900), new PercentileValue(99.9, 5000)],
                },
            },
        ],
    };

    [Fact]
    public void ReportSurvivesARoundTripUnchanged()
    {
        string json = ReportJson.Serialize(Sample());
        string again = ReportJson.Serialize(ReportJson.Deserialize(json));
        Assert.Equal(json, again);
    }

    [Fact]
    public void NamesAreSnakeCaseAndAbsentValuesAreLeftOut()
    {
        var node = JsonNode.Parse(ReportJson.Serialize(Sample()))!;
        var point = node["rows"]![0]!["points"]![1]!;
        Assert.Equal(110, point["p50_us"]!.GetValue<double>());
        Assert.Null(point["mean_us"]);
        Assert.Null(point["distance_computations"]);
        Assert.Equal(12.5, node["rows"]![0]!["build_seconds"]!.GetValue<double>());
        Assert.Equal(10, node["rows"]![1]!["load"]!["errors"]!["DeadlineExceeded"]!.GetValue<long>());
    }

    [Fact]
    public void PeerScriptOutputIsRead()
    {
        // What bench/peers/hnswlib.py writes, extra fields included.
        const string json = """
            {"dataset": "fashion-mnist", "k": 10, "metric": "l2", "base_count": 60000, "query_count": 10000,
             "created_utc": "2025-01-01T00:00:00Z", "command": "python3 bench/peers/hnswlib.py",
             "machine": {"cpu": "x", "cores": 2, "os": "Linux", "runtime": "Python 3.11"},
             "rows": [{"system": "faiss", "params": {"m": 16, "index": "IndexHNSWFlat"}, "build_seconds": 30.5,
                       "memory_bytes": 200000000,
                       "points": [{"ef": 10, "recall": 0.9, "qps": 4000.5, "mean_us": 250.0, "p50_us": 240.0,
                                   "p99_us": 600.0, "distance_computations": 900.5}]}]}
            """;
        var report = ReportJson.Deserialize(json);
        var row = Assert.Single(report.Rows);
        Assert.Equal("faiss", row.System);
        Assert.Equal("IndexHNSWFlat", row.Params["index"]!.GetValue<string>());
        Assert.Equal(900.5, row.Points[0].DistanceComputations);
    }

    [Fact]
    public void FieldsOfPeersThatTheModelDoesNotKnowSurviveARoundTrip()
    {
        const string json = """
            {"dataset": "d", "k": 10, "rows": [{"system": "hnswlib", "points": [
              {"ef": 10, "qps": 1.0, "p50_us": 1.0, "p99_us": 2.0, "neighbours_examined": 310.5}]}]}
            """;
        var again = JsonNode.Parse(ReportJson.Serialize(ReportJson.Deserialize(json)))!;
        Assert.Equal(310.5, again["rows"]![0]!["points"]![0]!["neighbours_examined"]!.GetValue<double>());
    }

    [Fact]
    public void FileWithoutRowsIsRejectedWithItsName()
    {
        var e = Assert.Throws<InvalidDataException>(() => ReportJson.Deserialize("""{"dataset": "x", "k": 10}""", "old.json"));
        Assert.Contains("old.json", e.Message);
    }
}
