namespace AnnServer.Cluster.Replication;

/// <summary>
/// Names of a shard's JetStream stream and subject. Collection names are ASCII letters, digits, '-' and '_', all legal
/// in stream names and subject tokens, so the mapping is one-to-one without escaping.
/// </summary>
public static class ShardStreamNames
{
    /// <summary>Stream holding shard <paramref name="shard"/>'s writes, e.g. <c>ANN_products_3</c>.</summary>
    public static string Stream(string collection, int shard) => $"ANN_{collection}_{shard}";

    /// <summary>The only subject of that stream, e.g. <c>ann.writes.products.3</c>.</summary>
    public static string Subject(string collection, int shard) => $"ann.writes.{collection}.{shard}";
}
