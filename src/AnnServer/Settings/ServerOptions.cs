namespace AnnServer.Settings;

/// <summary>
/// Where the server listens and what it serves: its address and ports, its data directory and the snapshots it imports
/// at start. Each property is one setting, named like it: <see cref="MetricsPort"/> is <c>--metrics-port</c>,
/// <c>ANNSERVER_METRICS_PORT</c> and <c>"AnnServer": { "MetricsPort" }</c> (<see cref="ServerSettings"/>). Checked by
/// <see cref="ServerOptionsValidator"/>.
/// </summary>
public sealed class ServerOptions
{
    /// <summary>Address to listen on: an IP address, "localhost", or "*" for every interface.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>gRPC port (HTTP/2). 0 picks a free port (tests).</summary>
    public int Port { get; set; } = 50051;

    /// <summary>Prometheus /metrics and /healthz port (HTTP/1.1). 0 picks a free port (tests).</summary>
    public int MetricsPort { get; set; } = 9090;

    /// <summary>JSON-over-HTTP port (HTTP/1.1; the gRPC API transcoded, and its OpenAPI document). 0 picks a free port
    /// (tests); <see cref="HttpPortOff"/> serves no JSON. A port of its own because a plaintext port cannot serve both
    /// HTTP/1.1 and gRPC's HTTP/2 without TLS (no ALPN to choose between them).</summary>
    public int HttpPort { get; set; } = 8080;

    /// <summary>The <see cref="HttpPort"/> that turns JSON over HTTP off.</summary>
    public const int HttpPortOff = -1;

    /// <summary>Folder of the collections (docs/api.md, "Data directory"); relative paths are from the working directory.</summary>
    public string DataDir { get; set; } = "./data";

    /// <summary>The only folder from which LoadSnapshot may read snapshot files, named relative to it (<c>--import-dir</c>);
    /// null: LoadSnapshot from a file is refused (UploadSnapshot still works).</summary>
    public string? ImportDir { get; set; }

    /// <summary>Snapshot files to import as collections at start, by collection name (<c>--snapshot NAME=PATH</c>,
    /// <c>ANNSERVER_SNAPSHOTS="a=/x.snap;b=/y.snap"</c>, <c>"Snapshots": { "a": "/x.snap" }</c>). A source of higher
    /// precedence replaces a name given by a lower one; as configuration keys, names that differ only in case are one.</summary>
    public Dictionary<string, string> Snapshots { get; } = new(StringComparer.Ordinal);

    /// <summary>Dedicated threads that run unary searches; 0 (the default) runs each on the thread that called the
    /// service. Measured in bench/results/serving.md.</summary>
    public int SearchThreads { get; set; }
}
