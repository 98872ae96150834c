using AnnServer.Hosting;
using Microsoft.Extensions.Logging;

namespace AnnServer.Security;

/// <summary>What the server logs once it listens: whether callers are authenticated, whether the port speaks TLS and
/// asks for client certificates, and the limits in force, so that an operator sees at a glance how exposed it is.</summary>
public static class SecuritySummary
{
    public static void Log(ILogger logger, ServerOptions options, ApiKeySet keys)
    {
        if (keys.IsEmpty && options.Insecure && !ListenPolicy.IsLoopback(options.Host))
            logger.LogWarning("Authentication is OFF (--insecure) and the server listens on {Host}: anyone who can connect " +
                              "can read, change and drop every collection", options.Host);
        else if (keys.IsEmpty)
            logger.LogWarning("Authentication is off: no API keys are configured, so the server listens on loopback only ({Host})",
                options.Host);
        else
            logger.LogInformation("Authentication: {Count} API key(s): {Read} read, {Write} write, {Admin} admin",
                keys.Keys.Count, keys.Keys.Count(k => k.Role == ApiRole.Read), keys.Keys.Count(k => k.Role == ApiRole.Write),
                keys.Keys.Count(k => k.Role == ApiRole.Admin));

        if (!options.UseTls)
            logger.LogInformation("TLS: off (plain HTTP/2 on the gRPC port)");
        else if (options.TlsClientCa is null)
            logger.LogInformation("TLS: on ({Cert})", options.TlsCert);
        else
            logger.LogInformation("TLS: on ({Cert}), client certificates required, issued by {Ca}", options.TlsCert, options.TlsClientCa);

        logger.LogInformation(
            "Limits: {MaxCollections} collections, {MaxPoints} points per collection, memory budget {Budget} bytes, " +
            "{Running} searches running + {Queued} queued, messages up to {MaxMessage} bytes",
            options.MaxCollections, options.MaxPointsPerCollection == 0 ? "unlimited" : options.MaxPointsPerCollection,
            options.EffectiveMemoryBudgetBytes, options.MaxConcurrentSearches, options.MaxQueuedSearches, options.MaxMessageBytes);
    }
}
