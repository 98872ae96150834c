using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Net;
using Xunit;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// A replica whose consumer delivers nothing reads the records it lacks by sequence from the stream's leader
/// (<see cref="ShardStreamReader"/>, ShardReplicaRunner's stall watchdog), in process against three real
/// nats-servers. The consumer that delivers nothing is real too: the replica's connection goes through
/// <see cref="ConsumerDeliveryDroppingProxy"/>, which drops the stream's deliveries and passes its heartbeats.
/// </summary>
public sealed class DirectCatchUpTests(ReplicationNats fixture, ITestOutputHelper output) : IClassFixture<ReplicationNats>
{
    private const int Dimension = 8;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TheReaderReturnsTheRecordsOfARangeInSequenceOrder()
    {
        await using NatsClient client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = await CreateAsync(js, "read-range");
        // More than two batches of requests, so that the batches' seams are read too.
        Dictionary<ulong, long[]> written = await WriteAsync(new ShardWriter(client.Connection), spec, new Dictionary<long, float[]>(), new Random(1),
            firstId: 0, records: 2 * ShardStreamReader.BatchSize + 30);

        ulong from = 5, through = written.Keys.Max() - 3;
        var reader = new ShardStreamReader(js, spec.Name, 0);
        var sequences = new List<ulong>();
        await foreach (ShardStreamRecord record in reader.ReadAsync(from, through, CancellationToken.None))
        {
            sequences.Add(record.Sequence);
            Assert.Equal(written[record.Sequence], LogRecordCodec.Decode(record.Data).Ids);
        }
        Assert.Equal(Enumerable.Range((int)from, (int)(through - from + 1)).Select(s => (ulong)s), sequences);
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
    }

    [Fact]
    public async Task TheReaderStopsAtTheStreamsEnd()
    {
        await using NatsClient client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = await CreateAsync(js, "read-end");
        Dictionary<ulong, long[]> written = await WriteAsync(new ShardWriter(client.Connection), spec, new Dictionary<long, float[]>(), new Random(2),
            firstId: 0, records: 20);
        ulong last = written.Keys.Max();

        var reader = new ShardStreamReader(js, spec.Name, 0);
        var sequences = new List<ulong>();
        await foreach (ShardStreamRecord record in reader.ReadAsync(last - 4, last + 100, CancellationToken.None))
            sequences.Add(record.Sequence);
        Assert.Equal([last - 4, last - 3, last - 2, last - 1, last], sequences);
        await foreach (ShardStreamRecord record in reader.ReadAsync(last + 1, last + 10, CancellationToken.None))
            Assert.Fail($"read sequence {record.Sequence} past the stream's end ({last})");
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
    }

    [Fact]
    public async Task TheReaderReportsAPurgedFrontAsAGap()
    {
        await using NatsClient client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = await CreateAsync(js, "read-gap");
        await WriteAsync(new ShardWriter(client.Connection), spec, new Dictionary<long, float[]>(), new Random(3), firstId: 0, records: 40);
        var trimmer = new ShardStreamTrimmer(js, new ShardSnapshotStore(js), NullLogger.Instance);
        await trimmer.TrimUpToAsync(spec.Name, 0, 25, CancellationToken.None);

        var reader = new ShardStreamReader(js, spec.Name, 0);
        var sequences = new List<ulong>();
        StreamGapException gap = await Assert.ThrowsAsync<StreamGapException>(async () =>
        {
            await foreach (ShardStreamRecord record in reader.ReadAsync(20, 30, CancellationToken.None))
                sequences.Add(record.Sequence);
        });
        Assert.Empty(sequences);
        Assert.Equal(20UL, gap.NextNeeded);
        Assert.Equal(26UL, gap.FirstAvailable);
        await foreach (ShardStreamRecord record in reader.ReadAsync(26, 30, CancellationToken.None))
            sequences.Add(record.Sequence);
        Assert.Equal([26UL, 27, 28, 29, 30], sequences);
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
    }

    [Fact]
    public async Task AReplicaWhoseConsumerDeliversNothingCatchesUpFromTheStreamLeaderAndHoldsEveryAcknowledgedPoint()
    {
        await using NatsClient client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = await CreateAsync(js, "direct-catch-up");
        var writer = new ShardWriter(client.Connection);
        var expected = new Dictionary<long, float[]>();
        await using var proxy = new ConsumerDeliveryDroppingProxy(fixture.Nats.Url(0));
        await using var stalled = new NatsClient(new NatsOpts { Url = proxy.Url, Name = "stalled-replica" });
        using var data = new TempFolder();

        // Written before the replica starts (it catches up, then serves) and while it follows (it keeps up).
        var random = new Random(4);
        Dictionary<ulong, long[]> before = await WriteAsync(writer, spec, expected, random, firstId: 0, records: 150);
        await using ShardReplicas replicas = new(stalled.Connection, data.Path, ShardReplicaDurability.From(new DurabilityOptions()),
            NullLoggerFactory.Instance);
        await replicas.EnsureAsync(spec, 0, CancellationToken.None);
        ShardReplicaRunner runner = replicas.Find(spec.Name, 0)!;
        await WithinPatienceAsync(runner.Serving, () => $"the replica did not serve ({runner.Status}; {proxy.Dropped} deliveries dropped)");
        Dictionary<ulong, long[]> after = await WriteAsync(writer, spec, expected, random, firstId: 100, records: 100);
        ulong last = after.Keys.Max();
        await WithinPatienceAsync(ReplicaStreamPosition.Of(runner.Collection!).WaitForSequenceAsync(last, CancellationToken.None),
            () => $"the replica did not apply sequence {last} ({runner.Status})");

        output.WriteLine($"deliveries dropped by the proxy: {proxy.Dropped}; replica at {runner.Status.AppliedSequence} of {last}");
        Assert.True(proxy.Dropped > 0, "the replica's consumer was never delivered anything to drop: the test did not stall it");
        Assert.Equal(ShardReplicaStates.Serving, runner.Status.State);
        Collection collection = runner.Collection!;
        var vector = new float[Dimension];
        Assert.Equal(expected.Count, collection.Count);
        foreach (var (id, stored) in expected)
        {
            Assert.True(collection.TryGet(id, vector, out _), $"id {id} missing");
            Assert.Equal(stored, vector);
        }
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static async Task WithinPatienceAsync(Task task, Func<string> failure)
    {
        if (await Task.WhenAny(task, Task.Delay(Patience)) != task)
            Assert.Fail($"{failure()} within {Patience.TotalSeconds:F0} s");
        await task;
    }

    private static async Task<ClusterCollectionSpec> CreateAsync(INatsJSContext js, string name)
    {
        ClusterCollectionSpec spec = new($"{name}-{Guid.NewGuid():N}"[..30], Dimension, DistanceMetric.L2, M: 8, EfConstruction: 32,
            Quantization: VectorQuantization.None, Shards: 1, ReplicasPerShard: 1, StreamReplicas: 3, ShardReplicaNodeIds: [["n"]],
            CreatedUnixMs: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await ShardStreams.CreateAsync(js, spec, CancellationToken.None);
        return spec;
    }

    /// <summary>Upserts <paramref name="records"/> batches of 1 to 5 points with ids from <paramref name="firstId"/> on
    /// (each batch one stream record of the one shard), remembering each id's last vector; returns each record's ids by
    /// its sequence.</summary>
    private static async Task<Dictionary<ulong, long[]>> WriteAsync(ShardWriter writer, ClusterCollectionSpec spec, Dictionary<long, float[]> expected,
        Random random, long firstId, int records)
    {
        var written = new Dictionary<ulong, long[]>();
        long id = firstId;
        for (int r = 0; r < records; r++)
        {
            // Ids overlap from one call to the next now and then, so that some points are replaced.
            int n = random.Next(1, 6);
            long start = random.Next(4) == 0 ? Math.Max(firstId, id - 2) : id;
            long[] ids = [.. Enumerable.Range(0, n).Select(i => start + i)];
            var vectors = new float[n * Dimension];
            for (int i = 0; i < n; i++)
            {
                float[] vector = [.. Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble())];
                vector.CopyTo(vectors, i * Dimension);
                expected[ids[i]] = vector;
            }
            ShardPosition[] positions = await writer.UpsertAsync(spec, new UpsertBatch(Dimension, ids, vectors, new int[]?[n]), CancellationToken.None);
            written[Assert.Single(positions).Sequence] = ids;
            id = start + n;
        }
        return written;
    }
}
