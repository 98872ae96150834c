using System.Text.Json;
using System.Text.Json.Serialization;

namespace AnnServer.Harness.Results;

/// <summary>
/// The one JSON document every ann-bench command and bench/peers/hnswlib.py write (bench/README.md, "JSON schema"):
/// a dataset, k, and one row per system run, each with one point per ef.
/// </summary>
public sealed class BenchmarkReport
{
    public required string Dataset { get; init; }
    public required int K { get; init; }

    /// <summary>l2, ip or cosine.</summary>
    public string? Metric { get; init; }

    public int? BaseCount { get; init; }
    public int? QueryCount { get; init; }
    public string? CreatedUtc { get; init; }

    /// <summary>The command line that produced the rows, so every figure can be reproduced.</summary>
    public string? Command { get; init; }

    public MachineInfo? Machine { get; init; }
    public required List<ResultRow> Rows { get; init; }

    /// <summary>Reports merged into this one (ann-bench merge), in order; each keeps its own command and machine.</summary>
    [JsonPropertyName("sources")]
    public List<ReportSource>? Sources { get; init; }

    /// <summary>Fields this model does not know (a peer's own figures), kept so that merging does not drop them.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>Where a merged report's rows came from.</summary>
public sealed class ReportSource
{
    public required string File { get; init; }
    public string? Command { get; init; }
    public MachineInfo? Machine { get; init; }
    public string? CreatedUtc { get; init; }
    public List<string>? Systems { get; init; }
}
