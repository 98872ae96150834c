using AnnServer.Core.Recommend;
using AnnServer.Protocol.V1;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Recommend and group_by on a 2-shard cluster collection, through a node holding replicas and a router-only node
/// (every read over ShardService): the example ids' vectors are read from their shards, the search fans out with them,
/// and the merged answer is the one a single server holding every point gives (ef above a shard's size: exact).
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterRecommendTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 8;
    private const int Points = 160;
    private LocalCluster Cluster => shared.Cluster;

    private static DateTime Soon() => DateTime.UtcNow.AddSeconds(30);

    private static float L2(float[] a, float[] b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (a[i] - b[i]) * (a[i] - b[i]);
        return sum;
    }

    private async Task<(ClusterData Data, AnnServerNode[] Readers, Dictionary<uint, ulong> Sequences)> CreateAsync(string name)
    {
        await shared.BeginAsync(output);
        var data = new ClusterData(Points, Dimension, seed: 231);
        await Cluster.CreateCollectionAsync(Cluster.Nodes[0], name, Dimension, shards: 2, replicas: 1);
        var upsert = new UpsertRequest { Collection = name };
        for (int row = 0; row < Points; row++)
        {
            Point point = data.Point(row);
            point.Payload["category"] = new PayloadValue { Keyword = $"c{row % 4}" };
            upsert.Points.Add(point);
        }
        var sequences = new Dictionary<uint, ulong>();
        ClusterData.Merge(sequences, (await Cluster.Nodes[0].Vectors.UpsertAsync(upsert, deadline: Soon())).Sequences);
        AnnServerNode router = await shared.RouterSeeingAsync(name);
        return (data, [Cluster.Nodes[1], router], sequences);
    }

    [Fact]
    public async Task RecommendReadsTheExamplesFromTheirShardsAndMergesAsOneServerWould()
    {
        const string name = "recommend_reads";
        var (data, readers, sequences) = await CreateAsync(name);
        int[] positiveRows = [3, 50], negativeRows = [99];
        long[] exampleIds = [.. positiveRows.Concat(negativeRows).Select(r => data.Ids[r])];
        float[][] positives = [.. positiveRows.Select(data.Row)];
        float[] negative = data.Row(99);
        float[] average = [.. Enumerable.Range(0, Dimension).Select(d => positives[0][d] + positives[1][d] - negative[d])];
        long[] Expected(Func<float[], float> score) => [.. Enumerable.Range(0, Points).Where(r => !exampleIds.Contains(data.Ids[r]))
            .OrderBy(r => score(data.Row(r))).ThenBy(r => data.Ids[r]).Take(10).Select(r => data.Ids[r])];
        var expected = new Dictionary<RecommendStrategy, long[]>
        {
            [RecommendStrategy.AverageVector] = Expected(v => L2(v, average)),
            [RecommendStrategy.BestScore] = Expected(v => BestScore.Combine(positives.Min(p => L2(v, p)), L2(v, negative))),
        };

        foreach (AnnServerNode reader in readers)
        {
            foreach (var (strategy, ids) in expected)
            {
                RecommendResponse answer = await reader.Vectors.RecommendAsync(new RecommendRequest
                {
                    Collection = name, PositiveIds = { data.Ids[3], data.Ids[50], 424_242 }, NegativeIds = { data.Ids[99] },
                    Strategy = strategy, K = 10, Ef = 200, MinSequences = { ClusterData.AsShardSequences(sequences) },
                    WithPayload = new PayloadSelector { All = true },
                }, deadline: Soon());
                Assert.Equal(ids, answer.Hits.Select(h => h.Id));
                Assert.Equal([424_242L], answer.MissingIds);
                Assert.All(answer.Hits, h => Assert.Equal($"c{Array.IndexOf(data.Ids, h.Id) % 4}", h.Payload.Fields["category"].Keyword));
            }
        }
        await Cluster.Nodes[0].Collections.DropCollectionAsync(new DropCollectionRequest { Name = name }, deadline: Soon());
    }

    [Fact]
    public async Task GroupsFromEveryShardAreMergedByKey()
    {
        const string name = "grouped_reads";
        var (data, readers, sequences) = await CreateAsync(name);
        float[] query = data.Row(7);
        // Four categories and four groups: every shard returns every key, so the merge is exact.
        var expected = Enumerable.Range(0, Points).OrderBy(r => L2(data.Row(r), query)).ThenBy(r => data.Ids[r])
            .GroupBy(r => $"c{r % 4}").Select(g => (Key: g.Key, Ids: g.Take(3).Select(r => data.Ids[r]).ToArray()))
            .OrderBy(g => L2(data.Row(Array.IndexOf(data.Ids, g.Ids[0])), query)).ToList();

        foreach (AnnServerNode reader in readers)
        {
            SearchResponse answer = await reader.Vectors.SearchAsync(new SearchRequest
            {
                Collection = name, Query = { query }, K = 1, Ef = 200, MinSequences = { ClusterData.AsShardSequences(sequences) },
                GroupBy = new GroupBy { Field = "category", GroupSize = 3, Groups = 4 }, WithVector = true,
            }, deadline: Soon());
            Assert.Equal(expected.Select(g => g.Key), answer.Groups.Select(g => g.Key.Keyword));
            Assert.Equal(expected.Select(g => g.Ids), answer.Groups.Select(g => g.Hits.Select(h => h.Id).ToArray()));
            Assert.All(answer.Groups.SelectMany(g => g.Hits), h => Assert.Equal(data.Row(Array.IndexOf(data.Ids, h.Id)), h.Vector.Values));

            RecommendResponse recommended = await reader.Vectors.RecommendAsync(new RecommendRequest
            {
                Collection = name, PositiveIds = { data.Ids[7] }, Strategy = RecommendStrategy.BestScore, K = 1, Ef = 200,
                MinSequences = { ClusterData.AsShardSequences(sequences) },
                GroupBy = new GroupBy { Field = "category", GroupSize = 2, Groups = 4 },
            }, deadline: Soon());
            Assert.Equal(4, recommended.Groups.Count);
            Assert.All(recommended.Groups, g => Assert.Equal(2, g.Hits.Count));
            Assert.DoesNotContain(recommended.Groups.SelectMany(g => g.Hits), h => h.Id == data.Ids[7]);
        }
        await Cluster.Nodes[0].Collections.DropCollectionAsync(new DropCollectionRequest { Name = name }, deadline: Soon());
    }
}
