using AnnServer.Protocol.V1;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// A search's QuantizationParams on an int8 or int4 cluster collection: the router passes it to every shard, read in
/// process and over ShardService alike, so that a cluster search without the re-rank answers as one node's does: with
/// the codes' distances, the same for the same point. Those of int4 are int4's only when every replica built int4 codes.
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterQuantizedSearchTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 16, K = 10, Ef = 64;
    private LocalCluster Cluster => shared.Cluster;

    [Fact]
    public async Task WithoutRescoreTheRouterAnswersWithTheCodesDistancesAsOneNodeDoes()
    {
        await shared.BeginAsync(output);
        const string name = "quantized", local = "quantized_local";
        var data = new ClusterData(800, Dimension, seed: 191);
        AnnServerNode node = Cluster.Nodes[0];
        foreach ((string collection, uint shards) in new[] { (name, 2u), (local, 0u) })
        {
            await node.Collections.CreateCollectionAsync(new CreateCollectionRequest
            {
                Name = collection, Dimension = Dimension, Metric = Metric.L2, M = 12, EfConstruction = 100, Quantization = Quantization.Int8,
                Shards = shards, Replicas = shards == 0 ? 0u : 1u,
            }, deadline: Soon());
        }
        await Cluster.WaitUntilCaughtUpAsync(name, new Dictionary<uint, ulong>(), TimeSpan.FromSeconds(30));
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(node.Vectors, name);
        await data.UpsertAsync(node.Vectors, local);
        await Cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(60));
        // A node holding a replica (one shard in process, the other over ShardService) and a router-only node (both over it).
        AnnServerNode[] readers = [node, await shared.RouterSeeingAsync(name)];
        float[] queries = ClusterData.RandomVectors(10, Dimension, seed: 192);
        var codes = new QuantizationParams { Rescore = false };

        int hits = 0, onBoth = 0, differing = 0;
        foreach (AnnServerNode reader in readers)
        {
            for (int q = 0; q < 10; q++)
            {
                float[] query = queries.AsSpan(q * Dimension, Dimension).ToArray();
                SearchResponse rescored = await reader.Vectors.SearchAsync(Request(name, query, null), deadline: Soon());
                SearchResponse clustered = await reader.Vectors.SearchAsync(Request(name, query, codes), deadline: Soon());
                SearchResponse single = await node.Vectors.SearchAsync(Request(local, query, codes), deadline: Soon());

                Assert.All(rescored.Hits, hit => Assert.True(SameDistance(SquaredL2(data, query, hit.Id), hit.Distance)));
                CountCodeDistances(data, query, clustered, single, ref hits, ref onBoth, ref differing);
            }
        }
        output.WriteLine($"without the re-rank: {differing} of {hits} hits carry a distance other than the float32 one; {onBoth} also one node's");
        Assert.True(differing >= hits * 9 / 10, $"{differing} of {hits} hits through the router carry a distance other than the float32 one");
        Assert.True(onBoth >= hits * 8 / 10, $"{onBoth} of {hits} hits through the router are also one node's");
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
        await Cluster.DropQuietlyAsync(local, output.WriteLine);
    }

    [Fact]
    public async Task AnInt4ClusterCollectionServesTheCodesOneNodesInt4CollectionHasAndReportsInt4()
    {
        await shared.BeginAsync(output);
        const string name = "quantized4", local = "quantized4_local";
        var data = new ClusterData(800, Dimension, seed: 193);
        AnnServerNode node = Cluster.Nodes[0];
        foreach ((string collection, uint shards) in new[] { (name, 2u), (local, 0u) })
        {
            CreateCollectionResponse created = await node.Collections.CreateCollectionAsync(new CreateCollectionRequest
            {
                Name = collection, Dimension = Dimension, Metric = Metric.L2, M = 12, EfConstruction = 100, Quantization = Quantization.Int4,
                Shards = shards, Replicas = shards == 0 ? 0u : 2u,
            }, deadline: Soon());
            Assert.Equal(Quantization.Int4, created.Info.Quantization);
        }
        await Cluster.WaitUntilCaughtUpAsync(name, new Dictionary<uint, ulong>(), TimeSpan.FromSeconds(30));
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(node.Vectors, name);
        await data.UpsertAsync(node.Vectors, local);
        await Cluster.WaitUntilCaughtUpAsync(name, sequences, TimeSpan.FromSeconds(60));
        AnnServerNode router = await shared.RouterSeeingAsync(name);

        // Every node reports what the spec says, the router (which holds no replica) too.
        Assert.Equal(Quantization.Int4, (await router.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = name }, deadline: Soon())).Quantization);
        Assert.Equal(Quantization.Int4, (await router.Collections.ListCollectionsAsync(new ListCollectionsRequest(), deadline: Soon()))
            .Collections.Single(c => c.Name == name).Quantization);

        const int queryCount = 20;
        float[] queries = ClusterData.RandomVectors(queryCount, Dimension, seed: 194);
        var codes = new QuantizationParams { Rescore = false };
        var rescoredIds = new List<long[]>();
        int hits = 0, onBoth = 0, differing = 0;
        for (int q = 0; q < queryCount; q++)
        {
            float[] query = queries.AsSpan(q * Dimension, Dimension).ToArray();
            SearchResponse rescored = await router.Vectors.SearchAsync(Request(name, query, null), deadline: Soon());
            SearchResponse clustered = await router.Vectors.SearchAsync(Request(name, query, codes), deadline: Soon());
            SearchResponse single = await node.Vectors.SearchAsync(Request(local, query, codes), deadline: Soon());

            Assert.Empty(rescored.MissingShards);
            Assert.All(rescored.Hits, hit => Assert.True(SameDistance(SquaredL2(data, query, hit.Id), hit.Distance)));
            rescoredIds.Add(rescored.Hits.Select(h => h.Id).ToArray());
            CountCodeDistances(data, query, clustered, single, ref hits, ref onBoth, ref differing);
        }
        double recall = data.Recall(queries, K, rescoredIds);
        output.WriteLine($"int4 through the router: recall@{K} {recall:F3} re-ranked; without the re-rank {differing} of {hits} hits carry " +
            $"a distance other than the float32 one, {onBoth} also one node's");
        Assert.True(recall >= 0.9, $"recall@{K} {recall:F3} of the re-ranked int4 search through the router");
        Assert.True(differing >= hits * 9 / 10, $"{differing} of {hits} hits through the router carry a distance other than the float32 one");
        Assert.True(onBoth >= hits * 7 / 10, $"{onBoth} of {hits} hits through the router are also one node's");
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
        await Cluster.DropQuietlyAsync(local, output.WriteLine);
    }

    /// <summary>
    /// Counts, over the hits of a search without the re-rank through the cluster, those whose distance is not the
    /// float32 one and those a single node's collection of the same quantization also found; asserts that each of the
    /// latter carries that node's estimate to the bit (the same codes, the same estimate).
    /// </summary>
    private static void CountCodeDistances(ClusterData data, float[] query, SearchResponse clustered, SearchResponse single,
        ref int hits, ref int onBoth, ref int differing)
    {
        Assert.Equal(K, clustered.Hits.Count);
        Dictionary<long, float> onOneNode = single.Hits.ToDictionary(h => h.Id, h => h.Distance);
        foreach (Hit hit in clustered.Hits)
        {
            hits++;
            if (!SameDistance(SquaredL2(data, query, hit.Id), hit.Distance)) differing++;
            if (onOneNode.TryGetValue(hit.Id, out float distance))
            {
                onBoth++;
                Assert.Equal(distance, hit.Distance);
            }
        }
    }

    private static SearchRequest Request(string collection, float[] query, QuantizationParams? quantization) =>
        new() { Collection = collection, Query = { query }, K = K, Ef = Ef, Quantization = quantization };

    private static float SquaredL2(ClusterData data, float[] query, long id)
    {
        float[] point = data.Row(Array.IndexOf(data.Ids, id));
        float sum = 0;
        for (int d = 0; d < Dimension; d++) sum += (query[d] - point[d]) * (query[d] - point[d]);
        return sum;
    }

    /// <summary>Equal up to the order of a float32 sum (the server's kernel adds in blocks).</summary>
    private static bool SameDistance(float expected, float actual) => Math.Abs(expected - actual) <= 1e-5f * Math.Max(1f, expected);

    private static DateTime Soon() => DateTime.UtcNow.AddSeconds(30);
}
