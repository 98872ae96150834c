using System.Diagnostics;
using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>The admin RPCs: a replica assigned to a node that had none loads and catches up from the stream, then holds
/// exactly its shard; a removed replica stops answering.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ReplicaAssignmentTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 16;
    private LocalCluster Cluster => shared.Cluster;

    [Fact]
    public async Task AnAssignedReplicaCatchesUpAndHoldsExactlyItsShardAndARemovedOneStopsAnswering()
    {
        await shared.BeginAsync(output);
        const string name = "assign";
        var data = new ClusterData(3000, Dimension, seed: 41);
        AnnServerNode router = Cluster.Nodes[0];
        await Cluster.CreateCollectionAsync(router, name, Dimension, shards: 2, replicas: 2);
        // Small batches, so that the new replica has many stream records to apply, not a handful of big ones.
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(router.Vectors, name, batch: 10);
        await Cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(60));

        IReadOnlyList<string[]> replicas = await Cluster.ReplicasAsync(name);
        AnnServerNode newcomer = Cluster.Nodes.Single(n => !replicas[0].Contains(n.NodeId));
        var catchUp = Stopwatch.StartNew();
        AssignReplicaResponse assigned = await router.Cluster.AssignReplicaAsync(
            new AssignReplicaRequest { Collection = name, Shard = 0, NodeId = newcomer.NodeId }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Contains(newcomer.NodeId, assigned.Collection.Shards.Single(s => s.Shard == 0).Replicas.Select(r => r.NodeId));
        await Cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(60));
        catchUp.Stop();
        int[] mine = data.RowsOfShard(0, 2);
        output.WriteLine($"new replica of shard 0 on {newcomer.NodeId}: serving {catchUp.ElapsedMilliseconds} ms after AssignReplica; " +
            $"{sequences[0]} stream records ({mine.Length} points): {sequences[0] / catchUp.Elapsed.TotalSeconds:F0} records/s, " +
            $"{mine.Length / catchUp.Elapsed.TotalSeconds:F0} points/s (including the state round trips)");

        HashSet<int> held = await data.HeldRowsAsync(newcomer, name, 0, mine, sequences[0]);
        HashSet<int> strays = await data.HeldRowsAsync(newcomer, name, 0, data.RowsOfShard(1, 2));
        Assert.Equal(mine.Length, held.Count);
        Assert.Empty(strays);

        await router.Cluster.RemoveReplicaAsync(new RemoveReplicaRequest { Collection = name, Shard = 0, NodeId = newcomer.NodeId },
            deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.DoesNotContain(newcomer.NodeId, (await Cluster.ReplicasAsync(name))[0]);
        var probe = new ShardSearchRequest { Collection = name, Shard = 0, K = 1, Queries = { new BatchQuery { Vector = { data.Row(mine[0]) } } } };
        DateTime deadline = DateTime.UtcNow.AddSeconds(15);
        StatusCode status;
        while ((status = await ClusterData.StatusOfAsync(() => newcomer.Shards.SearchShardAsync(probe, deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync)) == StatusCode.OK
               && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.True(status is StatusCode.NotFound or StatusCode.Unavailable, $"the removed replica still answered ({status})");
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
    }
}
