namespace AnnServer.Cluster.Replication;

/// <summary>A replica's checkpoint: its snapshot file, the local log position and the stream sequence it covers.</summary>
public sealed record SavedSnapshot(string Collection, string Path, long LogPosition, ulong StreamSequence);
