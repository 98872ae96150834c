using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// A collection whose folder was found at start but could not be loaded: quarantined. The server serves the others;
/// this one is listed and described (state <see cref="CollectionState.Failed"/> and <see cref="Reason"/>), every
/// data-plane call is refused with <see cref="CollectionPreconditionException"/> (FAILED_PRECONDITION) carrying the
/// reason, and nothing opens, replays onto or writes its files: an operator finds them as they were, to repair, restore
/// or drop (<see cref="CollectionRegistry.DropAsync"/> deletes the folder, the way out).
/// </summary>
public sealed class FailedCollection(string name, string folder, string reason, DateTimeOffset failedAt) : NonServingCollection(name)
{
    /// <summary>The collection's folder in the data directory, as found.</summary>
    public string Folder { get; } = folder;

    /// <summary>Why it could not be loaded: what is damaged and where, in words for an operator.</summary>
    public string Reason { get; } = reason;

    /// <summary>When the load failed.</summary>
    public DateTimeOffset FailedAt { get; } = failedAt;

    public override CollectionStatus Status() => new(
        Name, Dimension: 0, DistanceMetric.L2, M: 0, EfConstruction: 0, Count: 0, NodeCount: 0, MemoryBytes: 0,
        SnapshotLogPosition: 0, LogPosition: 0, SnapshotBytes: 0, SnapshotTime: FailedAt, WritesSinceSnapshot: 0,
        VectorQuantization.None, State: CollectionState.Failed, Failure: Reason);

    /// <summary>FAILED_PRECONDITION, with the reason.</summary>
    public override Exception Refusal() => new CollectionPreconditionException(
        $"collection '{Name}' failed to load and serves no calls: {Reason}. Its files in {Folder} are left as they were; " +
        "repair or restore them and restart, or drop the collection");
}
