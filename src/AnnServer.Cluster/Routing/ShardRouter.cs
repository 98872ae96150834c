using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using AnnServer.Cluster.State;
using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// Answers a search on a cluster collection by asking one replica of every shard (ShardService.SearchShard) and merging
/// their top-k into the global top-k (<see cref="TopKMerge"/>).
/// Per shard: the live serving replica with the fewest searches outstanding from this router is asked first (ties broken
/// at random so an idle cluster still spreads its load); if it has not answered within the shard's recent p95
/// (<see cref="LatencyWindow"/>) and another replica exists, the same search goes to a second one, the first answer wins
/// and the other call is cancelled; a replica failing with UNAVAILABLE (or NOT_FOUND / RESOURCE_EXHAUSTED: a stale view
/// or a full queue) is retried once on another replica. The caller's deadline goes on to every shard call.
/// A shard that cannot answer is an UNAVAILABLE naming it, or with allow_partial a missing shard of the answer.
/// </summary>
public sealed class ShardRouter(NodeChannels channels, RouterSettings settings, ILocalShardSearch? local = null)
{
    private readonly OutstandingRequests _outstanding = new();
    private readonly RecentFailures _failures = new(settings.FailurePenalty);
    private readonly ConcurrentDictionary<(string Collection, int Shard), LatencyWindow> _latencies = new();
    private long _hedges, _retries;

    /// <summary>Searches sent to a second replica because the first was slow (for metrics and tests).</summary>
    public long Hedges => Interlocked.Read(ref _hedges);

    /// <summary>Searches sent to another replica because the first failed.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    public OutstandingRequests Outstanding => _outstanding;

    /// <summary>
    /// Runs <paramref name="queries"/> (already validated against the spec) on every shard and merges the answers.
    /// </summary>
    /// <param name="minSequences">Per shard, the stream sequence its replica must have applied first (absent: 0).</param>
    /// <param name="deadline">The caller's deadline, or null for none.</param>
    /// <exception cref="RpcException">UNAVAILABLE naming a shard that could not answer (without allow_partial), or the
    /// status a replica answered that retrying cannot help (INVALID_ARGUMENT, DEADLINE_EXCEEDED, ...).</exception>
    public async Task<SearchBatchResponse> SearchAsync(ClusterView view, ClusterCollectionSpec spec, RepeatedField<BatchQuery> queries,
        int k, int? ef, IReadOnlyDictionary<int, ulong>? minSequences, bool allowPartial, DateTime? deadline, CancellationToken ct)
    {
        var shards = new Task<SearchBatchResponse>[spec.Shards];
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            var request = new ShardSearchRequest
            {
                Collection = spec.Name,
                Shard = (uint)shard,
                K = k,
                MinSequence = minSequences is not null && minSequences.TryGetValue(shard, out ulong sequence) ? sequence : 0,
            };
            if (ef is int efValue) request.Ef = efValue;
            request.Queries.Add(queries);
            shards[shard] = SearchShardAsync(spec, shard, view.ReplicasToAsk(spec, shard), request, deadline, ct);
        }
        try
        {
            await Task.WhenAll(shards).ConfigureAwait(false);
        }
        catch
        {
            // Looked at per shard below.
        }

        var response = new SearchBatchResponse();
        var answered = new List<SearchBatchResponse>(spec.Shards);
        ShardNotAnsweredException? firstMissing = null;
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            Task<SearchBatchResponse> task = shards[shard];
            if (task.IsCompletedSuccessfully)
            {
                if (task.Result.Results.Count != queries.Count)
                    throw new RpcException(new Status(StatusCode.Internal,
                        $"collection '{spec.Name}' shard {shard} answered {task.Result.Results.Count} results for {queries.Count} queries"));
                answered.Add(task.Result);
                continue;
            }
            Exception error = task.Exception?.InnerException ?? new OperationCanceledException(ct);
            if (error is ShardNotAnsweredException missing)
            {
                firstMissing ??= missing;
                response.MissingShards.Add((uint)shard);
                continue;
            }
            ExceptionDispatchInfo.Throw(error);
        }
        if (firstMissing is not null && !allowPartial)
            throw new RpcException(new Status(StatusCode.Unavailable,
                firstMissing.Message + " (set allow_partial to get the other shards' results)"));

        var perShard = new RepeatedField<Hit>[answered.Count];
        for (int q = 0; q < queries.Count; q++)
        {
            for (int s = 0; s < answered.Count; s++) perShard[s] = answered[s].Results[q].Hits;
            var result = new BatchResult();
            TopKMerge.Merge(perShard, k, result.Hits);
            response.Results.Add(result);
        }
        return response;
    }

    private async Task<SearchBatchResponse> SearchShardAsync(ClusterCollectionSpec spec, int shard, List<NodeEntry> replicas,
        ShardSearchRequest request, DateTime? deadline, CancellationToken ct)
    {
        if (replicas.Count == 0)
            throw new ShardNotAnsweredException(spec.Name, shard, "has no live replica");

        using var race = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var tried = new HashSet<string>(StringComparer.Ordinal);
        var running = new List<(Task<SearchBatchResponse> Call, NodeEntry Node, long Started)>(2);
        void Launch(NodeEntry node)
        {
            tried.Add(node.NodeId);
            running.Add((CallAsync(node, request, deadline, race.Token), node, Stopwatch.GetTimestamp()));
        }

        LatencyWindow latency = _latencies.GetOrAdd((spec.Name, shard), _ => new LatencyWindow());
        Launch(Pick(replicas, tried)!);
        Task? hedgeTimer = replicas.Count > 1 ? Task.Delay(HedgeDelay(latency), race.Token) : null;
        bool retried = false;
        RpcException? lastError = null;
        try
        {
            while (running.Count > 0)
            {
                Task done = await Task.WhenAny(hedgeTimer is null
                    ? running.Select(r => (Task)r.Call)
                    : running.Select(r => (Task)r.Call).Append(hedgeTimer)).ConfigureAwait(false);
                if (done == hedgeTimer)
                {
                    hedgeTimer = null;
                    if (!done.IsCanceled && Pick(replicas, tried) is { } second)
                    {
                        Interlocked.Increment(ref _hedges);
                        Launch(second);
                    }
                    continue;
                }

                int index = running.FindIndex(r => r.Call == done);
                var (call, node, started) = running[index];
                running.RemoveAt(index);
                try
                {
                    SearchBatchResponse response = await call.ConfigureAwait(false);
                    latency.Record(Stopwatch.GetElapsedTime(started));
                    _failures.Clear(node.NodeId);
                    return response;
                }
                catch (RpcException e) when (IsRetryable(e.StatusCode) && !ct.IsCancellationRequested)
                {
                    lastError = e;
                    _failures.Mark(node.NodeId);
                    // A hedge still running is the retry; otherwise one more replica, once.
                    if (running.Count == 0 && !retried && Pick(replicas, tried) is { } other)
                    {
                        retried = true;
                        hedgeTimer = null;
                        Interlocked.Increment(ref _retries);
                        Launch(other);
                    }
                }
            }
        }
        finally
        {
            // Cancels the losing call of a hedge (and the hedge timer).
            await race.CancelAsync().ConfigureAwait(false);
        }
        throw new ShardNotAnsweredException(spec.Name, shard,
            $"has no live replica: {string.Join(", ", tried)} failed (last: {lastError?.Status.StatusCode} {lastError?.Status.Detail})");
    }

    private async Task<SearchBatchResponse> CallAsync(NodeEntry node, ShardSearchRequest request, DateTime? deadline, CancellationToken ct)
    {
        _outstanding.Increment(node.NodeId);
        try
        {
            // On the thread pool, so that the other shards' calls (and the hedge timer) run meanwhile.
            if (local is not null && node.NodeId == local.NodeId)
                return await Task.Run(() => local.SearchAsync(request, deadline, ct)).ConfigureAwait(false);
            var client = new ShardService.ShardServiceClient(channels.Invoker(node.Address));
            return await client.SearchShardAsync(request, channels.Headers, deadline, ct).ConfigureAwait(false);
        }
        finally
        {
            _outstanding.Decrement(node.NodeId);
        }
    }

    /// <summary>The untried replica with the fewest outstanding searches; one that failed recently only when there is no
    /// other; ties go to this node's own replica (no network hop), else at random. Null when every replica has been tried.</summary>
    private NodeEntry? Pick(List<NodeEntry> replicas, HashSet<string> tried)
    {
        NodeEntry? best = null;
        int bestLoad = int.MaxValue, ties = 0;
        foreach (NodeEntry node in replicas)
        {
            if (tried.Contains(node.NodeId)) continue;
            int load = _outstanding.Of(node.NodeId) + (_failures.IsSuspect(node.NodeId) ? 1 << 20 : 0);
            if (load == bestLoad && local is not null && best?.NodeId == local.NodeId)
                continue;
            if (load < bestLoad || (load == bestLoad && local is not null && node.NodeId == local.NodeId))
            {
                best = node;
                bestLoad = load;
                ties = 1;
            }
            else if (load == bestLoad && Random.Shared.Next(++ties) == 0)
            {
                best = node;
            }
        }
        return best;
    }

    private TimeSpan HedgeDelay(LatencyWindow latency)
    {
        if (settings.HedgeAfter is { } fixedDelay)
            return fixedDelay;
        TimeSpan p95 = latency.P95(settings.InitialHedgeAfter);
        return p95 < settings.MinimumHedgeAfter ? settings.MinimumHedgeAfter : p95;
    }

    /// <summary>UNAVAILABLE: the node is down or its replica not serving; NOT_FOUND: the view is stale (the replica was
    /// moved); RESOURCE_EXHAUSTED: that node's search queue is full. Another replica may well answer.</summary>
    private static bool IsRetryable(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.NotFound or StatusCode.ResourceExhausted;
}
