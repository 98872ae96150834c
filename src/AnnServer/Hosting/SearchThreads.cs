using System.Collections.Concurrent;

namespace AnnServer.Hosting;

/// <summary>
/// Where a unary search runs: on the thread that called the service (none started, the default), or handed to a small
/// set of dedicated threads (--search-threads N) so that the engine's working set stays on a few warm cores instead of
/// whichever thread-pool worker resumed the request. The handing over costs a wake-up per search; bench/serving/run.sh
/// measures both (bench/results/serving.md).
/// </summary>
public sealed class SearchThreads : IDisposable
{
    private readonly BlockingCollection<SearchWork>? _queue;
    private readonly Thread[] _threads;

    public SearchThreads(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _threads = new Thread[count];
        if (count == 0) return;
        _queue = new BlockingCollection<SearchWork>(new ConcurrentQueue<SearchWork>());
        for (int i = 0; i < count; i++)
        {
            _threads[i] = new Thread(Serve) { IsBackground = true, Name = $"annserver search {i}" };
            _threads[i].Start();
        }
    }

    /// <summary>True when searches run on the calling thread.</summary>
    public bool IsInline => _queue is null;

    /// <summary>Queues the work for a search thread; the work completes its own task.</summary>
    public void Post(SearchWork work) => _queue!.Add(work);

    private void Serve()
    {
        foreach (SearchWork work in _queue!.GetConsumingEnumerable())
            work.Execute();
    }

    public void Dispose()
    {
        if (_queue is null) return;
        _queue.CompleteAdding();
        foreach (Thread thread in _threads) thread.Join();
        _queue.Dispose();
    }
}

/// <summary>One search handed to a <see cref="SearchThreads"/> thread.</summary>
public abstract class SearchWork
{
    public abstract void Execute();
}
