namespace AnnServer.Collections;

/// <summary>
/// The writes whose records are in the log but not yet applied to the index, in log order (<see cref="WritePipeline"/>
/// appends under its write lock, so queue order is log order). The applier takes from the head, durable or not: it
/// waits for the commit itself before anything it took becomes visible.
/// Lock: <see cref="_lock"/>, held only to look at or take from the queue, never across a wait.
/// </summary>
internal sealed class PendingWriteQueue
{
    private readonly Lock _lock = new();
    private readonly Queue<PendingWrite> _writes = new();

    private PendingWrite? _last;

    public void Enqueue(PendingWrite write)
    {
        lock (_lock)
        {
            _writes.Enqueue(write);
            _last = write;
        }
    }

    /// <summary>The write enqueued last (it may be applied already); null before the first.</summary>
    public PendingWrite? Last
    {
        get
        {
            lock (_lock) return _last;
        }
    }

    /// <summary>The head, left in the queue; null when the queue is empty.</summary>
    public PendingWrite? PeekHead()
    {
        lock (_lock)
            return _writes.TryPeek(out PendingWrite? head) ? head : null;
    }

    /// <summary>The head, taken off the queue; null when the queue is empty.</summary>
    public PendingWrite? TakeHead()
    {
        lock (_lock)
            return _writes.TryDequeue(out PendingWrite? head) ? head : null;
    }

    public int Count
    {
        get
        {
            lock (_lock) return _writes.Count;
        }
    }

    /// <summary>
    /// <paramref name="first"/> (already taken) and the upserts that follow it in the queue, taken too, as long
    /// as all their ids are distinct (and at most <see cref="IndexWrites.MaxRunPoints"/> points): applying them as one
    /// UpsertMany, over all cores, gives the state that applying them one after the other would. Many small concurrent
    /// upserts then use every core instead of one. Null when <paramref name="first"/> repeats an id of its own: it goes
    /// alone, and its points are made live in order.
    /// </summary>
    public List<PendingWrite>? TakeUpsertRun(PendingWrite first)
    {
        var run = new List<PendingWrite> { first };
        var seen = new HashSet<long>();
        if (!AddIfDistinct(seen, first.Upsert!.Ids))
            return null;
        int points = first.Upsert.Count;
        lock (_lock)
        {
            while (_writes.TryPeek(out PendingWrite? next) && next.Upsert is { } batch
                   && points + batch.Count <= IndexWrites.MaxRunPoints && AddIfDistinct(seen, batch.Ids))
            {
                _writes.Dequeue();
                run.Add(next);
                points += batch.Count;
            }
        }
        return run;
    }

    /// <summary>Empties the queue and returns what it held (the log failed: none of them will be applied).</summary>
    public List<PendingWrite> TakeAll()
    {
        lock (_lock)
        {
            List<PendingWrite> all = [.. _writes];
            _writes.Clear();
            return all;
        }
    }

    /// <summary>Adds every id to <paramref name="seen"/> and returns true, or adds none and returns false when one is
    /// there already (or repeats).</summary>
    private static bool AddIfDistinct(HashSet<long> seen, long[] ids)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            if (seen.Add(ids[i])) continue;
            for (int j = 0; j < i; j++) seen.Remove(ids[j]);
            return false;
        }
        return true;
    }
}
