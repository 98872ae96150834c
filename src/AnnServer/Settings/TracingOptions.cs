namespace AnnServer.Settings;

/// <summary>
/// OpenTelemetry tracing: off unless <see cref="OtlpEndpoint"/> is given (<c>--otlp-endpoint</c>), and then a span per
/// request with child spans for the wait for a search slot, the search, the log commit and, in cluster mode, each shard
/// call (docs/observability.md). Checked by <see cref="TracingOptionsValidator"/>.
/// </summary>
public sealed class TracingOptions
{
    /// <summary>OTLP collector to export spans to (gRPC, e.g. http://otel-collector:4317); null: no tracing at all.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Fraction of the traces this server starts that it records, 0 to 1; a trace a caller started and sampled
    /// is always recorded (parent-based), so one trace is never recorded on some nodes only.</summary>
    public double TraceSampleRatio { get; set; } = 1.0;

    /// <summary>service.name of the spans; in cluster mode the node id is added as service.instance.id.</summary>
    public string TraceServiceName { get; set; } = "annserver";
}
