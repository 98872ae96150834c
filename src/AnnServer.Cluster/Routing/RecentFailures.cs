using System.Collections.Concurrent;
using System.Diagnostics;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// Nodes that recently failed a call with UNAVAILABLE (refused connection, or the replica not serving). A killed node
/// stays "live" in the cluster state until its heartbeat is older than the TTL (5 s by default); meanwhile the router
/// should not keep sending it every other search, so such a node is chosen last for <see cref="Penalty"/>.
/// </summary>
public sealed class RecentFailures(TimeSpan penalty)
{
    private readonly ConcurrentDictionary<string, long> _failedAt = new(StringComparer.Ordinal);

    public TimeSpan Penalty { get; } = penalty;

    public void Mark(string nodeId) => _failedAt[nodeId] = Stopwatch.GetTimestamp();

    public void Clear(string nodeId) => _failedAt.TryRemove(nodeId, out _);

    public bool IsSuspect(string nodeId) =>
        _failedAt.TryGetValue(nodeId, out long at) && Stopwatch.GetElapsedTime(at) < Penalty;
}
