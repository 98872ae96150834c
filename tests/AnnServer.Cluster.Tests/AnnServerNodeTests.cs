using AnnServer.Protocol.V1;

namespace AnnServer.Cluster.Tests;

/// <summary>The AnnServerNode fixture on its own (no cluster mode): a SIGKILLed node restarts on the same address and data.</summary>
public sealed class AnnServerNodeTests
{
    [Fact]
    public async Task ARestartedNodeKeepsItsAddressAndItsData()
    {
        await using var node = new AnnServerNode("solo", natsUrls: null);
        await node.StartAsync();
        await node.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "solo", Dimension = 4, Metric = Metric.L2 });
        var upsert = new UpsertRequest { Collection = "solo" };
        upsert.Points.Add(new Point { Id = 7, Vector = { 1, 2, 3, 4 } });
        await node.Vectors.UpsertAsync(upsert);

        await node.KillAsync();
        Assert.False(node.IsRunning);
        await node.RestartAsync();

        GetResponse got = await node.Vectors.GetAsync(new GetRequest { Collection = "solo", Ids = { 7 } });
        Assert.Equal([1f, 2f, 3f, 4f], Assert.Single(got.Points).Vector);
    }
}
