using System.Diagnostics;
using AnnServer.Harness.Load;

namespace AnnServer.Harness.Tests;

/// <summary><see cref="LoadTimeline"/>: each request counted in the second it was due in, whenever it was answered.</summary>
public sealed class LoadTimelineTests
{
    private static readonly long Second = Stopwatch.Frequency;

    [Fact]
    public void ARequestCountsInTheSecondItWasDueIn()
    {
        long start = Stopwatch.GetTimestamp();
        var timeline = new LoadTimeline(start, TimeSpan.FromSeconds(3));

        timeline.RecordSuccess(start, 100_000);
        timeline.RecordSuccess(start + Second / 2, 300_000);
        timeline.RecordError(start + Second + 1);
        timeline.RecordSuccess(start + 2 * Second, 5_000_000_000); // answered five seconds later: still second 2
        timeline.RecordSuccess(start - 1, 1_000);                  // before the measured time: not recorded
        timeline.RecordError(start + 3 * Second);                  // after it: not recorded

        var seconds = timeline.Seconds();
        Assert.Equal([0, 1, 2], seconds.Select(s => s.Second));
        Assert.Equal([2L, 0L, 1L], seconds.Select(s => s.Succeeded));
        Assert.Equal([0L, 1L, 0L], seconds.Select(s => s.Errors));
        Assert.InRange(seconds[0].MaxUs, 297, 303); // two significant digits
        Assert.InRange(seconds[0].P50Us, 99, 101);
        Assert.Equal(0, seconds[1].P99Us);
        Assert.InRange(seconds[2].P99Us, 4.95e6, 5.05e6);
        Assert.Equal(seconds[0].UnixMs + 1000, seconds[1].UnixMs);
        Assert.Equal(seconds[0].UnixMs + 2000, seconds[2].UnixMs);
    }

    [Fact]
    public void SecondZeroBeginsAtTheWallClockTimeOfTheStartTimestamp()
    {
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var timeline = new LoadTimeline(Stopwatch.GetTimestamp() + 2 * Second, TimeSpan.FromSeconds(1));
        long after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.InRange(timeline.Seconds()[0].UnixMs, before + 2000 - 5, after + 2000 + 5);
    }
}
