namespace AnnServer.Collections;

/// <summary>What a delete did. <see cref="LogPosition"/> is the write-ahead log position just past its record.</summary>
public readonly record struct DeleteResult(int Deleted, int NotFound, long LogPosition);
