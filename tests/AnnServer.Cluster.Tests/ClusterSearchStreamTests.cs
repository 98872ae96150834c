using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>SearchStream on a cluster collection through a router-only node: the stream's searches go through the same
/// seam as Search, so each answer equals the unary Search's, with read-your-writes through min_sequences.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterSearchStreamTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 8;

    [Fact]
    public async Task AStreamThroughARouterAnswersAsSearchDoes()
    {
        await shared.BeginAsync(output);
        LocalCluster cluster = shared.Cluster;
        const string name = "stream_router";
        var data = new ClusterData(300, Dimension, seed: 71);
        await cluster.CreateCollectionAsync(cluster.Nodes[0], name, Dimension, shards: 2, replicas: 1);
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(cluster.Nodes[0].Vectors, name, batch: 100);
        AnnServerNode router = await shared.RouterSeeingAsync(name);

        SearchRequest Query(int row) => new()
        {
            Collection = name, K = 5, Ef = 50, Query = { data.Row(row) }, MinSequences = { ClusterData.AsShardSequences(sequences) },
        };
        using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call =
            router.Vectors.SearchStream(deadline: DateTime.UtcNow.AddSeconds(30));
        for (int row = 0; row < 20; row++)
            await call.RequestStream.WriteAsync(new SearchStreamRequest { Tag = (ulong)row, Search = Query(row) });
        await call.RequestStream.CompleteAsync();
        var answers = new Dictionary<ulong, SearchStreamResponse>();
        await foreach (SearchStreamResponse answer in call.ResponseStream.ReadAllAsync())
            answers.Add(answer.Tag, answer);

        Assert.Equal(20, answers.Count);
        for (int row = 0; row < 20; row++)
        {
            SearchResponse unary = await router.Vectors.SearchAsync(Query(row), deadline: DateTime.UtcNow.AddSeconds(30));
            Assert.Equal(data.Ids[row], answers[(ulong)row].Result.Hits[0].Id);
            Assert.Equal(unary.Hits.Select(h => (h.Id, h.Distance)), answers[(ulong)row].Result.Hits.Select(h => (h.Id, h.Distance)));
        }
        await cluster.DropQuietlyAsync(name, output.WriteLine);
    }
}
