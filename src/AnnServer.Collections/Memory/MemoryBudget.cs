using System.Diagnostics;

namespace AnnServer.Collections;

/// <summary>
/// The server-wide memory budget: a create or an upsert is admitted only if the collections' measured bytes, plus the
/// estimates of writes admitted since that measurement, plus its own estimate, fit in <see cref="BudgetBytes"/>.
/// <para>
/// Measuring (the sum of every collection's <c>MemoryBytes</c>) walks every node, so it is not done per call: it is
/// refreshed when older than <see cref="RefreshInterval"/>, and again (at most every <see cref="RetryInterval"/>) before
/// a write is refused, so that a drop or a delete is seen quickly. An admitted write's reservation stays counted until
/// a measurement started after the write had finished, so a write is never missing from both; the only error is to
/// count one twice for a moment, which can refuse a little early but never admits past the budget. Reservations are
/// taken with compare-and-swap, so concurrent writers cannot together overshoot it.
/// </para>
/// </summary>
public sealed class MemoryBudget
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(100);

    private readonly Func<long> _measure;
    private readonly Lock _refreshLock = new();
    private long _measured;
    private long _measuredAt; // Stopwatch timestamp of the last measurement; 0: never
    private long _reserved;
    private long _finished;

    /// <param name="budgetBytes">the budget.</param>
    /// <param name="measure">the bytes held now (the sum of the collections' MemoryBytes).</param>
    public MemoryBudget(long budgetBytes, Func<long> measure)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budgetBytes, 1);
        BudgetBytes = budgetBytes;
        _measure = measure;
    }

    public long BudgetBytes { get; }

    /// <summary>The bytes counted against the budget now: last measurement plus reservations not yet in one.</summary>
    public long UsedBytes => Volatile.Read(ref _measured) + Interlocked.Read(ref _reserved);

    /// <summary>Reserves <paramref name="bytes"/> if they fit; on true the caller must call <see cref="Release"/>.
    /// On false, <paramref name="usedBytes"/> is what was counted, for the message.</summary>
    public bool TryReserve(long bytes, out long usedBytes)
    {
        if (Stopwatch.GetElapsedTime(Volatile.Read(ref _measuredAt)) > RefreshInterval)
            Refresh(force: true);
        if (TryAdd(bytes, out usedBytes))
            return true;
        // Refused on figures that may be stale (a collection dropped since): measure again, unless that was just done.
        if (!Refresh(force: false))
            return false;
        return TryAdd(bytes, out usedBytes);
    }

    /// <summary>Ends a reservation: an applied write stays counted until the next measurement includes it; a write that
    /// failed or was refused is uncounted at once.</summary>
    public void Release(long bytes, bool applied)
    {
        if (applied)
            Interlocked.Add(ref _finished, bytes);
        else
            Interlocked.Add(ref _reserved, -bytes);
    }

    private bool TryAdd(long bytes, out long usedBytes)
    {
        while (true)
        {
            long reserved = Interlocked.Read(ref _reserved);
            usedBytes = Volatile.Read(ref _measured) + reserved;
            if (usedBytes + bytes > BudgetBytes)
                return false;
            if (Interlocked.CompareExchange(ref _reserved, reserved + bytes, reserved) == reserved)
                return true;
        }
    }

    /// <summary>Measures again; returns false when <paramref name="force"/> is false and a measurement is under
    /// <see cref="RetryInterval"/> old.</summary>
    private bool Refresh(bool force)
    {
        lock (_refreshLock)
        {
            long at = Volatile.Read(ref _measuredAt);
            if (!force && at != 0 && Stopwatch.GetElapsedTime(at) < RetryInterval)
                return false;
            if (force && at != 0 && Stopwatch.GetElapsedTime(at) <= RefreshInterval)
                return true; // another caller refreshed while this one waited for the lock
            // Writes finished before this point are in the measurement below; their reservations can go.
            long finished = Interlocked.Exchange(ref _finished, 0);
            long measured = _measure();
            Volatile.Write(ref _measured, measured);
            Interlocked.Add(ref _reserved, -finished);
            Volatile.Write(ref _measuredAt, Stopwatch.GetTimestamp());
            return true;
        }
    }
}
