namespace AnnServer.Cluster.State;

/// <summary>
/// Bucket and key names of the cluster state (docs/cluster.md, "NATS layout"):
/// <c>ann-cluster</c>: <c>collections.{name}</c> → <see cref="ClusterCollectionSpec"/>,
/// <c>replicas.{collection}.{shard}.{nodeId}</c> → <see cref="ReplicaEntry"/>,
/// <c>aliases.{alias}</c> → <see cref="ClusterAliasEntry"/>,
/// <c>payload-fields.{collection}</c> → <see cref="ClusterPayloadFields"/>,
/// <c>id-sets.{collection}.{name}</c> → <see cref="ClusterIdSetEntry"/> (a set's name may hold '.': it is everything
/// after the collection's);
/// <c>ann-nodes</c>: <c>{nodeId}</c> → <see cref="NodeEntry"/>.
/// Collection names and node ids contain no '.', so every key splits back into its parts unambiguously.
/// </summary>
public static class ClusterKeys
{
    public const string ClusterBucket = "ann-cluster";
    public const string NodesBucket = "ann-nodes";

    private const string CollectionsPrefix = "collections.";
    private const string ReplicasPrefix = "replicas.";
    private const string AliasesPrefix = "aliases.";
    private const string PayloadFieldsPrefix = "payload-fields.";
    private const string IdSetsPrefix = "id-sets.";

    /// <summary>The subject filter of every stored id set's key.</summary>
    public const string AllIdSets = IdSetsPrefix + ">";

    public static string IdSet(string collection, string name) => $"{IdSetsPrefix}{collection}.{name}";

    /// <summary>The parts of an <c>id-sets.{collection}.{name}</c> key, or null for any other key.</summary>
    public static (string Collection, string Name)? ParseIdSet(string key)
    {
        if (!key.StartsWith(IdSetsPrefix, StringComparison.Ordinal)) return null;
        int dot = key.IndexOf('.', IdSetsPrefix.Length);
        if (dot <= IdSetsPrefix.Length || dot == key.Length - 1) return null;
        return (key[IdSetsPrefix.Length..dot], key[(dot + 1)..]);
    }

    public static string Alias(string alias) => AliasesPrefix + alias;

    /// <summary>The alias of an <c>aliases.{alias}</c> key, or null for any other key.</summary>
    public static string? ParseAlias(string key) =>
        key.StartsWith(AliasesPrefix, StringComparison.Ordinal) && key.Length > AliasesPrefix.Length
            ? key[AliasesPrefix.Length..]
            : null;

    public static string Collection(string name) => CollectionsPrefix + name;

    public static string PayloadFields(string collection) => PayloadFieldsPrefix + collection;

    public static string Replica(string collection, int shard, string nodeId) => $"{ReplicasPrefix}{collection}.{shard}.{nodeId}";

    /// <summary>The collection name of a <c>collections.{name}</c> key, or null for any other key.</summary>
    public static string? ParseCollection(string key) =>
        key.StartsWith(CollectionsPrefix, StringComparison.Ordinal) && key.Length > CollectionsPrefix.Length
            ? key[CollectionsPrefix.Length..]
            : null;

    /// <summary>The parts of a <c>replicas.{collection}.{shard}.{nodeId}</c> key, or null for any other key.</summary>
    public static ReplicaKey? ParseReplica(string key)
    {
        if (!key.StartsWith(ReplicasPrefix, StringComparison.Ordinal))
            return null;
        string[] parts = key[ReplicasPrefix.Length..].Split('.');
        if (parts.Length != 3 || !int.TryParse(parts[1], out int shard) || shard < 0)
            return null;
        return new ReplicaKey(parts[0], shard, parts[2]);
    }
}

/// <summary>Which replica: a shard of a collection on a node.</summary>
public readonly record struct ReplicaKey(string Collection, int Shard, string NodeId);
