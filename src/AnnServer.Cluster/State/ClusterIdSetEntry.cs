namespace AnnServer.Cluster.State;

/// <summary>
/// A stored id set of a cluster collection in the cluster state (<c>id-sets.{collection}.{name}</c>, JSON): the ids as
/// put, when the set expires (Unix ms; 0: never), and the creation time of the collection it was put for (a set of a
/// dropped collection is not one of a new collection of the same name).
/// </summary>
public sealed record ClusterIdSetEntry(long CollectionCreatedUnixMs, long ExpiresAtUnixMs, long[] Ids);
