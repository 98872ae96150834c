namespace AnnServer.Cluster;

/// <summary>A write could not get its acknowledgement from a shard stream; the gRPC layer answers UNAVAILABLE with the message.</summary>
public sealed class ShardWriteUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
