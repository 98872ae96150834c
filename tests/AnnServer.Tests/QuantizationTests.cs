using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>CreateCollection's quantization option: int8 or int4 codes for the graph search, float32 kept for Get and re-ranking.</summary>
public sealed class QuantizationTests
{
    [Theory]
    [InlineData(Quantization.Int8)]
    [InlineData(Quantization.Int4)]
    public async Task AQuantizedCollectionFindsItsPointsKeepsFloat32AndStaysQuantizedAfterARestart(Quantization quantization)
    {
        using var dataDir = new TempFolder();
        float[] vectors = TestData.RandomVectors(300, 16, seed: 21);
        var upsert = new UpsertRequest { Collection = "q" };
        for (int i = 0; i < 300; i++) upsert.Points.Add(TestData.Point(i, TestData.Row(vectors, 16, i)));
        await using (RunningServer server = await RunningServer.StartAsync(dataDir.Path))
        {
            CreateCollectionResponse created = await server.Collections.CreateCollectionAsync(
                new CreateCollectionRequest { Name = "q", Dimension = 16, Metric = Metric.L2, Quantization = quantization });
            await server.Vectors.UpsertAsync(upsert);
            SearchResponse nearest = await server.Vectors.SearchAsync(TestData.Search("q", TestData.Row(vectors, 16, 42), k: 1, ef: 64));

            Assert.Equal(quantization, created.Info.Quantization);
            Assert.Equal(42, nearest.Hits[0].Id);
            Assert.Equal(0f, nearest.Hits[0].Distance); // re-ranked with float32: the exact distance
        }

        await using RunningServer restarted = await RunningServer.StartAsync(dataDir.Path);
        CollectionInfo info = await restarted.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "q" });
        GetResponse read = await restarted.Vectors.GetAsync(new GetRequest { Collection = "q", Ids = { 7 } });

        Assert.Equal(quantization, info.Quantization);
        Assert.Equal(300ul, info.Count);
        Assert.Equal(TestData.Row(vectors, 16, 7), read.Points[0].Vector); // float32 kept exactly
    }

    [Fact]
    public async Task UnsetQuantizationMeansNone()
    {
        await using RunningServer server = await RunningServer.StartAsync();

        CreateCollectionResponse created = await server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "plain", Dimension = 4, Metric = Metric.Cosine });

        Assert.Equal(Quantization.None, created.Info.Quantization);
    }

    [Fact]
    public async Task AnUnknownQuantizationIsRejectedByName()
    {
        await using RunningServer server = await RunningServer.StartAsync();

        var e = await Assert.ThrowsAsync<RpcException>(async () => await server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "x", Dimension = 4, Metric = Metric.L2, Quantization = (Quantization)9 }));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("quantization 9", e.Status.Detail);
    }
}
