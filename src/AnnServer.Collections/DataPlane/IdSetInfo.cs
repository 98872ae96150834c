namespace AnnServer.Collections;

/// <summary>A stored id set as listed: its distinct ids, the bytes it is charged for, and when it expires (null: never).</summary>
public sealed record IdSetInfo(string Name, int Count, long Bytes, DateTimeOffset? ExpiresAt);
