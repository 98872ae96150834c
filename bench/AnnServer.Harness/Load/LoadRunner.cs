using System.Collections.Concurrent;
using System.Diagnostics;
using AnnServer.Datasets;
using AnnServer.Protocol.V1;
using Grpc.Core;
using HdrHistogram;

namespace AnnServer.Harness.Load;

/// <summary>
/// Sends Search (or SearchBatch, or Upsert: <see cref="LoadOperation"/>) requests to a running server and records their
/// latency, the server's own time per call, and the CPU time of both processes over the measured time.
/// Closed loop: N callers, each waiting for its answer before sending again; it measures the server at the load it
/// can sustain, but hides stalls (a stalled server also stops the callers: "coordinated omission").
/// Open loop (--rate): request i is due at start + i / rate and its latency runs from that due time, not from when a
/// busy client got round to sending it, so a stall shows up in every request it delays (as wrk2 does).
/// With <see cref="LoadOptions.StreamWindow"/> set, the closed loop runs over SearchStream calls instead
/// (LoadRunner.Streams.cs).
/// </summary>
public sealed partial class LoadRunner
{
    private const long HighestTrackableNanoseconds = 600_000_000_000; // ten minutes
    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly VectorService.VectorServiceClient _client;
    private readonly LoadOptions _options;
    private readonly SearchRequest[] _requests;
    private readonly SearchBatchRequest[] _batches;
    private readonly VectorSet _queries;
    private readonly Recorder _recorder;
    private readonly Recorder _serverTimes;
    private readonly ConcurrentDictionary<StatusCode, long> _errors = new();
    private readonly long[] _ids;
    private readonly int[] _counts;
    private long _requestsSent;
    private long _succeeded;
    private long _completedAll; // warm-up included, for the progress line
    private long _lateSends;
    private long _nextQuery = -1;
    private long _nextId = -1;
    private double? _serverCpuAtStart, _clientCpuAtStart, _serverCpuSeconds, _clientCpuSeconds;
    // Both long.MaxValue until the warm-up ends (nothing is measured and nothing stops), then set once, _measureUntil
    // first, by StartMeasuringAsync.
    private long _measureFrom = long.MaxValue;
    private long _measureUntil = long.MaxValue;
    private readonly TaskCompletionSource _measuring = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LoadTimeline? _timeline;
    private double? _warmupSeconds;

    public LoadRunner(VectorService.VectorServiceClient client, VectorSet queries, LoadOptions options)
    {
        _client = client;
        _options = options;
        // Built once: the request messages are only read while sending, so every caller can share them.
        _requests = new SearchRequest[queries.Count];
        for (int q = 0; q < queries.Count; q++)
        {
            var request = new SearchRequest { Collection = options.Collection, K = options.K };
            if (options.Ef is int ef) request.Ef = ef;
            request.Query.AddRange(queries.Row(q).ToArray());
            _requests[q] = request;
        }
        _queries = queries;
        _batches = options.Operation == LoadOperation.Batch ? BatchRequests(queries, options) : [];
        _recorder = NewRecorder();
        _serverTimes = NewRecorder();
        _ids = new long[(long)queries.Count * options.K];
        _counts = new int[queries.Count];
        Array.Fill(_counts, -1);
    }

    private static Recorder NewRecorder() => HistogramFactory.With64BitBucketSize()
        .WithValuesFrom(1).WithValuesUpTo(HighestTrackableNanoseconds).WithPrecisionOf(3)
        .WithThreadSafeWrites().WithThreadSafeReads().Create();

    /// <summary>The queries in consecutive groups of the batch size (the last group wraps round to the first queries).</summary>
    private static SearchBatchRequest[] BatchRequests(VectorSet queries, LoadOptions options)
    {
        var batches = new SearchBatchRequest[(queries.Count + options.BatchSize - 1) / options.BatchSize];
        for (int b = 0; b < batches.Length; b++)
        {
            var request = new SearchBatchRequest { Collection = options.Collection, K = options.K };
            if (options.Ef is int ef) request.Ef = ef;
            for (int i = 0; i < options.BatchSize; i++)
            {
                var query = new BatchQuery();
                query.Vector.AddRange(queries.Row((b * options.BatchSize + i) % queries.Count).ToArray());
                request.Queries.Add(query);
            }
            batches[b] = request;
        }
        return batches;
    }

    /// <summary>Called about once per <see cref="LoadOptions.ProgressInterval"/> with the interval's latencies.</summary>
    public Action<ProgressSample>? Progress { get; init; }

    public sealed record ProgressSample(double ElapsedSeconds, bool WarmingUp, long Completed, double IntervalRate,
        double IntervalP50Us, double IntervalP99Us, long Errors);

    public async Task<LoadResult> RunAsync(CancellationToken cancellationToken = default)
    {
        long start = Stopwatch.GetTimestamp();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var measuring = Task.Run(() => StartMeasuringAsync(start, stop.Token), CancellationToken.None);

        var total = _recorder.GetIntervalHistogram(); // empty; the interval samples are added into it
        var reporter = Task.Run(() => ReportProgress(start, total, stop.Token), CancellationToken.None);
        var cpu = Task.Run(() => SampleCpuAtStartAsync(stop.Token), CancellationToken.None);
        if (_options.StreamWindow is int window)
            await RunStreamsAsync(window, stop.Token);
        else if (_options.Rate is double rate)
            await RunOpenLoopAsync(start, rate, stop.Token);
        else
            await RunClosedLoopAsync(stop.Token);
        await measuring;
        await cpu;
        SampleCpuAtEnd();
        await stop.CancelAsync();
        await reporter;
        total.Add(_recorder.GetIntervalHistogram());

        var errors = _errors.ToDictionary(e => e.Key.ToString(), e => e.Value);
        return new LoadResult
        {
            Latencies = total,
            MeasuredSeconds = _options.Duration.TotalSeconds,
            WarmupSeconds = _warmupSeconds,
            Requests = Interlocked.Read(ref _requestsSent),
            Succeeded = Interlocked.Read(ref _succeeded),
            Errors = errors,
            LateSends = Interlocked.Read(ref _lateSends),
            ServerTimes = _serverTimes.GetIntervalHistogram(),
            ItemsPerCall = _options.Operation == LoadOperation.Search ? 1 : _options.BatchSize,
            ServerCpuSeconds = _serverCpuSeconds,
            ClientCpuSeconds = _clientCpuSeconds,
            Timeline = _timeline,
            Ids = _ids,
            Counts = _counts,
        };
    }

    /// <summary>Ends the warm-up: after <see cref="LoadOptions.Warmup"/>, and, with one, once the client's JIT has
    /// settled (<see cref="LoadOptions.WarmupSettleLimit"/>); then the measured time begins.</summary>
    private async Task StartMeasuringAsync(long start, CancellationToken cancellationToken)
    {
        try
        {
            await DelayUntil(start + (long)(_options.Warmup.TotalSeconds * Stopwatch.Frequency), cancellationToken);
            if (_options.Warmup > TimeSpan.Zero && _options.WarmupSettleLimit > TimeSpan.Zero)
                await JitSettling.WaitUntilQuietAsync(_options.WarmupSettleLimit, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _measuring.TrySetCanceled(cancellationToken);
            return;
        }
        // A request is measured if its due (or send) time is at or past _measureFrom when it is sent. Published as "now",
        // the requests sent between that instant and the publication would fall out of the measured time while their
        // timeline second counted them (99 of 100 in a loaded CI run): the measured time begins a little ahead instead,
        // once all of this is in place.
        long from = Stopwatch.GetTimestamp() + MeasureLeadTicks;
        _timeline = _options.Timeline ? new LoadTimeline(from, _options.Duration) : null;
        Volatile.Write(ref _measureUntil, from + (long)(_options.Duration.TotalSeconds * Stopwatch.Frequency));
        Volatile.Write(ref _measureFrom, from);
        _warmupSeconds = (from - start) / (double)Stopwatch.Frequency;
        try
        {
            await DelayUntil(from, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            _measuring.TrySetCanceled(cancellationToken);
            return;
        }
        _measuring.TrySetResult();
    }

    /// <summary>How far ahead of its publication the measured time begins: longer than a busy machine keeps a thread
    /// from running between two of its instructions, short beside any warm-up.</summary>
    private static readonly long MeasureLeadTicks = Stopwatch.Frequency / 10;

    /// <summary>Reads both processes' CPU time when the measured time starts.</summary>
    private async Task SampleCpuAtStartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _measuring.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return; // stopped before the measured time began: no figure
        }
        _serverCpuAtStart = _options.ServerPid is int pid ? ProcessCpu.Seconds(pid) : null;
        _clientCpuAtStart = ProcessCpu.Seconds(Environment.ProcessId);
    }

    /// <summary>Reads them again once the load is over (the calls still in flight at the end of the measured time
    /// have finished: a few milliseconds more of CPU time, against seconds).</summary>
    private void SampleCpuAtEnd()
    {
        if (_options.ServerPid is int server && _serverCpuAtStart is double serverStart && ProcessCpu.Seconds(server) is double serverEnd)
            _serverCpuSeconds = serverEnd - serverStart;
        if (_clientCpuAtStart is double clientStart && ProcessCpu.Seconds(Environment.ProcessId) is double clientEnd)
            _clientCpuSeconds = clientEnd - clientStart;
    }

    private static async Task DelayUntil(long timestamp, CancellationToken cancellationToken)
    {
        long left = timestamp - Stopwatch.GetTimestamp();
        if (left > 0) await Task.Delay(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency), cancellationToken);
    }

    private async Task RunClosedLoopAsync(CancellationToken cancellationToken)
    {
        var callers = new Task[_options.Concurrency];
        for (int c = 0; c < callers.Length; c++)
        {
            callers[c] = Task.Run(async () =>
            {
                while (!cancellationToken.IsCancellationRequested && Stopwatch.GetTimestamp() < _measureUntil)
                    await SendAsync(Stopwatch.GetTimestamp(), cancellationToken);
            }, CancellationToken.None);
        }
        await Task.WhenAll(callers);
    }

    private async Task RunOpenLoopAsync(long start, double rate, CancellationToken cancellationToken)
    {
        using var slots = new SemaphoreSlim(_options.Concurrency, _options.Concurrency);
        var inFlight = new ConcurrentDictionary<Task, byte>();
        double ticksPerRequest = Stopwatch.Frequency / rate;
        long lateTicks = Stopwatch.Frequency / 1000; // a send more than 1 ms behind schedule is "late"
        // A dedicated thread keeps the schedule: timers and Task.Delay are far coarser than 1/rate.
        var dispatcher = new Thread(() =>
        {
            for (long i = 0; !cancellationToken.IsCancellationRequested; i++)
            {
                long due = start + (long)(i * ticksPerRequest);
                if (due >= _measureUntil) break;
                WaitUntil(due, cancellationToken);
                try
                {
                    slots.Wait(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                if (Stopwatch.GetTimestamp() - due > lateTicks && due >= _measureFrom) Interlocked.Increment(ref _lateSends);
                var call = SendThenRelease(due, slots, cancellationToken);
                inFlight.TryAdd(call, 0);
                _ = call.ContinueWith(done => inFlight.TryRemove(done, out _), TaskScheduler.Default);
            }
        })
        { IsBackground = true, Name = "ann-bench open-loop dispatcher", Priority = ThreadPriority.AboveNormal };
        dispatcher.Start();
        await Task.Run(dispatcher.Join, CancellationToken.None);
        await Task.WhenAll(inFlight.Keys.ToArray());
    }

    private async Task SendThenRelease(long due, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        try
        {
            await SendAsync(due, cancellationToken);
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>Sleeps while a millisecond or more is left (Linux wakes within ~0.1 ms of it), then yields the core
    /// until the due time: a spinning dispatcher would take a whole core from the server when both share a machine.</summary>
    private static void WaitUntil(long due, CancellationToken cancellationToken)
    {
        long sleepAbove = Stopwatch.Frequency / 1000 + Stopwatch.Frequency / 5000; // 1.2 ms
        while (!cancellationToken.IsCancellationRequested)
        {
            long left = due - Stopwatch.GetTimestamp();
            if (left <= 0) return;
            if (left > sleepAbove) Thread.Sleep(1);
            else Thread.Yield();
        }
    }

    /// <summary>One request; its latency counts from <paramref name="since"/> (now, or the due time in open loop).</summary>
    private async Task SendAsync(long since, CancellationToken cancellationToken)
    {
        int query = (int)((ulong)Interlocked.Increment(ref _nextQuery) % (ulong)_requests.Length);
        bool measured = since >= _measureFrom && since < _measureUntil;
        if (measured) Interlocked.Increment(ref _requestsSent);
        try
        {
            DateTime deadline = DateTime.UtcNow + _options.Timeout;
            ulong serverMicros = 0;
            SearchResponse? answer = null;
            switch (_options.Operation)
            {
                case LoadOperation.Search:
                    answer = await _client.SearchAsync(_requests[query], deadline: deadline, cancellationToken: cancellationToken);
                    serverMicros = answer.ServerTimeMicros;
                    break;
                case LoadOperation.Batch:
                    var batch = await _client.SearchBatchAsync(_batches[query % _batches.Length], deadline: deadline, cancellationToken: cancellationToken);
                    serverMicros = batch.ServerTimeMicros;
                    break;
                case LoadOperation.Upsert:
                    await _client.UpsertAsync(UpsertRequest(query), deadline: deadline, cancellationToken: cancellationToken);
                    break;
            }
            long elapsed = Stopwatch.GetTimestamp() - since;
            Interlocked.Increment(ref _completedAll);
            if (!measured) return;
            long nanoseconds = (long)(elapsed * NanosecondsPerTick);
            _recorder.RecordValue(Math.Clamp(nanoseconds, 1, HighestTrackableNanoseconds));
            _timeline?.RecordSuccess(since, nanoseconds);
            if (serverMicros > 0) _serverTimes.RecordValue(Math.Clamp((long)serverMicros * 1000, 1, HighestTrackableNanoseconds));
            Interlocked.Increment(ref _succeeded);
            if (answer is not null) KeepAnswer(query, answer);
        }
        catch (RpcException e) when (!(e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested))
        {
            if (!measured) return;
            _errors.AddOrUpdate(e.StatusCode, 1, (_, n) => n + 1);
            _timeline?.RecordError(since);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The run was stopped: this request is not an error of the server.
        }
    }

    /// <summary>The next points to write: the queries' vectors in turn, each under an id not written before.</summary>
    private UpsertRequest UpsertRequest(int query)
    {
        var request = new UpsertRequest { Collection = _options.Collection };
        for (int i = 0; i < _options.BatchSize; i++)
        {
            var point = new Point { Id = _options.FirstId + Interlocked.Increment(ref _nextId) };
            point.Vector.AddRange(_queries.Row((query + i) % _queries.Count).ToArray());
            request.Points.Add(point);
        }
        return request;
    }

    /// <summary>Keeps the first answer to each query, for recall; a query seen again is answered the same way.</summary>
    private void KeepAnswer(int query, SearchResponse response)
    {
        if (Interlocked.CompareExchange(ref _counts[query], -2, -1) != -1) return;
        int n = Math.Min(response.Hits.Count, _options.K);
        for (int i = 0; i < n; i++) _ids[(long)query * _options.K + i] = response.Hits[i].Id;
        Volatile.Write(ref _counts[query], n);
    }

    private async Task ReportProgress(long start, HistogramBase total, CancellationToken cancellationToken)
    {
        if (_options.ProgressInterval <= TimeSpan.Zero) return;
        HistogramBase? interval = null;
        long last = Stopwatch.GetTimestamp();
        long completedBefore = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.ProgressInterval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            long now = Stopwatch.GetTimestamp();
            interval = _recorder.GetIntervalHistogram(interval);
            total.Add(interval);
            double seconds = (now - last) / (double)Stopwatch.Frequency;
            last = now;
            long errors = _errors.Values.Sum();
            long completed = Interlocked.Read(ref _completedAll);
            double rate = (completed - completedBefore) / seconds;
            completedBefore = completed;
            Progress?.Invoke(new ProgressSample(
                (now - start) / (double)Stopwatch.Frequency,
                now < _measureFrom,
                total.TotalCount,
                rate,
                interval.TotalCount == 0 ? 0 : interval.GetValueAtPercentile(50) / 1000.0,
                interval.TotalCount == 0 ? 0 : interval.GetValueAtPercentile(99) / 1000.0,
                errors));
        }
    }
}
