using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace AnnServer.Cluster.Tests;

/// <summary>Aliases in cluster mode, on two real nodes over one nats-server: kept in the cluster state, so an alias made
/// or switched through one node is what every router resolves; compare-and-set, drops refused while aliased, and
/// searches through another router during switches without a failure.</summary>
public sealed class ClusterAliasTests(StateTestNats nats) : IClassFixture<StateTestNats>
{
    private const int Dimension = 4;

    [Fact]
    public async Task AnAliasSwitchedThroughOneNodeMovesTheSearchesOfEveryRouter()
    {
        string prefix = Guid.NewGuid().ToString("N")[..6];
        await using var first = new Node(nats.Url, $"{prefix}-0");
        await using var second = new Node(nats.Url, $"{prefix}-1");
        await first.WaitUntilServingAsync();
        await second.WaitUntilServingAsync();
        // SERVING comes before a node's view of the cluster holds every node: a create right then can find none
        // ("no live node can hold replicas", seen once in a clean-clone CI run). Wait as RoutingClusterTests does.
        await first.WaitUntilItSeesAsync(prefix, nodes: 2);
        foreach ((string name, long id) in new[] { ("blue", 1L), ("green", 2L) })
        {
            await first.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Dimension = Dimension, Metric = Metric.L2, Shards = 1, Replicas = 1 });
            await first.Vectors.UpsertAsync(new UpsertRequest { Collection = name, Points = { new Point { Id = id, Vector = { 0.1f, 0.1f, 0.1f, 0.1f } } } });
        }

        await first.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "items", Collection = "blue" });
        long throughSecond = await EventuallyNearestAsync(second, "items", expected: 1);
        SwitchAliasResponse switched = await second.Collections.SwitchAliasAsync(
            new SwitchAliasRequest { Alias = "items", Collection = "green", ExpectedCollection = "blue" });
        long throughFirst = await EventuallyNearestAsync(first, "items", expected: 2);
        RpcException lost = await Assert.ThrowsAsync<RpcException>(async () => await first.Collections.SwitchAliasAsync(
            new SwitchAliasRequest { Alias = "items", Collection = "blue", ExpectedCollection = "blue" }));
        RpcException dropAliased = await Assert.ThrowsAsync<RpcException>(async () =>
            await second.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "green" }));
        RpcException taken = await Assert.ThrowsAsync<RpcException>(async () => await second.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "items", Dimension = Dimension, Metric = Metric.L2, Shards = 1 }));
        RpcException load = await Assert.ThrowsAsync<RpcException>(async () =>
            await first.Collections.LoadSnapshotAsync(new LoadSnapshotRequest { Name = "x", Path = "x.snap" }));

        Assert.Equal(1, throughSecond);
        Assert.Equal("blue", switched.PreviousCollection);
        Assert.Equal(2, throughFirst);
        Assert.Equal(StatusCode.Aborted, lost.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, dropAliased.StatusCode);
        Assert.Contains("'items'", dropAliased.Status.Detail);
        Assert.Equal(StatusCode.AlreadyExists, taken.StatusCode);
        Assert.Equal(StatusCode.FailedPrecondition, load.StatusCode);
        Alias listed = Assert.Single((await second.Collections.ListAliasesAsync(new ListAliasesRequest())).Aliases);
        Assert.Equal(("items", "green"), (listed.Alias_, listed.Collection));

        // Searches through one router while the other switches back and forth: none fails.
        using var stop = new CancellationTokenSource();
        long searches = 0, failures = 0;
        string? firstFailure = null;
        Task searcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await second.Vectors.SearchAsync(new SearchRequest { Collection = "items", Query = { 0f, 0f, 0f, 0f }, K = 1 });
                    Interlocked.Increment(ref searches);
                }
                catch (RpcException e)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstFailure, e.Status.Detail, null);
                }
            }
        });
        // At least 20 switches, and on until the searcher has run 100 searches among them (at most 10 s).
        DateTime until = DateTime.UtcNow.AddSeconds(10);
        for (int i = 0; i < 20 || (Interlocked.Read(ref searches) < 100 && DateTime.UtcNow < until); i++)
        {
            await first.Collections.SwitchAliasAsync(new SwitchAliasRequest { Alias = "items", Collection = i % 2 == 0 ? "blue" : "green" });
            await Task.Delay(10);
        }
        stop.Cancel();
        await searcher;
        Assert.True(failures == 0, $"{failures} of {searches + failures} searches failed; the first: {firstFailure}");
        Assert.True(searches >= 100, $"only {searches} searches ran");

        await first.Collections.DeleteAliasAsync(new DeleteAliasRequest { Alias = "items" });
        RpcException gone = await Assert.ThrowsAsync<RpcException>(async () =>
            await first.Vectors.SearchAsync(new SearchRequest { Collection = "items", Query = { 0f, 0f, 0f, 0f }, K = 1 }));
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
    }

    /// <summary>The nearest id through <paramref name="node"/> once it is <paramref name="expected"/> (the node's view of the
    /// alias, and the replica's writes, arrive within moments), or the last one seen after 15 s.</summary>
    private static async Task<long> EventuallyNearestAsync(Node node, string collection, long expected)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(15);
        long seen = -1;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                SearchResponse response = await node.Vectors.SearchAsync(new SearchRequest { Collection = collection, Query = { 0f, 0f, 0f, 0f }, K = 1 });
                if (response.Hits.Count > 0 && (seen = response.Hits[0].Id) == expected) return seen;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.Unavailable) { }
            await Task.Delay(50);
        }
        return seen;
    }

    private sealed class Node : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly TempFolder _data = new("annserver-alias-");
        private readonly GrpcChannel _channel;

        public Node(string natsUrl, string nodeId)
        {
            _app = AnnServerHost.Build(["--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--http-port", "0", "--data-dir", _data.Path,
                "--cluster-nats", natsUrl, "--node-id", nodeId, "--stream-replicas", "1", "--heartbeat-ms", "200", "--node-ttl-ms", "1000"]);
            _app.StartAsync().GetAwaiter().GetResult();
            _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{_app.Services.GetRequiredService<ServerEndpoints>().GrpcPort}");
            Vectors = new VectorService.VectorServiceClient(_channel);
            Collections = new CollectionService.CollectionServiceClient(_channel);
            Cluster = new ClusterService.ClusterServiceClient(_channel);
            Health = new Health.HealthClient(_channel);
        }

        public VectorService.VectorServiceClient Vectors { get; }
        public CollectionService.CollectionServiceClient Collections { get; }
        public ClusterService.ClusterServiceClient Cluster { get; }
        public Health.HealthClient Health { get; }

        /// <summary>Until this node's cluster state lists <paramref name="nodes"/> live nodes whose ids start with
        /// <paramref name="prefix"/>.</summary>
        public async Task WaitUntilItSeesAsync(string prefix, int nodes)
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while ((await Cluster.GetClusterStateAsync(new GetClusterStateRequest())).Nodes.Count(n => n.Live && n.NodeId.StartsWith(prefix)) < nodes)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"the node did not see {nodes} live nodes within 15 s");
                await Task.Delay(50);
            }
        }

        public async Task WaitUntilServingAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await Health.CheckAsync(new HealthCheckRequest())).Status != HealthCheckResponse.Types.ServingStatus.Serving)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("node not SERVING within 30 s");
                await Task.Delay(50);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _channel.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
            _data.Dispose();
        }
    }
}
