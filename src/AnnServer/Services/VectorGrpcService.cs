using System.Buffers;
using System.Diagnostics;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Settings;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>
/// ann.v1.VectorService: validates each request at the edge, then maps it onto the <see cref="IVectorCollection"/> its
/// collection name resolves to (a collection on this server or a cluster collection: the same calls). Search is the hot
/// path: the query is read in place from the parsed message (<see cref="PackedFloats"/>), the hits go to a pooled
/// buffer, and a local search completes synchronously, allocating nothing beyond the response messages when the request
/// has no filter.
/// </summary>
[BindServiceMethod(typeof(ParseErrorBinder), nameof(ParseErrorBinder.BindVectorService))]
public sealed class VectorGrpcService(ICollectionCatalog catalog, LimitOptions limits) : VectorService.VectorServiceBase
{
    public override Task<SearchResponse> Search(SearchRequest request, ServerCallContext context)
    {
        long start = Stopwatch.GetTimestamp();
        RequestValidation.CollectionName(request.Collection);
        int ef = RequestValidation.SearchParameters(request.K, request.HasEf, request.Ef, limits);
        context.CancellationToken.ThrowIfCancellationRequested();

        CollectionHandle handle = catalog.Open(request.Collection);
        SearchHit[]? hits = null;
        try
        {
            IVectorCollection collection = handle.Collection;
            ReadOnlyMemory<float> query = PackedFloats.AsMemory(request.Query);
            RequestValidation.Vector(query.Span, collection, "query");
            var parameters = new SearchParameters(request.K, ef,
                ProtoMapping.ToReadOptions(request.MinSequences, request.AllowPartial, context));
            hits = ArrayPool<SearchHit>.Shared.Rent(request.K);
            ValueTask<SearchOutcome> search = collection.SearchAsync(
                new SearchQuery(query, ProtoMapping.ToFilter(request.Filter)), parameters, hits, null, context.CancellationToken);
            if (!search.IsCompletedSuccessfully)
            {
                Task<SearchResponse> pending = RespondAsync(search, hits, handle, start);
                hits = null;
                handle = default;
                return pending;
            }
            return Task.FromResult(Respond(search.Result, hits, start));
        }
        finally
        {
            if (hits is not null) ArrayPool<SearchHit>.Shared.Return(hits);
            handle.Dispose();
        }
    }

    /// <summary>A search that did not complete synchronously (a cluster collection's fan-out); owns the buffer and
    /// the handle from here on.</summary>
    private static async Task<SearchResponse> RespondAsync(ValueTask<SearchOutcome> search, SearchHit[] hits, CollectionHandle handle,
        long start)
    {
        try
        {
            return Respond(await search.ConfigureAwait(false), hits, start);
        }
        finally
        {
            ArrayPool<SearchHit>.Shared.Return(hits);
            handle.Dispose();
        }
    }

    private static SearchResponse Respond(SearchOutcome outcome, SearchHit[] hits, long start)
    {
        var response = new SearchResponse();
        ProtoMapping.AddHits(response.Hits, hits.AsSpan(0, outcome.Found));
        ProtoMapping.AddShards(response.MissingShards, outcome.MissingShards);
        response.ServerTimeMicros = ElapsedMicros(start);
        return response;
    }

    public override async Task<SearchBatchResponse> SearchBatch(SearchBatchRequest request, ServerCallContext context)
    {
        long start = Stopwatch.GetTimestamp();
        RequestValidation.CollectionName(request.Collection);
        int ef = RequestValidation.SearchParameters(request.K, request.HasEf, request.Ef, limits);
        RequestValidation.BatchSize(request.Queries.Count, limits);

        using CollectionHandle handle = catalog.Open(request.Collection);
        IVectorCollection collection = handle.Collection;
        SearchQuery[] queries = ProtoMapping.ToQueries(request.Queries, collection);
        var parameters = new SearchParameters(request.K, ef, ProtoMapping.ToReadOptions(request.MinSequences, request.AllowPartial, context));
        BatchSearchResult result = await collection.SearchBatchAsync(queries, parameters, null, context.CancellationToken).ConfigureAwait(false);
        SearchBatchResponse response = ProtoMapping.ToProto(result);
        response.ServerTimeMicros = ElapsedMicros(start);
        return response;
    }

    public override async Task<UpsertResponse> Upsert(UpsertRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.NotEmpty(request.Points.Count, "points");
        using CollectionHandle handle = catalog.Open(request.Collection);
        IVectorCollection collection = handle.Collection;
        UpsertBatch batch = PointBatch.Read(request.Points, collection.Name, collection.Dimension);

        UpsertResult result = await collection.UpsertAsync(batch, context.CancellationToken).ConfigureAwait(false);
        var response = new UpsertResponse { Inserted = (uint)result.Inserted, Replaced = (uint)result.Replaced, LogPosition = result.LogPosition };
        ProtoMapping.AddSequences(response.Sequences, result.Sequences);
        return response;
    }

    public override async Task<DeleteResponse> Delete(DeleteRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.NotEmpty(request.Ids.Count, "ids");
        using CollectionHandle handle = catalog.Open(request.Collection);
        DeleteResult result = await handle.Collection.DeleteAsync([.. request.Ids], context.CancellationToken).ConfigureAwait(false);
        var response = new DeleteResponse { Deleted = (uint)result.Deleted, NotFound = (uint)result.NotFound, LogPosition = result.LogPosition };
        ProtoMapping.AddSequences(response.Sequences, result.Sequences);
        return response;
    }

    public override async Task<GetResponse> Get(GetRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.NotEmpty(request.Ids.Count, "ids");
        using CollectionHandle handle = catalog.Open(request.Collection);
        IVectorCollection collection = handle.Collection;
        RequestValidation.GetIds(request.Ids.Count, collection.Dimension, limits);
        var parameters = new GetParameters(limits.MaxMessageBytes, ProtoMapping.ToReadOptions(request.MinSequences, allowPartial: false, context));
        PointsResult result = await collection.GetAsync(request.Ids, parameters, context.CancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToProto(result);
    }

    private static ulong ElapsedMicros(long start) => (ulong)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
}
