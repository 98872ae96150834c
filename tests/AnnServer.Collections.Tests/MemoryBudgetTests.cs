namespace AnnServer.Collections.Tests;

/// <summary>The memory budget counts admitted writes until a measurement includes them, and never admits past itself.</summary>
public sealed class MemoryBudgetTests
{
    [Fact]
    public void TheMemoryBudgetCountsAdmittedWritesUntilAMeasurementIncludesThem()
    {
        long held = 0;
        var budget = new MemoryBudget(1000, () => held);

        Assert.True(budget.TryReserve(600, out _));
        Assert.False(budget.TryReserve(600, out long used)); // 600 reserved, not yet measured
        budget.Release(600, applied: true);                  // applied: still counted ...
        held = 600;                                          // ... and now held by the collections
        Assert.Equal(600, used);
        Assert.False(budget.TryReserve(500, out _));         // a measurement under 100 ms old is not repeated
        Thread.Sleep(MemoryBudget.RetryInterval * 2);
        Assert.True(budget.TryReserve(400, out used));       // measured 600, the applied write's reservation dropped
        budget.Release(400, applied: false);                 // failed: uncounted at once
        Assert.Equal(600, budget.UsedBytes);
    }

    [Fact]
    public void ConcurrentReservationsNeverPassTheBudget()
    {
        var budget = new MemoryBudget(10_000, () => 0);
        int admitted = 0;
        Parallel.For(0, 1000, _ => { if (budget.TryReserve(100, out _)) Interlocked.Increment(ref admitted); });
        Assert.Equal(100, admitted);
    }
}
