namespace AnnServer.Harness.Load;

/// <summary>How `ann-bench load` drives the server.</summary>
public sealed class LoadOptions
{
    public required Uri Target { get; init; }
    public required string Collection { get; init; }
    public int K { get; init; } = 10;

    /// <summary>Sent as SearchRequest.ef; null leaves it to the server's default.</summary>
    public int? Ef { get; init; } = 64;

    /// <summary>Closed loop: the number of callers, each sending its next request when the previous answer arrives.
    /// Open loop: the most requests in flight at once.</summary>
    public int Concurrency { get; init; } = 16;

    /// <summary>Null: unary Search calls. Set: the searches go over <see cref="Concurrency"/> SearchStream calls, each
    /// keeping this many searches in flight (closed loop only).</summary>
    public int? StreamWindow { get; init; }

    /// <summary>With <see cref="StreamWindow"/>: searches sent in one SearchStream message (SearchStreamRequest.searches
    /// when more than 1), answered in one message; the window counts searches, so a stream keeps
    /// StreamWindow / QueriesPerMessage messages in flight (at least one).</summary>
    public int QueriesPerMessage { get; init; } = 1;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Discarded time at the start (connections opened, server caches and JIT warm).</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>With a <see cref="Warmup"/>: the warm-up goes on past it until the client's JIT has gone quiet
    /// (<see cref="JitSettling"/>), for at most this much longer; zero: the warm-up is <see cref="Warmup"/> exactly.</summary>
    public TimeSpan WarmupSettleLimit { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Open loop when set: requests per second, sent on a fixed schedule whatever the latency.</summary>
    public double? Rate { get; init; }

    /// <summary>Per-request deadline; a request that exceeds it counts as a DeadlineExceeded error.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    public LoadOperation Operation { get; init; } = LoadOperation.Search;

    /// <summary>Queries per SearchBatch call, or points per Upsert call.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Upsert: the id of the first point written; each later point takes the next id.</summary>
    public long FirstId { get; init; } = 1_000_000_000;

    /// <summary>When set, the server's CPU time (/proc/PID/stat) is read at the start and end of the measured time.</summary>
    public int? ServerPid { get; init; }

    /// <summary>Keep a <see cref="LoadTimeline"/> of the measured time (LoadResult.Timeline).</summary>
    public bool Timeline { get; init; }

    /// <summary>Print a progress line every this often; zero for none.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);
}
