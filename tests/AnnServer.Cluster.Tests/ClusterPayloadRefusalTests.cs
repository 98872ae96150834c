using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Payloads and filter expressions reach a single server's collections only so far (issue 18): a cluster collection
/// refuses each of them with FAILED_PRECONDITION, naming what is not there yet, rather than dropping a payload or
/// answering a filter as if it were not there; what it did before works as before.
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterPayloadRefusalTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 4;
    private LocalCluster Cluster => shared.Cluster;

    [Fact]
    public async Task EveryPayloadFeatureIsRefusedOnAClusterCollection()
    {
        await shared.BeginAsync(output);
        const string name = "payload_refused";
        await Cluster.CreateCollectionAsync(Cluster.Nodes[0], name, Dimension, shards: 2, replicas: 1);
        VectorService.VectorServiceClient vectors = Cluster.Nodes[0].Vectors;
        var point = new Point { Id = 1, Vector = { 1, 0, 0, 0 } };
        point.Payload["color"] = new PayloadValue { Keyword = "red" };
        var expression = new Filter { Must = { new Condition { Labels = new LabelsCondition { AnyOf = { 1 } } } } };
        var set = new SetPayloadRequest { Collection = name, Ids = { 1 } };
        set.Payload["color"] = new PayloadValue { Keyword = "red" };
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);

        Task[] refused =
        [
            vectors.UpsertAsync(new UpsertRequest { Collection = name, Points = { point } }, deadline: deadline).ResponseAsync,
            vectors.SearchAsync(new SearchRequest { Collection = name, Query = { 1, 0, 0, 0 }, K = 1, Filter = expression }, deadline: deadline).ResponseAsync,
            vectors.SearchAsync(new SearchRequest { Collection = name, Query = { 1, 0, 0, 0 }, K = 1, WithVector = true }, deadline: deadline).ResponseAsync,
            vectors.SetPayloadAsync(set, deadline: deadline).ResponseAsync,
            vectors.CountAsync(new CountRequest { Collection = name }, deadline: deadline).ResponseAsync,
            vectors.ScrollAsync(new ScrollRequest { Collection = name, Limit = 10 }, deadline: deadline).ResponseAsync,
        ];
        foreach (Task call in refused)
        {
            RpcException e = await Assert.ThrowsAsync<RpcException>(() => call);
            Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
            Assert.Contains("not yet on cluster collections", e.Status.Detail);
        }

        UpsertResponse written = await vectors.UpsertAsync(new UpsertRequest { Collection = name, Points = { new Point { Id = 1, Vector = { 1, 0, 0, 0 } } } },
            deadline: DateTime.UtcNow.AddSeconds(20));
        Assert.Equal(1u, written.Inserted);
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
    }
}
