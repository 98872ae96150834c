using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Payloads;
using AnnServer.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.JetStream;
using NATS.Net;
using Xunit;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Payload records in the shard streams, in process against three real nats-servers: the production writer publishes
/// them and the production replicas (<see cref="ShardReplicas"/>) apply them, keep them in their logs and snapshots, and
/// a new replica gets them from the shard's snapshot. The writer is used directly, without the cluster's field-kind
/// registry, to put into a stream what only older data or a race could: a value of another kind than its field's.
/// </summary>
public sealed class PayloadReplicationTests(ReplicationNats fixture, ITestOutputHelper output) : IClassFixture<ReplicationNats>
{
    private const int Dimension = 8;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PayloadsSurviveAReplicaRestartAndReachANewReplicaThroughTheShardSnapshot()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = await CreateAsync(js, "pay-seed");
        var writer = new ShardWriter(client.Connection);
        var expected = new Dictionary<long, Dictionary<string, string>>();
        using var first = new TempFolder();
        using var second = new TempFolder();
        using var newcomer = new TempFolder();

        ulong snapshot;
        await using (ShardReplicas a = NewReplicas(client, first.Path))
        await using (ShardReplicas b = NewReplicas(client, second.Path))
        {
            await a.EnsureAsync(spec, 0, CancellationToken.None);
            await b.EnsureAsync(spec, 0, CancellationToken.None);
            var payloads = new Payload?[40];
            for (int i = 0; i < payloads.Length; i++)
            {
                payloads[i] = new Payload { { "n", PayloadValue.Int64(i) }, { "k", PayloadValue.Keyword($"k{i % 3}") } };
                expected[i] = new() { ["n"] = $"{i}", ["k"] = $"k{i % 3}" };
            }
            await writer.UpsertAsync(spec, new UpsertBatch(Dimension, [.. Enumerable.Range(0, 40).Select(i => (long)i)],
                ClusterData.RandomVectors(40, Dimension, seed: 191), new int[]?[40], payloads), CancellationToken.None);
            long[] flagged = [.. Enumerable.Range(0, 10).Select(i => (long)i)];
            await writer.ChangePayloadsAsync(spec, LogPayloadMode.Set, flagged,
                PayloadCodec.Encode(new Payload { { "flag", PayloadValue.Bool(true) } }), CancellationToken.None);
            foreach (long id in flagged) expected[id]["flag"] = "True";
            snapshot = Last(await writer.ChangePayloadsAsync(spec, LogPayloadMode.DeleteFields, [5, 6, 7],
                PayloadCodec.EncodeFieldNames(["k", "absent"]), CancellationToken.None));
            foreach (long id in new long[] { 5, 6, 7 }) expected[id].Remove("k");

            await WaitAppliedAsync(a, spec, snapshot);
            await WaitAppliedAsync(b, spec, snapshot);
            await AssertPayloadsAsync(a, spec, expected);
            await AssertPayloadsAsync(b, spec, expected);
            await a.CheckpointAsync(spec.Name, 0, CancellationToken.None);
        }
        // The stream before the snapshot is gone: a new replica can only have those payloads from the snapshot.
        var trimmer = new ShardStreamTrimmer(js, new ShardSnapshotStore(js), NullLogger.Instance);
        await trimmer.TrimUpToAsync(spec.Name, 0, snapshot, CancellationToken.None);
        Assert.Equal(snapshot + 1, (await js.GetStreamAsync(ShardStreamNames.Stream(spec.Name, 0))).Info.State.FirstSeq);
        ulong last = Last(await writer.ChangePayloadsAsync(spec, LogPayloadMode.Replace, [1],
            PayloadCodec.Encode(new Payload { { "n", PayloadValue.Int64(100) } }), CancellationToken.None));
        expected[1] = new() { ["n"] = "100" };

        await using (ShardReplicas fresh = NewReplicas(client, newcomer.Path))
        {
            await fresh.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitAppliedAsync(fresh, spec, last);
            await AssertPayloadsAsync(fresh, spec, expected);
        }
        await using (ShardReplicas restarted = NewReplicas(client, second.Path))
        {
            await restarted.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitAppliedAsync(restarted, spec, last);
            await AssertPayloadsAsync(restarted, spec, expected);
        }
        output.WriteLine($"payloads of {expected.Count} points alike on a restarted replica and on one seeded from the snapshot at {snapshot}");
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
    }

    [Fact]
    public async Task AValueOfAnotherKindOrAMergePastTheFieldLimitInTheStreamIsLeftOutAlikeOnEveryReplicaAndAfterItsReplay()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = await CreateAsync(js, "pay-kinds");
        var writer = new ShardWriter(client.Connection);
        using var first = new TempFolder();
        using var second = new TempFolder();
        float[] vector = ClusterData.RandomVectors(1, Dimension, seed: 192);

        async Task<ulong> UpsertAsync(long id, Payload payload) =>
            Last(await writer.UpsertAsync(spec, new UpsertBatch(Dimension, [id], vector, [null], [payload]), CancellationToken.None));

        await UpsertAsync(1, new Payload { { "f", PayloadValue.Int64(1) } });
        await UpsertAsync(2, new Payload { { "f", PayloadValue.Keyword("x") }, { "g", PayloadValue.Bool(true) } });
        await writer.ChangePayloadsAsync(spec, LogPayloadMode.Set, [1],
            PayloadCodec.Encode(new Payload { { "f", PayloadValue.Keyword("y") }, { "h", PayloadValue.Double(2.5) } }), CancellationToken.None);
        await UpsertAsync(3, new Payload { { "g", PayloadValue.Bool(false) } });
        // A merge that would give a point more fields than a point may have is applied to none of the record's points.
        var wide = new Payload();
        for (int i = 0; i < PayloadLimits.MaxFieldsPerPoint - 4; i++) wide.Add($"w{i}", PayloadValue.Int64(i));
        await UpsertAsync(4, wide);
        var tooWide = new Payload();
        for (int i = 0; i < 10; i++) tooWide.Add($"m{i}", PayloadValue.Int64(i));
        ulong last = Last(await writer.ChangePayloadsAsync(spec, LogPayloadMode.Set, [3, 4], PayloadCodec.Encode(tooWide), CancellationToken.None));
        var expected = new Dictionary<long, Dictionary<string, string>>
        {
            [1] = new() { ["f"] = "1", ["h"] = "2.5" },
            [2] = new() { ["g"] = "True" },
            [3] = new() { ["g"] = "False" },
            [4] = wide.ToDictionary(field => field.Name, field => Text(field.Value)),
        };

        await using (ShardReplicas a = NewReplicas(client, first.Path))
        await using (ShardReplicas b = NewReplicas(client, second.Path))
        {
            await a.EnsureAsync(spec, 0, CancellationToken.None);
            await b.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitAppliedAsync(a, spec, last);
            await WaitAppliedAsync(b, spec, last);
            await AssertPayloadsAsync(a, spec, expected);
            await AssertPayloadsAsync(b, spec, expected);
        }
        // Its own log holds the records as it applied them: the replay gives the same payloads.
        await using (ShardReplicas restarted = NewReplicas(client, first.Path))
        {
            await restarted.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitAppliedAsync(restarted, spec, last);
            await AssertPayloadsAsync(restarted, spec, expected);
        }
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
    }

    [Fact]
    public async Task EveryReplicaLinksTheSpecsLinkedFieldsAndANewReplicaHasThemFromTheSnapshot()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = Spec("pay-linked") with { LinkedFields = ["k"] };
        await ShardStreams.CreateAsync(js, spec, CancellationToken.None);
        var writer = new ShardWriter(client.Connection);
        using var first = new TempFolder();
        using var second = new TempFolder();
        using var newcomer = new TempFolder();

        ulong last;
        await using (ShardReplicas a = NewReplicas(client, first.Path))
        await using (ShardReplicas b = NewReplicas(client, second.Path))
        {
            await a.EnsureAsync(spec, 0, CancellationToken.None);
            await b.EnsureAsync(spec, 0, CancellationToken.None);
            var payloads = new Payload?[40];
            for (int i = 0; i < payloads.Length; i++) payloads[i] = new Payload { { "k", PayloadValue.Keyword($"k{i % 3}") } };
            last = Last(await writer.UpsertAsync(spec, new UpsertBatch(Dimension, [.. Enumerable.Range(0, 40).Select(i => (long)i)],
                ClusterData.RandomVectors(40, Dimension, seed: 193), new int[]?[40], payloads), CancellationToken.None));
            await WaitAppliedAsync(a, spec, last);
            await WaitAppliedAsync(b, spec, last);
            Assert.Equal(["k"], a.Find(spec.Name, 0)!.Collection!.Status().LinkedFields);
            Assert.Equal(["k"], b.Find(spec.Name, 0)!.Collection!.Status().LinkedFields);
            await a.CheckpointAsync(spec.Name, 0, CancellationToken.None);
        }
        var trimmer = new ShardStreamTrimmer(js, new ShardSnapshotStore(js), NullLogger.Instance);
        await trimmer.TrimUpToAsync(spec.Name, 0, last, CancellationToken.None);

        await using ShardReplicas fresh = NewReplicas(client, newcomer.Path);
        await fresh.EnsureAsync(spec, 0, CancellationToken.None);
        await WaitAppliedAsync(fresh, spec, last);
        Assert.Equal(["k"], fresh.Find(spec.Name, 0)!.Collection!.Status().LinkedFields);
        Assert.Equal(40, fresh.Find(spec.Name, 0)!.Collection!.Status().Count);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static ClusterCollectionSpec Spec(string name) => new(
        $"{name}-{Guid.NewGuid():N}"[..30], Dimension, DistanceMetric.L2, M: 8, EfConstruction: 32, Quantization: VectorQuantization.None, Shards: 1,
        ReplicasPerShard: 2, StreamReplicas: 3, ShardReplicaNodeIds: [["a", "b"]], CreatedUnixMs: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private static async Task<ClusterCollectionSpec> CreateAsync(INatsJSContext js, string name)
    {
        ClusterCollectionSpec spec = Spec(name);
        await ShardStreams.CreateAsync(js, spec, CancellationToken.None);
        return spec;
    }

    /// <summary>Replicas as a node makes them: relaxed local commits (ShardReplicaDurability).</summary>
    private static ShardReplicas NewReplicas(NatsClient client, string dataDirectory) =>
        new(client.Connection, dataDirectory, ShardReplicaDurability.From(new DurabilityOptions()), NullLoggerFactory.Instance);

    private static ulong Last(ShardPosition[] positions) => positions.Max(p => p.Sequence);

    private static async Task WaitAppliedAsync(ShardReplicas replicas, ClusterCollectionSpec spec, ulong sequence)
    {
        using var timeout = new CancellationTokenSource(Patience);
        ShardReplicaRunner runner = replicas.Find(spec.Name, 0) ?? throw new InvalidOperationException("no replica of shard 0");
        await runner.Serving.WaitAsync(timeout.Token);
        while (runner.Collection is not { } collection || ReplicaStreamPosition.Of(collection).AppliedSequence < sequence || !runner.IsServing)
            await Task.Delay(20, timeout.Token);
    }

    /// <summary>Every point of <paramref name="expected"/> holds exactly those payload fields, read as Get reads them.</summary>
    private static async Task AssertPayloadsAsync(ShardReplicas replicas, ClusterCollectionSpec spec, Dictionary<long, Dictionary<string, string>> expected)
    {
        IVectorCollection collection = replicas.Find(spec.Name, 0)!.Collection!;
        PointsResult points = await collection.GetAsync([.. expected.Keys], new GetParameters(long.MaxValue, ReadOptions.Default), CancellationToken.None);
        Assert.Empty(points.MissingIds);
        foreach (StoredPoint point in points.Points)
        {
            var held = new SortedDictionary<string, string>(StringComparer.Ordinal);
            if (point.Payload is { } payload)
                foreach (var (name, value) in payload) held[name] = Text(value);
            Assert.Equal(new SortedDictionary<string, string>(expected[point.Id], StringComparer.Ordinal), held);
        }
    }

    private static string Text(PayloadValue value) => value.Kind switch
    {
        PayloadKind.Keyword => value.AsKeyword(),
        PayloadKind.Int64 => value.AsInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
        PayloadKind.Double => value.AsDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
        PayloadKind.Bool => value.AsBool().ToString(),
        _ => value.ToString() ?? "",
    };
}
