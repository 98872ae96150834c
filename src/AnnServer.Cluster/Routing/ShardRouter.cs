using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Sharding;

namespace AnnServer.Cluster.Routing;

/// <summary>
/// Answers a read of a cluster collection by asking one replica of each shard involved: a search asks every shard and
/// merges their top-k into the global top-k (<see cref="TopKMerge"/>); a Get asks the shards its ids hash to and puts
/// the points back in the order of the ids. Replicas are read through <see cref="IShardReader"/>: this node's own in
/// process, the others over gRPC.
/// Per shard: the live serving replica with the fewest calls outstanding from this router is asked first (ties broken
/// at random so an idle cluster still spreads its load); if it has not answered within the shard's recent p95
/// (<see cref="LatencyWindow"/>, kept apart for searches and gets) and another replica exists, the same call goes to a
/// second one, the first answer wins and the other call is cancelled; a replica failing with
/// <see cref="CollectionUnavailableException"/> (down, not serving, a stale view, a full queue) is retried once on
/// another replica. The caller's deadline goes on to every shard call. A shard that cannot answer is a
/// <see cref="CollectionUnavailableException"/> naming it, or with allow_partial a missing shard of a search's answer.
/// </summary>
public sealed partial class ShardRouter(RouterSettings settings, IShardReader remote, ILocalShards? local = null, string? localNodeId = null)
{
    private readonly OutstandingRequests _outstanding = new();
    private readonly RecentFailures _failures = new(settings.FailurePenalty);
    // Apart, because a Get is much cheaper than a search: one window for both would hedge searches too early.
    private readonly ConcurrentDictionary<(string Collection, int Shard), LatencyWindow> _searchLatencies = new();
    private readonly ConcurrentDictionary<(string Collection, int Shard), LatencyWindow> _getLatencies = new();
    // Counts and scroll pages scan the shard: slower than a search, so a window of their own.
    private readonly ConcurrentDictionary<(string Collection, int Shard), LatencyWindow> _scanLatencies = new();
    private long _hedges, _retries;

    /// <summary>Shard calls sent to a second replica because the first was slow (for metrics and tests).</summary>
    public long Hedges => Interlocked.Read(ref _hedges);

    /// <summary>Shard calls sent to another replica because the first failed.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    public OutstandingRequests Outstanding => _outstanding;

    /// <summary>
    /// Runs <paramref name="queries"/> (already validated against the spec) on every shard and merges the answers. What
    /// the hits carry (payload, vector, when the parameters ask for it) comes back with each shard's hits and is handed to
    /// <paramref name="hitData"/> for the hits the merge keeps, by their place in the merged result.
    /// </summary>
    /// <exception cref="CollectionUnavailableException">a shard could not answer (without allow_partial).</exception>
    public async Task<BatchSearchResult> SearchAsync(ClusterView view, ClusterCollectionSpec spec, IReadOnlyList<SearchQuery> queries,
        SearchParameters parameters, IHitDataSink? hitData, CancellationToken ct, BestScoreExamples? examples = null)
    {
        ReadOptions read = parameters.Read;
        bool withData = hitData is not null && parameters.WantsHitData;
        int slots = queries.Count * parameters.K;
        var shards = new Task<ShardSearchAnswer>[spec.Shards];
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            ShardSearch search = SearchOn(spec, shard, queries, parameters, examples);
            // A sink per call, not per shard: a hedged call's two replicas answer at once.
            shards[shard] = AskShardAsync(spec, shard, view.ReplicasToAsk(spec, shard), _searchLatencies,
                async (node, token) =>
                {
                    ShardHitData? data = withData ? new ShardHitData(slots) : null;
                    BatchSearchResult hits = IsLocal(node)
                        ? await Task.Run(() => local!.SearchAsync(search, data, read.Deadline, token), token).ConfigureAwait(false)
                        : await remote.SearchAsync(node, search, data, read.Deadline, token).ConfigureAwait(false);
                    return new ShardSearchAnswer(hits, data);
                }, ct);
        }
        var (answers, missingShards) = await ShardsAnsweredAsync(shards, read, ct).ConfigureAwait(false);
        var answered = new List<BatchSearchResult>(answers.Count);
        var answeredData = new List<ShardHitData?>(answers.Count);
        foreach (var (shard, answer) in answers)
        {
            if (answer.Hits.Count != queries.Count)
                throw new InconsistentAnswerException(
                    $"collection '{spec.Name}' shard {shard} answered {answer.Hits.Count} results for {queries.Count} queries");
            answered.Add(answer.Hits);
            answeredData.Add(answer.Data);
        }

        var merged = new BatchSearchResult(queries.Count, parameters.K) { MissingShards = missingShards };
        HitSource[] sources = withData ? new HitSource[parameters.K] : [];
        for (int q = 0; q < queries.Count; q++)
        {
            int found = merged.Found[q] = TopKMerge.Merge(answered, q, parameters.K, merged.SlotOf(q), sources);
            for (int i = 0; i < found && withData; i++)
                answeredData[sources[i].Answer]?.CopyTo(sources[i].Slot, hitData!, q * parameters.K + i);
        }
        return merged;
    }

    /// <summary>The live points passing <paramref name="filter"/>: each shard counted once, by one of its replicas (chosen,
    /// hedged and retried as a search's), and summed. A shard that cannot answer fails the count: a partial sum would
    /// look like a right one.</summary>
    /// <exception cref="CollectionUnavailableException">a shard could not answer.</exception>
    public async Task<long> CountAsync(ClusterView view, ClusterCollectionSpec spec, SearchFilter? filter, ReadOptions read, CancellationToken ct)
    {
        var shards = new Task<long>[spec.Shards];
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            var count = new ShardCount(spec.Name, shard, filter, MinSequence(read, shard));
            shards[shard] = AskShardAsync(spec, shard, view.ReplicasToAsk(spec, shard), _scanLatencies,
                (node, token) => IsLocal(node)
                    ? Task.Run(() => local!.CountAsync(count, read.Deadline, token), token)
                    : remote.CountAsync(node, count, read.Deadline, token), ct);
        }
        long total = 0;
        foreach (long shardCount in await AllShardsAsync(shards).ConfigureAwait(false)) total += shardCount;
        return total;
    }

    /// <summary>
    /// One page of a Scroll across the shards, as a single server pages (<see cref="ScrollParameters"/>): every shard is
    /// asked for a page of the limit after the cursor, and the pages are merged by id. A shard whose page was not its
    /// last (it ended at its limit, or early at the answer's size) has points past its last id that the other pages do not
    /// account for, so the merged page ends at the smallest such last id, and at the limit; its cursor is the page's last
    /// id, or null when every shard's page was its last and none was cut. The merged answer is measured against the bound
    /// as a single server measures its page: a page that would weigh more ends early at the last point that fits.
    /// </summary>
    /// <exception cref="CollectionUnavailableException">a shard could not answer.</exception>
    public async Task<ScrollResult> ScrollAsync(ClusterView view, ClusterCollectionSpec spec, ScrollParameters parameters, CancellationToken ct)
    {
        ReadOptions read = parameters.Read;
        var shards = new Task<ScrollResult>[spec.Shards];
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            var scroll = new ShardScroll(spec.Name, shard, parameters, MinSequence(read, shard));
            shards[shard] = AskShardAsync(spec, shard, view.ReplicasToAsk(spec, shard), _scanLatencies,
                (node, token) => IsLocal(node)
                    ? Task.Run(() => local!.ScrollAsync(scroll, read.Deadline, token), token)
                    : remote.ScrollAsync(node, scroll, read.Deadline, token), ct);
        }
        ScrollResult[] pages = await AllShardsAsync(shards).ConfigureAwait(false);
        return ScrollMerge.Merge(pages, parameters.Limit, parameters.MaxAnswerBytes);
    }

    /// <summary>What one shard is asked for a search of every shard.</summary>
    private ShardSearch SearchOn(ClusterCollectionSpec spec, int shard, IReadOnlyList<SearchQuery> queries, SearchParameters parameters,
        BestScoreExamples? examples) =>
        new(spec.Name, shard, queries, parameters.K, parameters.Ef, MinSequence(parameters.Read, shard))
        {
            Payload = parameters.Payload,
            WithVector = parameters.WithVector,
            ScoreThreshold = parameters.ScoreThreshold,
            Quantization = parameters.Quantization,
            Examples = examples,
        };

    /// <summary>
    /// The answers of a search asked of every shard, in shard order, and the shards that could not answer. A missing shard
    /// fails the search, naming it, unless the read allows a partial answer; any other error is the search's.
    /// </summary>
    private static async Task<(List<(int Shard, T Answer)> Answers, List<int> MissingShards)> ShardsAnsweredAsync<T>(Task<T>[] shards,
        ReadOptions read, CancellationToken ct)
    {
        try
        {
            await Task.WhenAll(shards).ConfigureAwait(false);
        }
        catch
        {
            // Looked at per shard below.
        }

        var answers = new List<(int Shard, T Answer)>(shards.Length);
        var missingShards = new List<int>();
        ShardNotAnsweredException? firstMissing = null;
        for (int shard = 0; shard < shards.Length; shard++)
        {
            Task<T> task = shards[shard];
            if (task.IsCompletedSuccessfully)
            {
                answers.Add((shard, task.Result));
                continue;
            }
            Exception error = task.Exception?.InnerException ?? new OperationCanceledException(ct);
            if (error is ShardNotAnsweredException missing)
            {
                firstMissing ??= missing;
                missingShards.Add(shard);
                continue;
            }
            ExceptionDispatchInfo.Throw(error);
        }
        if (firstMissing is not null && !read.AllowPartial)
            throw new CollectionUnavailableException(firstMissing.Message + " (set allow_partial to get the other shards' results)");
        return (answers, missingShards);
    }

    /// <summary>Every shard's answer; the first shard that could not answer fails the read, naming it.</summary>
    private static async Task<T[]> AllShardsAsync<T>(Task<T>[] shards)
    {
        try
        {
            return await Task.WhenAll(shards).ConfigureAwait(false);
        }
        catch
        {
            foreach (Task<T> task in shards)
            {
                if (task.IsCompletedSuccessfully) continue;
                Exception error = task.Exception?.InnerException ?? new OperationCanceledException();
                if (error is ShardNotAnsweredException missing) throw new CollectionUnavailableException(missing.Message);
                ExceptionDispatchInfo.Throw(error);
            }
            throw;
        }
    }

    /// <summary>
    /// Reads <paramref name="ids"/> (at least one) from the shards they hash to, each shard's ids (once each) from one of
    /// its replicas, all shards at once; answers as a single server's Get: the points in the order of the ids (an id
    /// given twice comes twice), the ids no replica holds in the missing ids, in the same order.
    /// </summary>
    /// <exception cref="CollectionUnavailableException">a shard could not answer.</exception>
    public async Task<PointsResult> GetAsync(ClusterView view, ClusterCollectionSpec spec, IReadOnlyList<long> ids,
        GetParameters parameters, CancellationToken ct)
    {
        ReadOptions read = parameters.Read;
        var idsByShard = new SortedDictionary<int, List<long>>();
        var distinct = new HashSet<long>(ids.Count);
        foreach (long id in ids)
        {
            if (!distinct.Add(id)) continue;
            int shard = ShardHash.ShardOf(id, spec.Shards);
            if (!idsByShard.TryGetValue(shard, out List<long>? shardIds))
                idsByShard[shard] = shardIds = [];
            shardIds.Add(id);
        }

        var calls = new List<(ShardGet Get, Task<PointsResult> Call)>(idsByShard.Count);
        foreach ((int shard, List<long> shardIds) in idsByShard)
        {
            var get = new ShardGet(spec.Name, shard, [.. shardIds], MinSequence(read, shard), parameters.MaxAnswerBytes)
            {
                Payload = parameters.Payload,
                WithVector = parameters.WithVector,
            };
            calls.Add((get, AskShardAsync(spec, shard, view.ReplicasToAsk(spec, shard), _getLatencies,
                (node, token) => IsLocal(node)
                    ? Task.Run(() => local!.GetAsync(get, read.Deadline, token), token)
                    : remote.GetAsync(node, get, read.Deadline, token), ct)));
        }
        try
        {
            await Task.WhenAll(calls.Select(c => c.Call)).ConfigureAwait(false);
        }
        catch
        {
            // Looked at per shard below.
        }

        var found = new Dictionary<long, StoredPoint>(distinct.Count);
        ShardNotAnsweredException? firstMissing = null;
        foreach ((ShardGet get, Task<PointsResult> call) in calls)
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
            PointsResult answer = call.Result;
            if (answer.Points.Count + answer.MissingIds.Count != get.Ids.Length)
                throw new InconsistentAnswerException(
                    $"collection '{spec.Name}' shard {get.Shard} answered {answer.Points.Count} points and {answer.MissingIds.Count} " +
                    $"missing ids for {get.Ids.Length} ids");
            foreach (StoredPoint point in answer.Points) found[point.Id] = point;
        }
        if (firstMissing is not null)
            throw new CollectionUnavailableException(firstMissing.Message);

        var points = new List<StoredPoint>(ids.Count);
        var missingIds = new List<long>();
        foreach (long id in ids)
        {
            if (found.TryGetValue(id, out StoredPoint? point)) points.Add(point);
            else missingIds.Add(id);
        }
        return new PointsResult(points, missingIds);
    }

    /// <summary>The sequence a read asks of <paramref name="shard"/>'s replica: the highest given for it, or 0.</summary>
    private static ulong MinSequence(ReadOptions read, int shard)
    {
        ulong sequence = 0;
        if (read.MinSequences is { } positions)
            foreach (ShardPosition position in positions)
                if (position.Shard == shard && position.Sequence > sequence)
                    sequence = position.Sequence;
        return sequence;
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
        void Launch(NodeEntry node, string attempt)
        {
            tried.Add(node.NodeId);
            running.Add((CallAsync(spec.Name, shard, node, attempt, call, race.Token), node, Stopwatch.GetTimestamp()));
        }

        LatencyWindow latency = latencies.GetOrAdd((spec.Name, shard), _ => new LatencyWindow());
        Launch(Pick(replicas, tried)!, ClusterTracing.Attempt.First);
        Task? hedgeTimer = replicas.Count > 1 ? Task.Delay(HedgeDelay(latency), race.Token) : null;
        bool retried = false;
        CollectionUnavailableException? lastError = null;
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
                        Launch(second, ClusterTracing.Attempt.Hedge);
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
                catch (CollectionUnavailableException e) when (!ct.IsCancellationRequested)
                {
                    lastError = e;
                    _failures.Mark(node.NodeId);
                    // A hedge still running is the retry; otherwise one more replica, once.
                    if (running.Count == 0 && !retried && Pick(replicas, tried) is { } other)
                    {
                        retried = true;
                        hedgeTimer = null;
                        Interlocked.Increment(ref _retries);
                        Launch(other, ClusterTracing.Attempt.Retry);
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
            $"has no live replica: {string.Join(", ", tried)} failed (last: {lastError?.Message})");
    }

    private async Task<TResponse> CallAsync<TResponse>(string collection, int shard, NodeEntry node, string attempt,
        Func<NodeEntry, CancellationToken, Task<TResponse>> call, CancellationToken ct)
    {
        using Activity? activity = ClusterTracing.StartShardCall(collection, shard, node.NodeId, attempt);
        _outstanding.Increment(node.NodeId);
        try
        {
            return await call(node, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (activity is not null)
        {
            // A call cancelled by the race it lost is no failure: the other replica answered.
            if (ct.IsCancellationRequested)
                activity.SetTag("ann.cancelled", "lost the hedge race or the caller went away");
            else
                activity.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
        finally
        {
            _outstanding.Decrement(node.NodeId);
        }
    }

    /// <summary>A replica on this node is read in process, on the thread pool so that the other shards' calls (and
    /// the hedge timer) run meanwhile.</summary>
    private bool IsLocal(NodeEntry node) => local is not null && node.NodeId == localNodeId;

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
            if (load == bestLoad && local is not null && best?.NodeId == localNodeId)
                continue;
            if (load < bestLoad || (load == bestLoad && local is not null && node.NodeId == localNodeId))
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
}
