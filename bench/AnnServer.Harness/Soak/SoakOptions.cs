namespace AnnServer.Harness.Soak;

/// <summary>What `ann-bench soak` runs: the server and its metrics, the mix of calls, how long, where the results go.</summary>
public sealed class SoakOptions
{
    public required Uri Target { get; init; }

    /// <summary>The server's Prometheus endpoint (default: the target's host, port 9090, /metrics).</summary>
    public required Uri Metrics { get; init; }

    /// <summary>Collection to load; created (L2, M 16) when missing, with the dimension of the vectors.</summary>
    public string Collection { get; init; } = "soak";

    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Memory is judged after this; samples before it are kept but not judged.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromMinutes(3);

    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Concurrent callers; each owns its own range of ids, so the last acknowledged write of every id is known.</summary>
    public int Clients { get; init; } = 16;

    /// <summary>Fractions of operations that are upserts and deletes; the rest are searches.</summary>
    public double UpsertFraction { get; init; } = 0.08;
    public double DeleteFraction { get; init; } = 0.04;

    /// <summary>Most points in one upsert or delete (1 to this, uniformly).</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>Ids each client writes to: enough that deletes and re-inserts both happen.</summary>
    public int IdsPerClient { get; init; } = 2000;

    /// <summary>The soak's ids start here, so it never touches points that were in the collection before.</summary>
    public long IdOffset { get; init; } = 1_000_000_000;

    /// <summary>Calls per second from all clients together (0: each client sends its next call as soon as the last is
    /// answered). A soak measures endurance, not capacity: a rate well below capacity is the usual setting.</summary>
    public double Rate { get; init; }

    public int K { get; init; } = 10;
    public int Ef { get; init; } = 64;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Sent as <c>authorization: Bearer KEY</c> (a write key: the soak searches, writes and reads back).</summary>
    public string? ApiKey { get; init; }

    public int Seed { get; init; } = 1;
}
