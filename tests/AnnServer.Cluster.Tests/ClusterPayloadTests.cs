using AnnServer.Cluster.Replication;
using AnnServer.Protocol.V1;
using Grpc.Core;
using NATS.Net;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Payloads and filters on a 2-shard cluster collection, end to end over the public API: points upserted with payloads
/// come back from filtered searches, Get, Count and Scroll exactly as a single server holding them all would answer,
/// through a node holding replicas (read in process) and through a router-only node (every read over ShardService);
/// payload updates reach the replicas; a write giving a field another kind than the cluster has fixed is refused with
/// nothing published.
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterPayloadTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 8;
    private const int Shards = 2;
    private LocalCluster Cluster => shared.Cluster;

    [Fact]
    public async Task PayloadsAreSearchedFilteredCountedScrolledAndUpdatedAcrossShardsAsOneServerWould()
    {
        await shared.BeginAsync(output);
        const string name = "payload_reads";
        var data = new ClusterData(240, Dimension, seed: 181);
        await Cluster.CreateCollectionAsync(Cluster.Nodes[0], name, Dimension, shards: Shards, replicas: 2);
        var sequences = new Dictionary<uint, ulong>();
        for (int start = 0; start < data.Count; start += 80)
        {
            var upsert = new UpsertRequest { Collection = name };
            for (int row = start; row < start + 80; row++) upsert.Points.Add(WithPayload(data, row));
            ClusterData.Merge(sequences, (await Cluster.Nodes[0].Vectors.UpsertAsync(upsert, deadline: Soon())).Sequences);
        }
        Assert.Equal(Shards, sequences.Count);
        AnnServerNode router = await shared.RouterSeeingAsync(name);
        AnnServerNode[] readers = [Cluster.Nodes[1], router];

        // Filtered search with payloads and vectors: the exact filtered top-10 (the filter leaves few points: a scan).
        float[] query = data.Row(5);
        Filter filter = new()
        {
            Must = { KeywordIs("category", "c1"), new Condition { Field = new FieldCondition { Key = "price", Range = new NumericRange { Lt = 60 } } } },
            MustNot = { new Condition { Field = new FieldCondition { Key = "even", Match = new Match { Boolean = true } } } },
        };
        long[] expected = [.. Rows(data, row => Category(row) == "c1" && row < 60 && row % 2 == 1)
            .OrderBy(row => L2(data.Row(row), query)).Take(10).Select(row => data.Ids[row])];
        foreach (AnnServerNode reader in readers)
        {
            SearchResponse found = await reader.Vectors.SearchAsync(new SearchRequest
            {
                Collection = name, Query = { query }, K = 10, Ef = 64, Filter = filter, MinSequences = { ClusterData.AsShardSequences(sequences) },
                WithPayload = new PayloadSelector { All = true }, WithVector = true,
            }, deadline: Soon());
            Assert.Equal(expected, found.Hits.Select(h => h.Id));
            foreach (Hit hit in found.Hits)
            {
                int row = RowOf(data, hit.Id);
                Assert.Equal(WithPayload(data, row).Payload, hit.Payload.Fields);
                Assert.Equal(data.Row(row), hit.Vector.Values);
            }

            // A threshold at the third hit's distance keeps three; a field list keeps those fields.
            SearchResponse within = await reader.Vectors.SearchAsync(new SearchRequest
            {
                Collection = name, Query = { query }, K = 10, Ef = 64, Filter = filter, ScoreThreshold = found.Hits[2].Distance,
                WithPayload = new PayloadSelector { Fields = new FieldNames { Names = { "price" } } },
            }, deadline: Soon());
            Assert.Equal(expected[..3], within.Hits.Select(h => h.Id));
            Assert.All(within.Hits, hit => Assert.Equal(new[] { "price" }, hit.Payload.Fields.Keys));
            Assert.All(within.Hits, hit => Assert.Null(hit.Vector));
        }
        output.WriteLine($"filtered search: {expected.Length} hits through a replica node and a router-only node");

        // A batch: each query's hits carry their own points' data (query q's hits are slots q·k .. q·k + k - 1).
        foreach (AnnServerNode reader in readers)
        {
            SearchBatchResponse batch = await reader.Vectors.SearchBatchAsync(new SearchBatchRequest
            {
                Collection = name, K = 4, Ef = 64, Queries = { new BatchQuery { Vector = { data.Row(7) } }, new BatchQuery { Vector = { data.Row(8) } } },
                WithPayload = new PayloadSelector { Fields = new FieldNames { Names = { "price" } } },
            }, deadline: Soon());
            Assert.Equal([data.Ids[7], data.Ids[8]], batch.Results.Select(r => r.Hits[0].Id));
            Assert.All(batch.Results.SelectMany(r => r.Hits), hit => Assert.Equal(RowOf(data, hit.Id), hit.Payload.Fields["price"].Integer));
        }

        // Count: the shards' counts summed, each point once.
        foreach (AnnServerNode reader in readers)
        {
            Assert.Equal((ulong)data.Count, (await reader.Vectors.CountAsync(new CountRequest { Collection = name }, deadline: Soon())).Count);
            CountResponse counted = await reader.Vectors.CountAsync(new CountRequest { Collection = name, Filter = filter }, deadline: Soon());
            Assert.Equal((ulong)Rows(data, row => Category(row) == "c1" && row < 60 && row % 2 == 1).Count(), counted.Count);
        }

        // Scroll: pages of 7 through the whole collection, ascending by id, each id once; then a filtered scroll.
        foreach (AnnServerNode reader in readers)
        {
            Assert.Equal(data.Ids.Order(), await ScrollAllAsync(reader, name, null, limit: 7));
            Assert.Equal(Rows(data, row => Category(row) == "c2").Select(row => data.Ids[row]).Order(),
                await ScrollAllAsync(reader, name, new Filter { Must = { KeywordIs("category", "c2") } }, limit: 5));
        }
        output.WriteLine("Count and Scroll agree with the data through both nodes");

        // Payload updates: merge a field, delete one, clear all; each read passes the write's sequences back.
        long[] some = [data.Ids[3], data.Ids[4], data.Ids[200]];
        PayloadWriteResponse set = await Cluster.Nodes[2].Vectors.SetPayloadAsync(new SetPayloadRequest
        {
            Collection = name, Ids = { some }, Payload = { ["tag"] = new PayloadValue { Keyword = "seen" } },
        }, deadline: Soon());
        Assert.Equal(3u, set.Updated);
        CountResponse tagged = await router.Vectors.CountAsync(new CountRequest
        {
            Collection = name, Filter = new Filter { Must = { KeywordIs("tag", "seen") } }, MinSequences = { set.Sequences },
        }, deadline: Soon());
        Assert.Equal(3UL, tagged.Count);
        PayloadWriteResponse deleted = await Cluster.Nodes[0].Vectors.DeletePayloadAsync(new DeletePayloadRequest
        {
            Collection = name, Ids = { some[0] }, Fields = { "price", "tag" },
        }, deadline: Soon());
        PayloadWriteResponse cleared = await Cluster.Nodes[0].Vectors.ClearPayloadAsync(new ClearPayloadRequest { Collection = name, Ids = { some[1] } },
            deadline: Soon());
        GetResponse got = await router.Vectors.GetAsync(new GetRequest
        {
            Collection = name, Ids = { some }, MinSequences = { deleted.Sequences, cleared.Sequences }, WithVector = false,
        }, deadline: Soon());
        Assert.Equal(some, got.Points.Select(p => p.Id));
        Assert.Equal(new Point { Payload = { ["category"] = Keyword("c3"), ["even"] = new PayloadValue { Boolean = false } } }.Payload, got.Points[0].Payload);
        Assert.Empty(got.Points[1].Payload);
        Assert.Equal("seen", got.Points[2].Payload["tag"].Keyword);
        Assert.Equal(200, got.Points[2].Payload["price"].Integer);
        Assert.All(got.Points, p => Assert.Empty(p.Vector));

        await MeasureHitDataAsync(router, name, query, rounds: 50); // a printed figure: 300 searches, not 600
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
    }

    [Fact]
    public async Task AWriteGivingAFieldAnotherKindIsRefusedOnEveryNodeWithNothingPublishedUntilTheCollectionIsDropped()
    {
        await shared.BeginAsync(output);
        const string name = "payload_kinds";
        var data = new ClusterData(20, Dimension, seed: 182);
        await Cluster.CreateCollectionAsync(Cluster.Nodes[0], name, Dimension, shards: Shards, replicas: 1);
        var first = new UpsertRequest { Collection = name };
        for (int row = 0; row < 10; row++) first.Points.Add(WithPayload(data, row));
        await Cluster.Nodes[0].Vectors.UpsertAsync(first, deadline: Soon());
        ulong[] before = await LastSequencesAsync(name);

        // Another node, which has not written the field yet, learns its kind from the cluster state.
        var wrong = new UpsertRequest { Collection = name, Points = { data.Point(10), data.Point(11) } };
        wrong.Points[0].Payload["price"] = new PayloadValue { Integer = 7 };
        wrong.Points[1].Payload["price"] = Keyword("cheap");
        RpcException refused = await Assert.ThrowsAsync<RpcException>(() => Cluster.Nodes[1].Vectors.UpsertAsync(wrong, deadline: Soon()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Contains("points[1]", refused.Status.Detail);
        Assert.Contains("'price'", refused.Status.Detail);
        Assert.Contains("Int64", refused.Status.Detail);
        Assert.Contains("Keyword", refused.Status.Detail);
        output.WriteLine(refused.Status.Detail);

        RpcException refusedSet = await Assert.ThrowsAsync<RpcException>(() => Cluster.Nodes[2].Vectors.SetPayloadAsync(new SetPayloadRequest
        {
            Collection = name, Ids = { data.Ids[0] }, Payload = { ["even"] = new PayloadValue { Integer = 1 } },
        }, deadline: Soon()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refusedSet.StatusCode);
        Assert.Contains("'even'", refusedSet.Status.Detail);

        // Two values of a new field with two kinds in one request: refused too, and the field stays free.
        var split = new UpsertRequest { Collection = name, Points = { data.Point(12), data.Point(13) } };
        split.Points[0].Payload["size"] = Keyword("xl");
        split.Points[1].Payload["size"] = new PayloadValue { DoubleValue = 1.5 };
        RpcException refusedSplit = await Assert.ThrowsAsync<RpcException>(() => Cluster.Nodes[0].Vectors.UpsertAsync(split, deadline: Soon()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refusedSplit.StatusCode);
        Assert.Equal(before, await LastSequencesAsync(name));

        split.Points[1].Payload["size"] = Keyword("s");
        UpsertResponse accepted = await Cluster.Nodes[2].Vectors.UpsertAsync(split, deadline: Soon());
        CountResponse sized = await Cluster.Nodes[0].Vectors.CountAsync(new CountRequest
        {
            Collection = name, Filter = new Filter { Must = { KeywordIs("size", "xl", "s") } }, MinSequences = { accepted.Sequences },
        }, deadline: Soon());
        Assert.Equal(2UL, sized.Count);

        // A collection created again under the name starts with no kinds: the dropped one's do not carry over.
        await Cluster.Nodes[0].Collections.DropCollectionAsync(new DropCollectionRequest { Name = name }, deadline: Soon());
        await Cluster.CreateCollectionAsync(Cluster.Nodes[0], name, Dimension, shards: Shards, replicas: 1);
        var again = new UpsertRequest { Collection = name, Points = { data.Point(0) } };
        again.Points[0].Payload["price"] = Keyword("cheap");
        await Cluster.Nodes[1].Vectors.UpsertAsync(again, deadline: Soon());
        await Cluster.DropQuietlyAsync(name, output.WriteLine);
    }

    /// <summary>Prints p50 / p99 of k = 10 searches through the router-only node (two remote shards) without hit data,
    /// with every payload field and the vector, and with a filter on a keyword field, interleaved so that all see the same
    /// machine load; each kind first runs <c>rounds</c> times untimed (the JIT).</summary>
    private async Task MeasureHitDataAsync(AnnServerNode router, string name, float[] query, int rounds)
    {
        SearchRequest[] kinds =
        [
            new() { Collection = name, Query = { query }, K = 10, Ef = 64 },
            new() { Collection = name, Query = { query }, K = 10, Ef = 64, WithPayload = new PayloadSelector { All = true }, WithVector = true },
            new() { Collection = name, Query = { query }, K = 10, Ef = 64, Filter = new Filter { Must = { KeywordIs("category", "c1") } } },
        ];
        var timings = kinds.Select(_ => new List<double>()).ToArray();
        for (int i = 0; i < 2 * rounds; i++)
        {
            for (int kind = 0; kind < kinds.Length; kind++)
            {
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                await router.Vectors.SearchAsync(kinds[kind], deadline: Soon());
                if (i >= rounds) timings[kind].Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }
        string[] labels = ["plain", "with_payload all + with_vector", "keyword filter (25 %)"];
        for (int kind = 0; kind < kinds.Length; kind++)
        {
            timings[kind].Sort();
            output.WriteLine($"router search, {labels[kind]}: p50 {timings[kind][rounds / 2]:F2} ms, p99 {timings[kind][rounds * 99 / 100]:F2} ms");
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static string Category(int row) => $"c{row % 4}";

    /// <summary>Row <paramref name="row"/> with a payload: category (keyword), price (int64, the row), even (bool).</summary>
    private static Point WithPayload(ClusterData data, int row)
    {
        Point point = data.Point(row);
        point.Payload["category"] = Keyword(Category(row));
        point.Payload["price"] = new PayloadValue { Integer = row };
        point.Payload["even"] = new PayloadValue { Boolean = row % 2 == 0 };
        return point;
    }

    private static PayloadValue Keyword(string value) => new() { Keyword = value };

    private static Condition KeywordIs(string key, params string[] values) =>
        new() { Field = new FieldCondition { Key = key, Match = new Match { Keywords = new KeywordList { Values = { values } } } } };

    private static IEnumerable<int> Rows(ClusterData data, Func<int, bool> where) => Enumerable.Range(0, data.Count).Where(where);

    private static int RowOf(ClusterData data, long id) => Array.IndexOf(data.Ids, id);

    private static float L2(float[] a, float[] b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (a[i] - b[i]) * (a[i] - b[i]);
        return sum;
    }

    private static DateTime Soon() => DateTime.UtcNow.AddSeconds(30);

    /// <summary>Every id a Scroll returns, page by page, checking that pages hold at most the limit, ascend, and that
    /// only the last has no cursor.</summary>
    private static async Task<List<long>> ScrollAllAsync(AnnServerNode reader, string name, Filter? filter, uint limit)
    {
        var ids = new List<long>();
        long? after = null;
        for (int page = 0; page < 1000; page++)
        {
            var request = new ScrollRequest { Collection = name, Limit = limit, Filter = filter };
            if (after is { } cursor) request.AfterId = cursor;
            ScrollResponse response = await reader.Vectors.ScrollAsync(request, deadline: Soon());
            Assert.True(response.Points.Count <= limit, $"a page of {response.Points.Count} points for limit {limit}");
            ids.AddRange(response.Points.Select(p => p.Id));
            if (!response.HasNextAfterId) return ids;
            Assert.Equal(response.Points[^1].Id, response.NextAfterId);
            after = response.NextAfterId;
        }
        throw new InvalidOperationException("the scroll did not end");
    }

    private async Task<ulong[]> LastSequencesAsync(string name)
    {
        await using NatsClient client = Cluster.Nats.Connect();
        var js = client.CreateJetStreamContext();
        var last = new ulong[Shards];
        for (int shard = 0; shard < Shards; shard++)
            last[shard] = await ShardStreams.LastSequenceAsync(js, name, shard, CancellationToken.None);
        return last;
    }
}
