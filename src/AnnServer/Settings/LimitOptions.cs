namespace AnnServer.Settings;

/// <summary>
/// What one request may ask for and what the server holds and runs at once: the bounds of a search, a batch and a Get,
/// the largest message, and the collection, point, memory and concurrency limits (docs/api.md, "Settings"). Each
/// property is one setting, named like it: <see cref="MaxK"/> is <c>--max-k</c>, <c>ANNSERVER_MAX_K</c> and
/// <c>"AnnServer": { "MaxK" }</c> (<see cref="ServerSettings"/>). Checked by <see cref="LimitOptionsValidator"/>.
/// </summary>
public sealed class LimitOptions
{
    /// <summary>Largest k a search may ask for.</summary>
    public int MaxK { get; set; } = 1000;

    /// <summary>Largest ef a search may ask for.</summary>
    public int MaxEf { get; set; } = 4096;

    /// <summary>ef of a search that gives none: max(k, DefaultEf).</summary>
    public int DefaultEf { get; set; } = 64;

    /// <summary>Most queries in one SearchBatch.</summary>
    public int MaxBatchQueries { get; set; } = 1024;

    /// <summary>Most ids in one Get: its answer holds a vector per id, built in memory before it is sent.</summary>
    public int MaxGetIds { get; set; } = 10_000;

    /// <summary>Largest payload of one point, in bytes of its message (an Upsert's point, a SetPayload's fields); larger
    /// ones get RESOURCE_EXHAUSTED.</summary>
    public int MaxPayloadBytes { get; set; } = 64 << 10;

    /// <summary>Largest request message; larger ones get RESOURCE_EXHAUSTED. A Get whose answer would be larger is refused. 64 MiB fits an Upsert of ~20,000 768-d points.</summary>
    public int MaxMessageBytes { get; set; } = 64 << 20;

    /// <summary>Most collections; CreateCollection beyond it gets RESOURCE_EXHAUSTED.</summary>
    public int MaxCollections { get; set; } = 256;

    /// <summary>Most live points in one collection (0: no limit but the memory budget); an Upsert that would pass it is rejected whole.</summary>
    public long MaxPointsPerCollection { get; set; }

    /// <summary>Bytes all collections together may hold (their MemoryBytes plus the estimate of a new write, and when given,
    /// the new index of a compaction in progress); 0: 80 % of the memory available to the process
    /// (<see cref="EffectiveMemoryBudgetBytes"/>), which compactions are not counted in.</summary>
    public long MemoryBudgetBytes { get; set; }

    /// <summary>Searches (a SearchBatch counts as one) running at once.</summary>
    public int MaxConcurrentSearches { get; set; } = 2 * Environment.ProcessorCount;

    /// <summary>Searches waiting for a slot; beyond that a search gets RESOURCE_EXHAUSTED at once. With the defaults an
    /// admitted search waits at most about four search times (8 per core queued behind 2 per core running).</summary>
    public int MaxQueuedSearches { get; set; } = 8 * Environment.ProcessorCount;

    /// <summary>Searches one SearchStream may hold (running, waiting for a slot, or answered and not yet sent), and so the
    /// most one message's <c>searches</c> may list; 0 (the default): <see cref="EffectiveMaxStreamInFlight"/>. Past it the
    /// server stops reading the stream until an answer is sent. It bounds what a stream holds: this many queries
    /// (4·dimension bytes each, every message also held to --max-message-bytes) and answers (k hits each).</summary>
    public int MaxStreamInFlight { get; set; }

    /// <summary>Messages one SearchStream may have in flight (each a search, or a list of them run under one search slot
    /// as a SearchBatch is); past it the server stops reading the stream until one is answered, so HTTP/2 flow control
    /// reaches the caller. 4 per core: each message takes a slot or waits in the search queue, and one stream's
    /// throughput stops growing at about 2 per core (then every search slot is busy): measured on Fashion-MNIST (2
    /// cores, ef 14, one search a message), 16 or 32 in flight only added latency, down to half the throughput; the
    /// caller's round trip needs no room here, as a message leaves the window once its answer is written.</summary>
    public int MaxStreamMessages { get; set; } = 4 * Environment.ProcessorCount;

    /// <summary>SearchStream calls open at once; one more is refused with RESOURCE_EXHAUSTED. Each stream is bounded by
    /// its window, but nothing else bounded how many there are: enough of them hold as many searches as they like
    /// waiting for a slot, which unary searches then find full. 16 per core: four streams per core already keep every
    /// search slot busy (bench/results/serving.md), so more only queue.</summary>
    public int MaxSearchStreams { get; set; } = 16 * Environment.ProcessorCount;
    /// <summary>Stored id sets one collection holds (PutIdSet of a new name beyond it: RESOURCE_EXHAUSTED).</summary>
    public int MaxIdSets { get; set; } = Collections.IdSetLimits.DefaultMaxSetsPerCollection;

    /// <summary>Bytes all stored id sets of the server are charged for together (8 per id, 1 bit per node of the
    /// collection); a put beyond it, once expired sets are dropped: RESOURCE_EXHAUSTED. Not part of the memory budget.</summary>
    public long MaxIdSetBytes { get; set; } = Collections.IdSetLimits.DefaultMaxTotalBytes;

    /// <summary>Ids in one PutIdSet.</summary>
    public int MaxIdsPerSet { get; set; } = Collections.IdSetLimits.DefaultMaxIdsPerSet;

    /// <summary>The limits of stored id sets, for the collections library.</summary>
    public Collections.IdSetLimits IdSetLimits => new()
    {
        MaxSetsPerCollection = MaxIdSets,
        MaxTotalBytes = MaxIdSetBytes,
        MaxIdsPerSet = MaxIdsPerSet,
    };

    /// <summary>The stream window in force: <see cref="MaxStreamInFlight"/>, or when 0, max(--max-batch-queries,
    /// 4 per core). A message of searches is the bulk scoring a stream exists for (a caller batches dozens of queries a
    /// message, as it would in a SearchBatch), so a default server takes one as large as the SearchBatch it would take
    /// (1,024 queries), and a stream holds about what one such batch may: 1,024 queries of 768 dimensions with their k = 10
    /// answers are about 3.8 MB (64 bytes held a hit, RequestValidation.HeldBytesPerHit), with k = 1,000 about 69 MB,
    /// near the 64 MiB a SearchBatch may hold (--max-message-bytes); at most --max-search-streams streams. The 4 per core
    /// it was before refused any message of more than 8 searches on 2 cores. The concurrency a stream may ask for is
    /// bounded apart, by <see cref="MaxStreamMessages"/>.</summary>
    public int EffectiveMaxStreamInFlight =>
        MaxStreamInFlight > 0 ? MaxStreamInFlight : Math.Max(MaxBatchQueries, 4 * Environment.ProcessorCount);

    /// <summary>The memory budget in force: <see cref="MemoryBudgetBytes"/>, or when 0, 80 % of the memory available.</summary>
    public long EffectiveMemoryBudgetBytes =>
        MemoryBudgetBytes > 0 ? MemoryBudgetBytes : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 5 * 4;
}
