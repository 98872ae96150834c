namespace AnnServer.Collections;

/// <summary>What an upsert did. <see cref="LogPosition"/> is the write-ahead log position just past its record.</summary>
public readonly record struct UpsertResult(int Inserted, int Replaced, long LogPosition);
