namespace AnnServer.Collections;

/// <summary>Bounds on stored id sets (the server's --max-id-sets, --max-id-set-bytes, --max-ids-per-set); past one, a put
/// is refused with a <see cref="LimitExceededException"/> naming it.</summary>
public sealed class IdSetLimits
{
    public const int DefaultMaxSetsPerCollection = 1024;
    public const long DefaultMaxTotalBytes = 256L << 20;
    public const int DefaultMaxIdsPerSet = 1_000_000;

    /// <summary>Sets one collection holds at once.</summary>
    public int MaxSetsPerCollection { get; init; } = DefaultMaxSetsPerCollection;

    /// <summary>Bytes all the server's sets are charged for together (<see cref="IdSetPool"/>).</summary>
    public long MaxTotalBytes { get; init; } = DefaultMaxTotalBytes;

    /// <summary>Ids in one set (repeats counted).</summary>
    public int MaxIdsPerSet { get; init; } = DefaultMaxIdsPerSet;
}
