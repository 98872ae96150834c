using System.Collections;
using System.Globalization;
using System.Text;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Storage;
using Microsoft.Extensions.Configuration;

namespace AnnServer.Hosting;

/// <summary>What the process was asked to do.</summary>
public enum ServerMode
{
    /// <summary>Run the server (the default).</summary>
    Serve,

    /// <summary><c>annserver healthcheck</c>: ask a running server on the configured port whether it is SERVING.</summary>
    HealthCheck,

    /// <summary><c>--help</c>: print the settings and exit.</summary>
    Help,
}

/// <summary>
/// Reads <see cref="ServerOptions"/>. Each setting has one name, spelled three ways:
/// <c>--max-k 100</c> (or <c>--max-k=100</c>) on the command line, <c>ANNSERVER_MAX_K=100</c> in the environment,
/// <c>"AnnServer": { "MaxK": 100 }</c> in appsettings.json; the command line wins over the environment, which wins over
/// the file. Snapshots: <c>--snapshot NAME=PATH</c> (repeatable), <c>ANNSERVER_SNAPSHOTS="a=/x.snap;b=/y.snap"</c>,
/// <c>"Snapshots": { "a": "/x.snap" }</c>.
/// We parse the command line ourselves (not with the configuration's command-line provider) so that an unknown or
/// misspelt option is an error rather than a silently ignored key, and --snapshot can be repeated.
/// </summary>
public static class ServerOptionsReader
{
    public const string EnvironmentPrefix = "ANNSERVER_";
    public const string ConfigurationSection = "AnnServer";

    private delegate void Apply(ServerOptions options, string value, string source);

    private sealed record Setting(string Name, string Help, Func<ServerOptions, string?> Default, Apply Apply)
    {
        public string EnvironmentName => EnvironmentPrefix + Name.ToUpperInvariant().Replace('-', '_');
        public string JsonKey => string.Concat(Name.Split('-').Select(p => char.ToUpperInvariant(p[0]) + p[1..]));
    }

    private static readonly Setting[] Settings =
    [
        new("host", "address to listen on: an IP address, localhost, or * for every interface",
            o => o.Host, (o, v, _) => o.Host = v),
        new("port", "gRPC port (HTTP/2); 0 picks a free one",
            o => o.Port.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.Port = ParseInt(v, s)),
        new("metrics-port", "Prometheus /metrics and /healthz port (HTTP/1.1); 0 picks a free one",
            o => o.MetricsPort.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MetricsPort = ParseInt(v, s)),
        new("data-dir", "folder of the collections (one sub-folder each), created if missing",
            o => o.DataDir, (o, v, _) => o.DataDir = v),
        new("durability", "strict: a write is acknowledged once its log commit is on disk; relaxed: once in memory (a crash loses ~relaxed-commit-ms of writes)",
            o => o.Durability.ToString().ToLowerInvariant(), (o, v, s) => o.Durability = ParseDurability(v, s)),
        new("relaxed-commit-ms", "log commit period with --durability relaxed, in milliseconds",
            o => o.RelaxedCommitMs.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.RelaxedCommitMs = ParseInt(v, s)),
        new("checkpoint-log-bytes", "checkpoint a collection once its log holds this many bytes beyond its snapshot; 0: never by size",
            o => o.CheckpointLogBytes.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.CheckpointLogBytes = ParseLong(v, s)),
        new("checkpoint-records", "checkpoint a collection once this many log records are beyond its snapshot; 0: never by count",
            o => o.CheckpointRecords.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.CheckpointRecords = ParseLong(v, s)),
        new("compact-deleted-fraction", "a checkpoint first rebuilds a collection's index without its tombstones once they are this fraction of its nodes; 0: never",
            o => o.CompactDeletedFraction.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.CompactDeletedFraction = ParseDouble(v, s)),
        new("compaction-threads", "threads that copy the live points during a compaction, 1 to the number of cores (the others keep serving searches)",
            o => o.CompactionThreads.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.CompactionThreads = ParseInt(v, s)),
        new("map-snapshots", "a flag: map snapshot vectors from their files at start instead of reading them into memory (faster start, slower searches: no huge pages)",
            o => o.MapSnapshots ? "true" : "false", (o, v, s) => o.MapSnapshots = ParseBool(v, s)),
        new("max-k", "largest k a search may ask for",
            o => o.MaxK.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MaxK = ParseInt(v, s)),
        new("max-ef", "largest ef a search may ask for",
            o => o.MaxEf.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MaxEf = ParseInt(v, s)),
        new("default-ef", "ef of a search that gives none is max(k, this)",
            o => o.DefaultEf.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.DefaultEf = ParseInt(v, s)),
        new("max-batch-queries", "most queries in one SearchBatch",
            o => o.MaxBatchQueries.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MaxBatchQueries = ParseInt(v, s)),
        new("max-get-ids", "most ids in one Get",
            o => o.MaxGetIds.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MaxGetIds = ParseInt(v, s)),
        new("max-message-bytes", "largest request message (larger: RESOURCE_EXHAUSTED), and largest Get answer",
            o => o.MaxMessageBytes.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MaxMessageBytes = ParseInt(v, s)),
        new("tls-cert", "PEM certificate for TLS on the gRPC port (with --tls-key)",
            o => o.TlsCert, (o, v, _) => o.TlsCert = v),
        new("tls-key", "PEM private key for --tls-cert",
            o => o.TlsKey, (o, v, _) => o.TlsKey = v),
        new("tls-client-ca", "PEM CA certificate(s): clients must present a certificate one of them issued (mutual TLS)",
            o => o.TlsClientCa, (o, v, _) => o.TlsClientCa = v),
        new("api-keys-file", "API keys, one role:sha256hex[:name] per line (annserver new-key ROLE makes one)",
            o => o.ApiKeysFile, (o, v, _) => o.ApiKeysFile = v),
        new("api-keys", "API keys inline, role:sha256hex[:name] separated by ';' (added to the file's)",
            o => o.ApiKeys, (o, v, _) => o.ApiKeys = v),
        new("insecure", "a flag: serve a non-loopback --host without API keys (authentication off)",
            o => o.Insecure ? "true" : "false", (o, v, s) => o.Insecure = ParseBool(v, s)),
        new("max-collections", "most collections (more: RESOURCE_EXHAUSTED)",
            o => o.MaxCollections.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MaxCollections = ParseInt(v, s)),
        new("max-points-per-collection", "most live points in a collection; 0: no limit but the memory budget",
            o => o.MaxPointsPerCollection.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MaxPointsPerCollection = ParseLong(v, s)),
        new("memory-budget-bytes", "bytes all collections may hold together (when given, a compaction's new index too); 0: 80 % of the memory available to the process",
            o => o.MemoryBudgetBytes.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MemoryBudgetBytes = ParseLong(v, s)),
        new("max-concurrent-searches", "searches running at once (a SearchBatch counts as one)",
            o => o.MaxConcurrentSearches.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MaxConcurrentSearches = ParseInt(v, s)),
        new("max-queued-searches", "searches waiting for a slot; more get RESOURCE_EXHAUSTED at once",
            o => o.MaxQueuedSearches.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.MaxQueuedSearches = ParseInt(v, s)),
        new("cluster-nats", "cluster mode: NATS URLs, comma-separated (nats://h1:4222,nats://h2:4222); absent: a single server",
            o => o.ClusterNats, (o, v, _) => o.ClusterNats = v),
        new("node-id", "cluster: this node's id (letters, digits, '-', '_')",
            o => o.NodeId, (o, v, _) => o.NodeId = v),
        new("advertise-address", "cluster: gRPC address other nodes use to reach this one (default http://{host}:{port})",
            o => o.AdvertiseAddress, (o, v, _) => o.AdvertiseAddress = v),
        new("cluster-role", "cluster: all (holds replicas and routes searches), replica or router",
            o => o.ClusterRole.ToString().ToLowerInvariant(), (o, v, s) => o.ClusterRole = ParseClusterRole(v, s)),
        new("stream-replicas", "cluster: JetStream replication of the shard streams and the state buckets",
            o => o.StreamReplicas.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.StreamReplicas = ParseInt(v, s)),
        new("heartbeat-ms", "cluster: how often a node re-announces itself and its replicas, in milliseconds",
            o => o.HeartbeatMs.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.HeartbeatMs = ParseInt(v, s)),
        new("node-ttl-ms", "cluster: a node whose last heartbeat is older than this is dead, in milliseconds",
            o => o.NodeTtlMs.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.NodeTtlMs = ParseInt(v, s)),
        new("cluster-api-key", "cluster: plaintext API key (role read or more) this node sends on node-to-node calls",
            o => o.ClusterApiKey is null ? null : "(set)", (o, v, _) => o.ClusterApiKey = v),
        new("hedge-after-ms", "cluster: send a shard search to a second replica after this delay; 0: the shard's recent p95",
            o => o.HedgeAfterMs.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.HedgeAfterMs = ParseInt(v, s)),
        new("stream-trim-interval-ms", "cluster: how often to trim the shard streams up to the oldest sequence a replica or the stored snapshot needs; 0: never",
            o => o.StreamTrimIntervalMs.ToString(CultureInfo.InvariantCulture), (o, v, s) => o.StreamTrimIntervalMs = ParseInt(v, s)),
    ];

    /// <summary>Reads the settings from <paramref name="configuration"/> (appsettings.json), the environment and
    /// <paramref name="args"/>, and validates them.</summary>
    /// <exception cref="ServerConfigurationException">a setting is unknown, malformed or out of range.</exception>
    public static (ServerMode Mode, ServerOptions Options) Read(string[] args, IConfiguration? configuration = null,
        IDictionary? environment = null)
    {
        var options = new ServerOptions();
        var snapshots = new Dictionary<string, SnapshotImport>(StringComparer.Ordinal);

        // 1. appsettings.json
        if (configuration is not null)
        {
            IConfigurationSection section = configuration.GetSection(ConfigurationSection);
            foreach (Setting setting in Settings)
            {
                string? value = section[setting.JsonKey];
                if (value is not null)
                    setting.Apply(options, value, $"appsettings.json {ConfigurationSection}:{setting.JsonKey}");
            }
            foreach (IConfigurationSection entry in section.GetSection("Snapshots").GetChildren())
                if (entry.Value is not null)
                    snapshots[entry.Key] = new SnapshotImport(entry.Key, entry.Value);
        }

        // 2. environment
        environment ??= Environment.GetEnvironmentVariables();
        foreach (Setting setting in Settings)
        {
            if (environment[setting.EnvironmentName] is string value && value.Length > 0)
                setting.Apply(options, value, setting.EnvironmentName);
        }
        if (environment[EnvironmentPrefix + "SNAPSHOTS"] is string list)
        {
            foreach (string item in list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                SnapshotImport import = ParseSnapshot(item, EnvironmentPrefix + "SNAPSHOTS");
                snapshots[import.Name] = import;
            }
        }

        // 3. command line
        ServerMode mode = ServerMode.Serve;
        var cliSnapshots = new List<SnapshotImport>();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (i == 0 && arg == "healthcheck") { mode = ServerMode.HealthCheck; continue; }
            if (arg is "-h" or "--help" or "-?") { mode = ServerMode.Help; continue; }
            if (!arg.StartsWith("--", StringComparison.Ordinal))
                throw new ServerConfigurationException($"unexpected argument '{arg}'; options look like --name value (see --help)");

            string name = arg[2..];
            string? value = null;
            int equals = name.IndexOf('=');
            if (equals >= 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }
            else if (Flags.Contains(name))
            {
                value = "true";
            }
            else if (i + 1 < args.Length)
            {
                value = args[++i];
            }
            if (value is null)
                throw new ServerConfigurationException($"--{name} needs a value");

            if (name == "snapshot")
            {
                cliSnapshots.Add(ParseSnapshot(value, "--snapshot"));
                continue;
            }
            Setting? setting = Array.Find(Settings, s => s.Name == name)
                ?? throw new ServerConfigurationException($"unknown option --{name} (see --help)");
            setting.Apply(options, value, "--" + name);
        }
        foreach (SnapshotImport import in cliSnapshots)
        {
            if (cliSnapshots.Count(s => s.Name == import.Name) > 1)
                throw new ServerConfigurationException($"--snapshot: collection '{import.Name}' is given twice");
            snapshots[import.Name] = import;
        }
        options.Snapshots.AddRange(snapshots.Values);

        if (mode != ServerMode.Help)
            options.Validate();
        return (mode, options);
    }

    /// <summary>The text of <c>annserver --help</c>.</summary>
    public static string HelpText()
    {
        var defaults = new ServerOptions();
        var text = new StringBuilder();
        text.AppendLine("annserver: approximate nearest-neighbour search over gRPC (API: protos/ann/v1/, docs/api.md)");
        text.AppendLine();
        text.AppendLine("usage: annserver [options]              run the server");
        text.AppendLine("       annserver healthcheck [options]  exit 0 when the server on the configured port is SERVING");
        text.AppendLine("       annserver new-key ROLE           print a new random API key and its keys-file line (read, write, admin)");
        text.AppendLine("       annserver hash-key [KEY]         print the SHA-256 of KEY (read from stdin when not given) for a keys file");
        text.AppendLine();
        text.AppendLine("options (environment variable; default):");
        foreach (Setting setting in Settings)
        {
            text.AppendLine($"  --{setting.Name,-20} {setting.Help}");
            text.AppendLine($"  {"",-22} ({setting.EnvironmentName}; {setting.Default(defaults) ?? "none"})");
        }
        text.AppendLine($"  --{"snapshot NAME=PATH",-20} serve the ann-build snapshot PATH as collection NAME (repeatable); it is");
        text.AppendLine($"  {"",-22} copied into the data directory unless NAME is there already ({EnvironmentPrefix}SNAPSHOTS=\"a=/x;b=/y\")");
        text.AppendLine();
        text.AppendLine($"The same settings can be given in appsettings.json under \"{ConfigurationSection}\" (MaxK, DataDir, ...).");
        return text.ToString();
    }

    /// <summary>Options that take no value on the command line (<c>--insecure</c>, <c>--map-snapshots</c>; <c>--insecure=false</c> also works).</summary>
    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal) { "insecure", "map-snapshots" };

    private static long ParseLong(string value, string source)
    {
        if (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long parsed))
            throw new ServerConfigurationException($"{source}: expected an integer, got '{value}'");
        return parsed;
    }

    private static bool ParseBool(string value, string source) => value.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new ServerConfigurationException($"{source}: expected true or false, got '{value}'"),
    };

    private static ClusterRole ParseClusterRole(string value, string source) => value.Trim().ToLowerInvariant() switch
    {
        "all" => ClusterRole.All,
        "replica" => ClusterRole.Replica,
        "router" => ClusterRole.Router,
        _ => throw new ServerConfigurationException($"{source}: expected all, replica or router, got '{value}'"),
    };

    private static LogDurability ParseDurability(string value, string source) => value.Trim().ToLowerInvariant() switch
    {
        "strict" => LogDurability.Strict,
        "relaxed" => LogDurability.Relaxed,
        _ => throw new ServerConfigurationException($"{source}: expected strict or relaxed, got '{value}'"),
    };

    private static SnapshotImport ParseSnapshot(string value, string source)
    {
        int equals = value.IndexOf('=');
        if (equals <= 0 || equals == value.Length - 1)
            throw new ServerConfigurationException($"{source}: expected NAME=PATH, got '{value}'");
        return new SnapshotImport(value[..equals], value[(equals + 1)..]);
    }

    private static double ParseDouble(string value, string source)
    {
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed))
            throw new ServerConfigurationException($"{source}: expected a number, got '{value}'");
        return parsed;
    }

    private static int ParseInt(string value, string source)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int parsed))
            throw new ServerConfigurationException($"{source}: expected an integer, got '{value}'");
        return parsed;
    }
}
