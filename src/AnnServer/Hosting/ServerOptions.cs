using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core.Snapshots;
using AnnServer.Storage;

namespace AnnServer.Hosting;

/// <summary>
/// Everything the server can be told. Read by <see cref="ServerOptionsReader"/> from, in increasing precedence:
/// these defaults, the "AnnServer" section of appsettings.json, ANNSERVER_* environment variables and the command line.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>Address to listen on: an IP address, "localhost", or "*" for every interface.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>gRPC port (HTTP/2). 0 picks a free port (tests).</summary>
    public int Port { get; set; } = 50051;

    /// <summary>Prometheus /metrics and /healthz port (HTTP/1.1). 0 picks a free port (tests).</summary>
    public int MetricsPort { get; set; } = 9090;

    /// <summary>Folder of the collections (docs/api.md, "Data directory"); relative paths are from the working directory.</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>When a write is acknowledged: <c>strict</c> (after the log commit covering it is on disk) or <c>relaxed</c>
    /// (once it is in the log's memory; a crash loses about the last <see cref="RelaxedCommitMs"/> of writes).</summary>
    public LogDurability Durability { get; set; } = LogDurability.Strict;

    /// <summary>Log commit period in relaxed durability, in milliseconds.</summary>
    public int RelaxedCommitMs { get; set; } = 10;

    /// <summary>Automatic checkpoint of a collection once its log holds this many bytes beyond its snapshot (0: never by size).</summary>
    public long CheckpointLogBytes { get; set; } = new DurabilityOptions().CheckpointLogBytes;

    /// <summary>Automatic checkpoint of a collection once this many log records are beyond its snapshot (0: never by count).</summary>
    public long CheckpointRecords { get; set; } = new DurabilityOptions().CheckpointRecords;

    /// <summary>A checkpoint first rebuilds a collection's index without its tombstones once they are this fraction of its nodes (0: never).</summary>
    public double CompactDeletedFraction { get; set; } = new DurabilityOptions().CompactDeletedFraction;

    /// <summary>Threads that copy a collection's live points during a compaction: 1 to the number of cores; default half the cores, at least 1.</summary>
    public int CompactionThreads { get; set; } = new DurabilityOptions().CompactionThreads;

    /// <summary>Serve snapshots' vectors from a read-only file mapping instead of reading them into memory: a faster
    /// start and pages shared with the OS cache, but 4 KiB pages, so slower searches (see <see cref="Collections.DurabilityOptions.SnapshotLoading"/>).</summary>
    public bool MapSnapshots { get; set; }

    /// <summary>The durability settings as the collections take them.</summary>
    public DurabilityOptions DurabilityOptions() => new()
    {
        Durability = Durability,
        RelaxedCommitInterval = TimeSpan.FromMilliseconds(RelaxedCommitMs),
        CheckpointLogBytes = CheckpointLogBytes,
        CheckpointRecords = CheckpointRecords,
        CompactDeletedFraction = CompactDeletedFraction,
        CompactionThreads = CompactionThreads,
        SnapshotLoading = new SnapshotLoadOptions { ReadIntoMemory = !MapSnapshots },
    };

    /// <summary>Snapshot files to import as collections at start (<c>--snapshot NAME=PATH</c>).</summary>
    public List<SnapshotImport> Snapshots { get; } = [];

    /// <summary>Largest k a search may ask for.</summary>
    public int MaxK { get; set; } = 1000;

    /// <summary>Largest ef a search may ask for.</summary>
    public int MaxEf { get; set; } = 4096;

    /// <summary>ef of a search that gives none: max(k, DefaultEf).</summary>
    public int DefaultEf { get; set; } = 64;

    /// <summary>Most queries in one SearchBatch.</summary>
    public int MaxBatchQueries { get; set; } = 1024;

    /// <summary>Most ids in one Get: its answer holds a vector per id, built in memory before it is sent.</summary>
    public int MaxGetIds { get; set; } = 10_000;

    /// <summary>Largest request message; larger ones get RESOURCE_EXHAUSTED. A Get whose answer would be larger is refused. 64 MiB fits an Upsert of ~20,000 768-d points.</summary>
    public int MaxMessageBytes { get; set; } = 64 << 20;

    /// <summary>PEM certificate (chain) for TLS on the gRPC port; with <see cref="TlsKey"/>. Plain HTTP/2 when absent.</summary>
    public string? TlsCert { get; set; }

    /// <summary>PEM private key of <see cref="TlsCert"/>.</summary>
    public string? TlsKey { get; set; }

    public bool UseTls => TlsCert is not null;

    /// <summary>PEM file of CA certificates: with it, clients must present a certificate issued by one of them (mutual TLS).</summary>
    public string? TlsClientCa { get; set; }

    /// <summary>File of API keys, one <c>role:sha256hex[:name]</c> per line (Security/ApiKeySet.cs, docs/api.md "Security").</summary>
    public string? ApiKeysFile { get; set; }

    /// <summary>API keys given inline, <c>role:sha256hex[:name]</c> separated by ';'; added to those of <see cref="ApiKeysFile"/>.</summary>
    public string? ApiKeys { get; set; }

    /// <summary>Allows serving a non-loopback address without API keys (authentication off).</summary>
    public bool Insecure { get; set; }

    /// <summary>Most collections; CreateCollection beyond it gets RESOURCE_EXHAUSTED.</summary>
    public int MaxCollections { get; set; } = 256;

    /// <summary>Most live points in one collection (0: no limit but the memory budget); an Upsert that would pass it is rejected whole.</summary>
    public long MaxPointsPerCollection { get; set; }

    /// <summary>Bytes all collections together may hold (their MemoryBytes plus the estimate of a new write, and when given,
    /// the new index of a compaction in progress); 0: 80 % of the memory available to the process
    /// (<see cref="EffectiveMemoryBudgetBytes"/>), which compactions are not counted in.</summary>
    public long MemoryBudgetBytes { get; set; }

    /// <summary>Searches (a SearchBatch counts as one) running at once.</summary>
    public int MaxConcurrentSearches { get; set; } = 2 * Environment.ProcessorCount;

    /// <summary>Searches waiting for a slot; beyond that a search gets RESOURCE_EXHAUSTED at once. With the defaults an
    /// admitted search waits at most about four search times (8 per core queued behind 2 per core running).</summary>
    public int MaxQueuedSearches { get; set; } = 8 * Environment.ProcessorCount;

    /// <summary>Cluster mode (docs/cluster.md): NATS server URLs, comma-separated (<c>nats://h1:4222,nats://h2:4222</c>).
    /// Null: a single server, exactly as without cluster support.</summary>
    public string? ClusterNats { get; set; }

    public bool ClusterMode => !string.IsNullOrWhiteSpace(ClusterNats);

    /// <summary>This node's id in the cluster state (letters, digits, '-' and '_'); default: the machine name.</summary>
    public string NodeId { get; set; } = ClusterNodeId.FromMachineName(Environment.MachineName);

    /// <summary>The gRPC address other nodes use to reach this one; null: http(s)://{host}:{port} with the bound port.</summary>
    public string? AdvertiseAddress { get; set; }

    /// <summary>What this node does in the cluster: hold replicas, route searches, or both.</summary>
    public ClusterRole ClusterRole { get; set; } = ClusterRole.All;

    /// <summary>JetStream replication factor of the shard streams and the cluster state buckets.</summary>
    public int StreamReplicas { get; set; } = 3;

    /// <summary>How often this node re-announces itself and its replicas' states, in milliseconds.</summary>
    public int HeartbeatMs { get; set; } = 1000;

    /// <summary>A node whose last heartbeat is older than this is dead (and its entry expires), in milliseconds.</summary>
    public int NodeTtlMs { get; set; } = 5000;

    /// <summary>Plaintext API key this node sends on node-to-node calls (needs role read at least) when nodes use keys.</summary>
    public string? ClusterApiKey { get; set; }

    /// <summary>Fixed delay before a hedged shard search goes to a second replica; 0: the shard's recent p95 latency.</summary>
    public int HedgeAfterMs { get; set; }

    /// <summary>How often a node trims the streams of the shards it holds replicas of up to what no replica can need any
    /// more, in milliseconds; 0: never.</summary>
    public int StreamTrimIntervalMs { get; set; } = 60_000;

    public long EffectiveMemoryBudgetBytes =>
        MemoryBudgetBytes > 0 ? MemoryBudgetBytes : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 5 * 4;

    /// <summary>Throws <see cref="ServerConfigurationException"/> naming the first setting that is wrong.</summary>
    public void Validate()
    {
        CheckPort(Port, "port");
        CheckPort(MetricsPort, "metrics-port");
        if (Port != 0 && Port == MetricsPort)
            throw new ServerConfigurationException($"port and metrics-port are both {Port}: they must differ");
        if (string.IsNullOrWhiteSpace(Host))
            throw new ServerConfigurationException("host is empty");
        if (string.IsNullOrWhiteSpace(DataDir))
            throw new ServerConfigurationException("data-dir is empty");
        if (!Enum.IsDefined(Durability))
            throw new ServerConfigurationException($"durability must be strict or relaxed, got {(int)Durability}");
        if (RelaxedCommitMs is < 1 or > 10_000)
            throw new ServerConfigurationException($"relaxed-commit-ms must be between 1 and 10000, got {RelaxedCommitMs}");
        if (CheckpointLogBytes < 0)
            throw new ServerConfigurationException($"checkpoint-log-bytes must be 0 (never by size) or more, got {CheckpointLogBytes}");
        if (!(CompactDeletedFraction >= 0 && CompactDeletedFraction < 1))
            throw new ServerConfigurationException($"compact-deleted-fraction must be 0 (never) or a fraction below 1, got {CompactDeletedFraction}");
        if (CompactionThreads < 1 || CompactionThreads > Environment.ProcessorCount)
            throw new ServerConfigurationException(
                $"compaction-threads must be between 1 and the number of cores ({Environment.ProcessorCount}), got {CompactionThreads}");
        if (CheckpointRecords < 0)
            throw new ServerConfigurationException($"checkpoint-records must be 0 (never by count) or more, got {CheckpointRecords}");
        if (MaxK < 1)
            throw new ServerConfigurationException($"max-k must be at least 1, got {MaxK}");
        if (MaxEf < MaxK)
            throw new ServerConfigurationException($"max-ef ({MaxEf}) must be at least max-k ({MaxK})");
        if (DefaultEf < 1 || DefaultEf > MaxEf)
            throw new ServerConfigurationException($"default-ef must be between 1 and max-ef ({MaxEf}), got {DefaultEf}");
        if (MaxBatchQueries < 1)
            throw new ServerConfigurationException($"max-batch-queries must be at least 1, got {MaxBatchQueries}");
        if (MaxGetIds < 1)
            throw new ServerConfigurationException($"max-get-ids must be at least 1, got {MaxGetIds}");
        if (MaxMessageBytes < 4096)
            throw new ServerConfigurationException($"max-message-bytes must be at least 4096, got {MaxMessageBytes}");
        if ((TlsCert is null) != (TlsKey is null))
            throw new ServerConfigurationException("tls-cert and tls-key go together: give both or neither");
        if (TlsCert is not null && !File.Exists(TlsCert))
            throw new ServerConfigurationException($"tls-cert: file not found: {TlsCert}");
        if (TlsKey is not null && !File.Exists(TlsKey))
            throw new ServerConfigurationException($"tls-key: file not found: {TlsKey}");
        if (TlsClientCa is not null && TlsCert is null)
            throw new ServerConfigurationException("tls-client-ca needs tls-cert and tls-key: mutual TLS is TLS first");
        if (TlsClientCa is not null && !File.Exists(TlsClientCa))
            throw new ServerConfigurationException($"tls-client-ca: file not found: {TlsClientCa}");
        if (MaxCollections < 1)
            throw new ServerConfigurationException($"max-collections must be at least 1, got {MaxCollections}");
        if (MaxPointsPerCollection < 0)
            throw new ServerConfigurationException($"max-points-per-collection must be 0 (no limit) or more, got {MaxPointsPerCollection}");
        if (MemoryBudgetBytes < 0)
            throw new ServerConfigurationException($"memory-budget-bytes must be 0 (automatic) or more, got {MemoryBudgetBytes}");
        if (MaxConcurrentSearches < 1)
            throw new ServerConfigurationException($"max-concurrent-searches must be at least 1, got {MaxConcurrentSearches}");
        if (MaxQueuedSearches < 0)
            throw new ServerConfigurationException($"max-queued-searches must be 0 or more, got {MaxQueuedSearches}");
        ValidateCluster();
        Security.ListenPolicy.Validate(this, Security.ApiKeySet.FromOptions(this));
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (SnapshotImport import in Snapshots)
        {
            if (CollectionName.Problem(import.Name) is { } problem)
                throw new ServerConfigurationException($"snapshot {import.Name}={import.Path}: the collection name {problem}");
            if (!names.Add(import.Name))
                throw new ServerConfigurationException($"snapshot: collection '{import.Name}' is given twice");
            if (!File.Exists(import.Path))
                throw new ServerConfigurationException($"snapshot {import.Name}={import.Path}: file not found");
        }
    }

    private void ValidateCluster()
    {
        if (!ClusterMode)
            return;
        foreach (string url in ClusterNats!.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
                throw new ServerConfigurationException($"cluster-nats: '{url}' is not a NATS URL such as nats://host:4222 (several are separated by ',')");
        }
        if (ClusterNodeId.Problem(NodeId) is { } problem)
            throw new ServerConfigurationException($"node-id {problem}");
        if (AdvertiseAddress is not null
            && (!Uri.TryCreate(AdvertiseAddress, UriKind.Absolute, out Uri? advertised) || advertised.Scheme is not ("http" or "https")))
            throw new ServerConfigurationException($"advertise-address must be an http:// or https:// URL such as http://10.0.0.7:50051, got '{AdvertiseAddress}'");
        if (!Enum.IsDefined(ClusterRole))
            throw new ServerConfigurationException($"cluster-role must be all, replica or router, got {(int)ClusterRole}");
        if (StreamReplicas is < 1 or > 5)
            throw new ServerConfigurationException($"stream-replicas must be between 1 and 5 (JetStream's limit), got {StreamReplicas}");
        if (HeartbeatMs is < 50 or > 60_000)
            throw new ServerConfigurationException($"heartbeat-ms must be between 50 and 60000, got {HeartbeatMs}");
        if (NodeTtlMs < 2 * HeartbeatMs)
            throw new ServerConfigurationException($"node-ttl-ms ({NodeTtlMs}) must be at least twice heartbeat-ms ({HeartbeatMs}), or one late heartbeat kills a node");
        if (HedgeAfterMs is < 0 or > 60_000)
            throw new ServerConfigurationException($"hedge-after-ms must be between 0 (the shard's recent p95) and 60000, got {HedgeAfterMs}");
        if (StreamTrimIntervalMs != 0 && StreamTrimIntervalMs is < 100 or > 86_400_000)
            throw new ServerConfigurationException($"stream-trim-interval-ms must be 0 (never trim) or between 100 and 86400000, got {StreamTrimIntervalMs}");
    }

    private static void CheckPort(int port, string name)
    {
        if (port is < 0 or > 65535)
            throw new ServerConfigurationException($"{name} must be between 0 and 65535, got {port}");
    }
}
