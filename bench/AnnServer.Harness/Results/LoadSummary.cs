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

    /// <summary>The warm-up before it: --warmup, and the wait for the client's JIT to settle past it.</summary>
    public double? WarmupSeconds { get; init; }
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

    /// <summary>"search", "batch" or "upsert", and the queries or points per call.</summary>
    public string Operation { get; init; } = "search";
    public int BatchSize { get; init; } = 1;

    /// <summary>Queries searched or points written per second: <see cref="Throughput"/> times the batch size.</summary>
    public double ItemsPerSecond { get; init; }

    /// <summary>The server's own time per call (server_time_micros) at p50 and p99; null when calls do not report it.</summary>
    public double? ServerTimeP50Us { get; init; }
    public double? ServerTimeP99Us { get; init; }

    /// <summary>CPU time per successful call over the measured time, of the server (/proc/PID/stat, when --server-pid
    /// was given) and of this client: user + system, every thread.</summary>
    public double? ServerCpuUsPerCall { get; init; }
    public double? ClientCpuUsPerCall { get; init; }
}

public sealed record PercentileValue(double Percentile, double LatencyUs);
