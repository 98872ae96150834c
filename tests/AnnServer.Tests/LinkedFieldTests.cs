using AnnServer.Collections;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Tests;

/// <summary>
/// Linked keyword fields end to end (CreateCollectionRequest.linked_fields, LinkField): points scattered in clusters
/// carry their cluster as a keyword, and a filter asks for another cluster than the query's; the links are made by
/// writes, kept through restart, kill -9 replay, checkpoint and compaction; bad fields are refused naming them.
/// </summary>
public sealed class LinkedFieldTests(ITestOutputHelper output)
{
    private const int Dimension = 16;
    private const int Clusters = 10;
    private const int Points = 3_000;

    [Fact]
    public async Task AFilterOnAnotherClusterKeepsItsRecallOnACollectionCreatedWithALinkedField()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        var (data, clusters) = Clustered(Points, seed: 91);
        CreateCollectionResponse created = await server.Collections.CreateCollectionAsync(Create("c", linked: ["cluster"]));
        await UpsertAsync(server.Vectors, "c", data, clusters, 0, Points);

        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        Assert.Equal(["cluster"], created.Info.LinkedFields);
        Assert.Equal(["cluster"], info.LinkedFields);
        Assert.Equal(Points, LinkedPoints(server, "c"));

        var (queries, queryClusters) = Clustered(100, seed: 92);
        double recall = 0;
        for (int q = 0; q < 100; q++)
        {
            string wanted = $"c{(queryClusters[q] + 1 + q % (Clusters - 1)) % Clusters}";
            float[] query = queries.AsSpan(q * Dimension, Dimension).ToArray();
            SearchResponse found = await server.Vectors.SearchAsync(new SearchRequest
            {
                Collection = "c", Query = { query }, K = 10, Ef = 32,
                Filter = new Filter { Must = { new Condition { Field = new FieldCondition { Key = "cluster", Match = new Match { Keyword = wanted } } } } },
            });
            long[] exact = Enumerable.Range(0, Points).Where(i => $"c{clusters[i]}" == wanted)
                .OrderBy(i => Distance(query, data.AsSpan(i * Dimension, Dimension))).Take(10).Select(i => (long)i).ToArray();
            recall += found.Hits.Select(h => h.Id).Intersect(exact).Count() / 10.0;
        }
        recall /= 100;
        output.WriteLine($"another cluster over gRPC: recall@10 {recall:F4}");
        Assert.True(recall >= 0.95, $"recall@10 for another cluster was {recall:F4}");
    }

    [Fact]
    public async Task LinksSurviveACheckpointACompactionAndARestart()
    {
        using var dataDir = new TempFolder();
        string[] args = ["--compact-deleted-fraction", "0.3"];
        var (data, clusters) = Clustered(1_000, seed: 93);
        RunningServer server = await RunningServer.StartAsync(dataDir.Path, args: args);
        await using (server)
        {
            await server.Collections.CreateCollectionAsync(Create("c", linked: ["cluster"]));
            await UpsertAsync(server.Vectors, "c", data, clusters, 0, 1_000);
            await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { Enumerable.Range(0, 400).Select(i => (long)i) } });
            CheckpointResponse compacted = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" });
            using (CollectionLease lease = server.Registry.Acquire("c")) Assert.Equal(1, lease.Collection.Compactions);
            Assert.Equal(600ul, compacted.Info.NodeCount);
            Assert.Equal(["cluster"], compacted.Info.LinkedFields);
            Assert.Equal(600, LinkedPoints(server, "c"));
        }

        await using RunningServer restarted = await RunningServer.StartAsync(dataDir.Path, args: args);
        CollectionInfo after = await restarted.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        Assert.Equal(["cluster"], after.LinkedFields);
        Assert.Equal(600, LinkedPoints(restarted, "c"));
    }

    [Fact]
    public async Task PointsReplayedFromTheLogAfterAKillAreLinked()
    {
        using var dataDir = new TempFolder();
        var (data, clusters) = Clustered(1_000, seed: 94);
        await using (ChildServer child = await ChildServer.StartAsync(dataDir.Path))
        {
            await child.Collections.CreateCollectionAsync(Create("c", linked: ["cluster"]));
            await UpsertAsync(child.Vectors, "c", data, clusters, 0, 1_000);
            await child.KillAsync();
        }

        await using RunningServer restarted = await RunningServer.StartAsync(dataDir.Path);
        CollectionInfo info = await restarted.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        Assert.Equal(1_000ul, info.Count);
        Assert.Equal(["cluster"], info.LinkedFields);
        Assert.Equal(1_000, LinkedPoints(restarted, "c"));
    }

    [Fact]
    public async Task LinkFieldLinksTheFieldOfAnExistingCollectionDurably()
    {
        using var dataDir = new TempFolder();
        var (data, clusters) = Clustered(1_000, seed: 95);
        RunningServer server = await RunningServer.StartAsync(dataDir.Path);
        await using (server)
        {
            await server.Collections.CreateCollectionAsync(Create("c", linked: []));
            await UpsertAsync(server.Vectors, "c", data, clusters, 0, 1_000);
            LinkFieldResponse linked = await server.Collections.LinkFieldAsync(new LinkFieldRequest { Name = "c", Field = "cluster" });
            Assert.Equal(["cluster"], linked.Info.LinkedFields);
            Assert.Equal(0ul, linked.Info.WritesSinceSnapshot);
            Assert.Equal(1_000, LinkedPoints(server, "c"));
        }

        await using RunningServer restarted = await RunningServer.StartAsync(dataDir.Path);
        Assert.Equal(["cluster"], (await restarted.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" })).LinkedFields);
        Assert.Equal(1_000, LinkedPoints(restarted, "c"));
    }

    [Fact]
    public async Task FieldsThatCannotBeLinkedAreRefusedNamingThemAndNothingChanges()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await server.Collections.CreateCollectionAsync(Create("c", linked: ["cluster"]));
        await server.Vectors.UpsertAsync(new UpsertRequest
        {
            Collection = "c",
            Points = { new Point { Id = 1, Vector = { new float[Dimension] }, Payload = { ["price"] = new PayloadValue { Integer = 5 } } } },
        });

        var notKeyword = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Collections.LinkFieldAsync(new LinkFieldRequest { Name = "c", Field = "price" }));
        var unknown = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Collections.LinkFieldAsync(new LinkFieldRequest { Name = "c", Field = "colour" }));
        var tooMany = await Assert.ThrowsAsync<RpcException>(async () =>
            await server.Collections.CreateCollectionAsync(Create("d", linked: ["a", "b", "c", "d", "e"])));
        var wrongKind = await Assert.ThrowsAsync<RpcException>(async () => await server.Vectors.UpsertAsync(new UpsertRequest
        {
            Collection = "c",
            Points = { new Point { Id = 2, Vector = { new float[Dimension] }, Payload = { ["cluster"] = new PayloadValue { Integer = 3 } } } },
        }));

        Assert.Equal(StatusCode.InvalidArgument, notKeyword.StatusCode);
        Assert.Contains("'price'", notKeyword.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Contains("'colour'", unknown.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, tooMany.StatusCode);
        Assert.Contains("MaxLinkedFields (4)", tooMany.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, wrongKind.StatusCode);
        Assert.Contains("'cluster'", wrongKind.Status.Detail);
        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        Assert.Equal(["cluster"], info.LinkedFields);
        Assert.Equal(1ul, info.Count);
        Assert.DoesNotContain((await server.Collections.ListCollectionsAsync(new ListCollectionsRequest())).Collections, c => c.Name == "d");
    }

    private static CreateCollectionRequest Create(string name, string[] linked) => new()
    {
        Name = name, Dimension = Dimension, Metric = Metric.L2, M = 16, EfConstruction = 100, LinkedFields = { linked },
    };

    /// <summary>The live points with links in the collection's table for "cluster" (every point, when its value has others).</summary>
    private static int LinkedPoints(RunningServer server, string name)
    {
        using CollectionLease lease = server.Registry.Acquire(name);
        return lease.Collection.CurrentIndex.LinkedPointCount("cluster");
    }

    private static async Task UpsertAsync(VectorService.VectorServiceClient vectors, string collection, float[] data, int[] clusters, int from, int to)
    {
        for (int start = from; start < to; start += 500)
        {
            var request = new UpsertRequest { Collection = collection };
            for (int i = start; i < Math.Min(to, start + 500); i++)
                request.Points.Add(new Point
                {
                    Id = i, Vector = { data.AsSpan(i * Dimension, Dimension).ToArray() },
                    Payload = { ["cluster"] = new PayloadValue { Keyword = $"c{clusters[i]}" } },
                });
            await vectors.UpsertAsync(request);
        }
    }

    private static float Distance(float[] a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int d = 0; d < a.Length; d++) sum += (a[d] - b[d]) * (a[d] - b[d]);
        return sum;
    }

    /// <summary>Points around <see cref="Clusters"/> fixed centres, with the cluster each was drawn from.</summary>
    private static (float[] Data, int[] Clusters) Clustered(int count, int seed)
    {
        var centerRandom = new Random(5);
        var centers = new float[Clusters * Dimension];
        for (int i = 0; i < centers.Length; i++) centers[i] = (float)(centerRandom.NextDouble() * 2 - 1);
        var random = new Random(seed);
        var data = new float[count * Dimension];
        var clusters = new int[count];
        for (int row = 0; row < count; row++)
        {
            int center = clusters[row] = random.Next(Clusters);
            for (int d = 0; d < Dimension; d++)
            {
                double gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                data[row * Dimension + d] = centers[center * Dimension + d] + (float)(gaussian * 0.3);
            }
        }
        return (data, clusters);
    }
}
