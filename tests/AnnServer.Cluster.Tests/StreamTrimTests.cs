using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;
using Xunit;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Trimming the shard streams, in process against three real nats-servers: replicas (<see cref="ShardReplicas"/>)
/// with the durability a node gives them, the writer, the snapshot store and the trimmer are the production ones. The
/// node-level timer is exercised end to end in <see cref="StreamTrimClusterTests"/>.
/// </summary>
public sealed class StreamTrimTests(ReplicationNats fixture, ITestOutputHelper output) : IClassFixture<ReplicationNats>
{
    private const int Dimension = 8;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TheStreamIsTrimmedUpToTheSnapshotAndTheReplicasDiskAndANewReplicaStillGetsEveryPoint()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = await CreateAsync(js, "trim-new");
        var writer = new ShardWriter(client.Connection);
        var trimmer = new ShardStreamTrimmer(js, new ShardSnapshotStore(js), NullLogger.Instance);
        var expected = new Dictionary<long, float[]>();
        using var first = new TempFolder();
        using var second = new TempFolder();
        using var newcomer = new TempFolder();

        await using (ShardReplicas a = NewReplicas(client, first.Path))
        await using (ShardReplicas b = NewReplicas(client, second.Path))
        {
            await a.EnsureAsync(spec, 0, CancellationToken.None);
            await b.EnsureAsync(spec, 0, CancellationToken.None);
            ulong last = await WriteAsync(writer, spec, expected, new Random(1), firstId: 0, count: 300);
            ulong[] durable = await WaitDurableAsync(last, a, b);
            Assert.Equal(0UL, await trimmer.TrimAsync(spec, 0, [.. durable.Select(d => (ulong?)d)], CancellationToken.None));
            Assert.Equal(1UL, await FirstSequenceAsync(js, spec));

            await a.CheckpointAsync(spec.Name, 0, CancellationToken.None);
            ulong snapshot = last;
            last = await WriteAsync(writer, spec, expected, new Random(2), firstId: 250, count: 100);
            durable = await WaitDurableAsync(last, a, b);

            // A replica assigned but not reported yet holds everything back.
            Assert.Equal(0UL, await trimmer.TrimAsync(spec, 0, [durable[0], durable[1], null], CancellationToken.None));
            ulong purged = await trimmer.TrimAsync(spec, 0, [durable[0], durable[1]], CancellationToken.None);
            output.WriteLine($"snapshot covers {snapshot}, replicas durable at {durable[0]} and {durable[1]}, stream last {last}: purged {purged}");
            Assert.Equal(snapshot, purged);
            Assert.Equal(snapshot + 1, await FirstSequenceAsync(js, spec));
            Assert.Equal(0UL, await trimmer.TrimAsync(spec, 0, [durable[0], durable[1]], CancellationToken.None));
        }

        await using (ShardReplicas fresh = NewReplicas(client, newcomer.Path))
        {
            await fresh.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitAppliedAsync(fresh, spec, await LastSequenceAsync(js, spec));
            AssertHoldsExactly(fresh, spec, expected);
        }
        // And a replica that was up all along restarts from its own disk and the stream after it.
        await using (ShardReplicas restarted = NewReplicas(client, second.Path))
        {
            await restarted.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitAppliedAsync(restarted, spec, await LastSequenceAsync(js, spec));
            AssertHoldsExactly(restarted, spec, expected);
        }
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
    }

    [Fact]
    public async Task AReplicaDownWhileItsStreamIsTrimmedPastItsPositionReseedsFromTheSnapshotOnRestart()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = await CreateAsync(js, "trim-gap");
        var writer = new ShardWriter(client.Connection);
        var trimmer = new ShardStreamTrimmer(js, new ShardSnapshotStore(js), NullLogger.Instance);
        var expected = new Dictionary<long, float[]>();
        using var down = new TempFolder();
        using var up = new TempFolder();

        await using ShardReplicas survivor = NewReplicas(client, up.Path);
        await survivor.EnsureAsync(spec, 0, CancellationToken.None);
        ulong position;
        await using (ShardReplicas victim = NewReplicas(client, down.Path))
        {
            await victim.EnsureAsync(spec, 0, CancellationToken.None);
            position = await WriteAsync(writer, spec, expected, new Random(3), firstId: 0, count: 150);
            await WaitAppliedAsync(victim, spec, position);
        }
        // While it is down: more writes (replacing some of its points), a snapshot, and a trim past its position, as if
        // it had been forgotten (its local log lost, or an old copy of its folder brought back).
        ulong snapshot = await WriteAsync(writer, spec, expected, new Random(4), firstId: 100, count: 150);
        await WaitAppliedAsync(survivor, spec, snapshot);
        await survivor.CheckpointAsync(spec.Name, 0, CancellationToken.None);
        ulong last = await WriteAsync(writer, spec, expected, new Random(5), firstId: 220, count: 60);
        await trimmer.TrimUpToAsync(spec.Name, 0, snapshot, CancellationToken.None);
        Assert.Equal(snapshot + 1, await FirstSequenceAsync(js, spec));
        Assert.True(snapshot > position + 1, $"the trim ({snapshot}) passes the replica's position ({position})");

        await using (ShardReplicas restarted = NewReplicas(client, down.Path))
        {
            await restarted.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitAppliedAsync(restarted, spec, last);
            AssertHoldsExactly(restarted, spec, expected);
            Collection collection = restarted.Find(spec.Name, 0)!.Collection!;
            Assert.Equal(snapshot, StreamSequenceFile.Read(StreamSequenceFile.PathIn(collection.Folder))!.Value.Sequence);
        }
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
    }

    [Fact]
    public async Task AGapNoSnapshotCoversKeepsTheReplicaCatchingUpUntilOneDoes()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = await CreateAsync(js, "trim-wait");
        var writer = new ShardWriter(client.Connection);
        var trimmer = new ShardStreamTrimmer(js, new ShardSnapshotStore(js), NullLogger.Instance);
        var expected = new Dictionary<long, float[]>();
        using var down = new TempFolder();
        using var up = new TempFolder();

        await using ShardReplicas survivor = NewReplicas(client, up.Path);
        await survivor.EnsureAsync(spec, 0, CancellationToken.None);
        await using (ShardReplicas victim = NewReplicas(client, down.Path))
        {
            await victim.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitAppliedAsync(victim, spec, await WriteAsync(writer, spec, expected, new Random(6), firstId: 0, count: 100));
        }
        ulong last = await WriteAsync(writer, spec, expected, new Random(7), firstId: 80, count: 100);
        await WaitAppliedAsync(survivor, spec, last);
        // Trimmed with no snapshot at all: nothing can fill the victim's gap yet.
        await trimmer.TrimUpToAsync(spec.Name, 0, last - 2, CancellationToken.None);

        await using ShardReplicas restarted = NewReplicas(client, down.Path);
        await restarted.EnsureAsync(spec, 0, CancellationToken.None);
        ShardReplicaRunner runner = restarted.Find(spec.Name, 0)!;
        await Task.Delay(1500);
        Assert.Equal(ShardReplicaStates.CatchingUp, runner.Status.State);
        Assert.False(runner.Serving.IsCompleted, "a replica with a gap must not serve");

        await survivor.CheckpointAsync(spec.Name, 0, CancellationToken.None);
        await WaitAppliedAsync(restarted, spec, last);
        AssertHoldsExactly(restarted, spec, expected);
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
    }

    [Fact]
    public async Task AStreamMadeWhenStreamsDeniedPurgesIsLeftUntrimmedBecauseJetStreamCannotLiftTheDeny()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = Spec("trim-old");
        StreamConfig old = ShardStreams.Config(spec, 0);
        old.DenyPurge = true;
        await js.CreateStreamAsync(old);
        var writer = new ShardWriter(client.Connection);
        ulong last = await WriteAsync(writer, spec, new Dictionary<long, float[]>(), new Random(8), firstId: 0, count: 100);

        // What the trimmer meets (and why it does not recreate the stream): the deny cannot be lifted.
        StreamConfig lifted = ShardStreams.Config(spec, 0);
        NatsJSApiException refused = await Assert.ThrowsAsync<NatsJSApiException>(() => js.UpdateStreamAsync(lifted).AsTask());
        output.WriteLine($"nats-server refuses: {refused.Error.Description}");

        var trimmer = new ShardStreamTrimmer(js, new ShardSnapshotStore(js), NullLogger.Instance);
        Assert.Equal(0UL, await trimmer.TrimUpToAsync(spec.Name, 0, last - 1, CancellationToken.None));
        Assert.Equal(0UL, await trimmer.TrimUpToAsync(spec.Name, 0, last - 1, CancellationToken.None));
        INatsJSStream stream = await js.GetStreamAsync(ShardStreamNames.Stream(spec.Name, 0));
        Assert.Equal(1UL, stream.Info.State.FirstSeq);
        Assert.Equal((long)last, stream.Info.State.Messages);
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
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

    private static async Task<ulong> FirstSequenceAsync(INatsJSContext js, ClusterCollectionSpec spec) =>
        (await js.GetStreamAsync(ShardStreamNames.Stream(spec.Name, 0))).Info.State.FirstSeq;

    private static Task<ulong> LastSequenceAsync(INatsJSContext js, ClusterCollectionSpec spec) =>
        ShardStreams.LastSequenceAsync(js, spec.Name, 0, CancellationToken.None);

    /// <summary>Upserts ids firstId..firstId+count in batches of 1 to 20 points (one stream record each); returns the
    /// last sequence.</summary>
    private static async Task<ulong> WriteAsync(ShardWriter writer, ClusterCollectionSpec spec, Dictionary<long, float[]> expected, Random random,
        long firstId, int count)
    {
        ulong last = 0;
        for (long id = firstId; id < firstId + count;)
        {
            int n = (int)Math.Min(random.Next(1, 21), firstId + count - id);
            var ids = new long[n];
            var vectors = new float[n * Dimension];
            for (int i = 0; i < n; i++)
            {
                ids[i] = id + i;
                float[] vector = [.. Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble())];
                vector.CopyTo(vectors, i * Dimension);
                expected[id + i] = vector;
            }
            foreach (var (_, sequence) in await writer.UpsertAsync(spec, new UpsertBatch(Dimension, ids, vectors, new int[]?[n]), CancellationToken.None))
                last = Math.Max(last, sequence);
            id += n;
        }
        return last;
    }

    private static async Task WaitAppliedAsync(ShardReplicas replicas, ClusterCollectionSpec spec, ulong sequence)
    {
        using var timeout = new CancellationTokenSource(Patience);
        ShardReplicaRunner runner = replicas.Find(spec.Name, 0) ?? throw new InvalidOperationException("no replica of shard 0");
        await runner.Serving.WaitAsync(timeout.Token);
        while (runner.Collection is not { } collection || ReplicaStreamPosition.Of(collection).AppliedSequence < sequence || !runner.IsServing)
            await Task.Delay(20, timeout.Token);
    }

    /// <summary>Waits until every replica has applied <paramref name="sequence"/> and has it on disk; returns their
    /// durable sequences (what their nodes would report). The two are not compared: a strict commit puts a record on disk
    /// before it is applied, so the durable sequence can be ahead for a moment (an assertion that it was not failed 1 run
    /// in 8).</summary>
    private static async Task<ulong[]> WaitDurableAsync(ulong sequence, params ShardReplicas[] replicas)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var durable = new ulong[replicas.Length];
        for (int i = 0; i < replicas.Length; i++)
        {
            ShardReplicaRunner runner = replicas[i].Statuses() is [var status] ? replicas[i].Find(status.Collection, status.Shard)! : throw new InvalidOperationException();
            while (runner.Status is { } now && (now.DurableSequence < sequence || now.AppliedSequence < sequence))
                await Task.Delay(10, timeout.Token);
            durable[i] = runner.Status.DurableSequence;
        }
        return durable;
    }

    private static void AssertHoldsExactly(ShardReplicas replicas, ClusterCollectionSpec spec, Dictionary<long, float[]> expected)
    {
        Collection collection = replicas.Find(spec.Name, 0)!.Collection!;
        var vector = new float[Dimension];
        Assert.Equal(expected.Count, collection.Count);
        foreach (var (id, stored) in expected)
        {
            Assert.True(collection.TryGet(id, vector, out _), $"id {id} missing");
            Assert.Equal(stored, vector);
        }
    }
}
