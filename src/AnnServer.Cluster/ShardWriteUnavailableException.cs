using AnnServer.Collections;

namespace AnnServer.Cluster;

/// <summary>A write could not get its acknowledgement from a shard stream: UNAVAILABLE with the message.</summary>
public sealed class ShardWriteUnavailableException(string message, Exception? inner = null) : CollectionUnavailableException(message, inner);
