using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Diagnostics;
using AnnServer.Tests;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// A rolling upgrade to int4: beside two nodes of this version sits a node of an earlier one, whose entry announces no
/// capabilities (put straight into <c>ann-nodes</c> with a live heartbeat, as such a node writes it). The coordinator,
/// in process on its own NATS server, never places an int4 replica on it, by create or by AssignReplica, and places
/// none and int8 collections on it as before.
/// </summary>
public sealed class NodeCapabilityPlacementTests(StateTestNats nats) : IClassFixture<StateTestNats>, IAsyncLifetime
{
    private const string Old = "old", NewA = "new-a", NewB = "new-b";
    private NatsConnection _connection = null!;
    private ClusterCoordinator _coordinator = null!;

    public async Task InitializeAsync()
    {
        _connection = new NatsConnection(new NatsOpts { Url = nats.Url });
        _coordinator = new ClusterCoordinator(new ClusterOptions { ClusterNats = nats.Url, NodeId = "admin", StreamReplicas = 1, NodeTtlMs = 30_000 },
            _connection, NullLogger<ClusterCoordinator>.Instance);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _coordinator.OpenAsync(timeout.Token);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await _coordinator.Store!.PutNodeAsync(new NodeEntry(Old, "http://127.0.0.1:1", "all", now, now), timeout.Token);
        foreach (string id in new[] { NewA, NewB })
            await _coordinator.Store!.PutNodeAsync(new NodeEntry(id, "http://127.0.0.1:2", "all", now, now,
                NodeCapabilities.OfThisVersion, NodeCapabilities.ProductVersion), timeout.Token);
        Assert.True(await _coordinator.Watcher!.WaitForAsync(
            view => view.IsLive(Old) && view.IsLive(NewA) && view.IsLive(NewB) && view.Nodes[NewA].Capabilities is not null, timeout.Token));
    }

    public async Task DisposeAsync()
    {
        await _coordinator.DisposeAsync();
        await _connection.DisposeAsync();
    }

    private Task<ClusterCollectionSpec> PlanAsync(string name, VectorQuantization quantization, int shards, int replicas) =>
        _coordinator.PlanCollectionAsync(name, new HnswOptions { Dimension = 4, Quantization = quantization }, shards, replicas,
            CancellationToken.None);

    private async Task StoreSpecAsync(string name, VectorQuantization quantization, params string[] replicas) =>
        Assert.True(await _coordinator.Store!.TryCreateSpecAsync(new ClusterCollectionSpec(name, 4, DistanceMetric.L2, 16, 200,
            quantization, 1, replicas.Length, 1, [replicas], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), CancellationToken.None));

    [Fact]
    public async Task AnInt4CollectionIsPlacedOnlyOnNodesThatAnnounceInt4()
    {
        ClusterCollectionSpec spec = await PlanAsync("int4_placed", VectorQuantization.Int4, shards: 4, replicas: 2);

        Assert.All(spec.ShardReplicaNodeIds, shard => Assert.Equal([NewA, NewB], shard.Order(StringComparer.Ordinal)));
    }

    [Fact]
    public async Task AnInt4CollectionWithMoreReplicasThanInt4NodesFailsNamingTheNodeLeftOutAndWhy()
    {
        var e = await Assert.ThrowsAsync<CollectionPreconditionException>(() => PlanAsync("int4_short", VectorQuantization.Int4, shards: 1, replicas: 3));

        Assert.Contains($"replicas 3 needs 3 live nodes that hold replicas and serve int4 collections, the cluster has 2 ({NewA}, {NewB})", e.Message);
        Assert.Contains($"left out: node '{Old}' announces no int4 support (a version before capabilities, no 'quantization.int4'): upgrade it", e.Message);
    }

    [Theory]
    [InlineData(VectorQuantization.None)]
    [InlineData(VectorQuantization.Int8)]
    public async Task NoneAndInt8CollectionsArePlacedOnEveryNodeAsBefore(VectorQuantization quantization)
    {
        ClusterCollectionSpec spec = await PlanAsync($"placed_{quantization}", quantization, shards: 3, replicas: 1);

        // Round-robin over every live node sorted by id, the older one included: shard s on node s mod 3.
        Assert.Equal([[NewA], [NewB], [Old]], spec.ShardReplicaNodeIds.Select(shard => shard.ToArray()));
    }

    [Fact]
    public async Task AssigningAnInt4ReplicaToANodeWithoutInt4IsRefusedAsAFailedPrecondition()
    {
        await StoreSpecAsync("int4_assign", VectorQuantization.Int4, NewA);

        var e = await Assert.ThrowsAsync<ReplicaAssignmentException>(() => _coordinator.AssignReplicaAsync("int4_assign", 0, Old, CancellationToken.None));

        Assert.Equal(ReplicaAssignmentProblem.NodeLacksCapability, e.Problem);
        Assert.Equal($"cannot assign collection 'int4_assign' shard 0 to node '{Old}': collection 'int4_assign' is int4 and node '{Old}' " +
            "announces no int4 support (a version before capabilities, no 'quantization.int4'): upgrade it", e.Message);
        Assert.Equal(StatusCode.FailedPrecondition, ErrorStatus.ToStatus(e, new TestCallContext(CancellationToken.None))?.StatusCode);
        Assert.Equal([NewA], (await _coordinator.Store!.GetSpecAsync("int4_assign", CancellationToken.None))!.Spec.ShardReplicaNodeIds[0]);
    }

    [Fact]
    public async Task AssigningAnInt4ReplicaToANodeThatAnnouncesInt4IsDone()
    {
        await StoreSpecAsync("int4_assign_new", VectorQuantization.Int4, NewA);

        ClusterCollectionSpec spec = await _coordinator.AssignReplicaAsync("int4_assign_new", 0, NewB, CancellationToken.None);

        Assert.Equal([NewA, NewB], spec.ShardReplicaNodeIds[0]);
    }

    [Fact]
    public async Task AssigningAnInt8ReplicaToANodeWithoutCapabilitiesIsDoneAsBefore()
    {
        await StoreSpecAsync("int8_assign", VectorQuantization.Int8, NewA);

        ClusterCollectionSpec spec = await _coordinator.AssignReplicaAsync("int8_assign", 0, Old, CancellationToken.None);

        Assert.Equal([NewA, Old], spec.ShardReplicaNodeIds[0]);
    }
}
