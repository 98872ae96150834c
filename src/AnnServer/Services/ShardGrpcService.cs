using System.Diagnostics;
using AnnServer.Cluster;
using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Settings;
using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Services;

/// <summary>
/// ann.internal.v1.ShardService: other nodes' routers reading this node's shard replicas. Validates each request at this edge
/// (against the collection's spec as this node's replicas hold it), then maps it onto <see cref="ILocalShards"/>, the
/// same reads this node's own router makes in process. A replica this node does not hold, or one still catching up, is
/// UNAVAILABLE (the router then tries another replica); a min_sequence not reached in time is DEADLINE_EXCEEDED; a
/// single server answers FAILED_PRECONDITION.
/// </summary>
public sealed partial class ShardGrpcService(ILocalShards shards, LimitOptions limits) : ShardService.ShardServiceBase
{
    public override async Task<SearchBatchResponse> SearchShard(ShardSearchRequest request, ServerCallContext context)
    {
        long start = Stopwatch.GetTimestamp();
        RequestValidation.BatchSize(request.Queries.Count, limits);
        ShardSearch search = ToShardSearch(request);
        HitMessages? data = search.WantsHitData ? new HitMessages(search.Queries.Count * request.K, !search.Payload.IsNone) : null;
        BatchSearchResult result = await shards.SearchAsync(search, data, Deadline(context), context.CancellationToken).ConfigureAwait(false);
        SearchBatchResponse response = ProtoMapping.ToProto(result, data);
        result.ReturnToPool();
        response.ServerTimeMicros = (ulong)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        return response;
    }

    /// <summary>A shard search as the request asks it, checked against the collection's spec as this node holds it. Without
    /// a spec this node holds no replica: the read says so (UNAVAILABLE).</summary>
    private ShardSearch ToShardSearch(ShardSearchRequest request)
    {
        RequestValidation.CollectionName(request.Collection);
        int ef = RequestValidation.SearchParameters(request.K, request.HasEf, request.Ef, limits);
        ClusterCollectionSpec? spec = shards.SpecOf(request.Collection);
        SearchQuery[] queries = ProtoMapping.ToQueries(request.Queries, request.Collection, spec?.Dimension);
        SearchParameters hitOptions = ProtoMapping.WithHitOptions(new SearchParameters(request.K, ef, ReadOptions.Default), request.WithPayload,
            request.WithVector, request.HasScoreThreshold, request.ScoreThreshold);
        return new ShardSearch(request.Collection, ShardNumber(request.Shard), queries, request.K, ef, request.MinSequence)
        {
            Payload = hitOptions.Payload,
            WithVector = hitOptions.WithVector,
            ScoreThreshold = hitOptions.ScoreThreshold,
            Quantization = ProtoMapping.ToQuantizedSearch(request.Quantization),
            Examples = Examples(request, spec),
        };
    }

    /// <summary>The points of <c>ids</c>, as VectorService.Get answers them, from this node's replica of the shard;
    /// every id must hash to the shard.</summary>
    public override async Task<GetResponse> GetShard(ShardGetRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.NotEmpty(request.Ids.Count, "ids");
        if (shards.SpecOf(request.Collection) is { } spec)
            RequestValidation.GetIds(request.Ids.Count, spec.Dimension, limits);
        var get = new ShardGet(request.Collection, ShardNumber(request.Shard), [.. request.Ids], request.MinSequence, limits.MaxMessageBytes)
        {
            Payload = PayloadMapping.ToSelection(request.WithPayload, PayloadSelection.All, "with_payload"),
            WithVector = !request.HasWithVector || request.WithVector,
        };
        PointsResult result = await shards.GetAsync(get, Deadline(context), context.CancellationToken).ConfigureAwait(false);
        return ProtoMapping.ToProto(result);
    }

    /// <summary>The live points of the shard passing the filter, counted on this node's replica.</summary>
    public override async Task<CountResponse> CountShard(ShardCountRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        var count = new ShardCount(request.Collection, ShardNumber(request.Shard), ProtoMapping.ToFilter(request.Filter), request.MinSequence);
        long found = await shards.CountAsync(count, Deadline(context), context.CancellationToken).ConfigureAwait(false);
        return new CountResponse { Count = (ulong)found };
    }

    /// <summary>One page of the shard's live points passing the filter, as VectorService.Scroll pages a single server.</summary>
    public override async Task<ScrollResponse> ScrollShard(ShardScrollRequest request, ServerCallContext context)
    {
        RequestValidation.CollectionName(request.Collection);
        int limit = RequestValidation.ScrollLimit(request.Limit, limits);
        var page = new ScrollParameters(ProtoMapping.ToFilter(request.Filter), request.HasAfterId ? request.AfterId : null, limit,
            limits.MaxMessageBytes, ReadOptions.Default)
        {
            Payload = PayloadMapping.ToSelection(request.WithPayload, PayloadSelection.All, "with_payload"),
            WithVector = request.WithVector,
        };
        var scroll = new ShardScroll(request.Collection, ShardNumber(request.Shard), page, request.MinSequence);
        return ProtoMapping.ToProto(await shards.ScrollAsync(scroll, Deadline(context), context.CancellationToken).ConfigureAwait(false));
    }

    /// <summary>A shard number beyond int's range names no replica; it is clamped so the lookup fails as "not here".</summary>
    private static int ShardNumber(uint shard) => shard > int.MaxValue ? int.MaxValue : (int)shard;

    private static DateTime? Deadline(ServerCallContext context) => context.Deadline == DateTime.MaxValue ? null : context.Deadline;
}
