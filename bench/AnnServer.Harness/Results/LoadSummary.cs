namespace AnnServer.Harness.Results;

/// <summary>The fields `ann-bench load` adds to its row: how the load was applied and what came back.</summary>
public sealed class LoadSummary
{
    public required string Target { get; init; }
    public required string Collection { get; init; }

    /// <summary>"closed" (each caller waits for its answer) or "open" (requests sent on a fixed schedule).</summary>
    public required string Mode { get; init; }

    public required int Concurrency { get; init; }

    /// <summary>Requests per second asked for in open-loop mode.</summary>
    public double? Rate { get; init; }

    public required double DurationSeconds { get; init; }
    public required long Requests { get; init; }
    public required long Succeeded { get; init; }

    /// <summary>Failed requests by gRPC status code name.</summary>
    public required Dictionary<string, long> Errors { get; init; }

    /// <summary>Successful requests per second over the measured duration.</summary>
    public required double Throughput { get; init; }

    /// <summary>Open loop only: requests that could not be sent on time because every caller was busy.</summary>
    public long? LateSends { get; init; }

    /// <summary>Over SearchStream calls only (Concurrency is then the number of streams): searches each kept in flight.</summary>
    public int? StreamWindow { get; init; }

    public required List<PercentileValue> Percentiles { get; init; }
}

public sealed record PercentileValue(double Percentile, double LatencyUs);
