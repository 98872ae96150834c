using System.Diagnostics;
using AnnServer.Core.Sharding;
using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Searches through the router on a healthy three-node cluster (2 shards × 2 replicas): recall equal to one node's on the
/// same data, every point in exactly its hash's shard, read-your-writes with min_sequences.
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterSearchTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 16;
    private LocalCluster Cluster => shared.Cluster;

    [Fact]
    public async Task ShardedRecallEqualsOneNodesAndEveryPointLivesInExactlyItsHashsShard()
    {
        await shared.BeginAsync(output);
        const string name = "recall", local = "recall_local";
        const int count = 4000, queries = 200, k = 10, ef = 64, lowEf = 16;
        var phases = new PhaseLog(output);
        var data = new ClusterData(count, Dimension, seed: 1);
        AnnServerNode router = Cluster.Nodes[0];
        await Cluster.CreateCollectionAsync(router, name, Dimension, shards: 2, replicas: 2);
        await router.Collections.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = local, Dimension = Dimension, Metric = Metric.L2, M = 12, EfConstruction = 100,
        });

        phases.Mark("collections created");
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(router.Vectors, name);
        phases.Mark($"{count} points upserted to the cluster collection");
        await data.UpsertAsync(router.Vectors, local);
        Assert.Equal([0u, 1u], sequences.Keys.Order());
        await Cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(60));
        phases.Mark("replicas caught up");

        // Placement: 2 shards, 2 replicas each on distinct nodes, every replica holding exactly its hash's points.
        IReadOnlyList<string[]> replicas = await Cluster.ReplicasAsync(name);
        Assert.Equal(2, replicas.Count);
        var problems = new List<string>();
        for (int shard = 0; shard < 2; shard++)
        {
            Assert.Equal(2, replicas[shard].Distinct().Count());
            int[] mine = data.RowsOfShard(shard, 2);
            int[] others = data.RowsOfShard(1 - shard, 2);
            foreach (string nodeId in replicas[shard])
            {
                AnnServerNode node = Cluster.Node(nodeId);
                HashSet<int> held = await data.HeldRowsAsync(node, name, (uint)shard, mine, sequences[(uint)shard]);
                HashSet<int> strays = await data.HeldRowsAsync(node, name, (uint)shard, others);
                if (held.Count != mine.Length) problems.Add($"shard {shard} on {nodeId} lacks {mine.Length - held.Count} of its {mine.Length} points");
                if (strays.Count != 0) problems.Add($"shard {shard} on {nodeId} holds {strays.Count} points of shard {1 - shard}");
            }
        }
        Assert.True(problems.Count == 0, string.Join('\n', problems));
        phases.Mark("placement checked");
        output.WriteLine($"shard sizes {data.RowsOfShard(0, 2).Length} / {data.RowsOfShard(1, 2).Length}; replicas {string.Join(" | ", replicas.Select(r => string.Join(",", r)))}");

        // Recall through the router (Search and SearchBatch) against exact search, and the same on one node.
        float[] queryVectors = ClusterData.RandomVectors(queries, Dimension, seed: 2);
        var viaSearch = new List<long[]>();
        var routed = new List<double>();
        var direct = new List<double>();
        for (int q = 0; q < queries; q++)
        {
            var request = new SearchRequest { Collection = name, Query = { queryVectors.AsSpan(q * Dimension, Dimension).ToArray() }, K = k, Ef = ef };
            long started = Stopwatch.GetTimestamp();
            SearchResponse response = await router.Vectors.SearchAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
            routed.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Assert.Empty(response.MissingShards);
            Assert.True(IsSorted(response.Hits), "hits must come nearest first");
            viaSearch.Add(response.Hits.Select(h => h.Id).ToArray());

            // The same query on the single-node copy, interleaved so both see the same machine load.
            request.Collection = local;
            started = Stopwatch.GetTimestamp();
            await router.Vectors.SearchAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
            direct.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        routed.Sort();
        direct.Sort();
        output.WriteLine($"Search latency, 1 caller, {queries} queries: through the router p50 {routed[queries / 2]:F2} ms p99 {routed[queries * 99 / 100]:F2} ms; " +
            $"one node directly p50 {direct[queries / 2]:F2} ms p99 {direct[queries * 99 / 100]:F2} ms");
        List<long[]> viaBatch = await SearchBatchAsync(Cluster.Nodes[1], name, queryVectors, k, ef);
        List<long[]> single = await SearchBatchAsync(router, local, queryVectors, k, ef);

        double clusterRecall = data.Recall(queryVectors, k, viaSearch);
        double batchRecall = data.Recall(queryVectors, k, viaBatch);
        double singleRecall = data.Recall(queryVectors, k, single);
        output.WriteLine($"recall@{k} ef {ef}: cluster Search {clusterRecall:F4}, cluster SearchBatch (other router) {batchRecall:F4}, one node {singleRecall:F4}");
        Assert.InRange(clusterRecall, singleRecall - 0.01, singleRecall + 0.01);
        Assert.InRange(batchRecall, singleRecall - 0.01, singleRecall + 0.01);

        // At a small ef each shard, searching half the points with the same ef, does better than one node over all
        // of them (measured here: ef 16 0.968 against 0.924, ef 24 0.991 against 0.965, ef 40 0.9995 against 0.9925),
        // so "equal within 0.01" is checked at the default ef (64) and, below it, that the cluster loses nothing.
        double lowCluster = data.Recall(queryVectors, k, await SearchBatchAsync(Cluster.Nodes[2], name, queryVectors, k, lowEf));
        double lowSingle = data.Recall(queryVectors, k, await SearchBatchAsync(router, local, queryVectors, k, lowEf));
        output.WriteLine($"recall@{k} ef {lowEf}: cluster {lowCluster:F4}, one node {lowSingle:F4}");
        Assert.True(lowCluster >= lowSingle - 0.01, $"at ef {lowEf} the cluster's recall {lowCluster:F4} is below one node's {lowSingle:F4}");
        phases.Mark("recall measured");
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
        await Cluster.DropQuietlyAsync(local, output.WriteLine);
    }

    [Fact]
    public async Task ASearchPassingTheUpsertsSequencesAlwaysFindsTheNewPoint()
    {
        await shared.BeginAsync(output);
        const string name = "ryw";
        const int rounds = 60;
        var data = new ClusterData(300, Dimension, seed: 3);
        await Cluster.CreateCollectionAsync(Cluster.Nodes[0], name, Dimension, shards: 2, replicas: 2);
        await data.UpsertAsync(Cluster.Nodes[0].Vectors, name, batch: 100);
        IReadOnlyList<string[]> replicas = await Cluster.ReplicasAsync(name);

        var fresh = new ClusterData(rounds, Dimension, seed: 4, firstRow: 1_000_000);
        var failures = new List<string>();
        var latency = new List<double>();
        for (int i = 0; i < rounds; i++)
        {
            // Written through one node, read at once through another, and on every replica of the point's shard.
            AnnServerNode writer = Cluster.Nodes[i % 3], reader = Cluster.Nodes[(i + 1) % 3];
            UpsertResponse written = await writer.Vectors.UpsertAsync(new UpsertRequest { Collection = name, Points = { fresh.Point(i) } },
                deadline: DateTime.UtcNow.AddSeconds(10));
            uint shard = (uint)ShardHash.ShardOf(fresh.Ids[i], 2);
            ShardSequence sequence = Assert.Single(written.Sequences);
            Assert.Equal(shard, sequence.Shard);

            var started = Stopwatch.StartNew();
            var search = new SearchRequest { Collection = name, Query = { fresh.Row(i) }, K = 1, MinSequences = { written.Sequences } };
            SearchResponse found = await reader.Vectors.SearchAsync(search, deadline: DateTime.UtcNow.AddSeconds(10));
            latency.Add(started.Elapsed.TotalMilliseconds);
            if (found.Hits.Count != 1 || found.Hits[0].Id != fresh.Ids[i])
                failures.Add($"round {i}: search via {reader.NodeId} after upsert via {writer.NodeId} (shard {shard} sequence {sequence.Sequence}) returned [{string.Join(", ", found.Hits.Select(h => h.Id))}]");

            foreach (string nodeId in replicas[(int)shard])
            {
                HashSet<int> held = await fresh.HeldRowsAsync(Cluster.Node(nodeId), name, shard, [i], sequence.Sequence);
                if (held.Count != 1) failures.Add($"round {i}: replica of shard {shard} on {nodeId} lacks the point after waiting for sequence {sequence.Sequence}");
            }
        }
        latency.Sort();
        output.WriteLine($"read-your-writes search latency over {rounds} rounds: p50 {latency[rounds / 2]:F2} ms, max {latency[^1]:F2} ms");
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
    }

    [Fact]
    public async Task AReplicaWaitsForAnUnreachedSequenceOnlyUntilTheDeadline()
    {
        await shared.BeginAsync(output);
        const string name = "ryw_deadline";
        await Cluster.CreateCollectionAsync(Cluster.Nodes[0], name, Dimension, shards: 2, replicas: 2);
        IReadOnlyList<string[]> replicas = await Cluster.ReplicasAsync(name);
        AnnServerNode replica = Cluster.Node(replicas[0][0]);
        var request = new ShardSearchRequest
        {
            Collection = name, Shard = 0, K = 1, MinSequence = 1_000_000, Queries = { new BatchQuery { Vector = { new float[Dimension] } } },
        };
        var started = Stopwatch.StartNew();
        StatusCode status = await ClusterData.StatusOfAsync(() => replica.Shards.SearchShardAsync(request, deadline: DateTime.UtcNow.AddMilliseconds(500)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, status);
        Assert.InRange(started.Elapsed.TotalSeconds, 0.3, 5);
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
    }

    private static async Task<List<long[]>> SearchBatchAsync(AnnServerNode node, string collection, float[] queries, int k, int ef)
    {
        var request = new SearchBatchRequest { Collection = collection, K = k, Ef = ef };
        for (int q = 0; q < queries.Length / Dimension; q++)
            request.Queries.Add(new BatchQuery { Vector = { queries.AsSpan(q * Dimension, Dimension).ToArray() } });
        SearchBatchResponse response = await node.Vectors.SearchBatchAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Empty(response.MissingShards);
        return response.Results.Select(r => r.Hits.Select(h => h.Id).ToArray()).ToList();
    }

    private static bool IsSorted(IReadOnlyList<Hit> hits)
    {
        for (int i = 1; i < hits.Count; i++)
            if (hits[i].Distance < hits[i - 1].Distance || (hits[i].Distance == hits[i - 1].Distance && hits[i].Id < hits[i - 1].Id)) return false;
        return true;
    }
}
