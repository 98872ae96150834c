namespace AnnServer.Collections;

/// <summary>What a delete did. <see cref="LogPosition"/> is the durable-log position of the write (0 without a log).</summary>
public readonly record struct DeleteResult(int Deleted, int NotFound, long LogPosition);
