using System.Collections.Concurrent;
using AnnServer.Cluster;
using AnnServer.Collections;
using AnnServer.Limits;
using Grpc.Core;
using Prometheus;

namespace AnnServer.Diagnostics;

/// <summary>
/// The Prometheus metrics served on the metrics port at /metrics (the list is in docs/api.md, "Metrics").
/// Each server has its own registry, so that servers started side by side in one test process do not mix their counts.
/// Per-collection figures are read from the collections when /metrics is scraped, so the search path pays only the
/// collection's own Interlocked counter.
/// </summary>
public sealed class ServerMetrics
{
    private static readonly double[] LatencyBuckets = Histogram.ExponentialBuckets(start: 0.000_05, factor: 2, count: 18); // 50 µs .. 6.6 s
    private static readonly string[] StatusNames = Enumerable.Range(0, 17).Select(code => ((StatusCode)code).ToString()).ToArray();

    private readonly Counter _requests;
    private readonly Histogram _duration;
    private readonly Gauge _collections;
    private readonly Gauge _points;
    private readonly Gauge _memory;
    private readonly Gauge _unsavedWrites;
    private readonly Gauge _replayPending;
    private readonly Counter _searches;
    private readonly Counter _upserted;
    private readonly Counter _deleted;
    private readonly Counter _logRecords;
    private readonly Counter _logCommits;
    private readonly Counter _logCommitSeconds;
    private readonly Gauge _logDiskBytes;
    private readonly Counter _compactions;
    private readonly Counter _compactionsPutOff;
    private readonly Gauge _nodes;
    private readonly Gauge _searchesRunning;
    private readonly Gauge _searchesQueued;
    private readonly Counter _searchesRejected;
    private readonly Gauge _memoryBudget;
    private readonly Gauge _memoryBudgetUsed;
    private readonly Gauge _failed;
    private readonly Counter _logLossAccepted;
    private readonly Counter _logRecordsDropped;
    private readonly Gauge _streamsOpen;
    private readonly Counter _streamsOpened;
    private readonly HashSet<string> _failedExported = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Method, StatusCode Status), (Counter.Child Count, Histogram.Child Duration)> _calls = new();
    private readonly HashSet<string> _exported = new(StringComparer.Ordinal);
    private readonly Lock _exportLock = new();

    public ServerMetrics(CollectionRegistry registry, SearchAdmission searches, MemoryBudget memory, ClusterCoordinator? cluster = null,
        StreamTrimService? streamTrims = null)
    {
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry); // process_working_set_bytes, process_private_memory_bytes, dotnet_total_memory_bytes, ...
        IMetricFactory factory = Metrics.WithCustomRegistry(Registry);

        _requests = factory.CreateCounter("annserver_grpc_requests_total",
            "gRPC calls handled, by method and status code.", ["method", "status"]);
        _duration = factory.CreateHistogram("annserver_grpc_request_duration_seconds",
            "Time to handle a gRPC call in the server, by method and status code.", ["method", "status"],
            new HistogramConfiguration { Buckets = LatencyBuckets });
        _collections = factory.CreateGauge("annserver_collections", "Collections loaded.");
        _points = factory.CreateGauge("annserver_collection_points", "Live points per collection.", ["collection"]);
        _memory = factory.CreateGauge("annserver_collection_memory_bytes", "Bytes held by each collection's index.", ["collection"]);
        _unsavedWrites = factory.CreateGauge("annserver_collection_writes_since_snapshot",
            "Upsert and Delete calls applied since the collection's last snapshot.", ["collection"]);
        _replayPending = factory.CreateGauge("annserver_collection_replay_pending_points",
            "Points of the log still to insert into the graph after a restart (state REPLAYING; searches scan them exactly).", ["collection"]);
        _searches = factory.CreateCounter("annserver_search_queries_total",
            "Queries answered per collection (a SearchBatch counts each query).", ["collection"]);
        _upserted = factory.CreateCounter("annserver_points_upserted_total", "Points inserted or replaced per collection.", ["collection"]);
        _deleted = factory.CreateCounter("annserver_points_deleted_total", "Points deleted per collection.", ["collection"]);

        _logRecords = factory.CreateCounter("annserver_log_records_total", "Records appended to each collection's write-ahead log.", ["collection"]);
        _logCommits = factory.CreateCounter("annserver_log_commits_total",
            "Commits of each collection's log; records / commits is the mean number of writes sharing one flush.", ["collection"]);
        _logCommitSeconds = factory.CreateCounter("annserver_log_commit_seconds_total",
            "Time spent committing each collection's log; divided by commits, the flush latency a strict write waits for.", ["collection"]);
        _logDiskBytes = factory.CreateGauge("annserver_log_disk_bytes", "Bytes of each collection's log folder on disk.", ["collection"]);
        _compactions = factory.CreateCounter("annserver_collection_compactions_total",
            "Rebuilds of each collection's index without its tombstones (--compact-deleted-fraction).", ["collection"]);
        _compactionsPutOff = factory.CreateCounter("annserver_collection_compactions_put_off_total",
            "Compactions put off because the new index would not fit beside the old one (memory or --memory-budget-bytes).", ["collection"]);
        _nodes = factory.CreateGauge("annserver_collection_nodes", "Graph nodes per collection: live points and tombstones.", ["collection"]);
        _searchesRunning = factory.CreateGauge("annserver_searches_running", "Searches holding a slot (--max-concurrent-searches).");
        _searchesQueued = factory.CreateGauge("annserver_searches_queued", "Searches waiting for a slot (--max-queued-searches).");
        _searchesRejected = factory.CreateCounter("annserver_searches_rejected_total",
            "Searches refused with RESOURCE_EXHAUSTED because every slot and queue place was taken.");
        _memoryBudget = factory.CreateGauge("annserver_memory_budget_bytes", "The memory budget of all collections (--memory-budget-bytes).");
        _failed = factory.CreateGauge("annserver_collection_failed",
            "1 for each collection that failed to load (damaged files) and is not served; absent once it is dropped.", ["collection"]);
        _logLossAccepted = factory.CreateCounter("annserver_log_loss_accepted_total",
            "Damaged ranges of committed write-ahead log dropped at load because of --accept-log-loss (each an error in the log).", ["collection"]);
        _logRecordsDropped = factory.CreateCounter("annserver_log_records_dropped_total",
            "Records of committed write-ahead log dropped at load with --accept-log-loss (at least this many: what the damage left countable).",
            ["collection"]);
        _streamsOpen = factory.CreateGauge("annserver_search_streams_open", "SearchStream calls open now.");
        _streamsOpened = factory.CreateCounter("annserver_search_streams_total", "SearchStream calls opened since the start.");
        _memoryBudgetUsed = factory.CreateGauge("annserver_memory_budget_used_bytes",
            "Bytes counted against the memory budget: last measurement of the collections plus writes admitted since.");

        Registry.AddBeforeCollectCallback(() =>
        {
            Export(registry);
            _searchesRunning.Set(searches.Running);
            _searchesQueued.Set(searches.Queued);
            _searchesRejected.IncTo(searches.Rejected);
            _memoryBudget.Set(memory.BudgetBytes);
            _memoryBudgetUsed.Set(memory.UsedBytes);
        });
        if (cluster is not null) RegisterRouterMetrics(factory, cluster);
        if (streamTrims is not null) RegisterStreamTrimMetrics(factory, streamTrims);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>The router's hedges and retries: a rising rate says some replica is slow or failing.</summary>
    private void RegisterRouterMetrics(IMetricFactory factory, ClusterCoordinator cluster)
    {
        Counter hedges = factory.CreateCounter("annserver_router_hedges_total",
            "Shard calls (searches and gets) this node's router sent to a second replica because the first was slow.");
        Counter retries = factory.CreateCounter("annserver_router_retries_total",
            "Shard calls this node's router sent to another replica because the first failed.");
        Registry.AddBeforeCollectCallback(() =>
        {
            hedges.IncTo(cluster.Router.Hedges);
            retries.IncTo(cluster.Router.Retries);
        });
    }

    private void RegisterStreamTrimMetrics(IMetricFactory factory, StreamTrimService streamTrims)
    {
        Counter trimmed = factory.CreateCounter("annserver_stream_trimmed_messages_total",
            "Messages this node purged from the front of shard streams (stream trimming). Every replica node of a shard trims " +
            "its stream and a range is purged once, so the sum over the nodes is what left the streams.");
        Registry.AddBeforeCollectCallback(() => trimmed.IncTo(streamTrims.TrimmedMessages));
    }

    /// <summary>Counts one call and its duration. Label children are cached per (method, status): no allocation per call.</summary>
    public void RecordCall(string method, StatusCode status, TimeSpan elapsed)
    {
        var (count, duration) = _calls.GetOrAdd((method, status), static (key, self) => (
            self._requests.WithLabels(key.Method, StatusName(key.Status)),
            self._duration.WithLabels(key.Method, StatusName(key.Status))), this);
        count.Inc();
        duration.Observe(elapsed.TotalSeconds);
    }

    public void RecordStreamOpened()
    {
        _streamsOpened.Inc();
        _streamsOpen.Inc();
    }

    public void RecordStreamClosed() => _streamsOpen.Dec();

    private static string StatusName(StatusCode status) =>
        (int)status >= 0 && (int)status < StatusNames.Length ? StatusNames[(int)status] : ((int)status).ToString();

    private void Export(CollectionRegistry registry)
    {
        lock (_exportLock)
        {
            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (Collection collection in registry.Collections)
            {
                string name = collection.Name;
                present.Add(name);
                CollectionStatus status = collection.Status();
                _points.WithLabels(name).Set(status.Count);
                _memory.WithLabels(name).Set(status.MemoryBytes);
                _unsavedWrites.WithLabels(name).Set(status.WritesSinceSnapshot);
                _replayPending.WithLabels(name).Set(status.ReplayPendingPoints);
                _searches.WithLabels(name).IncTo(collection.SearchCount);
                _upserted.WithLabels(name).IncTo(collection.UpsertedCount);
                _deleted.WithLabels(name).IncTo(collection.DeletedCount);
                (long appends, long commits) = collection.LogCounts;
                _logRecords.WithLabels(name).IncTo(appends);
                _logCommits.WithLabels(name).IncTo(commits);
                _logCommitSeconds.WithLabels(name).IncTo(collection.LogCommitTime.TotalSeconds);
                _logDiskBytes.WithLabels(name).Set(collection.LogBytesOnDisk);
                _compactions.WithLabels(name).IncTo(collection.Compactions);
                _compactionsPutOff.WithLabels(name).IncTo(collection.CompactionsSkippedForMemory);
                _nodes.WithLabels(name).Set(status.NodeCount);
                if (collection.Recovery?.DroppedTail is not null)
                {
                    _logLossAccepted.WithLabels(name).IncTo(1);
                    _logRecordsDropped.WithLabels(name).IncTo(collection.Recovery.DroppedRecords);
                }
            }
            var failed = new HashSet<string>(StringComparer.Ordinal);
            foreach (FailedCollection collection in registry.Failed)
            {
                failed.Add(collection.Name);
                _failed.WithLabels(collection.Name).Set(1);
            }
            foreach (string repaired in _failedExported.Where(name => !failed.Contains(name)).ToList())
            {
                _failed.RemoveLabelled(repaired);
                _failedExported.Remove(repaired);
            }
            _failedExported.UnionWith(failed);
            _collections.Set(present.Count);
            foreach (string gone in _exported.Where(name => !present.Contains(name)).ToList())
            {
                _points.RemoveLabelled(gone);
                _memory.RemoveLabelled(gone);
                _unsavedWrites.RemoveLabelled(gone);
                _replayPending.RemoveLabelled(gone);
                _searches.RemoveLabelled(gone);
                _upserted.RemoveLabelled(gone);
                _deleted.RemoveLabelled(gone);
                _logRecords.RemoveLabelled(gone);
                _logCommits.RemoveLabelled(gone);
                _logCommitSeconds.RemoveLabelled(gone);
                _logDiskBytes.RemoveLabelled(gone);
                _compactions.RemoveLabelled(gone);
                _compactionsPutOff.RemoveLabelled(gone);
                _nodes.RemoveLabelled(gone);
                _logLossAccepted.RemoveLabelled(gone);
                _logRecordsDropped.RemoveLabelled(gone);
                _exported.Remove(gone);
            }
            _exported.UnionWith(present);
        }
    }
}
