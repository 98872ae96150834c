namespace AnnServer.Collections;

/// <summary>
/// A collection's stored id sets: named sets of point ids that filters refer to (the engine's <c>InIdSet</c>), put
/// once instead of sent with every request. Not durable: a cache, lost when the server restarts (the client puts them
/// again); in cluster mode every node holds them. Failures: <see cref="ArgumentException"/> (a bad name, ids or TTL),
/// <see cref="LimitExceededException"/> (a bound of <see cref="IdSetLimits"/>; nothing was changed).
/// </summary>
public interface ICollectionIdSets
{
    /// <summary>Puts the set <paramref name="name"/> (replacing one of that name), expiring after <paramref name="ttl"/>
    /// (null: only when deleted, dropped or the server restarts).</summary>
    ValueTask<IdSetInfo> PutAsync(string name, long[] ids, TimeSpan? ttl, CancellationToken ct);

    /// <summary>Deletes the set; false when there was none of that name.</summary>
    ValueTask<bool> DeleteAsync(string name, CancellationToken ct);

    /// <summary>The sets held now (expired ones are gone), by name.</summary>
    ValueTask<IReadOnlyList<IdSetInfo>> ListAsync(CancellationToken ct);
}
