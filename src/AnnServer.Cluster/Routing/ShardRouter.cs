using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using AnnServer.Cluster.State;
using AnnServer.Core.Sharding;
using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;
using Grpc.Core;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// Answers a read of a cluster collection by asking one replica of each shard involved: a search asks every shard
/// (ShardService.SearchShard) and merges their top-k into the global top-k (<see cref="TopKMerge"/>); a Get asks the
/// shards its ids hash to (ShardService.GetShard) and puts the points back in the order of the ids.
/// Per shard: the live serving replica with the fewest calls outstanding from this router is asked first (ties broken
/// at random so an idle cluster still spreads its load); if it has not answered within the shard's recent p95
/// (<see cref="LatencyWindow"/>, kept apart for searches and gets) and another replica exists, the same call goes to a
/// second one, the first answer wins and the other call is cancelled; a replica failing with UNAVAILABLE (or NOT_FOUND /
/// RESOURCE_EXHAUSTED: a stale view or a full queue) is retried once on another replica. The caller's deadline goes on
/// to every shard call. A shard that cannot answer is an UNAVAILABLE naming it, or with a search's allow_partial a
/// missing shard of the answer.
/// </summary>
public sealed class ShardRouter(NodeChannels channels, RouterSettings settings, ILocalShardService? local = null)
{
    private readonly OutstandingRequests _outstanding = new();
    private readonly RecentFailures _failures = new(settings.FailurePenalty);
    // Apart, because a Get is much cheaper than a search: one window for both would hedge searches too early.
    private readonly ConcurrentDictionary<(string Collection, int Shard), LatencyWindow> _searchLatencies = new();
    private readonly ConcurrentDictionary<(string Collection, int Shard), LatencyWindow> _getLatencies = new();
    private long _hedges, _retries;

    /// <summary>Shard calls sent to a second replica because the first was slow (for metrics and tests).</summary>
    public long Hedges => Interlocked.Read(ref _hedges);

    /// <summary>Shard calls sent to another replica because the first failed.</summary>
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
            shards[shard] = AskShardAsync(spec, shard, view.ReplicasToAsk(spec, shard), _searchLatencies,
                (node, token) => IsLocal(node)
                    ? Task.Run(() => local!.SearchShardAsync(request, deadline, token))
                    : Client(node).SearchShardAsync(request, channels.Headers, deadline, token).ResponseAsync, ct);
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

    /// <summary>
    /// Reads <paramref name="ids"/> (at least one) from the shards they hash to, each shard's ids (once each) from one of
    /// its replicas, all shards at once; answers as a single server's Get: the points in the order of the ids (an id
    /// given twice comes twice), the ids no replica holds in missing_ids, in the same order.
    /// </summary>
    /// <param name="minSequences">Per shard, the stream sequence its replica must have applied first (absent: 0).</param>
    /// <param name="deadline">The caller's deadline, or null for none.</param>
    /// <exception cref="RpcException">UNAVAILABLE naming a shard that could not answer, or the status a replica answered
    /// that retrying cannot help (DEADLINE_EXCEEDED, ...).</exception>
    public async Task<GetResponse> GetAsync(ClusterView view, ClusterCollectionSpec spec, IReadOnlyList<long> ids,
        IReadOnlyDictionary<int, ulong>? minSequences, DateTime? deadline, CancellationToken ct)
    {
        var requests = new SortedDictionary<int, ShardGetRequest>();
        var distinct = new HashSet<long>(ids.Count);
        foreach (long id in ids)
        {
            if (!distinct.Add(id)) continue;
            int shard = ShardHash.ShardOf(id, spec.Shards);
            if (!requests.TryGetValue(shard, out ShardGetRequest? request))
            {
                requests[shard] = request = new ShardGetRequest
                {
                    Collection = spec.Name,
                    Shard = (uint)shard,
                    MinSequence = minSequences is not null && minSequences.TryGetValue(shard, out ulong sequence) ? sequence : 0,
                };
            }
            request.Ids.Add(id);
        }

        var calls = new List<(ShardGetRequest Request, Task<GetResponse> Call)>(requests.Count);
        foreach ((int shard, ShardGetRequest request) in requests)
        {
            calls.Add((request, AskShardAsync(spec, shard, view.ReplicasToAsk(spec, shard), _getLatencies,
                (node, token) => IsLocal(node)
                    ? Task.Run(() => local!.GetShardAsync(request, deadline, token))
                    : Client(node).GetShardAsync(request, channels.Headers, deadline, token).ResponseAsync, ct)));
        }
        try
        {
            await Task.WhenAll(calls.Select(c => c.Call)).ConfigureAwait(false);
        }
        catch
        {
            // Looked at per shard below.
        }

        var found = new Dictionary<long, Point>(distinct.Count);
        ShardNotAnsweredException? firstMissing = null;
        foreach ((ShardGetRequest request, Task<GetResponse> call) in calls)
        {
            if (!call.IsCompletedSuccessfully)
            {
                Exception error = call.Exception?.InnerException ?? new OperationCanceledException(ct);
                if (error is ShardNotAnsweredException missing)
                {
                    firstMissing ??= missing;
                    continue;
                }
                ExceptionDispatchInfo.Throw(error);
            }
            GetResponse answer = call.Result;
            if (answer.Points.Count + answer.MissingIds.Count != request.Ids.Count)
                throw new RpcException(new Status(StatusCode.Internal,
                    $"collection '{spec.Name}' shard {request.Shard} answered {answer.Points.Count} points and {answer.MissingIds.Count} " +
                    $"missing ids for {request.Ids.Count} ids"));
            foreach (Point point in answer.Points) found[point.Id] = point;
        }
        if (firstMissing is not null)
            throw new RpcException(new Status(StatusCode.Unavailable, firstMissing.Message));

        var response = new GetResponse();
        foreach (long id in ids)
        {
            if (found.TryGetValue(id, out Point? point)) response.Points.Add(point);
            else response.MissingIds.Add(id);
        }
        return response;
    }

    /// <summary>One shard's call (<paramref name="call"/>, given the replica's node and a token that a won hedge
    /// cancels) on the replicas chosen as the class comment says; ShardNotAnsweredException when none answers.</summary>
    private async Task<TResponse> AskShardAsync<TResponse>(ClusterCollectionSpec spec, int shard, List<NodeEntry> replicas,
        ConcurrentDictionary<(string Collection, int Shard), LatencyWindow> latencies,
        Func<NodeEntry, CancellationToken, Task<TResponse>> call, CancellationToken ct)
    {
        if (replicas.Count == 0)
            throw new ShardNotAnsweredException(spec.Name, shard, "has no live replica");

        using var race = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var tried = new HashSet<string>(StringComparer.Ordinal);
        var running = new List<(Task<TResponse> Call, NodeEntry Node, long Started)>(2);
        void Launch(NodeEntry node)
        {
            tried.Add(node.NodeId);
            running.Add((CallAsync(node, call, race.Token), node, Stopwatch.GetTimestamp()));
        }

        LatencyWindow latency = latencies.GetOrAdd((spec.Name, shard), _ => new LatencyWindow());
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
                var (finished, node, started) = running[index];
                running.RemoveAt(index);
                try
                {
                    TResponse response = await finished.ConfigureAwait(false);
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

    private async Task<TResponse> CallAsync<TResponse>(NodeEntry node, Func<NodeEntry, CancellationToken, Task<TResponse>> call,
        CancellationToken ct)
    {
        _outstanding.Increment(node.NodeId);
        try
        {
            return await call(node, ct).ConfigureAwait(false);
        }
        finally
        {
            _outstanding.Decrement(node.NodeId);
        }
    }

    /// <summary>A replica on this node is called in process (<see cref="ILocalShardService"/>), on the thread pool so
    /// that the other shards' calls (and the hedge timer) run meanwhile.</summary>
    private bool IsLocal(NodeEntry node) => local is not null && node.NodeId == local.NodeId;

    private ShardService.ShardServiceClient Client(NodeEntry node) => new(channels.Invoker(node.Address));

    /// <summary>The untried replica with the fewest outstanding calls; one that failed recently only when there is no
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
