using AnnServer.Core.Sharding;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>ShardService.GetShard reads one shard of a node's replicas and refuses requests it cannot answer as written.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterGetTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 16;
    private LocalCluster Cluster => shared.Cluster;

    [Fact]
    public async Task GetShardRefusesBadRequestsWithInvalidArgumentAndAShardItDoesNotHoldWithUnavailable()
    {
        await shared.BeginAsync(output);
        const string name = "get_shard";
        var data = new ClusterData(50, Dimension, seed: 64);
        await Cluster.CreateCollectionAsync(Cluster.Nodes[0], name, Dimension, shards: 2, replicas: 2);
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(Cluster.Nodes[0].Vectors, name);
        IReadOnlyList<string[]> replicas = await Cluster.ReplicasAsync(name);
        // Three nodes, two shards of two replicas: one node holds shard 0 and not shard 1.
        AnnServerNode node = Cluster.Nodes.Single(n => !replicas[1].Contains(n.NodeId));
        Assert.Contains(node.NodeId, replicas[0]);
        long ofShard0 = data.Ids[data.RowsOfShard(0, 2)[0]], ofShard1 = data.Ids[data.RowsOfShard(1, 2)[0]];
        long unknownOfShard0 = Enumerable.Range(3_000_000, 100).Select(ClusterData.IdOf).First(id => ShardHash.ShardOf(id, 2) == 0);

        async Task<RpcException> RefusedAsync(ShardGetRequest request) =>
            await Assert.ThrowsAsync<RpcException>(() => node.Shards.GetShardAsync(request, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);

        RpcException noIds = await RefusedAsync(new ShardGetRequest { Collection = name, Shard = 0 });
        Assert.Equal(StatusCode.InvalidArgument, noIds.StatusCode);
        Assert.Equal("ids is empty", noIds.Status.Detail);

        RpcException noSuchShard = await RefusedAsync(new ShardGetRequest { Collection = name, Shard = 2, Ids = { ofShard0 } });
        Assert.Equal(StatusCode.InvalidArgument, noSuchShard.StatusCode);
        Assert.Equal($"shard 2 does not exist: collection '{name}' has shards 0 to 1", noSuchShard.Status.Detail);

        RpcException otherShard = await RefusedAsync(new ShardGetRequest { Collection = name, Shard = 0, Ids = { ofShard0, ofShard1 } });
        Assert.Equal(StatusCode.InvalidArgument, otherShard.StatusCode);
        Assert.StartsWith($"ids[1] = {ofShard1} belongs to shard 1 of collection '{name}', not to shard 0", otherShard.Status.Detail);

        RpcException notHere = await RefusedAsync(new ShardGetRequest { Collection = name, Shard = 1, Ids = { ofShard1 } });
        Assert.Equal(StatusCode.Unavailable, notHere.StatusCode);
        Assert.Equal($"this node holds no replica of collection '{name}' shard 1", notHere.Status.Detail);

        GetResponse read = await node.Shards.GetShardAsync(new ShardGetRequest
        {
            Collection = name, Shard = 0, Ids = { unknownOfShard0, ofShard0 }, MinSequence = sequences[0],
        }, deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal([ofShard0], read.Points.Select(p => p.Id));
        Assert.Equal([unknownOfShard0], read.MissingIds);
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
    }
}
