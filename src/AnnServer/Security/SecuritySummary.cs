using AnnServer.Settings;
using Microsoft.Extensions.Logging;

namespace AnnServer.Security;

/// <summary>What the server logs once it listens: whether callers are authenticated, whether the port speaks TLS and
/// asks for client certificates, and the limits in force, so that an operator sees at a glance how exposed it is.</summary>
public static class SecuritySummary
{
    public static void Log(ILogger logger, ServerOptions server, SecurityOptions security, LimitOptions limits, ApiKeySet keys)
    {
        if (keys.IsEmpty && security.Insecure && !ListenPolicy.IsLoopback(server.Host))
            logger.LogWarning("Authentication is OFF (--insecure) and the server listens on {Host}: anyone who can connect " +
                              "can read, change and drop every collection", server.Host);
        else if (keys.IsEmpty)
            logger.LogWarning("Authentication is off: no API keys are configured, so the server listens on loopback only ({Host})",
                server.Host);
        else
            logger.LogInformation("Authentication: {Count} API key(s): {Read} read, {Write} write, {Admin} admin",
                keys.Keys.Count, keys.Keys.Count(k => k.Role == ApiRole.Read), keys.Keys.Count(k => k.Role == ApiRole.Write),
                keys.Keys.Count(k => k.Role == ApiRole.Admin));

        if (!security.UseTls)
            logger.LogInformation("TLS: off (plain HTTP/2 on the gRPC port)");
        else if (security.TlsClientCa is null)
            logger.LogInformation("TLS: on ({Cert})", security.TlsCert);
        else
            logger.LogInformation("TLS: on ({Cert}), client certificates required, issued by {Ca}", security.TlsCert, security.TlsClientCa);

        logger.LogInformation(
            "Limits: {MaxCollections} collections, {MaxPoints} points per collection, memory budget {Budget} bytes, " +
            "{Running} searches running + {Queued} queued, messages up to {MaxMessage} bytes",
            limits.MaxCollections, limits.MaxPointsPerCollection == 0 ? "unlimited" : limits.MaxPointsPerCollection,
            limits.EffectiveMemoryBudgetBytes, limits.MaxConcurrentSearches, limits.MaxQueuedSearches, limits.MaxMessageBytes);
    }
}
