using AnnServer.Cluster.State;
using AnnServer.Core;

namespace AnnServer.Cluster.Tests;

/// <summary>Which replicas a router asks, judged from one <see cref="ClusterView"/>.</summary>
public sealed class StateViewTests
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static readonly ClusterCollectionSpec Spec = new("v", 4, DistanceMetric.L2, 16, 200, VectorQuantization.None, 1, 3, 1,
        [new[] { "live", "late", "catching" }], CreatedUnixMs: Now - 60_000);

    private static ClusterView View(long lateHeartbeat, long liveHeartbeat) => new(
        new Dictionary<string, VersionedSpec> { ["v"] = new(Spec, 1) },
        new Dictionary<string, NodeEntry>
        {
            ["live"] = new("live", "http://127.0.0.1:1", "all", Now - 30_000, liveHeartbeat),
            ["late"] = new("late", "http://127.0.0.1:2", "all", Now - 30_000, lateHeartbeat),
            ["catching"] = new("catching", "http://127.0.0.1:3", "all", Now - 30_000, Now),
        },
        new Dictionary<ReplicaKey, ReplicaEntry>
        {
            [new("v", 0, "live")] = new(ReplicaStates.Serving, 10, Now),
            [new("v", 0, "late")] = new(ReplicaStates.Serving, 10, Now - 20_000),
            [new("v", 0, "catching")] = new(ReplicaStates.CatchingUp, 3, Now),
        },
        TimeSpan.FromSeconds(5));

    [Fact]
    public void OnlyLiveServingReplicasAreAskedWhenThereAreAny()
    {
        ClusterView view = View(lateHeartbeat: Now - 20_000, liveHeartbeat: Now);
        Assert.Equal(["live"], view.ReplicasToAsk(Spec, 0).Select(n => n.NodeId));
    }

    [Fact]
    public void WhenNoServingReplicaHeartbeatsInTimeThoseLastServingAreAskedAnyway()
    {
        // Every heartbeat late, as while NATS elects a new leader: the catching-up replica is still never asked.
        ClusterView view = View(lateHeartbeat: Now - 20_000, liveHeartbeat: Now - 20_000);
        Assert.Empty(view.ServingReplicas(Spec, 0));
        Assert.Equal(["live", "late"], view.ReplicasToAsk(Spec, 0).Select(n => n.NodeId));
    }

    [Fact]
    public void AReplicaStateOlderThanTheCollectionIsNotBelieved()
    {
        ClusterCollectionSpec recreated = Spec with { CreatedUnixMs = Now + 1 };
        ClusterView view = View(lateHeartbeat: Now, liveHeartbeat: Now);
        Assert.Empty(view.ServingReplicas(recreated, 0));
    }
}
