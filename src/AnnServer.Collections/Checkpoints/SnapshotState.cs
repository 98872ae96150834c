namespace AnnServer.Collections;

/// <summary>The snapshot in place, as the last checkpoint (or the load) left it: the log position it covers, its size and
/// time, and the applied record and request counts (<see cref="AppliedState"/>) at that position, against which the
/// log beyond it is measured. Immutable: a checkpoint publishes a new one.</summary>
internal sealed record SnapshotState(long LogPosition, long Bytes, DateTimeOffset Time, long Records, long Writes);
