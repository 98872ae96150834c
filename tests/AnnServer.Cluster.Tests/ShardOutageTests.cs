using AnnServer.Core.Sharding;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>A shard whose every replica is down: UNAVAILABLE naming it, or with allow_partial the other shard's hits and
/// the missing shard listed; a Get is UNAVAILABLE naming it when one of its ids is on it, and answered otherwise.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ShardOutageTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 16;
    private const string Name = "outage";

    [Fact]
    public async Task AShardWithEveryReplicaDownIsUnavailableToSearchAndGetOrListedAsMissingWithAllowPartial()
    {
        var phases = new PhaseLog(output);
        LocalCluster cluster = await shared.BeginAsync(output);
        phases.Mark("cluster healthy");
        var data = new ClusterData(1000, Dimension, seed: 31);
        await cluster.CreateCollectionAsync(cluster.Nodes[0], Name, Dimension, shards: 2, replicas: 2);
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(cluster.Nodes[0].Vectors, Name);
        await cluster.WaitUntilCaughtUpAsync(Name, sequences, TimeSpan.FromSeconds(60));
        phases.Mark("collection created and filled");

        // With three nodes and two replicas per shard, exactly one node holds no replica of the shard we take down:
        // it is the router that stays.
        IReadOnlyList<string[]> replicas = await cluster.ReplicasAsync(Name);
        const int down = 0, up = 1;
        AnnServerNode router = cluster.Nodes.Single(n => !replicas[down].Contains(n.NodeId));
        output.WriteLine($"replicas {string.Join(" | ", replicas.Select(r => string.Join(",", r)))}; killing {string.Join(",", replicas[down])}, router {router.NodeId}");
        foreach (string nodeId in replicas[down])
            await cluster.Node(nodeId).KillAsync();
        phases.Mark("both replicas of shard 0 killed");
        await cluster.WaitUntilNodesLiveAsync(cluster.Nodes.Length - replicas[down].Length, TimeSpan.FromSeconds(15));
        phases.Mark("the cluster state says they are dead");

        float[] query = data.Row(0);
        var search = new SearchRequest { Collection = Name, Query = { query }, K = 10 };
        RpcException refused = await Assert.ThrowsAsync<RpcException>(() => router.Vectors.SearchAsync(search, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        output.WriteLine($"without allow_partial: {refused.StatusCode} \"{refused.Status.Detail}\"");
        phases.Mark("search refused");
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("shard 0", refused.Status.Detail);
        Assert.Contains(Name, refused.Status.Detail);

        // allow_partial: shard 1's exact top-k (ef large enough to be exhaustive), shard 0 listed as missing.
        search.AllowPartial = true;
        search.Ef = data.Count;
        SearchResponse partial = await router.Vectors.SearchAsync(search, deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal([(uint)down], partial.MissingShards);
        int[] upRows = data.RowsOfShard(up, 2);
        long[] expected = upRows
            .Select(r => (Id: data.Ids[r], Distance: SquaredDistance(data.Row(r), query)))
            .OrderBy(p => p.Distance).ThenBy(p => p.Id).Take(10).Select(p => p.Id).ToArray();
        Assert.Equal(expected, partial.Hits.Select(h => h.Id));
        Assert.All(partial.Hits, h => Assert.Equal(up, ShardHash.ShardOf(h.Id, 2)));

        // The same for SearchBatch.
        var batch = new SearchBatchRequest { Collection = Name, K = 10, Queries = { new BatchQuery { Vector = { query } } } };
        Assert.Equal(StatusCode.Unavailable, await ClusterData.StatusOfAsync(() => router.Vectors.SearchBatchAsync(batch, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync));
        batch.AllowPartial = true;
        batch.Ef = data.Count;
        SearchBatchResponse partialBatch = await router.Vectors.SearchBatchAsync(batch, deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal([(uint)down], partialBatch.MissingShards);
        Assert.Equal(expected, Assert.Single(partialBatch.Results).Hits.Select(h => h.Id));

        // Get: an id on the down shard makes it UNAVAILABLE naming the shard; ids on the other shard alone are read.
        long[] upIds = upRows.Take(3).Select(r => data.Ids[r]).ToArray();
        long downId = data.Ids[data.RowsOfShard(down, 2)[0]];
        var get = new GetRequest { Collection = Name, Ids = { upIds[0], downId } };
        RpcException getRefused = await Assert.ThrowsAsync<RpcException>(() => router.Vectors.GetAsync(get, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        output.WriteLine($"Get with an id of shard {down}: {getRefused.StatusCode} \"{getRefused.Status.Detail}\"");
        Assert.Equal(StatusCode.Unavailable, getRefused.StatusCode);
        Assert.StartsWith($"collection '{Name}' shard {down} has no live replica", getRefused.Status.Detail);
        GetResponse upOnly = await router.Vectors.GetAsync(new GetRequest { Collection = Name, Ids = { upIds } }, deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(upIds, upOnly.Points.Select(p => p.Id));
        Assert.Empty(upOnly.MissingIds);

        await cluster.DropQuietlyAsync(Name, output.WriteLine);
        await cluster.HealAsync();
        phases.Mark("killed nodes back");
    }

    private static float SquaredDistance(float[] a, float[] b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (a[i] - b[i]) * (a[i] - b[i]);
        return sum;
    }
}
