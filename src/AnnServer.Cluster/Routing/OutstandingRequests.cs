using System.Collections.Concurrent;

namespace AnnServer.Cluster.Routing;

/// <summary>Shard searches this router has sent to each node and not yet seen answered: the load measure of the
/// least-outstanding-requests choice. Counted per node, not per shard, because a node's cores serve all its shards.</summary>
public sealed class OutstandingRequests
{
    private sealed class Counter
    {
        public int Value;
    }

    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);

    public int Of(string nodeId) => _counters.TryGetValue(nodeId, out Counter? counter) ? Volatile.Read(ref counter.Value) : 0;

    public void Increment(string nodeId) => Interlocked.Increment(ref _counters.GetOrAdd(nodeId, _ => new Counter()).Value);

    public void Decrement(string nodeId) => Interlocked.Decrement(ref _counters.GetOrAdd(nodeId, _ => new Counter()).Value);
}
