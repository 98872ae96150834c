using AnnServer.Collections;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AnnServer.Diagnostics;

/// <summary>Healthy once every collection found at start is loaded. Behind grpc.health.v1 (NOT_SERVING → SERVING) and
/// the metrics port's /healthz.</summary>
public sealed class CollectionsLoadedHealthCheck(CollectionRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(registry.IsLoaded
            ? HealthCheckResult.Healthy("all collections loaded")
            : HealthCheckResult.Unhealthy($"loading collections: {registry.LoadProgress}"));
}
