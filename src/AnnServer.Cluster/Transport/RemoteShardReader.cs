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
public sealed class RemoteShardReader(NodeChannels channels) : IShardReader
{
    public async Task<BatchSearchResult> SearchAsync(NodeEntry node, ShardSearch search, DateTime? deadline, CancellationToken ct)
    {
        var request = new ShardSearchRequest
        {
            Collection = search.Collection,
            Shard = (uint)search.Shard,
            K = search.K,
            Ef = search.Ef,
            MinSequence = search.MinSequence,
        };
        foreach (SearchQuery query in search.Queries)
            request.Queries.Add(ToProto(query));
        SearchBatchResponse response = await CallAsync(() =>
            Client(node).SearchShardAsync(request, channels.Headers, deadline, ct).ResponseAsync).ConfigureAwait(false);

        var result = new BatchSearchResult(response.Results.Count, search.K);
        for (int q = 0; q < response.Results.Count; q++)
        {
            var hits = response.Results[q].Hits;
            Span<SearchHit> slot = result.SlotOf(q);
            int found = Math.Min(hits.Count, search.K);
            for (int i = 0; i < found; i++)
                slot[i] = new SearchHit(hits[i].Id, hits[i].Distance);
            result.Found[q] = found;
        }
        return result;
    }

    public async Task<PointsResult> GetAsync(NodeEntry node, ShardGet get, DateTime? deadline, CancellationToken ct)
    {
        var request = new ShardGetRequest { Collection = get.Collection, Shard = (uint)get.Shard, MinSequence = get.MinSequence };
        request.Ids.Add(get.Ids);
        GetResponse response = await CallAsync(() =>
            Client(node).GetShardAsync(request, channels.Headers, deadline, ct).ResponseAsync).ConfigureAwait(false);

        var points = new List<StoredPoint>(response.Points.Count);
        foreach (Point point in response.Points)
            points.Add(new StoredPoint(point.Id, [.. point.Vector], [.. point.Labels]));
        return new PointsResult(points, [.. response.MissingIds]);
    }

    private static BatchQuery ToProto(SearchQuery query)
    {
        var message = new BatchQuery();
        // A query read in place from a request is a segment of the request's array: RepeatedField copies a collection whole.
        message.Vector.Add(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(query.Vector, out ArraySegment<float> segment)
            ? segment
            : query.Vector.ToArray());
        if (query.Filter is { } filter)
        {
            message.Filter = new Filter();
            if (filter.AnyOfLabels is { } labels) message.Filter.AnyOfLabels.Add(labels);
            if (filter.ExcludedIds is { } excluded) message.Filter.ExcludedIds.Add(excluded);
        }
        return message;
    }

    private ShardService.ShardServiceClient Client(NodeEntry node) => new(channels.Invoker(node.Address));

    private static async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
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
