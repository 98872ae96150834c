namespace AnnServer.Cluster.Routing;

/// <summary>No replica of a shard could answer: none is live and serving, or every one tried failed with a
/// retryable status. The message names the collection and the shard.</summary>
public sealed class ShardNotAnsweredException(string collection, int shard, string reason)
    : Exception($"collection '{collection}' shard {shard} {reason}")
{
    public string Collection { get; } = collection;
    public int Shard { get; } = shard;
}
