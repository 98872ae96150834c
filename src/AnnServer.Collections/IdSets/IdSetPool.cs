namespace AnnServer.Collections;

/// <summary>
/// What every collection's stored id sets share on one server: the limits, the clock their TTLs run on, and the byte
/// budget (<see cref="IdSetLimits.MaxTotalBytes"/>). A put that would go past the budget first drops the sets of every
/// collection that have expired (expiry is otherwise lazy: a set is dropped when it is next named or listed).
/// </summary>
public sealed class IdSetPool(IdSetLimits? limits = null, TimeProvider? clock = null)
{
    private readonly object _lock = new();
    private readonly List<WeakReference<CollectionIdSets>> _registries = [];
    private long _bytes;

    public IdSetLimits Limits { get; } = limits ?? new IdSetLimits();

    public TimeProvider Clock { get; } = clock ?? TimeProvider.System;

    /// <summary>Bytes the sets held now are charged for.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    internal void Register(CollectionIdSets registry)
    {
        lock (_lock)
        {
            _registries.RemoveAll(r => !r.TryGetTarget(out _));
            _registries.Add(new WeakReference<CollectionIdSets>(registry));
        }
    }

    internal LimitExceededException BudgetExceeded(long bytes, string what) => new(
        $"{what} needs {bytes:N0} bytes, and the server's id sets hold {Bytes:N0} of the limit max-id-set-bytes ({Limits.MaxTotalBytes:N0}): " +
        "delete sets, give them shorter TTLs, or raise --max-id-set-bytes");

    internal void Release(long bytes)
    {
        lock (_lock) _bytes -= bytes;
    }

    /// <summary>Charges <paramref name="bytes"/> more, after <paramref name="released"/> given back by the set it
    /// replaces; false past the budget.</summary>
    internal bool TryCharge(long bytes, long released)
    {
        lock (_lock)
        {
            if (_bytes - released + bytes > Limits.MaxTotalBytes) return false;
            _bytes += bytes - released;
            return true;
        }
    }

    /// <summary>Drops the expired sets of every collection; call it holding no registry's lock.</summary>
    internal void DropExpiredEverywhere()
    {
        List<CollectionIdSets> registries = [];
        lock (_lock)
            foreach (var reference in _registries)
                if (reference.TryGetTarget(out var registry)) registries.Add(registry);
        foreach (var registry in registries) registry.DropExpired();
    }
}
