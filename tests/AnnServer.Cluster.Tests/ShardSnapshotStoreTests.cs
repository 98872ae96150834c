using System.Globalization;
using AnnServer.Cluster.Replication;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;
using NATS.Net;
using Xunit;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// The shards' snapshot store against three real nats-servers: the stored snapshot only ever moves forward, also when
/// two replicas upload at once; a snapshot stored by an earlier version (one object per shard, no head) is read until
/// an upload replaces it; dropping a collection leaves none of its objects.
/// </summary>
public sealed class ShardSnapshotStoreTests(ReplicationNats fixture, ITestOutputHelper output) : IClassFixture<ReplicationNats>
{
    private const int Replicas = 3;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task TwoReplicasUploadingAtOnceLeaveTheNewerSnapshotWhicheverPutEndsLast()
    {
        // Two nodes, each with its own connection and store. The older snapshot is large and the newer small, so the
        // newer upload is done long before the older one's put ends: a store that checks and then writes keeps the older.
        await using NatsClient first = fixture.Nats.Connect("snapshots-a"), second = fixture.Nats.Connect("snapshots-b");
        var older = new ShardSnapshotStore(first.CreateJetStreamContext());
        var newer = new ShardSnapshotStore(second.CreateJetStreamContext());
        string collection = Name("race");
        long created = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var files = new TempFolder();
        using var timeout = new CancellationTokenSource(Patience);

        for (int round = 1; round <= 2; round++)
        {
            ulong olderSequence = 1000UL * (ulong)round + 100, newerSequence = olderSequence + 100;
            string olderFile = WriteRandomFile(files.Path, $"older-{round}.snap", 2 << 20, seed: 2 * round);
            string newerFile = WriteRandomFile(files.Path, $"newer-{round}.snap", 16 << 10, seed: 2 * round + 1);

            Task<bool> olderUpload = Task.Run(() => older.UploadAsync(collection, 0, created, Replicas, olderSequence, olderFile, timeout.Token));
            Task<bool> newerUpload = Task.Run(() => newer.UploadAsync(collection, 0, created, Replicas, newerSequence, newerFile, timeout.Token));
            bool[] stored = await Task.WhenAll(olderUpload, newerUpload);
            output.WriteLine($"round {round}: the upload of {olderSequence} (2 MiB) answered {stored[0]}, of {newerSequence} (16 KiB) {stored[1]}");

            Assert.True(stored[1], "nothing newer was stored, so the newer upload must be the one kept");
            Assert.Equal(newerSequence, await older.StoredSequenceAsync(collection, 0, created, Replicas, timeout.Token));
            Assert.Equal(newerSequence, await newer.StoredSequenceAsync(collection, 0, created, Replicas, timeout.Token));
            string download = Path.Combine(files.Path, $"download-{round}.snap");
            Assert.Equal(newerSequence, await older.TryDownloadAsync(collection, 0, created, Replicas, download, timeout.Token));
            Assert.Equal(await File.ReadAllBytesAsync(newerFile), await File.ReadAllBytesAsync(download));
            // The older upload's object and the previous round's are gone: one object per shard stays.
            Assert.Single(await ObjectsOfAsync(first, collection));
        }
        await older.DeleteAsync(collection, 1, timeout.Token);
    }

    [Fact]
    public async Task ASnapshotStoredByAnEarlierVersionIsReadUntilAnUploadReplacesIt()
    {
        await using NatsClient client = fixture.Nats.Connect("snapshots-legacy");
        var store = new ShardSnapshotStore(client.CreateJetStreamContext());
        string collection = Name("legacy");
        long created = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var files = new TempFolder();
        using var timeout = new CancellationTokenSource(Patience);

        // What versions before heads stored: one object {collection}/{shard} with its sequence and creation time.
        Assert.Null(await store.StoredSequenceAsync(collection, 0, created, Replicas, timeout.Token)); // (makes the buckets)
        string legacyFile = WriteRandomFile(files.Path, "legacy.snap", 64 << 10, seed: 7);
        INatsObjStore objects = await ObjectStoreAsync(client, timeout.Token);
        await using (FileStream legacy = File.OpenRead(legacyFile))
        {
            await objects.PutAsync(new ObjectMetadata
            {
                Name = ShardSnapshotStore.LegacyObjectName(collection, 0),
                Metadata = new Dictionary<string, string>
                {
                    [ShardSnapshotStore.SequenceKey] = "50",
                    [ShardSnapshotStore.CreatedKey] = created.ToString(CultureInfo.InvariantCulture),
                },
            }, legacy, cancellationToken: timeout.Token);
        }

        Assert.Equal(50UL, await store.StoredSequenceAsync(collection, 0, created, Replicas, timeout.Token));
        string download = Path.Combine(files.Path, "download.snap");
        Assert.Equal(50UL, await store.TryDownloadAsync(collection, 0, created, Replicas, download, timeout.Token));
        Assert.Equal(await File.ReadAllBytesAsync(legacyFile), await File.ReadAllBytesAsync(download));
        // Of another collection of that name: not used.
        Assert.Null(await store.StoredSequenceAsync(collection, 0, created + 1, Replicas, timeout.Token));

        string olderFile = WriteRandomFile(files.Path, "older.snap", 16 << 10, seed: 8);
        Assert.False(await store.UploadAsync(collection, 0, created, Replicas, 40, olderFile, timeout.Token));
        string newerFile = WriteRandomFile(files.Path, "newer.snap", 16 << 10, seed: 9);
        Assert.True(await store.UploadAsync(collection, 0, created, Replicas, 60, newerFile, timeout.Token));
        Assert.Equal(60UL, await store.StoredSequenceAsync(collection, 0, created, Replicas, timeout.Token));
        Assert.Equal(60UL, await store.TryDownloadAsync(collection, 0, created, Replicas, download, timeout.Token));
        Assert.Equal(await File.ReadAllBytesAsync(newerFile), await File.ReadAllBytesAsync(download));
        string kept = Assert.Single(await ObjectsOfAsync(client, collection));
        Assert.NotEqual(ShardSnapshotStore.LegacyObjectName(collection, 0), kept);
        await store.DeleteAsync(collection, 1, timeout.Token);
    }

    [Fact]
    public async Task DroppingACollectionDeletesItsHeadsAndEveryObjectItLeftButNoOtherCollections()
    {
        await using NatsClient client = fixture.Nats.Connect("snapshots-drop");
        var store = new ShardSnapshotStore(client.CreateJetStreamContext());
        string collection = Name("drop");
        string neighbour = collection + "-2"; // its names start with the dropped collection's name
        long created = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using var files = new TempFolder();
        using var timeout = new CancellationTokenSource(Patience);
        string file = WriteRandomFile(files.Path, "a.snap", 16 << 10, seed: 10);

        Assert.True(await store.UploadAsync(collection, 0, created, Replicas, 10, file, timeout.Token));
        Assert.True(await store.UploadAsync(collection, 1, created, Replicas, 20, file, timeout.Token));
        Assert.True(await store.UploadAsync(neighbour, 0, created, Replicas, 30, file, timeout.Token));
        // An upload whose process died between its put and the head: an object no head names.
        INatsObjStore objects = await ObjectStoreAsync(client, timeout.Token);
        await objects.PutAsync($"{collection}/1/25-{Guid.NewGuid():N}", await File.ReadAllBytesAsync(file), timeout.Token);
        Assert.Equal(3, (await ObjectsOfAsync(client, collection)).Count);

        await store.DeleteAsync(collection, 2, timeout.Token);
        Assert.Empty(await ObjectsOfAsync(client, collection));
        Assert.Null(await store.StoredSequenceAsync(collection, 0, created, Replicas, timeout.Token));
        Assert.Null(await store.StoredSequenceAsync(collection, 1, created, Replicas, timeout.Token));
        Assert.Equal(30UL, await store.StoredSequenceAsync(neighbour, 0, created, Replicas, timeout.Token));
        Assert.Single(await ObjectsOfAsync(client, neighbour));

        // A collection of the same name made again starts without a snapshot, and its first upload is stored.
        Assert.Null(await store.StoredSequenceAsync(collection, 0, created + 1, Replicas, timeout.Token));
        Assert.True(await store.UploadAsync(collection, 0, created + 1, Replicas, 5, file, timeout.Token));
        Assert.Equal(5UL, await store.StoredSequenceAsync(collection, 0, created + 1, Replicas, timeout.Token));
        await store.DeleteAsync(collection, 2, timeout.Token);
        await store.DeleteAsync(neighbour, 1, timeout.Token);
        // A bucket left with deletion markers only (when this test runs alone): listing it must still end.
        await store.DeleteAsync(Name("none"), 1, timeout.Token);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static string Name(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private static string WriteRandomFile(string folder, string name, int bytes, int seed)
    {
        var data = new byte[bytes];
        new Random(seed).NextBytes(data);
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, data);
        return path;
    }

    /// <summary>The snapshot bucket (a store has made it: looking it up needs no JetStream meta leader, which on a busy
    /// machine may not answer in time).</summary>
    private static async Task<INatsObjStore> ObjectStoreAsync(NatsClient client, CancellationToken ct) =>
        await new NatsObjContext(client.CreateJetStreamContext()).GetObjectStoreAsync(ShardSnapshotStore.Bucket, ct);

    /// <summary>Names of the objects (not deleted) of <paramref name="collection"/> in the snapshot bucket.</summary>
    private static async Task<List<string>> ObjectsOfAsync(NatsClient client, string collection)
    {
        INatsObjStore objects = await new NatsObjContext(client.CreateJetStreamContext()).GetObjectStoreAsync(ShardSnapshotStore.Bucket);
        var names = new List<string>();
        await foreach (ObjectMetadata info in objects.ListAsync()) // never empty here: the test has uploaded
            if (!info.Deleted && info.Name.StartsWith(collection + "/", StringComparison.Ordinal))
                names.Add(info.Name);
        return names;
    }
}
