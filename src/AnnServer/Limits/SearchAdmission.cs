using System.Diagnostics;
using AnnServer.Diagnostics;

namespace AnnServer.Limits;

/// <summary>
/// Bounds the searches in the server: at most <see cref="MaxRunning"/> run at once and at most <see cref="MaxQueued"/>
/// wait for a slot, in arrival order; any search beyond that is refused at once. A search is CPU work, so running more
/// of them than there are cores only makes each slower, and an unbounded queue turns a burst into unbounded latency for
/// everyone; with both bounded, an admitted search waits at most about MaxQueued / MaxRunning search times, and a
/// client that sends more than the machine can serve learns it immediately (RESOURCE_EXHAUSTED) instead of by timeout.
/// A SearchBatch takes one slot: it runs its queries one after another on one thread, and its size is already bounded
/// by --max-batch-queries.
/// </summary>
public sealed class SearchAdmission
{
    private readonly SemaphoreSlim _slots;
    private int _queued;
    private long _rejected;

    public SearchAdmission(int maxRunning, int maxQueued)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRunning, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxQueued);
        MaxRunning = maxRunning;
        MaxQueued = maxQueued;
        _slots = new SemaphoreSlim(maxRunning, maxRunning);
    }

    public int MaxRunning { get; }
    public int MaxQueued { get; }

    /// <summary>Searches holding a slot now.</summary>
    public int Running => MaxRunning - _slots.CurrentCount;

    /// <summary>Searches waiting for a slot now.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Searches refused since the start.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>
    /// True once the caller holds a slot (it must call <see cref="Exit"/>), false when the queue is full. Completes at once
    /// when a slot is free or the queue is full; otherwise waits in the queue (cancellation throws
    /// <see cref="OperationCanceledException"/> and frees the place in the queue).
    /// </summary>
    public ValueTask<bool> TryEnterAsync(CancellationToken cancellationToken)
    {
        // A released slot goes straight to the oldest waiter (SemaphoreSlim hands it over under its lock), so this
        // fast path cannot overtake the queue.
        if (_slots.Wait(0))
            return ValueTask.FromResult(true);
        if (Interlocked.Increment(ref _queued) > MaxQueued)
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _rejected);
            return ValueTask.FromResult(false);
        }
        return WaitInQueueAsync(cancellationToken);
    }

    /// <summary>
    /// A SearchStream's search: waits for a slot however many wait already (counted in <see cref="Queued"/> meanwhile),
    /// because the stream bounds its own searches (--max-stream-messages) and, while they wait, stops reading: the
    /// caller is slowed by flow control instead of refused. The caller must call <see cref="Exit"/> once it completes.
    /// </summary>
    public ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        if (_slots.Wait(0))
            return ValueTask.CompletedTask;
        Interlocked.Increment(ref _queued);
        return WaitInStreamAsync(cancellationToken);
    }

    public void Exit() => _slots.Release();

    private async ValueTask WaitInStreamAsync(CancellationToken cancellationToken)
    {
        using Activity? wait = ServerTracing.StartAdmissionWait(Queued);
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    private async ValueTask<bool> WaitInQueueAsync(CancellationToken cancellationToken)
    {
        using Activity? wait = ServerTracing.StartAdmissionWait(Queued);
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }
    }
}
