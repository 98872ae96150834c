namespace AnnServer.Cluster.State;

/// <summary>A collection spec with the bucket revision it was read at: the base of a compare-and-set update.</summary>
public sealed record VersionedSpec(ClusterCollectionSpec Spec, ulong Revision);
