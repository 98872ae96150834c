namespace AnnServer.Cluster;

// AnnServer.Cluster: the parts of cluster mode that talk to NATS JetStream (shard streams, the cluster state bucket,
// node heartbeats) and the router's fan-out; see docs/cluster.md. The server (src/AnnServer) hosts them.
internal static class ClusterAssembly;
