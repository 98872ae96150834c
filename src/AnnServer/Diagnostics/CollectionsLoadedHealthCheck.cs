using AnnServer.Collections;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AnnServer.Diagnostics;

/// <summary>
/// Healthy once every collection found at start is loaded. Behind grpc.health.v1 (NOT_SERVING → SERVING) and the metrics
/// port's /healthz.
/// <para>
/// Collections that failed to load (quarantined, <see cref="FailedCollection"/>) make it Degraded, naming them: grpc
/// health answers SERVING and /healthz 200 "Degraded" with the names and reasons, because the server does serve every
/// other collection, and an orchestrator that took it out of service or restarted it would fix nothing (the files are
/// damaged) and stop the healthy collections too. The failure is for an operator: the log, the metric
/// annserver_collection_failed, ListCollections.
/// </para>
/// </summary>
public sealed class CollectionsLoadedHealthCheck(CollectionRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!registry.IsLoaded)
            return Task.FromResult(HealthCheckResult.Unhealthy($"loading collections: {registry.LoadProgress}"));
        var failed = registry.Failed.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
        if (failed.Count == 0)
            return Task.FromResult(HealthCheckResult.Healthy("all collections loaded"));
        return Task.FromResult(HealthCheckResult.Degraded(
            $"{failed.Count} collection(s) FAILED to load and are not served (the others are): " +
            string.Join("; ", failed.Select(f => $"{f.Name}: {f.Reason}"))));
    }
}
