using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Cluster.Transport;

/// <summary>
/// Other nodes' replicas, read over ShardService (the node-to-node API): the one place on the cluster's side where the
/// data plane becomes protobuf and back. A replica's status becomes the data plane's exception: UNAVAILABLE, NOT_FOUND
/// (the router's view is stale) and RESOURCE_EXHAUSTED (that node's queue is full) are
/// <see cref="CollectionUnavailableException"/>, which the router retries on another replica; INVALID_ARGUMENT is an
/// <see cref="ArgumentException"/>, DEADLINE_EXCEEDED a <see cref="ReadDeadlineExceededException"/>; any other status
/// reaches the caller as the replica gave it.
/// </summary>
public sealed partial class RemoteShardReader(NodeChannels channels) : IShardReader
{
    public async Task<BatchSearchResult> SearchAsync(NodeEntry node, ShardSearch search, IHitDataSink? hitData, DateTime? deadline,
        CancellationToken ct)
    {
        ShardSearchRequest request = ToRequest(search);
        SearchBatchResponse response = await CallAsync(() =>
            Client(node).SearchShardAsync(request, channels.Headers, deadline, ct).ResponseAsync).ConfigureAwait(false);

        var result = new BatchSearchResult(response.Results.Count, search.K);
        for (int q = 0; q < response.Results.Count; q++)
        {
            var hits = response.Results[q].Hits;
            Span<SearchHit> slot = result.SlotOf(q);
            int found = Math.Min(hits.Count, search.K);
            for (int i = 0; i < found; i++)
            {
                Hit hit = hits[i];
                slot[i] = new SearchHit(hit.Id, hit.Distance);
                if (hitData is not null) CopyHitData(hit, hitData, q * search.K + i);
            }
            result.Found[q] = found;
        }
        return result;
    }

    public async Task<PointsResult> GetAsync(NodeEntry node, ShardGet get, DateTime? deadline, CancellationToken ct)
    {
        var request = new ShardGetRequest
        {
            Collection = get.Collection,
            Shard = (uint)get.Shard,
            MinSequence = get.MinSequence,
            WithPayload = PayloadMessages.ToProto(get.Payload),
            WithVector = get.WithVector,
        };
        request.Ids.Add(get.Ids);
        GetResponse response = await CallAsync(() =>
            Client(node).GetShardAsync(request, channels.Headers, deadline, ct).ResponseAsync).ConfigureAwait(false);
        return new PointsResult(ToPoints(response.Points), [.. response.MissingIds]);
    }

    public async Task<long> CountAsync(NodeEntry node, ShardCount count, DateTime? deadline, CancellationToken ct)
    {
        var request = new ShardCountRequest { Collection = count.Collection, Shard = (uint)count.Shard, MinSequence = count.MinSequence };
        if (count.Filter is { } filter) request.Filter = FilterMessages.ToProto(filter);
        CountResponse response = await CallAsync(() =>
            Client(node).CountShardAsync(request, channels.Headers, deadline, ct).ResponseAsync).ConfigureAwait(false);
        return (long)response.Count;
    }

    public async Task<ScrollResult> ScrollAsync(NodeEntry node, ShardScroll scroll, DateTime? deadline, CancellationToken ct)
    {
        ScrollParameters page = scroll.Page;
        var request = new ShardScrollRequest
        {
            Collection = scroll.Collection,
            Shard = (uint)scroll.Shard,
            Limit = (uint)page.Limit,
            WithPayload = PayloadMessages.ToProto(page.Payload),
            WithVector = page.WithVector,
            MinSequence = scroll.MinSequence,
        };
        if (page.Filter is { } filter) request.Filter = FilterMessages.ToProto(filter);
        if (page.AfterId is { } after) request.AfterId = after;
        ScrollResponse response = await CallAsync(() =>
            Client(node).ScrollShardAsync(request, channels.Headers, deadline, ct).ResponseAsync).ConfigureAwait(false);
        return new ScrollResult(ToPoints(response.Points), response.HasNextAfterId ? response.NextAfterId : null);
    }

    private static List<StoredPoint> ToPoints(IReadOnlyList<Point> messages)
    {
        var points = new List<StoredPoint>(messages.Count);
        foreach (Point point in messages)
            points.Add(new StoredPoint(point.Id, [.. point.Vector], [.. point.Labels], PayloadMessages.ToPayload(point.Payload)));
        return points;
    }

    /// <summary>The node-to-node request of a shard search; a grouped search adds its group_by.</summary>
    private static ShardSearchRequest ToRequest(ShardSearch search)
    {
        var request = new ShardSearchRequest
        {
            Collection = search.Collection,
            Shard = (uint)search.Shard,
            K = search.K,
            Ef = search.Ef,
            MinSequence = search.MinSequence,
            WithVector = search.WithVector,
        };
        if (!search.Payload.IsNone) request.WithPayload = PayloadMessages.ToProto(search.Payload);
        if (search.ScoreThreshold is { } threshold) request.ScoreThreshold = threshold;
        if (search.Quantization != QuantizedSearchOptions.Default) request.Quantization = ToProto(search.Quantization);
        foreach (SearchQuery query in search.Queries)
            request.Queries.Add(ToProto(query));
        if (search.Examples is { } examples)
        {
            request.PositiveExamples.Add(examples.Positives);
            request.NegativeExamples.Add(examples.Negatives);
        }
        return request;
    }

    /// <summary>What a hit carries (its vector, its payload fields), handed to the sink at the hit's place.</summary>
    private static void CopyHitData(Hit hit, IHitDataSink hitData, int place)
    {
        if (hit.Vector is { Values.Count: > 0 } vector) hitData.Vector(place, vector.Values.ToArray());
        if (hit.Payload is { } payload)
            foreach (var (name, value) in payload.Fields) hitData.Field(place, name, PayloadMessages.ToValue(value));
    }

    private static QuantizationParams ToProto(QuantizedSearchOptions quantized)
    {
        var message = new QuantizationParams { Rescore = quantized.Rescore };
        if (quantized.Oversampling is { } oversampling) message.Oversampling = oversampling;
        return message;
    }

    private static BatchQuery ToProto(SearchQuery query)
    {
        var message = new BatchQuery();
        // A query read in place from a request is a segment of the request's array: RepeatedField copies a collection whole.
        message.Vector.Add(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(query.Vector, out ArraySegment<float> segment)
            ? segment
            : query.Vector.ToArray());
        if (query.Filter is { } filter)
            message.Filter = FilterMessages.ToProto(filter);
        return message;
    }

    private ShardService.ShardServiceClient Client(NodeEntry node) => new(channels.Invoker(node.Address));

    /// <summary>The trailer a node's NOT_FOUND carries when a filter named a stored id set it does not hold (its name),
    /// as opposed to a replica it does not hold: the router answers the first as is, and tries another replica for the
    /// second.</summary>
    public const string UnknownIdSetTrailer = "ann-unknown-id-set";

    private static async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && e.Trailers.GetValue(UnknownIdSetTrailer) is { } set)
        {
            throw new Core.Filtering.UnknownIdSetException(set);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.NotFound or StatusCode.ResourceExhausted)
        {
            throw new CollectionUnavailableException($"{e.StatusCode}: {e.Status.Detail}", e);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            throw new ArgumentException(e.Status.Detail, e);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.DeadlineExceeded)
        {
            throw new ReadDeadlineExceededException(e.Status.Detail);
        }
    }
}
