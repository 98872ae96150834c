using System.Globalization;
using AnnServer.Cluster.State;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;

namespace AnnServer.Cluster.Replication;

/// <summary>
/// The newest snapshot of each shard, so that a new replica starts from it instead of replaying its stream from sequence
/// 1. Replicas upload their snapshot after each local checkpoint, when it covers more than the stored one.
/// <para>Layout: every upload is a new object in the JetStream object store bucket <see cref="Bucket"/>, named
/// <c>{collection}/{shard}/{sequence}-{upload id}</c> (metadata <c>sequence</c> and <c>created</c>, for people looking
/// at the bucket); which one is current is the shard's <see cref="ShardSnapshotHead"/> in the KV bucket
/// <see cref="HeadsBucket"/>. An upload puts its object, then moves the head to it with a compare-and-set on the key's
/// revision, and only forward (to a higher sequence); whoever moved the head deletes the object it replaced, an upload
/// that finds a head as new as its own deletes its object. So two replicas uploading at once leave the newer snapshot,
/// whichever of their puts ends last: one object that is checked and then replaced could not (the store would keep the
/// last put, which may cover less, and a stream trimmed up to the newer one would then have a gap no snapshot covers).
/// </para>
/// <para>Shards with no head yet are read from the object <c>{collection}/{shard}</c>, where versions before heads kept
/// their one snapshot (metadata <c>sequence</c>, <c>created</c>); the first upload with a head deletes it.</para>
/// </summary>
public sealed class ShardSnapshotStore(INatsJSContext js)
{
    public const string Bucket = "ann-snapshots";
    public const string HeadsBucket = "ann-snapshot-heads";
    public const string SequenceKey = "sequence";
    public const string CreatedKey = "created";

    /// <summary>Head moves tried before an upload gives up (each conflict means another upload moved it meanwhile).</summary>
    private const int MaxHeadAttempts = 20;

    private readonly NatsObjContext _objects = new(js);
    private readonly NatsKVContext _kv = new(js);
    private INatsObjStore? _store;
    private INatsKVStore? _heads;

    /// <summary>The object versions before heads kept a shard's snapshot in; read when the shard has no head.</summary>
    public static string LegacyObjectName(string collection, int shard) => $"{collection}/{shard}";

    /// <summary>The shard's key in <see cref="HeadsBucket"/> (collection names hold no '.').</summary>
    public static string HeadKey(string collection, int shard) => $"{collection}.{shard}";

    /// <summary>What the store holds for a shard of the collection created at <paramref name="createdUnixMs"/>: the
    /// sequence it covers, or null when there is no usable snapshot.</summary>
    public async Task<ulong?> StoredSequenceAsync(string collection, int shard, long createdUnixMs, int replicas, CancellationToken ct) =>
        (await CurrentAsync(collection, shard, createdUnixMs, replicas, ct).ConfigureAwait(false))?.Sequence;

    /// <summary>Uploads <paramref name="snapshotPath"/> as the shard's snapshot covering <paramref name="sequence"/>,
    /// unless the store already has one covering as much or more (also when that one is stored while this upload runs).
    /// Returns true when the shard's head now names this upload.</summary>
    public async Task<bool> UploadAsync(string collection, int shard, long createdUnixMs, int replicas, ulong sequence, string snapshotPath,
        CancellationToken ct)
    {
        if (await CurrentAsync(collection, shard, createdUnixMs, replicas, ct).ConfigureAwait(false) is { } stored && stored.Sequence >= sequence)
            return false;
        INatsObjStore store = await StoreAsync(replicas, ct).ConfigureAwait(false);
        INatsKVStore heads = await HeadsAsync(replicas, ct).ConfigureAwait(false);
        string name = $"{collection}/{shard}/{sequence.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}";
        // The file is opened once: a later checkpoint renames a new snapshot over the path, but this handle keeps
        // reading the one it opened, which covers at least `sequence`.
        await using (var file = new FileStream(snapshotPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20,
                         FileOptions.SequentialScan | FileOptions.Asynchronous))
        {
            var meta = new ObjectMetadata
            {
                Name = name,
                Description = $"snapshot of collection '{collection}' shard {shard} up to stream sequence {sequence}",
                Metadata = new Dictionary<string, string>
                {
                    [SequenceKey] = sequence.ToString(CultureInfo.InvariantCulture),
                    [CreatedKey] = createdUnixMs.ToString(CultureInfo.InvariantCulture),
                },
            };
            await store.PutAsync(meta, file, leaveOpen: true, cancellationToken: ct).ConfigureAwait(false);
        }

        string key = HeadKey(collection, shard);
        byte[] value = ClusterJson.Serialize(new ShardSnapshotHead(name, sequence, createdUnixMs));
        for (int attempt = 1; ; attempt++)
        {
            (ShardSnapshotHead? head, ulong revision) = await ReadHeadAsync(heads, key, ct).ConfigureAwait(false);
            if (head is not null && head.Created == createdUnixMs && head.Sequence >= sequence)
            {
                // Another replica stored one as new meanwhile: this upload is not needed.
                await DeleteObjectAsync(store, name, ct).ConfigureAwait(false);
                return false;
            }
            try
            {
                if (revision == 0)
                    await heads.CreateAsync(key, value, cancellationToken: ct).ConfigureAwait(false);
                else
                    await heads.UpdateAsync(key, value, revision, cancellationToken: ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsKVCreateException or NatsKVWrongLastRevisionException && attempt < MaxHeadAttempts)
            {
                // Another upload moved the head between the read and the write: read it again.
                continue;
            }
            // Any other failure leaves the object behind (the head may have moved even though its answer was lost, so
            // deleting it could leave the head naming nothing); DeleteAsync removes it with the collection.

            // Replaced: the object the old head named (or, with no head, the one of the versions before heads). A
            // replica still downloading it fails and starts again, as it did when an upload replaced the one object.
            // Best effort: the head has moved, which is what the upload is for; a leftover goes with the collection.
            try
            {
                await DeleteObjectAsync(store, head?.Object ?? LegacyObjectName(collection, shard), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
            }
            return true;
        }
    }

    /// <summary>Downloads the shard's snapshot to <paramref name="destinationPath"/>; returns the sequence it covers,
    /// or null (nothing written) when there is no usable one.</summary>
    public async Task<ulong?> TryDownloadAsync(string collection, int shard, long createdUnixMs, int replicas, string destinationPath,
        CancellationToken ct)
    {
        INatsObjStore store = await StoreAsync(replicas, ct).ConfigureAwait(false);
        for (int attempt = 1; ; attempt++)
        {
            if (await CurrentAsync(collection, shard, createdUnixMs, replicas, ct).ConfigureAwait(false) is not { } current)
                return null;
            try
            {
                await using var file = new FileStream(destinationPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
                // The object store checks the digest of what it delivers against the one stored with the object.
                ObjectMetadata got = await store.GetAsync(current.Object, file, leaveOpen: true, cancellationToken: ct).ConfigureAwait(false);
                await file.FlushAsync(ct).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
                // An object of the versions before heads may have been replaced since it was looked up (an older node
                // in a rolling upgrade still uploads there): use what was delivered. Objects named by a head never change.
                return Parse(got, createdUnixMs) ?? current.Sequence;
            }
            catch (NatsObjNotFoundException) when (attempt < 3)
            {
                // A newer upload replaced it between reading the head and the download: take the newer one.
            }
        }
    }

    /// <summary>Deletes the snapshots of shards 0..shards-1 (the collection was dropped): their heads and every object
    /// of the collection, also one an upload left without a head (its process died before moving the head). Missing
    /// ones, or no buckets at all, are fine.</summary>
    public Task DeleteAsync(string collection, int shards, CancellationToken ct) => DeleteAsync(collection, shards, createdUnixMs: null, ct);

    /// <summary>Deletes what was stored for shards 0..shards-1 of the collection created at <paramref name="createdUnixMs"/>
    /// only (heads and objects of that creation time): an import that failed before its spec was written removes its
    /// uploads without touching those of another collection of the same name.</summary>
    public Task DeleteUploadsAsync(string collection, int shards, long createdUnixMs, CancellationToken ct) =>
        DeleteAsync(collection, shards, (long?)createdUnixMs, ct);

    private async Task DeleteAsync(string collection, int shards, long? createdUnixMs, CancellationToken ct)
    {
        INatsKVStore? heads = _heads;
        if (heads is null)
        {
            try
            {
                heads = await _kv.GetStoreAsync(HeadsBucket, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsJSApiException or NatsKVException)
            {
            }
        }
        if (heads is not null)
        {
            for (int shard = 0; shard < shards; shard++)
            {
                if (createdUnixMs is { } created)
                {
                    (ShardSnapshotHead? head, _) = await ReadHeadAsync(heads, HeadKey(collection, shard), ct).ConfigureAwait(false);
                    if (head is null || head.Created != created)
                        continue;
                }
                try
                {
                    await heads.PurgeAsync(HeadKey(collection, shard), cancellationToken: ct).ConfigureAwait(false);
                }
                catch (NatsKVKeyNotFoundException)
                {
                }
            }
        }

        INatsObjStore store;
        try
        {
            store = _store ?? await _objects.GetObjectStoreAsync(Bucket, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsJSApiException or NatsObjException)
        {
            return;
        }
        var names = new List<string>();
        try
        {
            // NATS.Net's listing of an empty bucket waits for a first object instead of ending: look first. (A bucket
            // never empties again: a deleted object leaves a marker.)
            INatsJSStream stream = await js.GetStreamAsync($"OBJ_{Bucket}", cancellationToken: ct).ConfigureAwait(false);
            if (stream.Info.State.Messages == 0)
                return;
            await foreach (ObjectMetadata info in store.ListAsync(cancellationToken: ct).ConfigureAwait(false))
            {
                if (info.Deleted || !info.Name.StartsWith(collection + "/", StringComparison.Ordinal))
                    continue;
                if (createdUnixMs is { } created && (info.Metadata is null || !info.Metadata.TryGetValue(CreatedKey, out string? createdText)
                        || createdText != created.ToString(CultureInfo.InvariantCulture)))
                    continue;
                // {collection}/{shard}/{sequence}-{upload id}, or {collection}/{shard} of the versions before heads.
                string rest = info.Name[(collection.Length + 1)..];
                int slash = rest.IndexOf('/');
                if (int.TryParse(slash < 0 ? rest : rest[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out int shard) && shard < shards)
                    names.Add(info.Name);
            }
        }
        catch (Exception e) when (e is NatsObjNotFoundException || e is NatsJSApiException { Error.ErrCode: ShardStreams.StreamNotFoundErrorCode })
        {
            // The bucket went away meanwhile: nothing to delete.
        }
        foreach (string name in names)
            await DeleteObjectAsync(store, name, ct).ConfigureAwait(false);
    }

    /// <summary>The shard's usable snapshot: the head's, or with no head the object of the versions before heads; null
    /// when there is none for the collection created at <paramref name="createdUnixMs"/>.</summary>
    private async Task<ShardSnapshotHead?> CurrentAsync(string collection, int shard, long createdUnixMs, int replicas, CancellationToken ct)
    {
        INatsKVStore heads = await HeadsAsync(replicas, ct).ConfigureAwait(false);
        (ShardSnapshotHead? head, _) = await ReadHeadAsync(heads, HeadKey(collection, shard), ct).ConfigureAwait(false);
        if (head is not null)
            return head.Created == createdUnixMs ? head : null;
        INatsObjStore store = await StoreAsync(replicas, ct).ConfigureAwait(false);
        try
        {
            ObjectMetadata info = await store.GetInfoAsync(LegacyObjectName(collection, shard), cancellationToken: ct).ConfigureAwait(false);
            return Parse(info, createdUnixMs) is { } sequence ? new ShardSnapshotHead(info.Name, sequence, createdUnixMs) : null;
        }
        catch (NatsObjNotFoundException)
        {
            return null;
        }
    }

    /// <summary>The shard's head and the key's revision (0: no head; a deleted one also counts as none, and
    /// NatsKVStore.CreateAsync writes over it).</summary>
    private static async Task<(ShardSnapshotHead? Head, ulong Revision)> ReadHeadAsync(INatsKVStore heads, string key, CancellationToken ct)
    {
        try
        {
            NatsKVEntry<byte[]> entry = await heads.GetEntryAsync<byte[]>(key, cancellationToken: ct).ConfigureAwait(false);
            return entry.Value is { } bytes && ClusterJson.TryDeserialize<ShardSnapshotHead>(bytes) is { } head
                ? (head, entry.Revision)
                : (null, entry.Revision);
        }
        catch (Exception e) when (e is NatsKVKeyNotFoundException or NatsKVKeyDeletedException)
        {
            return (null, 0);
        }
    }

    private static async Task DeleteObjectAsync(INatsObjStore store, string name, CancellationToken ct)
    {
        try
        {
            await store.DeleteAsync(name, ct).ConfigureAwait(false);
        }
        catch (NatsObjNotFoundException)
        {
        }
    }

    private static ulong? Parse(ObjectMetadata info, long createdUnixMs)
    {
        if (info.Deleted || info.Metadata is null) return null;
        if (!info.Metadata.TryGetValue(CreatedKey, out string? created) || created != createdUnixMs.ToString(CultureInfo.InvariantCulture))
            return null;
        return info.Metadata.TryGetValue(SequenceKey, out string? text) && ulong.TryParse(text, CultureInfo.InvariantCulture, out ulong sequence)
            ? sequence
            : null;
    }

    /// <summary>The object bucket, created on first use (file storage, <paramref name="replicas"/> copies). Looked up
    /// first: a lookup is answered by the bucket's stream leader, a create (even of a bucket that exists) goes through
    /// JetStream's meta leader, which on a busy cluster may not answer in time.</summary>
    private async Task<INatsObjStore> StoreAsync(int replicas, CancellationToken ct)
    {
        if (_store is { } store) return store;
        store = await GetOrCreateAsync(
            () => _objects.GetObjectStoreAsync(Bucket, ct),
            () => _objects.CreateObjectStoreAsync(
                new NatsObjConfig(Bucket) { Storage = NatsObjStorageType.File, NumberOfReplicas = Math.Max(1, replicas) }, ct), ct).ConfigureAwait(false);
        INatsObjStore found = store;
        await WaitUntilAnsweringAsync(async () =>
        {
            try
            {
                await found.GetInfoAsync("readiness-probe", cancellationToken: ct).ConfigureAwait(false);
            }
            catch (NatsObjNotFoundException)
            {
            }
        }, ct).ConfigureAwait(false);
        return _store = store;
    }

    /// <summary>The heads bucket, looked up or created like the object bucket (history 1: only the current head
    /// matters).</summary>
    private async Task<INatsKVStore> HeadsAsync(int replicas, CancellationToken ct)
    {
        if (_heads is { } heads) return heads;
        heads = await GetOrCreateAsync(
            () => _kv.GetStoreAsync(HeadsBucket, ct),
            () => _kv.CreateStoreAsync(new NatsKVConfig(HeadsBucket)
            {
                Description = "AnnServer: which object of ann-snapshots is each shard's snapshot (docs/cluster.md)",
                History = 1,
                Storage = NatsKVStorageType.File,
                NumberOfReplicas = Math.Max(1, replicas),
            }, ct), ct).ConfigureAwait(false);
        INatsKVStore found = heads;
        await WaitUntilAnsweringAsync(() => ReadHeadAsync(found, "readiness-probe", ct), ct).ConfigureAwait(false);
        return _heads = heads;
    }

    /// <summary>A bucket looked up, or created when it does not exist; created meanwhile by another node (perhaps with
    /// another replica count), it is looked up again and used as it is.</summary>
    /// <remarks>A create that gets no answer in time may still have created the bucket: JetStream's meta leader answers
    /// late on a busy machine, and nats-server 2.9 loses the reply when several create streams at once
    /// (nats-io/nats-server#3677; CI saw it when test classes began to run in parallel). So it is looked up again, and
    /// created again if still absent, for up to about 20 s as <see cref="WaitUntilAnsweringAsync"/> waits.</remarks>
    private static async Task<T> GetOrCreateAsync<T>(Func<ValueTask<T>> get, Func<ValueTask<T>> create, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await get().ConfigureAwait(false);
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == ShardStreams.StreamNotFoundErrorCode)
            {
            }
            try
            {
                return await create().ConfigureAwait(false);
            }
            catch (NatsJSApiNoResponseException) when (attempt < MaxCreateAttempts)
            {
                await Task.Delay(200, ct).ConfigureAwait(false);
            }
            catch (NatsJSApiException)
            {
                return await get().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Creates tried before a create that gets no answer fails the caller (each waits the client's request
    /// timeout, then 200 ms).</summary>
    private const int MaxCreateAttempts = 4;

    /// <summary>
    /// Right after a bucket is created its stream has no leader (and no replica serving direct gets) for a moment, and
    /// reads get no responder; on a busy machine that lasts seconds. Probed once per bucket and store, for up to about
    /// 20 s, so that the first read or upload does not fail for it.
    /// </summary>
    private static async Task WaitUntilAnsweringAsync(Func<Task> probe, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await probe().ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is NatsJSApiNoResponseException or NatsNoRespondersException or NatsNoReplyException && attempt < 100)
            {
                await Task.Delay(200, ct).ConfigureAwait(false);
            }
        }
    }
}
