using System.Buffers;
using System.Runtime.CompilerServices;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Settings;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace AnnServer.Limits;

/// <summary>
/// The limits that protect the server as a whole, checked after a request is parsed and before the service copies or
/// allocates anything for it; a refusal is RESOURCE_EXHAUSTED with the limit in the message, and changes nothing.
/// <list type="bullet">
/// <item>Search, SearchBatch: a slot of <see cref="SearchAdmission"/> (--max-concurrent-searches, --max-queued-searches).</item>
/// <item>CreateCollection: --max-collections, and an empty collection's bytes against the <see cref="MemoryBudget"/>.</item>
/// <item>Upsert: --max-points-per-collection (the whole batch, counting only ids not in the collection yet), and the
/// batch's estimated bytes (<see cref="MemoryEstimate"/>) against the memory budget.</item>
/// </list>
/// A request that names no valid, loaded collection passes through, so the service answers it with its usual error.
/// Creates are checked one at a time, and so are upserts to one collection when a points limit is set (they are
/// applied one at a time anyway), so that two concurrent requests cannot together pass a limit that each fits alone.
/// </summary>
public sealed class ResourceLimitInterceptor(
    LimitOptions options,
    CollectionRegistry registry,
    SearchAdmission searches,
    MemoryBudget memory) : Interceptor
{
    private readonly SemaphoreSlim _createLock = new(1, 1);
    private readonly ConditionalWeakTable<Collection, WriteAdmission> _writes = new();

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation) => request switch
    {
        SearchRequest or SearchBatchRequest => AdmitSearch(request, context, continuation),
        UpsertRequest upsert => AdmitUpsertAsync(upsert, request, context, continuation),
        CreateCollectionRequest create => AdmitCreateAsync(create, request, context, continuation),
        _ => continuation(request, context),
    };

    // ---- searches ---------------------------------------------------------------------------------------------

    /// <summary>Not async when a slot is free and the search completes synchronously (it does): no allocation added to
    /// the hot path.</summary>
    private Task<TResponse> AdmitSearch<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        ValueTask<bool> entering = searches.TryEnterAsync(context.CancellationToken);
        if (!entering.IsCompletedSuccessfully)
            return AdmitSearchAfterQueueAsync(entering, request, context, continuation);
        if (!entering.Result)
            throw Busy();
        return RunSearch(request, context, continuation);
    }

    private async Task<TResponse> AdmitSearchAfterQueueAsync<TRequest, TResponse>(ValueTask<bool> entering,
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        if (!await entering.ConfigureAwait(false))
            throw Busy();
        return await RunSearch(request, context, continuation).ConfigureAwait(false);
    }

    private Task<TResponse> RunSearch<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        Task<TResponse> search;
        try
        {
            search = continuation(request, context);
        }
        catch
        {
            searches.Exit();
            throw;
        }
        if (search.IsCompleted)
        {
            searches.Exit();
            return search;
        }
        return ExitWhenDoneAsync(search);
    }

    private async Task<TResponse> ExitWhenDoneAsync<TResponse>(Task<TResponse> search)
    {
        try
        {
            return await search.ConfigureAwait(false);
        }
        finally
        {
            searches.Exit();
        }
    }

    private RpcException Busy() => Exhausted(
        $"the server is busy: {searches.MaxRunning} searches are running and {searches.MaxQueued} are waiting, its limits " +
        "(--max-concurrent-searches, --max-queued-searches); retry after a short backoff");

    // ---- creates ----------------------------------------------------------------------------------------------

    private async Task<TResponse> AdmitCreateAsync<TRequest, TResponse>(CreateCollectionRequest create,
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        if (!registry.IsLoaded)
            return await continuation(request, context).ConfigureAwait(false);
        await _createLock.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        try
        {
            int count = registry.Collections.Count;
            if (count >= options.MaxCollections)
                throw Exhausted($"the server has {count} collections, its limit (--max-collections {options.MaxCollections}); drop one first");
            // An empty index holds no chunks; its first point allocates one of each store: there must be room for them.
            // Parameters out of range are left to the service, which names them.
            int m = create.M == 0 ? 16 : (int)Math.Min(create.M, 128u);
            if (create.Dimension is 0 or > 65536)
                return await continuation(request, context).ConfigureAwait(false);
            long bytes = MemoryEstimate.UpsertBytes((int)create.Dimension, m,
                create.Quantization switch { Quantization.Int8 => VectorQuantization.Int8, Quantization.Int4 => VectorQuantization.Int4, _ => VectorQuantization.None },
                0, 1);
            // Checked, not kept: the new collection holds nothing the next measurement would see until its first upsert,
            // which reserves these chunks again.
            return await WithinMemoryBudgetAsync(bytes, "new collection (its first storage chunks)", keepUntilMeasured: false,
                request, context, continuation).ConfigureAwait(false);
        }
        finally
        {
            _createLock.Release();
        }
    }

    // ---- upserts ----------------------------------------------------------------------------------------------

    private async Task<TResponse> AdmitUpsertAsync<TRequest, TResponse>(UpsertRequest upsert,
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        if (upsert.Points.Count == 0 || !CollectionName.IsValid(upsert.Collection) || !registry.IsLoaded)
            return await continuation(request, context).ConfigureAwait(false);
        // A cluster collection (or an unknown one) has no local object: the service answers it.
        if (registry.TryAcquire(upsert.Collection) is not { } lease)
            return await continuation(request, context).ConfigureAwait(false);

        using (lease)
        {
            Collection collection = lease.Collection;
            WriteAdmission admission = _writes.GetValue(collection, static c => new WriteAdmission(c.Status()));
            bool limitPoints = options.MaxPointsPerCollection > 0;
            if (limitPoints)
                await admission.Lock.WaitAsync(context.CancellationToken).ConfigureAwait(false);
            try
            {
                if (limitPoints)
                    CheckPointLimit(upsert, collection);
                long bytes = EstimateBytes(upsert, collection, admission);
                return await WithinMemoryBudgetAsync(bytes, $"upsert of {upsert.Points.Count} points", keepUntilMeasured: true,
                    request, context, continuation).ConfigureAwait(false);
            }
            finally
            {
                if (limitPoints) admission.Lock.Release();
            }
        }
    }

    private void CheckPointLimit(UpsertRequest upsert, Collection collection)
    {
        long max = options.MaxPointsPerCollection;
        long count = collection.Count;
        if (count + upsert.Points.Count <= max)
            return;
        // Near the limit: replacements do not add points, so count the ids that are new.
        long added = CountNewIds(upsert, collection);
        if (count + added > max)
            throw Exhausted($"collection '{collection.Name}' has {count} points and this upsert would add {added}: at most {max} " +
                            "points are allowed in a collection (the server's --max-points-per-collection); nothing was written");
    }

    private static long CountNewIds(UpsertRequest upsert, Collection collection)
    {
        var seen = new HashSet<long>(upsert.Points.Count);
        float[] buffer = ArrayPool<float>.Shared.Rent(collection.Dimension);
        try
        {
            long added = 0;
            foreach (Point point in upsert.Points)
                if (seen.Add(point.Id) && !collection.TryGet(point.Id, buffer.AsSpan(0, collection.Dimension), out _))
                    added++;
            return added;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    private static long EstimateBytes(UpsertRequest upsert, Collection collection, WriteAdmission shape)
    {
        long bytes = MemoryEstimate.UpsertBytes(collection.Dimension, shape.M, shape.Quantization, collection.NodeCount, upsert.Points.Count);
        foreach (Point point in upsert.Points)
        {
            bytes += MemoryEstimate.LabelBytes(point.Labels.Count);
            // Columns hold a payload in about its message's bytes or fewer (numbers in 8 bytes, keywords as 4-byte codes).
            if (point.Payload.Count > 0) bytes += Services.PayloadMapping.MessageBytes(point.Payload);
        }
        return bytes;
    }

    // ---- memory -----------------------------------------------------------------------------------------------

    private async Task<TResponse> WithinMemoryBudgetAsync<TRequest, TResponse>(long bytes, string what, bool keepUntilMeasured,
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        where TRequest : class where TResponse : class
    {
        if (!memory.TryReserve(bytes, out long used))
            throw Exhausted($"the server's memory budget is {memory.BudgetBytes} bytes (--memory-budget-bytes) and its collections " +
                            $"hold about {used}; this {what} needs about {bytes} more; nothing was written");
        bool applied = false;
        try
        {
            TResponse response = await continuation(request, context).ConfigureAwait(false);
            applied = true;
            return response;
        }
        finally
        {
            memory.Release(bytes, applied && keepUntilMeasured);
        }
    }

    private static RpcException Exhausted(string message) => new(new Status(StatusCode.ResourceExhausted, message));

    /// <summary>Per collection: its M and quantization (for estimates; read once, as Status walks the index) and the
    /// lock that makes the points check and the write one step.</summary>
    private sealed class WriteAdmission(CollectionStatus status)
    {
        public int M { get; } = status.M;
        public VectorQuantization Quantization { get; } = status.Quantization;
        public SemaphoreSlim Lock { get; } = new(1, 1);
    }
}
