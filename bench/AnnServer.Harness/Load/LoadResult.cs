using HdrHistogram;

namespace AnnServer.Harness.Load;

/// <summary>What a load run measured: latencies in nanoseconds from the (intended) send time, errors by status.</summary>
public sealed class LoadResult
{
    public required HistogramBase Latencies { get; init; }
    public required double MeasuredSeconds { get; init; }

    /// <summary>The warm-up as it ran: <see cref="LoadOptions.Warmup"/>, and the wait for the client's JIT to settle.</summary>
    public double? WarmupSeconds { get; init; }
    public required long Requests { get; init; }
    public required long Succeeded { get; init; }
    public required Dictionary<string, long> Errors { get; init; }
    public long LateSends { get; init; }

    /// <summary>The server's own time per call (the responses' server_time_micros), in nanoseconds; empty for
    /// calls that do not report it (Upsert).</summary>
    public required HistogramBase ServerTimes { get; init; }

    /// <summary>Queries searched or points written per successful call.</summary>
    public required int ItemsPerCall { get; init; }

    /// <summary>CPU seconds (user + system) over the measured time, of the server (when its pid was given) and of
    /// this client process.</summary>
    public double? ServerCpuSeconds { get; init; }
    public double? ClientCpuSeconds { get; init; }

    /// <summary>The measured requests second by second, when LoadOptions.Timeline asked for it.</summary>
    public LoadTimeline? Timeline { get; init; }

    /// <summary>Ids returned for each query (k slots per query) and how many were returned; -1 when not answered.</summary>
    public required long[] Ids { get; init; }
    public required int[] Counts { get; init; }
}
