using System.Globalization;
using NATS.Client.JetStream;
using NATS.Client.ObjectStore;
using NATS.Client.ObjectStore.Models;

namespace AnnServer.Cluster.Replication;

/// <summary>
/// The newest snapshot of each shard, in the JetStream object store bucket <see cref="Bucket"/>, object
/// <c>{collection}/{shard}</c>, so that a new replica starts from it instead of replaying its stream from sequence 1.
/// Replicas upload their snapshot after each local checkpoint (when it is newer than the stored one). Object metadata:
/// <c>sequence</c> = the stream sequence the snapshot covers (the replica resumes the stream after it);
/// <c>created</c> = the collection's <c>CreatedUnixMs</c>, so that a snapshot of an earlier collection of the same name
/// is never used.
/// </summary>
public sealed class ShardSnapshotStore(INatsJSContext js)
{
    public const string Bucket = "ann-snapshots";
    public const string SequenceKey = "sequence";
    public const string CreatedKey = "created";

    private readonly NatsObjContext _objects = new(js);
    private INatsObjStore? _store;

    public static string ObjectName(string collection, int shard) => $"{collection}/{shard}";

    /// <summary>What the store holds for a shard of the collection created at <paramref name="createdUnixMs"/>: the
    /// sequence it covers, or null when there is no usable snapshot.</summary>
    public async Task<ulong?> StoredSequenceAsync(string collection, int shard, long createdUnixMs, int replicas, CancellationToken ct)
    {
        INatsObjStore store = await StoreAsync(replicas, ct).ConfigureAwait(false);
        try
        {
            ObjectMetadata info = await store.GetInfoAsync(ObjectName(collection, shard), cancellationToken: ct).ConfigureAwait(false);
            return Parse(info, createdUnixMs);
        }
        catch (NatsObjNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Uploads <paramref name="snapshotPath"/> as the shard's snapshot covering <paramref name="sequence"/>,
    /// unless the store already has one covering as much or more. Returns true when it uploaded.</summary>
    public async Task<bool> UploadAsync(string collection, int shard, long createdUnixMs, int replicas, ulong sequence, string snapshotPath,
        CancellationToken ct)
    {
        if (await StoredSequenceAsync(collection, shard, createdUnixMs, replicas, ct).ConfigureAwait(false) is { } stored && stored >= sequence)
            return false;
        INatsObjStore store = await StoreAsync(replicas, ct).ConfigureAwait(false);
        // The file is opened once: a later checkpoint renames a new snapshot over the path, but this handle keeps
        // reading the one it opened, which covers at least `sequence`.
        await using var file = new FileStream(snapshotPath, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20,
            FileOptions.SequentialScan | FileOptions.Asynchronous);
        var meta = new ObjectMetadata
        {
            Name = ObjectName(collection, shard),
            Description = $"snapshot of collection '{collection}' shard {shard} up to stream sequence {sequence}",
            Metadata = new Dictionary<string, string>
            {
                [SequenceKey] = sequence.ToString(CultureInfo.InvariantCulture),
                [CreatedKey] = createdUnixMs.ToString(CultureInfo.InvariantCulture),
            },
        };
        await store.PutAsync(meta, file, leaveOpen: true, cancellationToken: ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Downloads the shard's snapshot to <paramref name="destinationPath"/>; returns the sequence it covers,
    /// or null (nothing written) when there is no usable one.</summary>
    public async Task<ulong?> TryDownloadAsync(string collection, int shard, long createdUnixMs, int replicas, string destinationPath,
        CancellationToken ct)
    {
        INatsObjStore store = await StoreAsync(replicas, ct).ConfigureAwait(false);
        string name = ObjectName(collection, shard);
        ObjectMetadata info;
        try
        {
            info = await store.GetInfoAsync(name, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (NatsObjNotFoundException)
        {
            return null;
        }
        if (Parse(info, createdUnixMs) is not { } sequence)
            return null;
        await using (var file = new FileStream(destinationPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
        {
            // The object store checks the digest of what it delivers against the one stored with the object.
            ObjectMetadata got = await store.GetAsync(name, file, leaveOpen: true, cancellationToken: ct).ConfigureAwait(false);
            await file.FlushAsync(ct).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
            // Another replica may have replaced the object between GetInfo and Get: use what was delivered.
            if (Parse(got, createdUnixMs) is { } delivered)
                sequence = delivered;
        }
        return sequence;
    }

    /// <summary>Deletes the snapshots of shards 0..shards-1 (the collection was dropped); missing ones, or no bucket
    /// at all, are fine.</summary>
    public async Task DeleteAsync(string collection, int shards, CancellationToken ct)
    {
        INatsObjStore store;
        try
        {
            store = _store ?? await _objects.GetObjectStoreAsync(Bucket, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NatsJSApiException or NatsObjException)
        {
            return;
        }
        for (int shard = 0; shard < shards; shard++)
        {
            try
            {
                await store.DeleteAsync(ObjectName(collection, shard), ct).ConfigureAwait(false);
            }
            catch (NatsObjNotFoundException)
            {
            }
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

    /// <summary>The bucket, created on first use (file storage, <paramref name="replicas"/> copies).</summary>
    private async Task<INatsObjStore> StoreAsync(int replicas, CancellationToken ct)
    {
        if (_store is { } store) return store;
        try
        {
            store = await _objects.CreateObjectStoreAsync(
                new NatsObjConfig(Bucket) { Storage = NatsObjStorageType.File, NumberOfReplicas = Math.Max(1, replicas) }, ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException)
        {
            // Created already, by another node with another replica count: use it as it is.
            store = await _objects.GetObjectStoreAsync(Bucket, ct).ConfigureAwait(false);
        }
        return _store = store;
    }
}
