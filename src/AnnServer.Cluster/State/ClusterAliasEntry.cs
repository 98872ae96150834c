namespace AnnServer.Cluster.State;

/// <summary>The value of <c>aliases.{alias}</c> in <c>ann-cluster</c>: the cluster collection the alias names, and when
/// it was last set (for operators reading the bucket).</summary>
public sealed record ClusterAliasEntry(string Collection, long UpdatedUnixMs);
