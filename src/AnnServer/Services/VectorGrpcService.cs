using System.Buffers;
using System.Diagnostics;
using AnnServer.Cluster;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Settings;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>
/// ann.v1.VectorService: validates each request at the edge, then maps it onto a <see cref="Collection"/>.
/// Search is the hot path: the query is read in place from the parsed message (<see cref="PackedFloats"/>), the hits go
/// to a stack buffer (or a pooled one for large k), and nothing is allocated beyond the response messages when the
/// request has no filter.
/// </summary>
[BindServiceMethod(typeof(ParseErrorBinder), nameof(ParseErrorBinder.BindVectorService))]
public sealed class VectorGrpcService(CollectionRegistry registry, LimitOptions limits, ClusterCoordinator? cluster = null,
    ShardWriter? shardWriter = null)
    : VectorService.VectorServiceBase
{
    /// <summary>Hits up to this k live on the stack (16 bytes each); larger k rents from the shared pool.</summary>
    private const int StackHits = 128;

    public override Task<SearchResponse> Search(SearchRequest request, ServerCallContext context)
    {
        long start = Stopwatch.GetTimestamp();
        RequestValidation.CollectionName(request.Collection);
        int ef = RequestValidation.SearchParameters(request.K, request.HasEf, request.Ef, limits);
        context.CancellationToken.ThrowIfCancellationRequested();
        if (cluster?.SpecOf(request.Collection) is { } spec)
            return ClusterReads.SearchAsync(cluster, spec, request, ef, context);

        using CollectionLease lease = registry.Acquire(request.Collection);
        Collection collection = lease.Collection;
        ReadOnlySpan<float> query = PackedFloats.AsSpan(request.Query);
        RequestValidation.Vector(query, collection, "query");
        SearchFilter? filter = ProtoMapping.ToFilter(request.Filter);

        SearchHit[]? rented = null;
        Span<SearchHit> hits = request.K <= StackHits
            ? stackalloc SearchHit[StackHits]
            : (rented = ArrayPool<SearchHit>.Shared.Rent(request.K));
        try
        {
            int found = collection.Search(query, request.K, ef, hits, filter);
            var response = new SearchResponse();
            ProtoMapping.AddHits(response.Hits, hits[..found]);
            response.ServerTimeMicros = ElapsedMicros(start);
            return Task.FromResult(response);
        }
        finally
        {
            if (rented is not null) ArrayPool<SearchHit>.Shared.Return(rented);
        }
    }

    public override Task<SearchBatchResponse> SearchBatch(SearchBatchRequest request, ServerCallContext context)
    {
        long start = Stopwatch.GetTimestamp();
        RequestValidation.CollectionName(request.Collection);
        int ef = RequestValidation.SearchParameters(request.K, request.HasEf, request.Ef, limits);
        RequestValidation.BatchSize(request.Queries.Count, limits);
        if (cluster?.SpecOf(request.Collection) is { } spec)
            return ClusterReads.SearchBatchAsync(cluster, spec, request, ef, context);

        using CollectionLease lease = registry.Acquire(request.Collection);
        Collection collection = lease.Collection;
        for (int i = 0; i < request.Queries.Count; i++)
            RequestValidation.Vector(PackedFloats.AsSpan(request.Queries[i].Vector), collection, "queries", i);

        SearchBatchResponse response = BatchSearch.Run(collection, request.Queries, request.K, ef, context.CancellationToken);
        response.ServerTimeMicros = ElapsedMicros(start);
        return Task.FromResult(response);
    }

    public override async Task<UpsertResponse> Upsert(UpsertRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.NotEmpty(request.Points.Count, "points");
        if (cluster?.SpecOf(request.Collection) is { } spec)
            return await ClusterWrites.UpsertAsync(shardWriter, spec, request, context);
        using CollectionLease lease = registry.Acquire(request.Collection);
        Collection collection = lease.Collection;
        UpsertBatch batch = PointBatch.Read(request.Points, collection.Name, collection.Dimension);

        UpsertResult result = await collection.UpsertAsync(batch, context.CancellationToken);
        return new UpsertResponse { Inserted = (uint)result.Inserted, Replaced = (uint)result.Replaced, LogPosition = result.LogPosition };
    }

    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.NotEmpty(request.Ids.Count, "ids");
        if (cluster?.SpecOf(request.Collection) is { } spec)
            return await ClusterWrites.DeleteAsync(shardWriter, spec, request, context);
        using CollectionLease lease = registry.Acquire(request.Collection);
        DeleteResult result = await lease.Collection.DeleteAsync(request.Ids.ToArray(), context.CancellationToken);
        return new DeleteResponse { Deleted = (uint)result.Deleted, NotFound = (uint)result.NotFound, LogPosition = result.LogPosition };
    }

    public override Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.NotEmpty(request.Ids.Count, "ids");
        if (cluster?.SpecOf(request.Collection) is { } spec)
        {
            RequestValidation.GetIds(request.Ids.Count, spec.Dimension, limits);
            return ClusterReads.GetAsync(cluster, spec, request, context);
        }
        using CollectionLease lease = registry.Acquire(request.Collection);
        RequestValidation.GetIds(request.Ids.Count, lease.Collection.Dimension, limits);
        return Task.FromResult(PointLookup.Run(lease.Collection, request.Ids, limits.MaxMessageBytes, context.CancellationToken));
    }

    private static ulong ElapsedMicros(long start) => (ulong)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
}
