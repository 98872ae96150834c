namespace AnnServer.Collections;

/// <summary>What an upsert did. <see cref="LogPosition"/> is the durable-log position of the write (0 without a log).</summary>
public readonly record struct UpsertResult(int Inserted, int Replaced, long LogPosition);
