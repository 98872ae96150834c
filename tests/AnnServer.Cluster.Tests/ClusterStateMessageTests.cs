using AnnServer.Cluster.State;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using AnnServer.Services;

namespace AnnServer.Cluster.Tests;

/// <summary>GetClusterState's roles and replica states: the enums of cluster.proto, mapped from the names the cluster
/// state's format keeps.</summary>
public sealed class ClusterStateMessageTests
{
    private static readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    [Fact]
    public void EveryRoleIsItsOwnEnumValueAndARoleThisVersionDoesNotKnowIsUnspecified()
    {
        Assert.Equal(NodeRole.All, ClusterProtoMapping.ToProtoRole(ClusterRole.All.Name()));
        Assert.Equal(NodeRole.Replica, ClusterProtoMapping.ToProtoRole(ClusterRole.Replica.Name()));
        Assert.Equal(NodeRole.Router, ClusterProtoMapping.ToProtoRole(ClusterRole.Router.Name()));
        Assert.Equal(NodeRole.Unspecified, ClusterProtoMapping.ToProtoRole("observer"));
    }

    [Fact]
    public void ANodeShowsItsVersionAndCapabilitiesAndANodeOfAnEarlierVersionShowsNone()
    {
        var current = new NodeEntry("new", "http://127.0.0.1:1", ClusterRole.All.Name(), Now - 30_000, Now,
            [NodeCapabilities.QuantizationInt4], "1.2.3+abc");
        var earlier = new NodeEntry("old", "http://127.0.0.1:2", ClusterRole.All.Name(), Now - 30_000, Now);
        var view = new ClusterView(new Dictionary<string, VersionedSpec>(),
            new Dictionary<string, NodeEntry> { ["new"] = current, ["old"] = earlier }, new Dictionary<ReplicaKey, ReplicaEntry>(),
            TimeSpan.FromSeconds(5));

        ClusterNode shown = ClusterProtoMapping.ToProto(view, current);
        ClusterNode old = ClusterProtoMapping.ToProto(view, earlier);

        Assert.Equal("1.2.3+abc", shown.Version);
        Assert.Equal(["quantization.int4"], shown.Capabilities);
        Assert.Equal("", old.Version);
        Assert.Empty(old.Capabilities);
    }

    [Fact]
    public void AReplicaIsServingCatchingUpFailedAssignedBeforeItsFirstReportOrDownWithItsNode()
    {
        string[] nodeIds = ["serving", "catching", "failed", "unreported", "dead", "newer"];
        var spec = new ClusterCollectionSpec("s", 4, DistanceMetric.L2, 16, 200, VectorQuantization.None, 1, nodeIds.Length, 1, [nodeIds],
            CreatedUnixMs: Now - 60_000);
        var nodes = nodeIds.ToDictionary(id => id,
            id => new NodeEntry(id, "http://127.0.0.1:1", ClusterRole.All.Name(), Now - 30_000, id == "dead" ? Now - 20_000 : Now));
        var replicas = new Dictionary<ReplicaKey, ReplicaEntry>
        {
            [new("s", 0, "serving")] = new(ShardReplicaStates.Serving, 10, Now),
            [new("s", 0, "catching")] = new(ShardReplicaStates.CatchingUp, 3, Now),
            [new("s", 0, "failed")] = new(ShardReplicaStates.Failed, 0, Now),
            [new("s", 0, "dead")] = new(ShardReplicaStates.Serving, 10, Now - 20_000),
            [new("s", 0, "newer")] = new("resharding", 10, Now),
        };
        var view = new ClusterView(new Dictionary<string, VersionedSpec> { ["s"] = new(spec, 1) }, nodes, replicas,
            TimeSpan.FromSeconds(5));

        ClusterCollection message = ClusterProtoMapping.ToProto(view, spec);

        Assert.Equal(
            [ReplicaState.Serving, ReplicaState.CatchingUp, ReplicaState.Failed, ReplicaState.Assigned, ReplicaState.Down,
                ReplicaState.Unspecified],
            message.Shards.Single().Replicas.Select(r => r.State));
    }
}
