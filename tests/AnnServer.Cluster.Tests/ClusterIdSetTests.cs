using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Stored id sets on a 2-shard cluster collection, through the public API: a set put through a router-only node reaches
/// every node through the cluster state, so searches and counts through any node leave its points out (must_not) or
/// keep only them (must); listed through another node; deleted through a third, after which naming it is NOT_FOUND.
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterIdSetTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 4;
    private LocalCluster Cluster => shared.Cluster;

    private static DateTime Soon() => DateTime.UtcNow.AddSeconds(20);

    private static Filter NotIn(string set) => new() { MustNot = { new Condition { IdSet = new IdSetCondition { Name = set } } } };
    private static Filter In(string set) => new() { Must = { new Condition { IdSet = new IdSetCondition { Name = set } } } };

    [Fact]
    public async Task ASetPutThroughARouterFiltersSearchesAndCountsThroughEveryNode()
    {
        await shared.BeginAsync(output);
        const string name = "id_sets";
        var data = new ClusterData(60, Dimension, seed: 23);
        await Cluster.CreateCollectionAsync(Cluster.Nodes[0], name, Dimension, shards: 2, replicas: 2);
        var upsert = new UpsertRequest { Collection = name };
        for (int row = 0; row < data.Count; row++) upsert.Points.Add(data.Point(row));
        UpsertResponse written = await Cluster.Nodes[0].Vectors.UpsertAsync(upsert, deadline: Soon());
        AnnServerNode router = await shared.RouterSeeingAsync(name);
        long[] seen = [.. Enumerable.Range(0, data.Count).Where(row => row % 3 == 0).Select(row => data.Ids[row])];
        long[] unseen = [.. data.Ids.Except(seen).Order()];

        PutIdSetResponse put = await router.Vectors.PutIdSetAsync(
            new PutIdSetRequest { Collection = name, Name = "seen.u1", Ids = { seen }, TtlSeconds = 600 }, deadline: Soon());
        Assert.Equal((ulong)seen.Length, put.Set.Count);

        var sincePut = System.Diagnostics.Stopwatch.StartNew();
        foreach (AnnServerNode reader in new[] { router, Cluster.Nodes[1], Cluster.Nodes[2] })
        {
            SearchResponse found = await EventuallyAsync(() => reader.Vectors.SearchAsync(new SearchRequest
            {
                Collection = name, Query = { data.Row(0) }, K = data.Count, Ef = 200, Filter = NotIn("seen.u1"),
                MinSequences = { written.Sequences },
            }, deadline: Soon()).ResponseAsync);
            Assert.Equal(unseen, found.Hits.Select(h => h.Id).Order());
            output.WriteLine($"{reader.NodeId}: the set filtered its first search {sincePut.ElapsedMilliseconds} ms after the put answered");
            CountResponse counted = await EventuallyAsync(() => reader.Vectors.CountAsync(
                new CountRequest { Collection = name, Filter = In("seen.u1"), MinSequences = { written.Sequences } }, deadline: Soon()).ResponseAsync);
            Assert.Equal((ulong)seen.Length, counted.Count);
        }
        ListIdSetsResponse listed = await Cluster.Nodes[2].Vectors.ListIdSetsAsync(new ListIdSetsRequest { Collection = name }, deadline: Soon());
        Assert.Equal("seen.u1", Assert.Single(listed.Sets).Name);

        DeleteIdSetResponse deleted = await Cluster.Nodes[1].Vectors.DeleteIdSetAsync(
            new DeleteIdSetRequest { Collection = name, Name = "seen.u1" }, deadline: Soon());
        Assert.True(deleted.Deleted);
        RpcException gone = await EventuallyFailsAsync(() => router.Vectors.SearchAsync(new SearchRequest
        {
            Collection = name, Query = { data.Row(0) }, K = 5, Filter = NotIn("seen.u1"),
        }, deadline: Soon()).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        Assert.Contains("id set 'seen.u1'", gone.Status.Detail);
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
    }

    /// <summary>The call's answer once every node has seen the put (NATS delivers it to each node a moment apart).</summary>
    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> call)
    {
        DateTime until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && DateTime.UtcNow < until)
            {
                await Task.Delay(20);
            }
        }
    }

    private static async Task<RpcException> EventuallyFailsAsync<T>(Func<Task<T>> call)
    {
        DateTime until = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                await call();
            }
            catch (RpcException e)
            {
                return e;
            }
            Assert.True(DateTime.UtcNow < until, "the deleted set was still found after 10 s");
            await Task.Delay(20);
        }
    }
}
