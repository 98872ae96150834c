using AnnServer.Harness.Soak;

namespace AnnServer.Harness.Tests;

/// <summary>The pieces of `ann-bench soak` that decide its verdicts: the write ledger, the memory trend, the metrics parser.</summary>
public sealed class SoakTests
{
    [Fact]
    public void TheLedgerExpectsTheLastAcknowledgedWrite()
    {
        var ledger = new WriteLedger();
        ledger.Acknowledged(7, 1);
        ledger.Acknowledged(7, 2);
        ledger.Acknowledged(8, 3);
        ledger.Acknowledged(8, WriteLedger.Absent);

        Assert.True(ledger.Accepts(7, 2));
        Assert.False(ledger.Accepts(7, 1));
        Assert.True(ledger.Accepts(8, WriteLedger.Absent));
        Assert.False(ledger.Accepts(8, 3));
        Assert.Equal(WriteLedger.Absent, ledger.Current(9));
    }

    [Fact]
    public void AWriteWithoutAnAnswerIsAcceptedEitherWayUntilTheNextAcknowledgedOne()
    {
        var ledger = new WriteLedger();
        ledger.Acknowledged(7, 1);
        ledger.Uncertain(7, 2);
        ledger.Uncertain(9, 5);

        Assert.True(ledger.Accepts(7, 1) && ledger.Accepts(7, 2));
        Assert.True(ledger.Accepts(9, WriteLedger.Absent) && ledger.Accepts(9, 5));
        ledger.Acknowledged(7, 3);
        Assert.False(ledger.Accepts(7, 2));
        Assert.Null(ledger.Alternative(7));
    }

    [Fact]
    public void MemoryIsFlatWhenItEndsWithinTheToleranceOfWhereWarmUpLeftIt()
    {
        ServerSample[] Samples(Func<int, double> bytes) => Enumerable.Range(0, 30)
            .Select(i => new ServerSample { ElapsedSeconds = i * 10, WorkingSetBytes = bytes(i), WarmingUp = i < 6 }).ToArray();

        MemoryTrend flat = MemoryTrend.Judge("rss", Samples(i => i < 6 ? 100e6 * (i + 1) : 1000e6 + (i % 2) * 20e6), s => s.WorkingSetBytes, 0.10, 0);
        MemoryTrend growing = MemoryTrend.Judge("rss", Samples(i => 1000e6 + i * 10e6), s => s.WorkingSetBytes, 0.10, 0);

        Assert.True(flat.Flat);
        Assert.InRange(flat.AfterWarmupBytes, 1000e6, 1020e6);
        Assert.False(growing.Flat);
        Assert.Equal(10e6 / 10 * 3600, growing.SlopeBytesPerHour, 1e-3);
    }

    [Fact]
    public void MetricsAreReadByNameWithOrWithoutLabels()
    {
        const string text = """
            # HELP process_working_set_bytes Process working set
            # TYPE process_working_set_bytes gauge
            process_working_set_bytes 379756544
            process_working_set_bytes_other 1
            dotnet_collection_count_total{generation="2"} 7
            annserver_collection_memory_bytes{collection="a"} 100
            annserver_collection_memory_bytes{collection="b"} 1.5e3
            """;

        Assert.Equal(379756544, PrometheusText.Value(text, "process_working_set_bytes"));
        Assert.Equal(7, PrometheusText.Value(text, "dotnet_collection_count_total{generation=\"2\"}"));
        Assert.Equal(1600, PrometheusText.Value(text, "annserver_collection_memory_bytes", sumSeries: true));
        Assert.True(double.IsNaN(PrometheusText.Value(text, "process_num_threads")));
    }
}
