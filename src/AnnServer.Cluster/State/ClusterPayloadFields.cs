using AnnServer.Core.Payloads;

namespace AnnServer.Cluster.State;

/// <summary>
/// The kind of every payload field of a cluster collection (key <c>payload-fields.{name}</c> of <c>ann-cluster</c>,
/// docs/cluster.md, "Field kinds"): a field's kind is fixed by its first value, cluster-wide, so that no two shards give
/// one field two kinds. Fields are only ever added. <see cref="CollectionCreatedUnixMs"/> ties the entry to one
/// collection: an entry left by a dropped collection of the same name is stale and read as empty.
/// </summary>
public sealed record ClusterPayloadFields(long CollectionCreatedUnixMs, Dictionary<string, PayloadKind> Fields);
