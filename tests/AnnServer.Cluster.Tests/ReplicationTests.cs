using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Sharding;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.JetStream;
using NATS.Net;
using Xunit;

namespace AnnServer.Cluster.Tests;

/// <summary>Three nats-servers shared by the replication tests (each test uses its own collection name).</summary>
public sealed class ReplicationNats : IAsyncLifetime
{
    private NatsCluster? _nats;
    public NatsCluster Nats => _nats ?? throw new InvalidOperationException("not started");
    public async Task InitializeAsync() => _nats = await NatsCluster.StartAsync();
    public async Task DisposeAsync()
    {
        if (_nats is not null) await _nats.DisposeAsync();
    }
}

/// <summary>
/// The replication layer in process against three real nats-servers: ShardWriter publishes, ShardReplicas follow the
/// streams into local collections (docs/cluster.md). Black-box cluster tests over gRPC are in the other test files.
/// </summary>
public sealed class ReplicationTests(ReplicationNats fixture) : IClassFixture<ReplicationNats>
{
    private const int Dimension = 8;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ReplicasApplyEveryAcknowledgedWriteOfTheirShardAndResumeAfterARestart()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = Spec("repl-resume", shards: 2);
        await ShardStreams.CreateAsync(js, spec, CancellationToken.None);
        var writer = new ShardWriter(client.Connection);
        var expected = new Dictionary<long, float[]>();
        using var data = new TempFolder();

        // Writes before the replica exists, then while it catches up: upserts, replacements and deletes.
        var random = new Random(7);
        await WriteAsync(writer, spec, expected, random, firstId: 0, count: 200);
        var sequences = new Dictionary<int, ulong>();
        await using (ShardReplicas replicas = NewReplicas(client, data.Path))
        {
            for (int shard = 0; shard < spec.Shards; shard++)
                await replicas.EnsureAsync(spec, shard, CancellationToken.None);
            foreach (var (shard, sequence) in await WriteAsync(writer, spec, expected, random, firstId: 100, count: 200))
                sequences[shard] = sequence;
            var deleted = expected.Keys.Where(id => id % 7 == 0).ToArray();
            foreach (var (shard, sequence) in await writer.DeleteAsync(spec, deleted, CancellationToken.None))
                sequences[shard] = sequence;
            foreach (long id in deleted) expected.Remove(id);

            await WaitServingAsync(replicas, spec, sequences);
            AssertHoldsExactlyItsShard(replicas, spec, expected);
        }

        // Down: more writes. Up again: the local snapshot and log, then the stream from the next sequence.
        foreach (var (shard, sequence) in await WriteAsync(writer, spec, expected, random, firstId: 350, count: 100))
            sequences[shard] = sequence;
        await using (ShardReplicas replicas = NewReplicas(client, data.Path))
        {
            for (int shard = 0; shard < spec.Shards; shard++)
                await replicas.EnsureAsync(spec, shard, CancellationToken.None);
            await WaitServingAsync(replicas, spec, sequences);
            AssertHoldsExactlyItsShard(replicas, spec, expected);
            for (int shard = 0; shard < spec.Shards; shard++)
                Assert.True(replicas.Find(spec.Name, shard)!.Collection!.Recovery!.RecordsApplied > 0, "the restart replayed the local log");
        }
    }

    [Fact]
    public async Task AReplicaWhoseLocalLogIsDamagedIsSeededAgainFromTheClusterAndItsFilesAreKept()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = Spec("repl-damaged", shards: 1);
        await ShardStreams.CreateAsync(js, spec, CancellationToken.None);
        var writer = new ShardWriter(client.Connection);
        var expected = new Dictionary<long, float[]>();
        var sequences = new Dictionary<int, ulong>();
        using var data = new TempFolder();
        var random = new Random(11);
        await using (ShardReplicas replicas = NewReplicas(client, data.Path))
        {
            await replicas.EnsureAsync(spec, 0, CancellationToken.None);
            foreach (var (shard, sequence) in await WriteAsync(writer, spec, expected, random, firstId: 0, count: 300))
                sequences[shard] = sequence;
            await WaitServingAsync(replicas, spec, sequences);
        }

        // The local log loses its first segment (a disk fault): a single server would quarantine the collection.
        string root = ShardReplicaRunner.CollectionRoot(Path.Combine(data.Path, ShardReplicaRunner.ReplicasFolderName), spec.Name);
        string log = DataDirectory.LogFolder(Path.Combine(root, "0"));
        string segment = Directory.GetFiles(log, "log.0*").OrderBy(f => f, StringComparer.Ordinal).First();
        File.Delete(segment);

        await using (ShardReplicas replicas = NewReplicas(client, data.Path))
        {
            await replicas.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitServingAsync(replicas, spec, sequences);
            AssertHoldsExactlyItsShard(replicas, spec, expected);
        }
        string aside = Assert.Single(Directory.GetDirectories(root, ".damaged-0-*"));
        Assert.True(File.Exists(DataDirectory.SnapshotPath(aside)), "the damaged files are kept for an operator");
    }

    [Fact]
    public async Task ANewReplicaStartsFromTheUploadedSnapshotAndACheckpointKeepsTheSequence()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = Spec("repl-snapshot", shards: 1);
        await ShardStreams.CreateAsync(js, spec, CancellationToken.None);
        var writer = new ShardWriter(client.Connection);
        var expected = new Dictionary<long, float[]>();
        var random = new Random(11);
        using var first = new TempFolder();
        using var second = new TempFolder();

        var sequences = new Dictionary<int, ulong>();
        ulong checkpointed;
        await using (ShardReplicas replicas = NewReplicas(client, first.Path))
        {
            await replicas.EnsureAsync(spec, 0, CancellationToken.None);
            foreach (var (shard, sequence) in await WriteAsync(writer, spec, expected, random, firstId: 0, count: 150))
                sequences[shard] = sequence;
            await WaitServingAsync(replicas, spec, sequences);
            // The checkpoint truncates the local log: the sequence must survive in the stream-sequence file.
            await replicas.CheckpointAsync(spec.Name, 0, CancellationToken.None);
            checkpointed = sequences[0];
            foreach (var (shard, sequence) in await WriteAsync(writer, spec, expected, random, firstId: 140, count: 30))
                sequences[shard] = sequence;
            await WaitServingAsync(replicas, spec, sequences);
        }
        var store = new ShardSnapshotStore(js);
        Assert.Equal(checkpointed, await store.StoredSequenceAsync(spec.Name, 0, spec.CreatedUnixMs, 3, CancellationToken.None));

        await using (ShardReplicas restarted = NewReplicas(client, first.Path))
        {
            await restarted.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitServingAsync(restarted, spec, sequences);
            AssertHoldsExactlyItsShard(restarted, spec, expected);
        }

        await using (ShardReplicas fresh = NewReplicas(client, second.Path))
        {
            await fresh.EnsureAsync(spec, 0, CancellationToken.None);
            await WaitServingAsync(fresh, spec, sequences);
            AssertHoldsExactlyItsShard(fresh, spec, expected);
            Collection collection = fresh.Find(spec.Name, 0)!.Collection!;
            // Loaded from the snapshot: only the records after it came from the stream into the new replica's log.
            Assert.Equal(checkpointed, StreamSequenceFile.Read(StreamSequenceFile.PathIn(collection.Folder))!.Value.Sequence);
            Assert.Equal(sequences[0] - checkpointed, (ulong)collection.LogCounts.Appends);
        }
    }

    [Fact]
    public async Task AWaitForASequenceEndsWhenTheReplicaHasAppliedIt()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = Spec("repl-wait", shards: 1);
        await ShardStreams.CreateAsync(js, spec, CancellationToken.None);
        var writer = new ShardWriter(client.Connection);
        using var data = new TempFolder();
        await using ShardReplicas replicas = NewReplicas(client, data.Path);
        await replicas.EnsureAsync(spec, 0, CancellationToken.None);
        await WaitServingAsync(replicas, spec, new Dictionary<int, ulong>());
        Collection collection = replicas.Find(spec.Name, 0)!.Collection!;

        for (int i = 0; i < 20; i++)
        {
            var batch = new UpsertBatch(Dimension, [i], Vector(new Random(i)), [null]);
            var (_, sequence) = (await writer.UpsertAsync(spec, batch, CancellationToken.None)).Single();
            await ReplicaStreamPosition.Of(collection).WaitForSequenceAsync(sequence, new CancellationTokenSource(Patience).Token);
            Assert.True(collection.TryGet(i, new float[Dimension], out _), $"point {i} is there once sequence {sequence} is applied");
        }
        // A sequence nobody wrote yet: the wait ends by its token.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            ReplicaStreamPosition.Of(collection).WaitForSequenceAsync(ReplicaStreamPosition.Of(collection).AppliedSequence + 5,
                new CancellationTokenSource(200).Token));
    }

    [Fact]
    public async Task RemovingAReplicaDeletesItsLocalData()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec spec = Spec("repl-remove", shards: 1);
        await ShardStreams.CreateAsync(js, spec, CancellationToken.None);
        using var data = new TempFolder();
        await using ShardReplicas replicas = NewReplicas(client, data.Path);
        await replicas.EnsureAsync(spec, 0, CancellationToken.None);
        await WaitServingAsync(replicas, spec, new Dictionary<int, ulong>());
        string folder = replicas.Find(spec.Name, 0)!.Folder;
        Assert.True(Directory.Exists(folder));

        await replicas.RemoveAsync(spec.Name, 0);

        Assert.False(Directory.Exists(folder));
        Assert.Empty(replicas.Statuses());
        Assert.Null(replicas.TryAcquireServing(spec.Name, 0, out string? whyNot));
        Assert.Contains("no replica", whyNot);
        await ShardStreams.DeleteAsync(js, spec, CancellationToken.None);
    }

    [Fact]
    public async Task ACollectionDroppedAndCreatedAgainUnderItsNameStartsOverOnEveryReplica()
    {
        await using var client = fixture.Nats.Connect();
        INatsJSContext js = client.CreateJetStreamContext();
        ClusterCollectionSpec old = Spec("repl-again", shards: 1);
        await ShardStreams.CreateAsync(js, old, CancellationToken.None);
        var writer = new ShardWriter(client.Connection);
        using var kept = new TempFolder();
        using var fresh = new TempFolder();
        var oldPoints = new Dictionary<long, float[]>();
        var sequences = new Dictionary<int, ulong>();
        await using (ShardReplicas replicas = NewReplicas(client, kept.Path))
        {
            await replicas.EnsureAsync(old, 0, CancellationToken.None);
            foreach (var (shard, sequence) in await WriteAsync(writer, old, oldPoints, new Random(3), firstId: 0, count: 60))
                sequences[shard] = sequence;
            await WaitServingAsync(replicas, old, sequences);
            await replicas.CheckpointAsync(old.Name, 0, CancellationToken.None);
        }

        // Dropped (streams and snapshots deleted) while this node was down, then created again with other points.
        await ShardStreams.DeleteAsync(js, old, CancellationToken.None);
        Assert.Null(await new ShardSnapshotStore(js).StoredSequenceAsync(old.Name, 0, old.CreatedUnixMs, 3, CancellationToken.None));
        ClusterCollectionSpec again = old with { CreatedUnixMs = old.CreatedUnixMs + 1 };
        await ShardStreams.CreateAsync(js, again, CancellationToken.None);
        var newPoints = new Dictionary<long, float[]>();
        sequences.Clear();
        foreach (var (shard, sequence) in await WriteAsync(writer, again, newPoints, new Random(4), firstId: 1000, count: 20))
            sequences[shard] = sequence;

        foreach (string folder in new[] { kept.Path, fresh.Path })
        {
            await using ShardReplicas replicas = NewReplicas(client, folder);
            await replicas.EnsureAsync(again, 0, CancellationToken.None);
            await WaitServingAsync(replicas, again, sequences);
            AssertHoldsExactlyItsShard(replicas, again, newPoints);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static ClusterCollectionSpec Spec(string name, int shards) => new(
        $"{name}-{Guid.NewGuid():N}"[..30], Dimension, DistanceMetric.L2, M: 8, EfConstruction: 32, Quantization: VectorQuantization.None, shards,
        ReplicasPerShard: 1, StreamReplicas: 3, ShardReplicaNodeIds: [.. Enumerable.Range(0, shards).Select(_ => (IReadOnlyList<string>)["n"])],
        CreatedUnixMs: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private static ShardReplicas NewReplicas(NatsClient client, string dataDirectory) =>
        new(client.Connection, dataDirectory, new DurabilityOptions(), NullLoggerFactory.Instance);

    private static float[] Vector(Random random) => [.. Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble())];

    /// <summary>Upserts ids firstId..firstId+count in batches of 1 to 40 points; remembers each id's last vector.</summary>
    private static async Task<List<ShardPosition>> WriteAsync(ShardWriter writer, ClusterCollectionSpec spec,
        Dictionary<long, float[]> expected, Random random, long firstId, int count)
    {
        var last = new List<ShardPosition>();
        for (long id = firstId; id < firstId + count;)
        {
            int n = (int)Math.Min(random.Next(1, 41), firstId + count - id);
            var ids = new long[n];
            var vectors = new float[n * Dimension];
            for (int i = 0; i < n; i++)
            {
                ids[i] = id + i;
                float[] vector = Vector(random);
                vector.CopyTo(vectors, i * Dimension);
                expected[id + i] = vector;
            }
            last.AddRange(await writer.UpsertAsync(spec, new UpsertBatch(Dimension, ids, vectors, new int[]?[n]), CancellationToken.None));
            id += n;
        }
        return last;
    }

    private static async Task WaitServingAsync(ShardReplicas replicas, ClusterCollectionSpec spec, Dictionary<int, ulong> sequences)
    {
        using var timeout = new CancellationTokenSource(Patience);
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            ShardReplicaRunner runner = replicas.Find(spec.Name, shard) ?? throw new InvalidOperationException($"no replica of shard {shard}");
            await runner.Serving.WaitAsync(timeout.Token);
            if (sequences.TryGetValue(shard, out ulong sequence))
                await ReplicaStreamPosition.Of(runner.Collection!).WaitForSequenceAsync(sequence, timeout.Token);
        }
        Assert.True(replicas.AllServing);
    }

    /// <summary>Every expected point is in the replica of its hash's shard, with its last vector, and nowhere else.</summary>
    private static void AssertHoldsExactlyItsShard(ShardReplicas replicas, ClusterCollectionSpec spec, Dictionary<long, float[]> expected)
    {
        var vector = new float[Dimension];
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            Collection collection = replicas.Find(spec.Name, shard)!.Collection!;
            var mine = expected.Where(p => ShardHash.ShardOf(p.Key, spec.Shards) == shard).ToList();
            Assert.Equal(mine.Count, collection.Count);
            foreach (var (id, stored) in mine)
            {
                Assert.True(collection.TryGet(id, vector, out _), $"id {id} missing from shard {shard}");
                Assert.Equal(stored, vector);
            }
        }
    }
}
