using AnnServer.Collections;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace AnnServer.Cluster.State;

/// <summary>
/// Reads and writes the cluster state in its two JetStream key-value buckets (<see cref="ClusterKeys"/>). Every change
/// of a collection spec is a compare-and-set on the key's revision, retried on conflict, so concurrent admins (or an
/// AssignReplica racing a create) never lose each other's change.
/// </summary>
public sealed class ClusterStateStore
{
    private ClusterStateStore(INatsKVStore cluster, INatsKVStore nodes)
    {
        ClusterBucket = cluster;
        NodesBucket = nodes;
    }

    /// <summary><c>ann-cluster</c>: collection specs and replica states.</summary>
    public INatsKVStore ClusterBucket { get; }

    /// <summary><c>ann-nodes</c>: node entries, expiring after the node TTL.</summary>
    public INatsKVStore NodesBucket { get; }

    /// <summary>Creates the buckets if they do not exist (every node does this at start; the first one wins, the others
    /// find them) and opens them.</summary>
    public static async Task<ClusterStateStore> OpenAsync(INatsJSContext js, int replicas, TimeSpan nodeTtl, CancellationToken ct)
    {
        var kv = new NatsKVContext(js);
        INatsKVStore cluster = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(ClusterKeys.ClusterBucket)
        {
            Description = "AnnServer cluster state: collection specs and replica states (docs/cluster.md)",
            History = 1,
            NumberOfReplicas = replicas,
            Storage = NatsKVStorageType.File,
        }, ct).ConfigureAwait(false);
        INatsKVStore nodes = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(ClusterKeys.NodesBucket)
        {
            Description = "AnnServer nodes: one entry per live node, re-put every heartbeat, expiring after the node TTL",
            History = 1,
            NumberOfReplicas = replicas,
            MaxAge = nodeTtl,
            Storage = NatsKVStorageType.File,
        }, ct).ConfigureAwait(false);
        return new ClusterStateStore(cluster, nodes);
    }

    public async Task PutNodeAsync(NodeEntry node, CancellationToken ct) =>
        await NodesBucket.PutAsync(node.NodeId, ClusterJson.Serialize(node), cancellationToken: ct).ConfigureAwait(false);

    public async Task PutReplicaAsync(ReplicaKey key, ReplicaEntry entry, CancellationToken ct) =>
        await ClusterBucket.PutAsync(ClusterKeys.Replica(key.Collection, key.Shard, key.NodeId), ClusterJson.Serialize(entry),
            cancellationToken: ct).ConfigureAwait(false);

    public async Task DeleteReplicaAsync(ReplicaKey key, CancellationToken ct) =>
        await ClusterBucket.DeleteAsync(ClusterKeys.Replica(key.Collection, key.Shard, key.NodeId), cancellationToken: ct)
            .ConfigureAwait(false);

    /// <summary>The payload field kinds stored for <paramref name="collection"/> with the entry's revision; (null, 0) when
    /// there is no entry.</summary>
    public async Task<(ClusterPayloadFields? Fields, ulong Revision)> GetPayloadFieldsAsync(string collection, CancellationToken ct)
    {
        try
        {
            NatsKVEntry<byte[]> entry = await ClusterBucket.GetEntryAsync<byte[]>(ClusterKeys.PayloadFields(collection), cancellationToken: ct)
                .ConfigureAwait(false);
            return (entry.Value is { } bytes ? ClusterJson.TryDeserialize<ClusterPayloadFields>(bytes) : null, entry.Revision);
        }
        catch (Exception e) when (e is NatsKVKeyNotFoundException or NatsKVKeyDeletedException)
        {
            // A create over a deleted entry succeeds (the client writes it at the delete marker's revision).
            return (null, 0);
        }
    }

    /// <summary>Writes the payload field kinds if the entry is still at <paramref name="revision"/> (0: if there is none);
    /// false when another node changed it meanwhile.</summary>
    public async Task<bool> TryWritePayloadFieldsAsync(string collection, ClusterPayloadFields fields, ulong revision, CancellationToken ct)
    {
        string key = ClusterKeys.PayloadFields(collection);
        try
        {
            if (revision == 0)
                await ClusterBucket.CreateAsync(key, ClusterJson.Serialize(fields), cancellationToken: ct).ConfigureAwait(false);
            else
                await ClusterBucket.UpdateAsync(key, ClusterJson.Serialize(fields), revision, cancellationToken: ct).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is NatsKVCreateException or NatsKVWrongLastRevisionException)
        {
            return false;
        }
    }

    /// <summary>The spec stored now (not the watcher's view), or null when there is none.</summary>
    public async Task<VersionedSpec?> GetSpecAsync(string name, CancellationToken ct)
    {
        try
        {
            NatsKVEntry<byte[]> entry = await ClusterBucket.GetEntryAsync<byte[]>(ClusterKeys.Collection(name), cancellationToken: ct)
                .ConfigureAwait(false);
            return entry.Value is { } bytes && ClusterJson.TryDeserialize<ClusterCollectionSpec>(bytes) is { } spec
                ? new VersionedSpec(spec, entry.Revision)
                : null;
        }
        catch (NatsKVKeyNotFoundException)
        {
            return null;
        }
        catch (NatsKVKeyDeletedException)
        {
            return null;
        }
    }

    /// <summary>Stores a new spec; false when a collection of that name exists already.</summary>
    public async Task<bool> TryCreateSpecAsync(ClusterCollectionSpec spec, CancellationToken ct)
    {
        try
        {
            await ClusterBucket.CreateAsync(ClusterKeys.Collection(spec.Name), ClusterJson.Serialize(spec), cancellationToken: ct)
                .ConfigureAwait(false);
            return true;
        }
        catch (NatsKVCreateException)
        {
            return false;
        }
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the stored spec and writes the result if nobody changed the spec meanwhile;
    /// on a conflict, reads it again and re-applies the change. <paramref name="change"/> may throw to refuse (its
    /// exception propagates) and must be a pure function of the spec it is given.
    /// </summary>
    /// <returns>The spec as written, or null when there is no such collection.</returns>
    public async Task<ClusterCollectionSpec?> UpdateSpecAsync(string name, Func<ClusterCollectionSpec, ClusterCollectionSpec> change,
        CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (await GetSpecAsync(name, ct).ConfigureAwait(false) is not { } current)
                return null;
            ClusterCollectionSpec changed = change(current.Spec);
            try
            {
                await ClusterBucket.UpdateAsync(ClusterKeys.Collection(name), ClusterJson.Serialize(changed), current.Revision,
                    cancellationToken: ct).ConfigureAwait(false);
                return changed;
            }
            catch (NatsKVWrongLastRevisionException) when (attempt < 20)
            {
                // Someone else changed the spec between our read and our write: read theirs and apply ours on top.
                await Task.Delay(Random.Shared.Next(5, 50), ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Deletes the spec and every replica state of the collection. Returns the spec it deleted (the caller deletes
    /// that spec's streams), or null when there was none.
    /// </summary>
    /// <remarks>
    /// The delete is a compare-and-set on the revision read: a spec changed in between (a replica assigned, or the
    /// collection dropped and created again by another caller) is read again and the delete retried, so what is
    /// deleted is always a spec the caller has seen.
    /// </remarks>
    public async Task<ClusterCollectionSpec?> DeleteSpecAsync(string name, IEnumerable<ReplicaKey> replicaKeys, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            if (await GetSpecAsync(name, ct).ConfigureAwait(false) is not { } current)
                return null;
            if (await TryDeleteSpecAsync(current, ct).ConfigureAwait(false))
            {
                foreach (ReplicaKey key in replicaKeys)
                    await DeleteReplicaAsync(key, ct).ConfigureAwait(false);
                return current.Spec;
            }
            if (attempt >= 20)
                throw new InvalidOperationException($"the spec of collection '{name}' kept changing: not deleted after {attempt + 1} attempts");
            await Task.Delay(Random.Shared.Next(5, 50), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Stores a new alias; false when the key exists already.</summary>
    public async Task<bool> TryCreateAliasAsync(string alias, string collection, CancellationToken ct)
    {
        try
        {
            await ClusterBucket.CreateAsync(ClusterKeys.Alias(alias), ClusterJson.Serialize(AliasEntry(collection)), cancellationToken: ct)
                .ConfigureAwait(false);
            return true;
        }
        catch (NatsKVCreateException)
        {
            return false;
        }
    }

    /// <summary>
    /// Points an alias at <paramref name="collection"/> in one compare-and-set on the key's revision, so every router
    /// sees the old target or the new one, and two switches never both succeed against the same current target. With
    /// <paramref name="expected"/>, only if the alias names it; without, a conflict is read again and retried.
    /// Returns the collection it named before.
    /// </summary>
    /// <exception cref="AliasNotFoundException">no such alias.</exception>
    /// <exception cref="AliasTargetChangedException">it names another collection than <paramref name="expected"/>.</exception>
    public async Task<string> SwitchAliasAsync(string alias, string collection, string? expected, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            (ClusterAliasEntry current, ulong revision) = await GetAliasAsync(alias, ct).ConfigureAwait(false)
                ?? throw new AliasNotFoundException(alias);
            if (expected is not null && current.Collection != expected)
                throw new AliasTargetChangedException(alias, expected, current.Collection);
            try
            {
                await ClusterBucket.UpdateAsync(ClusterKeys.Alias(alias), ClusterJson.Serialize(AliasEntry(collection)), revision,
                    cancellationToken: ct).ConfigureAwait(false);
                return current.Collection;
            }
            catch (NatsKVWrongLastRevisionException) when (attempt < 20)
            {
                // Another switch came first: with an expected target the re-read above refuses, without it ours goes on top.
                await Task.Delay(Random.Shared.Next(5, 50), ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Deletes an alias; false when there is none.</summary>
    public async Task<bool> DeleteAliasAsync(string alias, CancellationToken ct)
    {
        if (await GetAliasAsync(alias, ct).ConfigureAwait(false) is not { } current)
            return false;
        try
        {
            await ClusterBucket.DeleteAsync(ClusterKeys.Alias(alias), new NatsKVDeleteOpts { Revision = current.Revision }, ct)
                .ConfigureAwait(false);
        }
        catch (NatsKVWrongLastRevisionException)
        {
            // Switched meanwhile: it is still an alias, and deleting it is still what was asked.
            await ClusterBucket.DeleteAsync(ClusterKeys.Alias(alias), cancellationToken: ct).ConfigureAwait(false);
        }
        return true;
    }

    private async Task<(ClusterAliasEntry Entry, ulong Revision)?> GetAliasAsync(string alias, CancellationToken ct)
    {
        try
        {
            NatsKVEntry<byte[]> entry = await ClusterBucket.GetEntryAsync<byte[]>(ClusterKeys.Alias(alias), cancellationToken: ct)
                .ConfigureAwait(false);
            return entry.Value is { } bytes && ClusterJson.TryDeserialize<ClusterAliasEntry>(bytes) is { } value
                ? (value, entry.Revision)
                : null;
        }
        catch (NatsKVKeyNotFoundException)
        {
            return null;
        }
        catch (NatsKVKeyDeletedException)
        {
            return null;
        }
    }

    private static ClusterAliasEntry AliasEntry(string collection) => new(collection, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    /// <summary>Deletes the spec if it is still at <paramref name="expected"/>'s revision; false when it changed.</summary>
    public async Task<bool> TryDeleteSpecAsync(VersionedSpec expected, CancellationToken ct)
    {
        try
        {
            await ClusterBucket.DeleteAsync(ClusterKeys.Collection(expected.Spec.Name), new NatsKVDeleteOpts { Revision = expected.Revision },
                ct).ConfigureAwait(false);
            return true;
        }
        catch (NatsKVWrongLastRevisionException)
        {
            return false;
        }
    }
}
