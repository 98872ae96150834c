namespace AnnServer.Collections;

/// <summary>A loaded snapshot: the new collection, serving; the file's size; the time from the call to serving.</summary>
public sealed record SnapshotLoadResult(CollectionStatus Status, long Bytes, TimeSpan Duration);
