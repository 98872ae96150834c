namespace AnnServer.Cluster.State;

/// <summary>
/// A node as it announces itself in the <c>ann-nodes</c> bucket (key = node id, JSON), re-put every heartbeat. The
/// bucket's MaxAge is the node TTL, so a node that stops heartbeating disappears from the bucket; readers also judge
/// liveness by <see cref="HeartbeatUnixMs"/>, because JetStream 2.9 expires entries without telling watchers.
/// </summary>
/// <param name="Role">"all", "replica" or "router" (<see cref="ClusterRoles.Name"/>).</param>
/// <param name="StartedUnixMs">When this process started: a replica state written before it is stale.</param>
/// <param name="Capabilities">What the node can serve (<see cref="NodeCapabilities"/>). Absent (null) in the entries of
/// nodes of versions before the field: they have none of them. Those nodes skip the field in a newer node's entry, as
/// they skip every property they do not know.</param>
/// <param name="Version">The node's product version, for operators (GetClusterState); absent in older nodes' entries.</param>
public sealed record NodeEntry(string NodeId, string Address, string Role, long StartedUnixMs, long HeartbeatUnixMs,
    IReadOnlyList<string>? Capabilities = null, string? Version = null)
{
    public bool Announces(string capability) => Capabilities?.Contains(capability) == true;
}
