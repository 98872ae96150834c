using System.Text.Json;
using System.Text.Json.Nodes;
using AnnServer.Harness.Reporting;
using AnnServer.Harness.Results;
using Xunit;

namespace AnnServer.Harness.Tests;

public sealed class FastestOfRoundsTests
{
    private static ResultRow Round(string system, params (int Ef, double Qps)[] points) => Round(system, null, points);

    private static ResultRow Round(string system, double? buildSeconds, params (int Ef, double Qps)[] points) => new()
    {
        System = system,
        Params = new JsonObject { ["m"] = 16, ["ef_construction"] = 200, ["runs"] = 3 },
        BuildSeconds = buildSeconds,
        MemoryBytes = buildSeconds is null ? 1000 : 2000,
        ResidentBytes = buildSeconds is null ? 3000 : 4000,
        PeakResidentBytes = buildSeconds is null ? 5000 : 6000,
        Points = points.Select(p => new ResultPoint { Ef = p.Ef, Recall = 0.9 + p.Ef / 1000.0, Qps = p.Qps, P50Us = 1e6 / p.Qps, P99Us = 2e6 / p.Qps }).ToList(),
    };

    [Fact]
    public void RoundsOfOneSystemBecomeOneRowWithTheFastestPointAtEachEf()
    {
        var rows = FastestOfRounds.Combine(
        [
            Round("annserver", (10, 1000), (20, 500)),
            Round("annserver", (10, 1200), (20, 450)),
            Round("annserver", (10, 900), (20, 520)),
        ]);

        var row = Assert.Single(rows);
        Assert.Equal(3, row.Rounds);
        Assert.Equal([10, 20], row.Points.Select(p => p.Ef));
        Assert.Equal([1200.0, 520.0], row.Points.Select(p => p.Qps));
        // The whole point of the fastest pass is kept, its latencies with it.
        Assert.Equal(1e6 / 1200, row.Points[0].P50Us);
    }

    [Fact]
    public void BuildTimeMemoryAndParametersComeFromTheRoundThatBuilt()
    {
        var loaded = Round("hnswlib", (10, 1000));
        var built = Round("hnswlib", buildSeconds: 13.3, (10, 900));
        built.Params["build_threads"] = 2;
        built.Extra = new Dictionary<string, JsonElement> { ["index_file_bytes"] = JsonSerializer.SerializeToElement(5555) };

        var row = Assert.Single(FastestOfRounds.Combine([loaded, built, Round("hnswlib", (10, 950))]));

        Assert.Equal(13.3, row.BuildSeconds);
        Assert.Equal(2000, row.MemoryBytes);
        Assert.Equal(4000, row.ResidentBytes);
        Assert.Equal(6000, row.PeakResidentBytes);
        Assert.Equal(2, row.Params["build_threads"]!.GetValue<int>());
        Assert.Equal(5555, row.Extra!["index_file_bytes"].GetInt32());
        Assert.Equal(1000, row.Points[0].Qps);
    }

    [Fact]
    public void WithoutABuildTheFirstRoundsMemoryIsKept()
    {
        var second = Round("annserver", (10, 1100));
        var row = Assert.Single(FastestOfRounds.Combine([Round("annserver", (10, 1000)), new ResultRow
        {
            System = second.System, Params = second.Params, MemoryBytes = 1, ResidentBytes = 1, Points = second.Points,
        }]));
        Assert.Null(row.BuildSeconds);
        Assert.Equal(1000, row.MemoryBytes);
        Assert.Equal(3000, row.ResidentBytes);
        Assert.Equal(1100, row.Points[0].Qps);
    }

    [Fact]
    public void DifferentSystemsOrParametersStaySeparateInTheOrderTheyFirstAppear()
    {
        var m32 = Round("annserver", (10, 700));
        m32.Params["m"] = 32;
        var debian = Round("hnswlib", (10, 300));
        debian.Params["variant"] = "Debian Python build";

        var rows = FastestOfRounds.Combine(
        [
            Round("annserver", (10, 1000)), Round("hnswlib", (10, 800)), m32, debian,
            Round("annserver-int8", (10, 2000)), Round("hnswlib", (10, 850)), Round("annserver", (10, 1100)),
        ]);

        Assert.Equal(["annserver", "hnswlib", "annserver", "hnswlib", "annserver-int8"], rows.Select(r => r.System));
        Assert.Equal([2, 2, 1, 1, 1], rows.Select(r => r.Rounds));
        Assert.Equal([1100.0, 850, 700, 300, 2000], rows.Select(r => r.Points[0].Qps));
    }

    [Fact]
    public void EveryEfOfEveryRoundIsKeptInEfOrder()
    {
        var row = Assert.Single(FastestOfRounds.Combine([Round("annserver", (20, 500), (40, 300)), Round("annserver", (10, 900), (20, 480))]));
        Assert.Equal([10, 20, 40], row.Points.Select(p => p.Ef));
        Assert.Equal([900.0, 500, 300], row.Points.Select(p => p.Qps));
    }

    [Fact]
    public void RoundsOfAMergedReportAddUpWhenMergedAgain()
    {
        var merged = FastestOfRounds.Combine([Round("annserver", (10, 1000)), Round("annserver", (10, 1100))]);
        var row = Assert.Single(FastestOfRounds.Combine([merged[0], Round("annserver", (10, 1050))]));
        Assert.Equal(3, row.Rounds);
        Assert.Equal(1100, row.Points[0].Qps);
    }

    [Fact]
    public void RowsOfLoadRunsAreNeverCombined()
    {
        ResultRow LoadRun(int concurrency) => new()
        {
            System = "annserver",
            Points = [new ResultPoint { Ef = 64, Qps = 100 * concurrency, P50Us = 1, P99Us = 2 }],
            Load = new LoadSummary
            {
                Target = "http://127.0.0.1:1/", Collection = "c", Mode = "closed", Concurrency = concurrency, DurationSeconds = 1,
                Requests = 1, Succeeded = 1, Throughput = 100 * concurrency, Errors = [], Percentiles = [],
            },
        };

        var rows = FastestOfRounds.Combine([LoadRun(1), LoadRun(16)]);

        Assert.Equal([1, 16], rows.Select(r => r.Load!.Concurrency));
        Assert.All(rows, r => Assert.Null(r.Rounds));
    }

    [Fact]
    public void ASecondBuildIsNotedAndTheFirstKept()
    {
        var notes = new List<string>();
        var row = Assert.Single(FastestOfRounds.Combine(
            [Round("usearch", buildSeconds: 20, (10, 100)), Round("usearch", buildSeconds: 30, (10, 90))], notes.Add));
        Assert.Equal(20, row.BuildSeconds);
        Assert.Contains("2 of its 2 rounds built the index", Assert.Single(notes));
    }
}
