namespace AnnServer.Cluster.Routing;

/// <summary>Settings of the <see cref="ShardRouter"/>.</summary>
public sealed class RouterSettings
{
    /// <summary>Fixed hedge delay; null: each shard's recent p95 (<see cref="LatencyWindow"/>).</summary>
    public TimeSpan? HedgeAfter { get; init; }

    /// <summary>Hedge delay while a shard has too few samples for a p95.</summary>
    public TimeSpan InitialHedgeAfter { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Shortest hedge delay: on an idle loopback the p95 can be ~0.3 ms, and hedging at that would double the
    /// load on any hiccup (a GC pause) for no gain.</summary>
    public TimeSpan MinimumHedgeAfter { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>How long a node that failed with UNAVAILABLE is chosen last (<see cref="RecentFailures"/>).</summary>
    public TimeSpan FailurePenalty { get; init; } = TimeSpan.FromSeconds(2);
}
