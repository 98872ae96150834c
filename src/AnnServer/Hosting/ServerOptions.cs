using AnnServer.Collections;

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

    /// <summary>Largest request message; larger ones get RESOURCE_EXHAUSTED. 64 MiB fits an Upsert of ~20,000 768-d points.</summary>
    public int MaxMessageBytes { get; set; } = 64 << 20;

    /// <summary>PEM certificate (chain) for TLS on the gRPC port; with <see cref="TlsKey"/>. Plain HTTP/2 when absent.</summary>
    public string? TlsCert { get; set; }

    /// <summary>PEM private key of <see cref="TlsCert"/>.</summary>
    public string? TlsKey { get; set; }

    public bool UseTls => TlsCert is not null;

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
        if (MaxK < 1)
            throw new ServerConfigurationException($"max-k must be at least 1, got {MaxK}");
        if (MaxEf < MaxK)
            throw new ServerConfigurationException($"max-ef ({MaxEf}) must be at least max-k ({MaxK})");
        if (DefaultEf < 1 || DefaultEf > MaxEf)
            throw new ServerConfigurationException($"default-ef must be between 1 and max-ef ({MaxEf}), got {DefaultEf}");
        if (MaxBatchQueries < 1)
            throw new ServerConfigurationException($"max-batch-queries must be at least 1, got {MaxBatchQueries}");
        if (MaxMessageBytes < 4096)
            throw new ServerConfigurationException($"max-message-bytes must be at least 4096, got {MaxMessageBytes}");
        if ((TlsCert is null) != (TlsKey is null))
            throw new ServerConfigurationException("tls-cert and tls-key go together: give both or neither");
        if (TlsCert is not null && !File.Exists(TlsCert))
            throw new ServerConfigurationException($"tls-cert: file not found: {TlsCert}");
        if (TlsKey is not null && !File.Exists(TlsKey))
            throw new ServerConfigurationException($"tls-key: file not found: {TlsKey}");
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

    private static void CheckPort(int port, string name)
    {
        if (port is < 0 or > 65535)
            throw new ServerConfigurationException($"{name} must be between 0 and 65535, got {port}");
    }
}
