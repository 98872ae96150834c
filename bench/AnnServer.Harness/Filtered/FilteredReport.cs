using System.Text.Json;
using System.Text.Json.Serialization;
using AnnServer.Harness.Results;

namespace AnnServer.Harness.Filtered;

/// <summary>What `ann-bench filtered` measured, as written to its JSON file.</summary>
public sealed class FilteredReport
{
    public required string Dataset { get; init; }
    public int K { get; init; }
    public int M { get; init; }
    public int EfConstruction { get; init; }
    public int BaseCount { get; init; }
    public int QueryCount { get; init; }
    public int Runs { get; init; }

    /// <summary>The recall at which filtered and unfiltered QPS are compared (the goal: 0.95).</summary>
    public double TargetRecall { get; init; }
    public string? CreatedUtc { get; init; }
    public string? Command { get; init; }
    public MachineInfo? Machine { get; init; }
    public required FilteredMemory Memory { get; init; }
    public required List<FilteredPoint> Unfiltered { get; init; }
    public required List<FilteredCaseResult> Cases { get; init; }

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public void Write(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(this, Options));
    }

    public static FilteredReport Read(string path) =>
        JsonSerializer.Deserialize<FilteredReport>(File.ReadAllText(path), Options) ?? throw new InvalidDataException($"{path}: empty report");
}

/// <summary>
/// Memory of the index without and with the payloads: resident growth (settled, ResidentMemory) and the managed heap's
/// growth when the payloads were set, per point; and the index's own accounting (HnswIndex.MemoryBytes).
/// </summary>
public sealed class FilteredMemory
{
    public double? ResidentBytesPerPointWithoutPayload { get; init; }
    public double? ResidentBytesPerPointOfPayload { get; init; }
    public double GcHeapBytesPerPointOfPayload { get; init; }
    public double IndexBytesPerPointWithoutPayload { get; init; }
    public double IndexBytesPerPointWithPayload { get; init; }

    /// <summary>The sorted range index of the "price" field (built by the first range filter), by the index's accounting
    /// and by the managed heap's growth.</summary>
    public double IndexBytesPerPointOfRangeIndex { get; init; }
    public double GcHeapBytesPerPointOfRangeIndex { get; init; }

    /// <summary>With --value-links: the field, its links by the index's accounting, and how long linking took.</summary>
    public string? ValueLinksField { get; set; }
    public double IndexBytesPerPointOfValueLinks { get; set; }
    public double ValueLinksSeconds { get; set; }
}

/// <summary>One ef of a sweep.</summary>
public sealed class FilteredPoint
{
    public int Ef { get; init; }
    public double Recall { get; init; }
    public double Qps { get; init; }

    /// <summary>Unfiltered QPS at this point's recall, interpolated from the unfiltered sweep (filtered points only).</summary>
    public double? UnfilteredQpsAtRecall { get; init; }
    public double? Ratio { get; init; }

    /// <summary>The planner's choice, with its share of the queries when they differ (filtered points only).</summary>
    public string? Plan { get; init; }
}

public sealed class FilteredCaseResult
{
    public required string Name { get; init; }
    public required string Field { get; init; }

    /// <summary>The intended share of points passing; <see cref="MeasuredSelectivity"/> is the mean over the queries.</summary>
    public double Selectivity { get; init; }
    public double MeasuredSelectivity { get; init; }
    public required List<FilteredPoint> Points { get; init; }

    /// <summary>Filtered QPS at the target recall (interpolated), unfiltered QPS there, their ratio; null when not reached.</summary>
    public double? QpsAtTarget { get; init; }
    public double? UnfilteredQpsAtTarget { get; init; }
    public double? RatioAtTarget { get; init; }
}
