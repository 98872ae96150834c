using AnnServer.Cluster.State;
using Microsoft.Extensions.Options;

namespace AnnServer.Cluster;

/// <summary>Checks <see cref="ClusterOptions"/> when the server starts; outside cluster mode the other cluster settings
/// are not used, so they are not checked either. Each failure names the option as it is typed.</summary>
public sealed class ClusterOptionsValidator : IValidateOptions<ClusterOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterOptions options)
    {
        if (!options.ClusterMode)
            return ValidateOptionsResult.Success;
        var failures = new ValidateOptionsResultBuilder();
        foreach (string url in options.ClusterNats!.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
                failures.AddError($"--cluster-nats: '{url}' is not a NATS URL such as nats://host:4222 (several are separated by ',')");
        }
        if (ClusterNodeId.Problem(options.NodeId) is { } problem)
            failures.AddError($"--node-id {problem}");
        if (options.AdvertiseAddress is { } advertise
            && (!Uri.TryCreate(advertise, UriKind.Absolute, out Uri? advertised) || advertised.Scheme is not ("http" or "https")))
            failures.AddError($"--advertise-address must be an http:// or https:// URL such as http://10.0.0.7:50051, got '{advertise}'");
        if (!Enum.IsDefined(options.ClusterRole))
            failures.AddError($"--cluster-role must be all, replica or router, got {(int)options.ClusterRole}");
        if (options.StreamReplicas is < 1 or > 5)
            failures.AddError($"--stream-replicas must be between 1 and 5 (JetStream's limit), got {options.StreamReplicas}");
        if (options.HeartbeatMs is < 50 or > 60_000)
            failures.AddError($"--heartbeat-ms must be between 50 and 60000, got {options.HeartbeatMs}");
        if (options.NodeTtlMs < 2 * options.HeartbeatMs)
            failures.AddError($"--node-ttl-ms ({options.NodeTtlMs}) must be at least twice --heartbeat-ms ({options.HeartbeatMs}), " +
                              "or one late heartbeat kills a node");
        if (options.HedgeAfterMs is < 0 or > 60_000)
            failures.AddError($"--hedge-after-ms must be between 0 (the shard's recent p95) and 60000, got {options.HedgeAfterMs}");
        if (options.StreamTrimIntervalMs != 0 && options.StreamTrimIntervalMs is < 100 or > 86_400_000)
            failures.AddError($"--stream-trim-interval-ms must be 0 (never trim) or between 100 and 86400000, got {options.StreamTrimIntervalMs}");
        return failures.Build();
    }
}
