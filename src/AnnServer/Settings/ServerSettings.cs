using System.Collections;
using AnnServer.Cluster;
using AnnServer.Collections;
using Microsoft.Extensions.Configuration;

namespace AnnServer.Settings;

/// <summary>
/// The server's settings and where they are read from. Each setting (<see cref="All"/>) is a property of the options
/// class of its concern: <see cref="ServerOptions"/>, <see cref="LimitOptions"/>, <see cref="SecurityOptions"/>,
/// <see cref="PersistenceOptions"/>, <see cref="TracingOptions"/> and <see cref="ClusterOptions"/>. <see cref="Read"/> gathers them into one
/// configuration, in increasing precedence: the "AnnServer" section of appsettings.json, ANNSERVER_* environment
/// variables, the command line (<see cref="ServerCommandLine"/>); what none of them gives keeps the options' default.
/// The host binds every options class to that section and checks it when it starts (Hosting/ServerSettingsRegistration.cs).
/// <para>
/// Each source's values are checked as they are read, so that a malformed one is reported with its source
/// (<c>ANNSERVER_PORT: expected an integer, got 'x'</c>); the environment variables are mapped by name, not by the
/// configuration's <c>__</c> convention, so they stay what they have always been. Snapshots to import are keys of their
/// own, <c>AnnServer:Snapshots:NAME</c> = PATH, so that a source replaces the names it gives and keeps the others.
/// </para>
/// </summary>
public static class ServerSettings
{
    /// <summary>The section of appsettings.json, and of the configuration, that holds the settings.</summary>
    public const string Section = "AnnServer";

    public const string EnvironmentPrefix = "ANNSERVER_";

    /// <summary><c>ANNSERVER_SNAPSHOTS="a=/x.snap;b=/y.snap"</c>.</summary>
    public const string SnapshotsVariable = EnvironmentPrefix + "SNAPSHOTS";

    /// <summary>Every setting, by concern, in the order --help lists them (<c>--snapshot</c> aside).</summary>
    public static readonly IReadOnlyList<Setting> All =
    [
        Setting.Of<ServerOptions>("host", "address to listen on: an IP address, localhost, or * for every interface"),
        Setting.Of<ServerOptions>("port", "gRPC port (HTTP/2); 0 picks a free one"),
        Setting.Of<ServerOptions>("metrics-port", "Prometheus /metrics and /healthz port (HTTP/1.1); 0 picks a free one"),
        Setting.Of<ServerOptions>("http-port",
            "JSON over HTTP port (HTTP/1.1: the API as JSON, OpenAPI document at /openapi/v1.json); 0 picks a free one, -1 turns it off"),
        Setting.Of<ServerOptions>("search-threads",
            "dedicated threads that run unary searches, 0 to 4 x cores; 0: each runs on the thread that read its request"),
        Setting.Of<ServerOptions>("data-dir", "folder of the collections (one sub-folder each), created if missing"),
        Setting.Of<ServerOptions>("import-dir",
            "the only folder LoadSnapshot reads snapshot files from (paths relative to it; nothing outside it); none: LoadSnapshot from a file is refused"),

        Setting.Of<LimitOptions>("max-k", "largest k a search may ask for"),
        Setting.Of<LimitOptions>("max-ef", "largest ef a search may ask for"),
        Setting.Of<LimitOptions>("default-ef", "ef of a search that gives none is max(k, this)"),
        Setting.Of<LimitOptions>("max-batch-queries", "most queries in one SearchBatch"),
        Setting.Of<LimitOptions>("max-get-ids", "most ids in one Get"),
        Setting.Of<LimitOptions>("max-payload-bytes", "largest payload of one point in bytes (larger: RESOURCE_EXHAUSTED)"),
        Setting.Of<LimitOptions>("max-message-bytes", "largest request message (larger: RESOURCE_EXHAUSTED), and largest Get answer"),
        Setting.Of<LimitOptions>("max-collections", "most collections (more: RESOURCE_EXHAUSTED)"),
        Setting.Of<LimitOptions>("max-points-per-collection", "most live points in a collection; 0: no limit but the memory budget"),
        Setting.Of<LimitOptions>("memory-budget-bytes",
            "bytes all collections may hold together (when given, a compaction's new index too); 0: 80 % of the memory available to the process"),
        Setting.Of<LimitOptions>("max-concurrent-searches", "searches running at once (a SearchBatch counts as one)"),
        Setting.Of<LimitOptions>("max-queued-searches", "searches waiting for a slot; more get RESOURCE_EXHAUSTED at once"),
        Setting.Of<LimitOptions>("max-stream-in-flight",
            "searches one SearchStream may hold, and most in one message; 0: max(--max-batch-queries, 4 per core); past it the server stops reading that stream until one is answered"),
        Setting.Of<LimitOptions>("max-stream-messages",
            "messages one SearchStream may have in flight (4 per core); past it the server stops reading that stream until one is answered"),
        Setting.Of<LimitOptions>("max-search-streams", "SearchStream calls open at once (16 per core); one more gets RESOURCE_EXHAUSTED"),
        Setting.Of<LimitOptions>("max-id-sets", "stored id sets per collection (PutIdSet of one more: RESOURCE_EXHAUSTED)"),
        Setting.Of<LimitOptions>("max-id-set-bytes",
            "bytes all stored id sets may take together (8 per id, 1 bit per node of their collection; more: RESOURCE_EXHAUSTED)"),
        Setting.Of<LimitOptions>("max-ids-per-set", "most ids in one PutIdSet"),

        Setting.Of<SecurityOptions>("tls-cert", "PEM certificate for TLS on the gRPC port (with --tls-key)"),
        Setting.Of<SecurityOptions>("tls-key", "PEM private key for --tls-cert"),
        Setting.Of<SecurityOptions>("tls-client-ca", "PEM CA certificate(s): clients must present a certificate one of them issued (mutual TLS)"),
        Setting.Of<SecurityOptions>("api-keys-file", "API keys, one role:sha256hex[:name] per line (annserver new-key ROLE makes one)"),
        Setting.Of<SecurityOptions>("api-keys", "API keys inline, role:sha256hex[:name] separated by ';' (added to the file's)"),
        Setting.Of<SecurityOptions>("insecure", "a flag: serve a non-loopback --host without API keys (authentication off)"),

        Setting.Of<PersistenceOptions>("durability",
            "strict: a write is acknowledged once its log commit is on disk; relaxed: once in memory (a crash loses ~relaxed-commit-ms of writes)"),
        Setting.Of<PersistenceOptions>("relaxed-commit-ms", "log commit period with --durability relaxed, in milliseconds"),
        Setting.Of<PersistenceOptions>("checkpoint-log-bytes",
            "checkpoint a collection once its log holds this many bytes beyond its snapshot; 0: never by size"),
        Setting.Of<PersistenceOptions>("checkpoint-records",
            "checkpoint a collection once this many log records are beyond its snapshot; 0: never by count"),
        Setting.Of<PersistenceOptions>("background-replay-points",
            "a restart whose log holds at least this many points beyond the snapshot serves at once and inserts them into the graph in the background (reads exact meanwhile, writes UNAVAILABLE); 0: replay before serving"),
        Setting.Of<PersistenceOptions>("compact-deleted-fraction",
            "a checkpoint first rebuilds a collection's index without its tombstones once they are this fraction of its nodes; 0: never"),
        Setting.Of<PersistenceOptions>("compaction-threads",
            "threads that copy the live points during a compaction, 1 to the number of cores (the others keep serving searches)"),
        Setting.Of<PersistenceOptions>("map-snapshots",
            "a flag: map snapshot vectors from their files at start instead of reading them into memory (faster start, slower searches: no huge pages)"),
        Setting.Of<PersistenceOptions>("accept-log-loss",
            "a flag: load a collection whose log is damaged below its committed end by dropping the damaged records for good (default: the collection is FAILED, files untouched)"),

        Setting.Of<TracingOptions>("otlp-endpoint",
            "export a span per request (and its search, log commit, shard calls) to this OTLP/gRPC collector URL; none: no tracing"),
        Setting.Of<TracingOptions>("trace-sample-ratio",
            "fraction of the traces this server starts that are recorded (a caller's sampled trace always is)"),
        Setting.Of<TracingOptions>("trace-service-name", "service.name of the spans"),

        Setting.Of<ClusterOptions>("cluster-nats",
            "cluster mode: NATS URLs, comma-separated (nats://h1:4222,nats://h2:4222); absent: a single server"),
        Setting.Of<ClusterOptions>("node-id", "cluster: this node's id (letters, digits, '-', '_')"),
        Setting.Of<ClusterOptions>("advertise-address", "cluster: gRPC address other nodes use to reach this one (default http://{host}:{port})"),
        Setting.Of<ClusterOptions>("cluster-role", "cluster: all (holds replicas and routes searches), replica or router"),
        Setting.Of<ClusterOptions>("stream-replicas", "cluster: JetStream replication of the shard streams and the state buckets"),
        Setting.Of<ClusterOptions>("heartbeat-ms", "cluster: how often a node re-announces itself and its replicas, in milliseconds"),
        Setting.Of<ClusterOptions>("node-ttl-ms", "cluster: a node whose last heartbeat is older than this is dead, in milliseconds"),
        Setting.Of<ClusterOptions>("cluster-api-key", "cluster: plaintext API key (role read or more) this node sends on node-to-node calls"),
        Setting.Of<ClusterOptions>("hedge-after-ms", "cluster: send a shard search to a second replica after this delay; 0: the shard's recent p95"),
        Setting.Of<ClusterOptions>("stream-trim-interval-ms",
            "cluster: how often to trim the shard streams up to the oldest sequence a replica or the stored snapshot needs; 0: never"),
    ];

    /// <summary>Reads the command line, the environment and appsettings.json into one configuration (see the class remarks).</summary>
    /// <param name="appSettings">appsettings.json (its "AnnServer" section is read), or null.</param>
    /// <param name="environment">the environment variables; null: the process's.</param>
    /// <exception cref="ServerConfigurationException">an option is unknown, or a value malformed; the message names it and its source.</exception>
    public static (ServerMode Mode, IConfiguration Configuration) Read(string[] args, IConfiguration? appSettings = null,
        IDictionary? environment = null)
    {
        (ServerMode mode, IReadOnlyDictionary<string, string?> commandLine) = ServerCommandLine.Parse(args);
        if (mode == ServerMode.Help)
            return (mode, new ConfigurationBuilder().Build());
        IConfiguration configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(FromAppSettings(appSettings))
            .AddInMemoryCollection(FromEnvironment(environment ?? Environment.GetEnvironmentVariables()))
            .AddInMemoryCollection(commandLine)
            .Build();
        return (mode, configuration);
    }

    /// <summary>The configuration key of a snapshot to import: <c>AnnServer:Snapshots:NAME</c>, its value the path.</summary>
    public static string SnapshotKey(string collection) => $"{Section}:{nameof(ServerOptions.Snapshots)}:{collection}";

    /// <summary>A snapshot to import, <c>NAME=PATH</c>, as a configuration entry. Its name is checked here, since it
    /// becomes part of a configuration key.</summary>
    /// <exception cref="ServerConfigurationException">not NAME=PATH, or NAME is not a collection name.</exception>
    public static KeyValuePair<string, string?> ParseSnapshot(string value, string source)
    {
        int equals = value.IndexOf('=');
        if (equals <= 0 || equals == value.Length - 1)
            throw new ServerConfigurationException($"{source}: expected NAME=PATH, got '{value}'");
        string name = value[..equals], path = value[(equals + 1)..];
        if (CollectionName.Problem(name) is { } problem)
            throw new ServerConfigurationException($"{source} {name}={path}: the collection name {problem}");
        return new(SnapshotKey(name), path);
    }

    private static Dictionary<string, string?> FromAppSettings(IConfiguration? appSettings)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (appSettings is null)
            return values;
        IConfigurationSection section = appSettings.GetSection(Section);
        foreach (Setting setting in All)
        {
            if (section[setting.Key] is { } value)
                values[setting.ConfigurationKey] = setting.Parse(value, $"appsettings.json {Section}:{setting.Key}");
        }
        foreach (IConfigurationSection entry in section.GetSection(nameof(ServerOptions.Snapshots)).GetChildren())
        {
            if (entry.Value is not null)
                values[SnapshotKey(entry.Key)] = entry.Value;
        }
        return values;
    }

    private static Dictionary<string, string?> FromEnvironment(IDictionary environment)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (Setting setting in All)
        {
            if (environment[setting.EnvironmentVariable] is string { Length: > 0 } value)
                values[setting.ConfigurationKey] = setting.Parse(value, setting.EnvironmentVariable);
        }
        if (environment[SnapshotsVariable] is string list)
        {
            foreach (string item in list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                (string key, string? path) = ParseSnapshot(item, SnapshotsVariable);
                values[key] = path;
            }
        }
        return values;
    }
}
