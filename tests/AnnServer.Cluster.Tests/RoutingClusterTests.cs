using System.Diagnostics;
using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using AnnServer.Tests;
using OpenTelemetry.Trace;
using StatusCode = Grpc.Core.StatusCode;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// The router end to end on real servers in this process (so its counters can be read): one stand-alone nats-server,
/// two or three nodes with role all. Writes go through one node, searches through another; answers are compared with an
/// exact scan of the same points.
/// </summary>
public sealed class RoutingClusterTests(StateTestNats nats) : IClassFixture<StateTestNats>
{
    private const int Dimension = 8;

    /// <summary>A node in this process: the real host, in cluster mode, on free ports.</summary>
    private sealed class Node : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly TempFolder _data = new("annserver-routing-");
        private readonly GrpcChannel _channel;

        public Node(string natsUrl, string nodeId, params string[] extra) : this(natsUrl, nodeId, spans: null, extra)
        {
        }

        /// <param name="spans">where the node's spans go (tracing on, in-memory exporter); null: no tracing.</param>
        public Node(string natsUrl, string nodeId, ICollection<Activity>? spans, params string[] extra)
        {
            NodeId = nodeId;
            string[] arguments = ["--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--http-port", "0", "--data-dir", _data.Path,
                "--cluster-nats", natsUrl, "--node-id", nodeId, "--stream-replicas", "1", "--heartbeat-ms", "200", "--node-ttl-ms", "1000",
                .. extra];
            _app = spans is null ? AnnServerHost.Build(arguments) : AnnServerHost.Build(arguments, tracer => tracer.AddInMemoryExporter(spans));
            _app.StartAsync().GetAwaiter().GetResult();
            _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{_app.Services.GetRequiredService<ServerEndpoints>().GrpcPort}");
            Vectors = new VectorService.VectorServiceClient(_channel);
            Collections = new CollectionService.CollectionServiceClient(_channel);
            Cluster = new ClusterService.ClusterServiceClient(_channel);
            Health = new Health.HealthClient(_channel);
        }

        public string NodeId { get; }
        public VectorService.VectorServiceClient Vectors { get; }
        public CollectionService.CollectionServiceClient Collections { get; }
        public ClusterService.ClusterServiceClient Cluster { get; }
        public Health.HealthClient Health { get; }
        public ShardRouter Router => _app.Services.GetRequiredService<ClusterCoordinator>().Router;
        public ClusterView View => _app.Services.GetRequiredService<ClusterCoordinator>().View;

        /// <summary>The value of an unlabelled metric as /metrics shows it, or null when it is not there.</summary>
        public async Task<double?> MetricAsync(string name)
        {
            using var http = new HttpClient();
            string text = await http.GetStringAsync($"http://127.0.0.1:{_app.Services.GetRequiredService<ServerEndpoints>().MetricsPort}/metrics");
            string? line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
            return line is null ? null : double.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }

        public async Task WaitUntilServingAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await Health.CheckAsync(new HealthCheckRequest())).Status != HealthCheckResponse.Types.ServingStatus.Serving)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"node {NodeId} not SERVING within 30 s");
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

    private Task<Node[]> StartNodesAsync(int count, params string[] extra) => StartNodesAsync(count, spans: null, extra);

    private async Task<Node[]> StartNodesAsync(int count, ICollection<Activity>? spans, params string[] extra)
    {
        string prefix = Guid.NewGuid().ToString("N")[..6];
        var nodes = Enumerable.Range(0, count).Select(i => new Node(nats.Url, $"{prefix}-{i}", spans, extra)).ToArray();
        foreach (Node node in nodes) await node.WaitUntilServingAsync();
        // Every node must see every other before a create spreads replicas over them.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while ((await nodes[0].Cluster.GetClusterStateAsync(new GetClusterStateRequest())).Nodes.Count(n => n.Live && n.NodeId.StartsWith(prefix)) < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the nodes did not see each other within 15 s");
            await Task.Delay(50);
        }
        return nodes;
    }

    private static float[][] Points(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
    }

    private static async Task<RepeatedSequences> UpsertAsync(Node via, string collection, float[][] points)
    {
        var request = new UpsertRequest { Collection = collection };
        for (int i = 0; i < points.Length; i++) request.Points.Add(new Point { Id = i, Vector = { points[i] } });
        UpsertResponse response = await via.Vectors.UpsertAsync(request);
        return new RepeatedSequences(response.Sequences);
    }

    private sealed record RepeatedSequences(IEnumerable<ShardSequence> Sequences);

    private static long[] ExactTopK(float[][] points, float[] query, int k) => points
        .Select((p, id) => (Id: (long)id, Distance: p.Zip(query, (a, b) => (a - b) * (a - b)).Sum()))
        .OrderBy(h => h.Distance).ThenBy(h => h.Id).Take(k).Select(h => h.Id).ToArray();

    private static async Task DisposeAllAsync(IEnumerable<Node> nodes)
    {
        foreach (Node node in nodes) await node.DisposeAsync();
    }

    [Fact]
    public async Task AClusterSearchIsOneTraceAcrossTheNodesWithASpanPerShardCall()
    {
        var spans = new RecordedSpans();
        Node[] nodes = await StartNodesAsync(2, spans);
        try
        {
            await nodes[0].Collections.CreateCollectionAsync(new CreateCollectionRequest
                { Name = "traced", Dimension = Dimension, Metric = Metric.L2, Shards = 4, Replicas = 1 });
            float[][] points = Points(100, seed: 4);
            RepeatedSequences written = await UpsertAsync(nodes[0], "traced", points);

            ActivityTraceId trace;
            using (Activity caller = new Activity("caller") { ActivityTraceFlags = ActivityTraceFlags.Recorded }.Start())
            {
                trace = caller.TraceId;
                var request = new SearchRequest { Collection = "traced", Query = { points[7] }, K = 5 };
                request.MinSequences.Add(written.Sequences);
                await nodes[1].Vectors.SearchAsync(request, deadline: DateTime.UtcNow.AddSeconds(20));
            }

            // One span per shard call, each the first attempt (one replica per shard: nothing to hedge), ... (Both nodes'
            // tracers run in this process and each exports every span of the process: one span, two records.)
            Activity[] ShardCalls() => spans.Snapshot().Where(s => s.Source.Name == ClusterTracing.SourceName && s.TraceId == trace)
                .DistinctBy(s => s.SpanId).ToArray();
            await spans.WaitForAsync(_ => ShardCalls().Length == 4, "for each of 4 shard calls");
            Activity[] shardCalls = ShardCalls();
            Assert.Equal([0, 1, 2, 3], shardCalls.Select(s => (int)s.GetTagItem("ann.shard")!).Order());
            Assert.All(shardCalls, s => Assert.Equal(ClusterTracing.Attempt.First, s.GetTagItem("ann.attempt")));
            // ... and the other node's shard search joins the same trace: the context went with the call.
            string remote = nodes[0].NodeId;
            Assert.Contains(shardCalls, s => (string)s.GetTagItem("ann.node")! == remote);
            Activity served = await spans.WaitForAsync(s => s.Kind == ActivityKind.Server && s.TraceId == trace
                && s.DisplayName.Contains("ShardService", StringComparison.Ordinal), "of the remote shard search");
            Assert.NotEqual(default, served.ParentSpanId);
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [Fact]
    public async Task ASearchThroughAnyNodeMergesEveryShardIntoTheExactTopK()
    {
        Node[] nodes = await StartNodesAsync(2);
        try
        {
            var create = await nodes[0].Collections.CreateCollectionAsync(new CreateCollectionRequest
                { Name = "merge", Dimension = Dimension, Metric = Metric.L2, Shards = 3, Replicas = 2 });
            Assert.Equal(3u, create.Info.Shards);
            Assert.Equal(2u, create.Info.Replicas);
            float[][] points = Points(300, seed: 1);
            RepeatedSequences written = await UpsertAsync(nodes[0], "merge", points);

            foreach (int q in new[] { 0, 17, 123, 299 })
            {
                var request = new SearchRequest { Collection = "merge", Query = { points[q] }, K = 10, Ef = 300 };
                request.MinSequences.Add(written.Sequences);
                SearchResponse response = await nodes[1].Vectors.SearchAsync(request, deadline: DateTime.UtcNow.AddSeconds(20));

                Assert.Equal(ExactTopK(points, points[q], 10), response.Hits.Select(h => h.Id));
                Assert.Empty(response.MissingShards);
            }

            var batch = new SearchBatchRequest { Collection = "merge", K = 5, Ef = 300 };
            batch.MinSequences.Add(written.Sequences);
            foreach (int q in new[] { 3, 4, 5 }) batch.Queries.Add(new BatchQuery { Vector = { points[q] } });
            SearchBatchResponse batchResponse = await nodes[1].Vectors.SearchBatchAsync(batch, deadline: DateTime.UtcNow.AddSeconds(20));
            Assert.Equal(3, batchResponse.Results.Count);
            for (int i = 0; i < 3; i++)
                Assert.Equal(ExactTopK(points, points[3 + i], 5), batchResponse.Results[i].Hits.Select(h => h.Id));

            var listed = await nodes[1].Collections.ListCollectionsAsync(new ListCollectionsRequest());
            Assert.Contains(listed.Collections, c => c.Name == "merge" && c.Shards == 3);
            // Counts come with the replicas' heartbeats (200 ms here).
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while ((await nodes[1].Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "merge" })).Count != 300)
            {
                Assert.True(DateTime.UtcNow < deadline, "GetCollectionInfo did not count the 300 points within 10 s");
                await Task.Delay(50);
            }
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [Fact]
    public async Task AShardWithNoLiveReplicaIsUnavailableByNameOrMissingWithAllowPartial()
    {
        Node[] nodes = await StartNodesAsync(2);
        try
        {
            // One replica per shard: shard 0 on the first node by id, shard 1 on the second.
            await nodes[0].Collections.CreateCollectionAsync(new CreateCollectionRequest
                { Name = "partial", Dimension = Dimension, Metric = Metric.L2, Shards = 2, Replicas = 1 });
            float[][] points = Points(100, seed: 2);
            RepeatedSequences written = await UpsertAsync(nodes[0], "partial", points);
            var warm = new SearchRequest { Collection = "partial", Query = { points[0] }, K = 100, Ef = 100 };
            warm.MinSequences.Add(written.Sequences);
            Assert.Equal(100, (await nodes[0].Vectors.SearchAsync(warm)).Hits.Count);

            await nodes[1].DisposeAsync();
            var afterStop = DateTime.UtcNow;

            var request = new SearchRequest { Collection = "partial", Query = { points[0] }, K = 100, Ef = 100 };
            var e = await Assert.ThrowsAsync<RpcException>(() => nodes[0].Vectors.SearchAsync(request).ResponseAsync);
            Assert.Equal(StatusCode.Unavailable, e.StatusCode);
            Assert.Contains("collection 'partial' shard 1 has no live replica", e.Status.Detail);

            request.AllowPartial = true;
            SearchResponse partial = await nodes[0].Vectors.SearchAsync(request);
            Assert.Equal([1u], partial.MissingShards);
            long[] shard0 = Enumerable.Range(0, 100).Where(id => Core.Sharding.ShardHash.ShardOf(id, 2) == 0).Select(id => (long)id).ToArray();
            Assert.Equal(shard0.Order(), partial.Hits.Select(h => h.Id).Order());
        }
        finally
        {
            await DisposeAllAsync(nodes.Take(1));
        }
    }

    [Fact]
    public async Task WithAShortHedgeDelayTheSecondReplicaIsAskedAndTheAnswerIsUnchanged()
    {
        Node[] nodes = await StartNodesAsync(2, "--hedge-after-ms", "1");
        try
        {
            await nodes[0].Collections.CreateCollectionAsync(new CreateCollectionRequest
                { Name = "hedge", Dimension = Dimension, Metric = Metric.L2, Shards = 1, Replicas = 2 });
            float[][] points = Points(2000, seed: 3);
            RepeatedSequences written = await UpsertAsync(nodes[0], "hedge", points);
            // Only a router that sees both replicas serving can hedge: a loaded machine can be slow to report the second.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (nodes[1].View is var view && (view.Spec("hedge") is not { } spec || view.ServingReplicas(spec, 0).Count < 2))
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("node 1 did not see both replicas serving within 30 s");
                await Task.Delay(50);
            }

            // A batch of 200 exact-ish searches takes well over 1 ms, so a call is hedged unless the hedge timer's
            // callback waits for a thread-pool thread longer than the search takes (2 cores, several nodes in one
            // process): ask again until one is hedged. Whichever answer wins, it is the same.
            var batch = new SearchBatchRequest { Collection = "hedge", K = 10, Ef = 400 };
            batch.MinSequences.Add(written.Sequences);
            for (int q = 0; q < 200; q++) batch.Queries.Add(new BatchQuery { Vector = { points[q] } });
            var hedgeDeadline = DateTime.UtcNow.AddSeconds(60);
            for (int call = 0; call < 3 || (nodes[1].Router.Hedges == 0 && DateTime.UtcNow < hedgeDeadline); call++)
            {
                SearchBatchResponse response = await nodes[1].Vectors.SearchBatchAsync(batch, deadline: DateTime.UtcNow.AddSeconds(30));
                Assert.Equal(points.Length > 0 ? 200 : 0, response.Results.Count);
                Assert.All(Enumerable.Range(0, 200), q => Assert.Equal(q, response.Results[q].Hits[0].Id));
            }
            Assert.True(nodes[1].Router.Hedges >= 1, $"hedges: {nodes[1].Router.Hedges}");
            Assert.True(await nodes[1].MetricAsync("annserver_router_hedges_total") >= nodes[1].Router.Hedges - 0.5);
            Assert.NotNull(await nodes[1].MetricAsync("annserver_router_retries_total"));
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [Fact]
    public async Task ClusterStateShowsNodesAndEveryShardsReplicasAndAdminCallsChangeThem()
    {
        Node[] nodes = await StartNodesAsync(3);
        try
        {
            await nodes[0].Collections.CreateCollectionAsync(new CreateCollectionRequest
                { Name = "admin", Dimension = Dimension, Metric = Metric.Cosine, Shards = 2, Replicas = 1 });
            ClusterState state = await nodes[1].Cluster.GetClusterStateAsync(new GetClusterStateRequest());
            Assert.All(nodes, node => Assert.Equal(NodeRole.All, state.Nodes.Single(n => n.NodeId == node.NodeId).Role));
            ClusterCollection collection = state.Collections.Single(c => c.Info.Name == "admin");
            Assert.Equal(2, collection.Shards.Count);
            string holder = collection.Shards[0].Replicas.Single().NodeId;
            string other = nodes.Select(n => n.NodeId).First(id => id != holder);

            var assigned = await nodes[2].Cluster.AssignReplicaAsync(new AssignReplicaRequest { Collection = "admin", Shard = 0, NodeId = other });
            Assert.Equal([holder, other], assigned.Collection.Shards[0].Replicas.Select(r => r.NodeId));

            var twice = await Assert.ThrowsAsync<RpcException>(() =>
                nodes[2].Cluster.AssignReplicaAsync(new AssignReplicaRequest { Collection = "admin", Shard = 0, NodeId = other }).ResponseAsync);
            Assert.Equal(StatusCode.AlreadyExists, twice.StatusCode);
            var badShard = await Assert.ThrowsAsync<RpcException>(() =>
                nodes[2].Cluster.AssignReplicaAsync(new AssignReplicaRequest { Collection = "admin", Shard = 5, NodeId = other }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, badShard.StatusCode);
            Assert.Contains("shard 5 does not exist", badShard.Status.Detail);
            var unknownNode = await Assert.ThrowsAsync<RpcException>(() =>
                nodes[2].Cluster.AssignReplicaAsync(new AssignReplicaRequest { Collection = "admin", Shard = 0, NodeId = "nobody" }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, unknownNode.StatusCode);

            var removed = await nodes[2].Cluster.RemoveReplicaAsync(new RemoveReplicaRequest { Collection = "admin", Shard = 0, NodeId = holder });
            Assert.Equal([other], removed.Collection.Shards[0].Replicas.Select(r => r.NodeId));

            var tooMany = await Assert.ThrowsAsync<RpcException>(() => nodes[0].Collections.CreateCollectionAsync(new CreateCollectionRequest
                { Name = "toomany", Dimension = Dimension, Metric = Metric.L2, Shards = 1, Replicas = 9 }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, tooMany.StatusCode);
            Assert.Contains("replicas 9 needs 9 live nodes", tooMany.Status.Detail);

            var exists = await Assert.ThrowsAsync<RpcException>(() => nodes[1].Collections.CreateCollectionAsync(new CreateCollectionRequest
                { Name = "admin", Dimension = Dimension, Metric = Metric.L2 }).ResponseAsync);
            Assert.Equal(StatusCode.AlreadyExists, exists.StatusCode);

            await nodes[1].Collections.DropCollectionAsync(new DropCollectionRequest { Name = "admin" });
            var gone = await Assert.ThrowsAsync<RpcException>(() =>
                nodes[1].Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "admin" }).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, gone.StatusCode);

            // The same name again at once, with a different dimension: a new collection whose replicas start and serve.
            await nodes[2].Collections.CreateCollectionAsync(new CreateCollectionRequest
                { Name = "admin", Dimension = 3, Metric = Metric.L2, Shards = 2, Replicas = 2 });
            var upsert = new UpsertRequest { Collection = "admin", Points = { new Point { Id = 5, Vector = { 1f, 2f, 3f } } } };
            UpsertResponse written = await nodes[0].Vectors.UpsertAsync(upsert);
            var search = new SearchRequest { Collection = "admin", Query = { 1f, 2f, 3f }, K = 1, MinSequences = { written.Sequences } };
            Assert.Equal(5, (await nodes[1].Vectors.SearchAsync(search, deadline: DateTime.UtcNow.AddSeconds(20))).Hits.Single().Id);
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }
}
