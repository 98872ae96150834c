using System.Buffers;
using System.Diagnostics;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Hosting;
using AnnServer.Settings;
using AnnServer.Protocol.V1;
using Grpc.Core;
using PayloadWriteMode = AnnServer.Collections.PayloadWriteMode;

namespace AnnServer.Services;

/// <summary>
/// ann.v1.VectorService: validates each request at the edge, then maps it onto the <see cref="IVectorCollection"/> its
/// collection name resolves to (a collection on this server or a cluster collection: the same calls). Search is the hot
/// path: the query is read in place from the parsed message (<see cref="PackedFloats"/>), the hits go to a pooled
/// buffer, and a local search completes synchronously, allocating nothing beyond the response messages when the request
/// has no filter. SearchStream runs each of its searches through <see cref="Search"/> (<see cref="SearchStreams"/>);
/// a service made without <paramref name="streams"/> (in a test) answers it UNIMPLEMENTED.
/// </summary>
[BindServiceMethod(typeof(ParseErrorBinder.VectorBinding), nameof(ParseErrorBinder.VectorBinding.Bind))]
public sealed partial class VectorGrpcService(ICollectionCatalog catalog, LimitOptions limits, SearchStreams? streams = null,
    SearchThreads? searchThreads = null) : VectorService.VectorServiceBase
{
    public override Task SearchStream(IAsyncStreamReader<SearchStreamRequest> requestStream,
        IServerStreamWriter<SearchStreamResponse> responseStream, ServerCallContext context) =>
        streams is null ? base.SearchStream(requestStream, responseStream, context) : streams.ServeAsync(this, requestStream, responseStream, context);

    /// <summary>The one place a unary search is dispatched: here, or on a search thread (<see cref="SearchThreads"/>).</summary>
    public override Task<SearchResponse> Search(SearchRequest request, ServerCallContext context)
    {
        if (searchThreads is null || searchThreads.IsInline) return SearchHere(request, context);
        var work = new SearchOnThread(this, request, context);
        searchThreads.Post(work);
        return work.Task;
    }

    private sealed class SearchOnThread(VectorGrpcService service, SearchRequest request, ServerCallContext context) : SearchWork
    {
        private readonly TaskCompletionSource<SearchResponse> _done = new();

        public Task<SearchResponse> Task => _done.Task;

        public override void Execute()
        {
            try
            {
                Task<SearchResponse> search = service.SearchHere(request, context);
                if (search.IsCompletedSuccessfully) _done.SetResult(search.Result);
                else search.ContinueWith(static (t, state) => ((TaskCompletionSource<SearchResponse>)state!).SetFromTask(t), _done,
                    TaskScheduler.Default);
            }
            catch (Exception e)
            {
                _done.SetException(e);
            }
        }
    }

    private Task<SearchResponse> SearchHere(SearchRequest request, ServerCallContext context)
    {
        long start = Stopwatch.GetTimestamp();
        RequestValidation.CollectionName(request.Collection);
        int ef = RequestValidation.SearchParameters(request.K, request.HasEf, request.Ef, limits);
        context.CancellationToken.ThrowIfCancellationRequested();
        if (request.GroupBy is not null) return SearchGroupsAsync(request, ef, start, context);

        CollectionHandle handle = catalog.Open(request.Collection);
        SearchHit[]? hits = null;
        try
        {
            IVectorCollection collection = handle.Collection;
            ReadOnlyMemory<float> query = PackedFloats.AsMemory(request.Query);
            RequestValidation.Vector(query.Span, collection, "query");
            SearchParameters parameters = ProtoMapping.ToSearchParameters(request, ef, context);
            HitMessages? data = parameters.WantsHitData ? new HitMessages(request.K, !parameters.Payload.IsNone) : null;
            hits = ArrayPool<SearchHit>.Shared.Rent(request.K);
            ValueTask<SearchOutcome> search = collection.SearchAsync(
                new SearchQuery(query, ProtoMapping.ToFilter(request.Filter)), parameters, hits.AsMemory(0, request.K), data,
                context.CancellationToken);
            if (!search.IsCompletedSuccessfully)
            {
                Task<SearchResponse> pending = RespondAsync(search, hits, data, handle, start);
                hits = null;
                handle = default;
                return pending;
            }
            return Task.FromResult(Respond(search.Result, hits, data, start));
        }
        finally
        {
            if (hits is not null) ArrayPool<SearchHit>.Shared.Return(hits);
            handle.Dispose();
        }
    }

    /// <summary>A search that did not complete synchronously (a cluster collection's fan-out); owns the buffer and
    /// the handle from here on.</summary>
    private static async Task<SearchResponse> RespondAsync(ValueTask<SearchOutcome> search, SearchHit[] hits, HitMessages? data,
        CollectionHandle handle, long start)
    {
        try
        {
            return Respond(await search.ConfigureAwait(false), hits, data, start);
        }
        finally
        {
            ArrayPool<SearchHit>.Shared.Return(hits);
            handle.Dispose();
        }
    }

    private static SearchResponse Respond(SearchOutcome outcome, SearchHit[] hits, HitMessages? data, long start)
    {
        var response = new SearchResponse();
        ProtoMapping.AddHits(response.Hits, hits.AsSpan(0, outcome.Found), data);
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
        RequestValidation.BatchHeldBytes(request.Queries.Count, request.K, collection.Dimension, request.WithVector, limits);
        SearchQuery[] queries = ProtoMapping.ToQueries(request.Queries, collection);
        SearchParameters parameters = ProtoMapping.ToSearchParameters(request, ef, context);
        HitMessages? data = parameters.WantsHitData ? new HitMessages(queries.Length * request.K, !parameters.Payload.IsNone) : null;
        BatchSearchResult result = await collection.SearchBatchAsync(queries, parameters, data, context.CancellationToken).ConfigureAwait(false);
        SearchBatchResponse response = ProtoMapping.ToProto(result, data);
        result.ReturnToPool();
        response.ServerTimeMicros = ElapsedMicros(start);
        return response;
    }

    public override async Task<UpsertResponse> Upsert(UpsertRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.NotEmpty(request.Points.Count, "points");
        using CollectionHandle handle = catalog.Open(request.Collection);
        IVectorCollection collection = handle.Collection;
        UpsertBatch batch = PointBatch.Read(request.Points, collection.Name, collection.Dimension, limits.MaxPayloadBytes);

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
        var parameters = new GetParameters(limits.MaxMessageBytes, ProtoMapping.ToReadOptions(request.MinSequences, allowPartial: false, context))
        {
            Payload = PayloadMapping.ToSelection(request.WithPayload, PayloadSelection.All, "with_payload"),
            WithVector = !request.HasWithVector || request.WithVector,
        };
        PointsResult result = await collection.GetAsync(request.Ids, parameters, context.CancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToProto(result);
    }

    public override async Task<PayloadWriteResponse> SetPayload(SetPayloadRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.PayloadWriteIds(request.Ids.Count, limits);
        PayloadWriteMode mode = request.Mode switch
        {
            Protocol.V1.PayloadWriteMode.Merge => PayloadWriteMode.Merge,
            Protocol.V1.PayloadWriteMode.Replace => PayloadWriteMode.Replace,
            _ => throw RequestValidation.Invalid(
                $"mode {(int)request.Mode} is not a known value: use PAYLOAD_WRITE_MODE_MERGE or PAYLOAD_WRITE_MODE_REPLACE"),
        };
        Core.Payloads.Payload payload = PayloadMapping.ToPayload(request.Payload, "payload", limits.MaxPayloadBytes) ?? new();
        if (mode == PayloadWriteMode.Merge && payload.Count == 0)
            throw RequestValidation.Invalid("payload is empty: a merge needs at least one field (PAYLOAD_WRITE_MODE_REPLACE with no fields, or ClearPayload, clears)");
        using CollectionHandle handle = catalog.Open(request.Collection);
        PayloadWriteResult result = await handle.Collection.SetPayloadAsync([.. request.Ids], payload, mode, context.CancellationToken)
            .ConfigureAwait(false);
        return ToProto(result);
    }

    public override async Task<PayloadWriteResponse> DeletePayload(DeletePayloadRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.PayloadWriteIds(request.Ids.Count, limits);
        RequestValidation.NotEmpty(request.Fields.Count, "fields");
        for (int i = 0; i < request.Fields.Count; i++)
            if (request.Fields[i].Length == 0) throw RequestValidation.Invalid($"fields[{i}] is empty");
        using CollectionHandle handle = catalog.Open(request.Collection);
        PayloadWriteResult result = await handle.Collection.DeletePayloadAsync([.. request.Ids], [.. request.Fields], context.CancellationToken)
            .ConfigureAwait(false);
        return ToProto(result);
    }

    public override async Task<PayloadWriteResponse> ClearPayload(ClearPayloadRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.PayloadWriteIds(request.Ids.Count, limits);
        using CollectionHandle handle = catalog.Open(request.Collection);
        PayloadWriteResult result = await handle.Collection.SetPayloadAsync([.. request.Ids], new Core.Payloads.Payload(),
            PayloadWriteMode.Replace, context.CancellationToken).ConfigureAwait(false);
        return ToProto(result);
    }

    public override async Task<CountResponse> Count(CountRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        SearchFilter? filter = ProtoMapping.ToFilter(request.Filter);
        using CollectionHandle handle = catalog.Open(request.Collection);
        long count = await handle.Collection.CountAsync(filter, ProtoMapping.ToReadOptions(request.MinSequences, allowPartial: false, context),
            context.CancellationToken).ConfigureAwait(false);
        return new CountResponse { Count = (ulong)count };
    }

    public override async Task<ScrollResponse> Scroll(ScrollRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        int limit = RequestValidation.ScrollLimit(request.Limit, limits);
        SearchFilter? filter = ProtoMapping.ToFilter(request.Filter);
        var parameters = new ScrollParameters(filter, request.HasAfterId ? request.AfterId : null, limit, limits.MaxMessageBytes,
            ProtoMapping.ToReadOptions(request.MinSequences, allowPartial: false, context))
        {
            Payload = PayloadMapping.ToSelection(request.WithPayload, PayloadSelection.All, "with_payload"),
            WithVector = request.WithVector,
        };
        using CollectionHandle handle = catalog.Open(request.Collection);
        return ProtoMapping.ToProto(await handle.Collection.ScrollAsync(parameters, context.CancellationToken).ConfigureAwait(false));
    }

    private static PayloadWriteResponse ToProto(PayloadWriteResult result)
    {
        var response = new PayloadWriteResponse { Updated = (uint)result.Updated, NotFound = (uint)result.NotFound, LogPosition = result.LogPosition };
        ProtoMapping.AddSequences(response.Sequences, result.Sequences);
        return response;
    }

    private static ulong ElapsedMicros(long start) => (ulong)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
}
