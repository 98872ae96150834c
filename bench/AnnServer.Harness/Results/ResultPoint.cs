using System.Text.Json;
using System.Text.Json.Serialization;

namespace AnnServer.Harness.Results;

/// <summary>The measurements at one ef. Latencies in microseconds.</summary>
public sealed class ResultPoint
{
    public required int Ef { get; init; }

    /// <summary>Mean tie-aware recall@k over the queries (RecallCalculator); null when no ground truth was given.</summary>
    public double? Recall { get; init; }

    public required double Qps { get; init; }
    public double? MeanUs { get; init; }
    public required double P50Us { get; init; }
    public double? P90Us { get; init; }
    public required double P99Us { get; init; }
    public double? P999Us { get; init; }
    public double? MaxUs { get; init; }

    /// <summary>Mean distance computations per query, when the system counts them.</summary>
    public double? DistanceComputations { get; init; }

    /// <summary>Fields this model does not know (a peer's own figures), kept so that merging does not drop them.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}
