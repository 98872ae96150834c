using System.Collections.Concurrent;
using System.Diagnostics;
using AnnServer.Datasets;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Grpc.Net.Client;
using HdrHistogram;

namespace AnnServer.Harness.Soak;

/// <summary>
/// A long mixed load against a running server: <see cref="SoakOptions.Clients"/> callers each loop over searches,
/// upserts and deletes (each caller writes only its own ids and keeps a <see cref="WriteLedger"/> of what the server
/// acknowledged), while a sampler reads the server's memory, GC heap and threads from /metrics and the interval's latency
/// percentiles every <see cref="SoakOptions.SampleInterval"/>. At the end every id ever written is read back and
/// compared with its last acknowledged write.
/// <para>
/// Vectors come from a base set: the vector of (id, version) is row hash(id, version), so a caller only has to remember
/// version numbers, and a read-back can recompute what it must find.
/// </para>
/// </summary>
public sealed class SoakRunner
{
    private const long HighestTrackableNanoseconds = 60_000_000_000;
    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly SoakOptions _options;
    private readonly VectorSet _vectors;
    private readonly Metadata _headers = [];
    private readonly Recorder _searchLatency = NewRecorder();
    private readonly Recorder _writeLatency = NewRecorder();
    private readonly ConcurrentDictionary<string, long> _errors = new();
    private long _searches;
    private long _writes;

    public SoakRunner(SoakOptions options, VectorSet vectors)
    {
        _options = options;
        _vectors = vectors;
        if (options.ApiKey is not null) _headers.Add("authorization", "Bearer " + options.ApiKey);
    }

    /// <summary>Called after each sample (for a progress line).</summary>
    public Action<ServerSample>? Progress { get; init; }

    public async Task<SoakResult> RunAsync(CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(_options.Target, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
            MaxReceiveMessageSize = null,
        });
        var vectors = new VectorService.VectorServiceClient(channel);
        CollectionInfo info = await EnsureCollectionAsync(new CollectionService.CollectionServiceClient(channel), cancellationToken);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var samples = new List<ServerSample>();
        var minutes = new List<LongHistogram>();
        var ledgers = Enumerable.Range(0, _options.Clients).Select(_ => new WriteLedger()).ToArray();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();

        samples.Add(await SampleAsync(http, clock.Elapsed, 0, null, null, cancellationToken));
        Task[] clients = Enumerable.Range(0, _options.Clients)
            .Select(c => Task.Run(() => ClientLoopAsync(vectors, c, ledgers[c], stop.Token, cancellationToken), CancellationToken.None)).ToArray();

        long searchesBefore = 0;
        var last = clock.Elapsed;
        while (clock.Elapsed < _options.Duration && !cancellationToken.IsCancellationRequested)
        {
            TimeSpan next = last + _options.SampleInterval;
            if (next > _options.Duration) next = _options.Duration;
            try { await Task.Delay(next - clock.Elapsed, cancellationToken); } catch (OperationCanceledException) { break; }
            HistogramBase searches = _searchLatency.GetIntervalHistogram();
            HistogramBase writes = _writeLatency.GetIntervalHistogram();
            // The interval's histogram goes to the minute its middle falls in (the last sample lands just past the end).
            int minute = Math.Min((int)((last + clock.Elapsed).TotalMinutes / 2), (int)Math.Ceiling(_options.Duration.TotalMinutes) - 1);
            while (minutes.Count <= minute) minutes.Add(NewHistogram());
            minutes[minute].Add(searches);
            long searchesNow = Interlocked.Read(ref _searches);
            double seconds = (clock.Elapsed - last).TotalSeconds;
            ServerSample sample = await SampleAsync(http, clock.Elapsed, (searchesNow - searchesBefore) / seconds, searches, writes, cancellationToken);
            samples.Add(sample);
            Progress?.Invoke(sample);
            searchesBefore = searchesNow;
            last = clock.Elapsed;
        }

        await stop.CancelAsync();
        await Task.WhenAll(clients);
        Verification verification = await VerifyAsync(vectors, info, ledgers, cancellationToken);
        return new SoakResult
        {
            Samples = samples,
            MinuteP99Ms = minutes.Select(h => h.TotalCount == 0 ? 0 : h.GetValueAtPercentile(99) / 1e6).ToList(),
            MinuteSearches = minutes.Select(h => h.TotalCount).ToList(),
            Searches = Interlocked.Read(ref _searches),
            Writes = Interlocked.Read(ref _writes),
            Errors = new SortedDictionary<string, long>(_errors),
            Verification = verification,
            Collection = info,
        };
    }

    /// <summary>Fills the collection first with <paramref name="count"/> points (ids <see cref="SoakOptions.IdOffset"/> − count
    /// and up, never written again), in batches of 1,000, for a soak on a large index.</summary>
    public async Task PreloadAsync(int count, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(_options.Target, new GrpcChannelOptions { MaxReceiveMessageSize = null });
        await EnsureCollectionAsync(new CollectionService.CollectionServiceClient(channel), cancellationToken);
        var vectors = new VectorService.VectorServiceClient(channel);
        var clock = Stopwatch.StartNew();
        for (int done = 0; done < count; done += 1000)
        {
            var request = new UpsertRequest { Collection = _options.Collection };
            for (int i = done; i < Math.Min(count, done + 1000); i++)
            {
                var point = new Point { Id = _options.IdOffset - count + i };
                point.Vector.AddRange(_vectors.Row(i % _vectors.Count).ToArray());
                request.Points.Add(point);
            }
            await vectors.UpsertAsync(request, _headers, DateTime.UtcNow.AddMinutes(5), cancellationToken);
            if ((done / 1000) % 50 == 49)
                Progress?.Invoke(new ServerSample { ElapsedSeconds = clock.Elapsed.TotalSeconds, Points = done + 1000, WarmingUp = true });
        }
    }

    private async Task<CollectionInfo> EnsureCollectionAsync(CollectionService.CollectionServiceClient collections, CancellationToken cancellationToken)
    {
        try
        {
            CollectionInfo info = await collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = _options.Collection },
                _headers, DateTime.UtcNow.AddSeconds(30), cancellationToken);
            if (info.Dimension != _vectors.Dimension)
                throw new InvalidOperationException($"collection '{_options.Collection}' has dimension {info.Dimension}, the vectors {_vectors.Dimension}");
            return info;
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            CreateCollectionResponse created = await collections.CreateCollectionAsync(new CreateCollectionRequest
            {
                Name = _options.Collection, Dimension = (uint)_vectors.Dimension, Metric = Metric.L2, M = 16, EfConstruction = 100,
            }, _headers, DateTime.UtcNow.AddSeconds(30), cancellationToken);
            return created.Info;
        }
        catch (RpcException e)
        {
            throw new InvalidOperationException($"cannot talk to {_options.Target}: {e.StatusCode} ({e.Status.Detail})");
        }
    }

    // ---- the callers ----------------------------------------------------------------------------------------

    /// <summary>Runs until <paramref name="stop"/>, which is checked between calls only: a call in flight finishes, so
    /// its answer is known. <paramref name="abort"/> (Ctrl+C) cancels calls; their writes become uncertain.</summary>
    private async Task ClientLoopAsync(VectorService.VectorServiceClient vectors, int client, WriteLedger ledger, CancellationToken stop,
        CancellationToken abort)
    {
        var random = new Random(_options.Seed * 7919 + client);
        long firstId = _options.IdOffset + (long)client * _options.IdsPerClient;
        int version = 0;
        // With a rate, each client sends on its own schedule: one call every clients / rate seconds, starting at a
        // random offset so that the clients do not send in step.
        double period = _options.Rate > 0 ? _options.Clients / _options.Rate : 0;
        long due = Stopwatch.GetTimestamp() + (long)(random.NextDouble() * period * Stopwatch.Frequency);
        while (!stop.IsCancellationRequested)
        {
            if (period > 0)
            {
                long wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    try { await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), stop); }
                    catch (OperationCanceledException) { return; }
                }
                due += (long)(period * Stopwatch.Frequency);
            }
            double draw = random.NextDouble();
            try
            {
                if (draw < _options.UpsertFraction)
                    await UpsertAsync(vectors, random, firstId, ledger, ++version, abort);
                else if (draw < _options.UpsertFraction + _options.DeleteFraction)
                    await DeleteAsync(vectors, random, firstId, ledger, abort);
                else
                    await SearchAsync(vectors, random, abort);
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task SearchAsync(VectorService.VectorServiceClient vectors, Random random, CancellationToken abort)
    {
        var request = new SearchRequest { Collection = _options.Collection, K = _options.K, Ef = _options.Ef };
        request.Query.AddRange(_vectors.Row(random.Next(_vectors.Count)).ToArray());
        long start = Stopwatch.GetTimestamp();
        try
        {
            await vectors.SearchAsync(request, _headers, DateTime.UtcNow + _options.Timeout, abort);
            _searchLatency.RecordValue(Elapsed(start));
            Interlocked.Increment(ref _searches);
        }
        catch (RpcException e) when (!abort.IsCancellationRequested)
        {
            Count("Search " + e.StatusCode);
        }
    }

    private async Task UpsertAsync(VectorService.VectorServiceClient vectors, Random random, long firstId, WriteLedger ledger, int version, CancellationToken abort)
    {
        long[] ids = PickIds(random, firstId);
        var request = new UpsertRequest { Collection = _options.Collection };
        foreach (long id in ids)
        {
            var point = new Point { Id = id };
            point.Vector.AddRange(VectorOf(id, version).ToArray());
            request.Points.Add(point);
        }
        long start = Stopwatch.GetTimestamp();
        try
        {
            await vectors.UpsertAsync(request, _headers, DateTime.UtcNow + _options.Timeout, abort);
            _writeLatency.RecordValue(Elapsed(start));
            Interlocked.Increment(ref _writes);
            foreach (long id in ids) ledger.Acknowledged(id, version);
        }
        catch (RpcException e)
        {
            // Refused: nothing was applied. Anything else (deadline, lost connection, INTERNAL, cancelled by Ctrl+C)
            // may or may not have been: the ids then accept either state.
            Count("Upsert " + e.StatusCode);
            if (!Refused(e.StatusCode))
                foreach (long id in ids) ledger.Uncertain(id, version);
        }
    }

    private async Task DeleteAsync(VectorService.VectorServiceClient vectors, Random random, long firstId, WriteLedger ledger, CancellationToken abort)
    {
        long[] ids = PickIds(random, firstId);
        long start = Stopwatch.GetTimestamp();
        try
        {
            await vectors.DeleteAsync(new DeleteRequest { Collection = _options.Collection, Ids = { ids } }, _headers, DateTime.UtcNow + _options.Timeout, abort);
            _writeLatency.RecordValue(Elapsed(start));
            Interlocked.Increment(ref _writes);
            foreach (long id in ids) ledger.Acknowledged(id, WriteLedger.Absent);
        }
        catch (RpcException e)
        {
            Count("Delete " + e.StatusCode);
            if (!Refused(e.StatusCode))
                foreach (long id in ids) ledger.Uncertain(id, WriteLedger.Absent);
        }
    }

    /// <summary>Answers that mean the write was refused before anything was applied (docs/api.md, Errors).</summary>
    private static bool Refused(StatusCode status) => status is StatusCode.InvalidArgument or StatusCode.NotFound
        or StatusCode.ResourceExhausted or StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.Unavailable;

    private long[] PickIds(Random random, long firstId)
    {
        int count = random.Next(1, _options.MaxBatch + 1);
        var ids = new HashSet<long>();
        while (ids.Count < count) ids.Add(firstId + random.Next(_options.IdsPerClient));
        return [.. ids];
    }

    /// <summary>The vector written for (id, version): a row of the base set chosen by a hash of both.</summary>
    private ReadOnlySpan<float> VectorOf(long id, int version)
    {
        ulong h = ((ulong)id * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)version * 0xC2B2AE3D27D4EB4FUL);
        h ^= h >> 29;
        return _vectors.Row((int)(h % (ulong)_vectors.Count));
    }

    // ---- sampling ---------------------------------------------------------------------------------------------

    private async Task<ServerSample> SampleAsync(HttpClient http, TimeSpan elapsed, double searchesPerSecond,
        HistogramBase? searches, HistogramBase? writes, CancellationToken cancellationToken)
    {
        string text = "";
        try
        {
            text = await http.GetStringAsync(_options.Metrics, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Count("metrics scrape failed");
        }
        string collection = $"{{collection=\"{_options.Collection}\"}}";
        return new ServerSample
        {
            ElapsedSeconds = elapsed.TotalSeconds,
            WorkingSetBytes = PrometheusText.Value(text, "process_working_set_bytes"),
            GcHeapBytes = PrometheusText.Value(text, "dotnet_total_memory_bytes"),
            Threads = PrometheusText.Value(text, "process_num_threads"),
            CpuSeconds = PrometheusText.Value(text, "process_cpu_seconds_total"),
            Gen2Collections = PrometheusText.Value(text, "dotnet_collection_count_total{generation=\"2\"}"),
            IndexBytes = PrometheusText.Value(text, "annserver_collection_memory_bytes", sumSeries: true),
            Points = PrometheusText.Value(text, "annserver_collection_points" + collection),
            Searches = Interlocked.Read(ref _searches),
            SearchesPerSecond = searchesPerSecond,
            SearchP50Ms = searches is { TotalCount: > 0 } ? searches.GetValueAtPercentile(50) / 1e6 : 0,
            SearchP99Ms = searches is { TotalCount: > 0 } ? searches.GetValueAtPercentile(99) / 1e6 : 0,
            WriteP99Ms = writes is { TotalCount: > 0 } ? writes.GetValueAtPercentile(99) / 1e6 : 0,
            Writes = Interlocked.Read(ref _writes),
            Errors = _errors.Values.Sum(),
            WarmingUp = elapsed < _options.Warmup,
        };
    }

    // ---- read-back --------------------------------------------------------------------------------------------

    private async Task<Verification> VerifyAsync(VectorService.VectorServiceClient vectors, CollectionInfo info, WriteLedger[] ledgers,
        CancellationToken cancellationToken)
    {
        long checkedIds = 0, present = 0;
        var mismatches = new List<string>();
        int mismatchCount = 0;
        bool normalised = info.Metric == Metric.Cosine;
        foreach (WriteLedger ledger in ledgers)
        {
            foreach (long[] batch in ledger.Ids.Chunk(500))
            {
                GetResponse got = await vectors.GetAsync(new GetRequest { Collection = _options.Collection, Ids = { batch } },
                    _headers, DateTime.UtcNow.AddSeconds(60), cancellationToken);
                var found = got.Points.ToDictionary(p => p.Id);
                foreach (long id in batch)
                {
                    checkedIds++;
                    bool ok;
                    if (found.TryGetValue(id, out Point? point))
                    {
                        present++;
                        // The last acknowledged write, or a later write whose answer was lost and which may have landed.
                        ok = Matches(ledger.Current(id), id, point, normalised)
                             || (ledger.Alternative(id) is int other && Matches(other, id, point, normalised));
                    }
                    else
                    {
                        ok = ledger.Accepts(id, WriteLedger.Absent);
                    }
                    if (!ok)
                    {
                        mismatchCount++;
                        if (mismatches.Count < 10)
                            mismatches.Add($"id {id}: expected version {ledger.Current(id)}, found {(found.ContainsKey(id) ? "another vector" : "nothing")}");
                    }
                }
            }
        }
        return new Verification(checkedIds, present, mismatchCount, mismatches);
    }

    private bool Matches(int version, long id, Point point, bool normalised)
    {
        if (version == WriteLedger.Absent) return false;
        ReadOnlySpan<float> expected = VectorOf(id, version);
        if (point.Vector.Count != expected.Length) return false;
        if (!normalised)
        {
            for (int i = 0; i < expected.Length; i++)
                if (point.Vector[i] != expected[i]) return false;
            return true;
        }
        double norm = 0;
        foreach (float x in expected) norm += x * x;
        norm = Math.Sqrt(norm);
        for (int i = 0; i < expected.Length; i++)
            if (Math.Abs(point.Vector[i] - expected[i] / norm) > 1e-5) return false;
        return true;
    }

    private void Count(string what) => _errors.AddOrUpdate(what, 1, (_, n) => n + 1);

    private static long Elapsed(long start) => (long)((Stopwatch.GetTimestamp() - start) * NanosecondsPerTick);

    private static Recorder NewRecorder() => HistogramFactory.With64BitBucketSize()
        .WithValuesFrom(1).WithValuesUpTo(HighestTrackableNanoseconds).WithPrecisionOf(3)
        .WithThreadSafeWrites().WithThreadSafeReads().Create();

    private static LongHistogram NewHistogram() => new(HighestTrackableNanoseconds, 3);
}

/// <summary>The read-back at the end: ids checked, how many were present, and those whose content differed from their
/// last acknowledged write (with up to ten examples).</summary>
public sealed record Verification(long IdsChecked, long IdsPresent, int Mismatches, IReadOnlyList<string> Examples);

public sealed class SoakResult
{
    public required List<ServerSample> Samples { get; init; }
    public required List<double> MinuteP99Ms { get; init; }
    public required List<long> MinuteSearches { get; init; }
    public long Searches { get; init; }
    public long Writes { get; init; }
    public required SortedDictionary<string, long> Errors { get; init; }
    public required Verification Verification { get; init; }
    public required CollectionInfo Collection { get; init; }
}
