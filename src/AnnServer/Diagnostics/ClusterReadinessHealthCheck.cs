using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AnnServer.Cluster;

/// <summary>Cluster mode: the node is ready (grpc.health.v1 SERVING) once it has read the cluster state, registered,
/// started its assigned replicas, and every one of them is serving. A router with no replicas is ready once registered.</summary>
public sealed class ClusterReadinessHealthCheck(ClusterCoordinator coordinator, ClusterNodeService node, ShardReplicas replicas) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!coordinator.IsSynced)
            return Task.FromResult(HealthCheckResult.Unhealthy("connecting to NATS and loading the cluster state"));
        if (!node.Reconciled)
            return Task.FromResult(HealthCheckResult.Unhealthy("registering this node and starting its replicas"));
        if (!replicas.AllServing)
        {
            string catchingUp = string.Join(", ", replicas.Statuses().Where(s => s.State != ShardReplicaStates.Serving)
                .Select(s => $"{s.Collection} shard {s.Shard} {s.State}"));
            return Task.FromResult(HealthCheckResult.Unhealthy($"replicas not serving yet: {catchingUp}"));
        }
        return Task.FromResult(HealthCheckResult.Healthy("cluster state loaded, every replica serving"));
    }
}
