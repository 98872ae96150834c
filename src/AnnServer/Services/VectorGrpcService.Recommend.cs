using System.Buffers;
using System.Diagnostics;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;
using Grpc.Core;
using RecommendStrategy = AnnServer.Collections.RecommendStrategy;
using ProtoStrategy = AnnServer.Protocol.V1.RecommendStrategy;

namespace AnnServer.Services;

// Recommend: examples validated at the edge (count, vectors), then the collection's recommendation, grouped or not.
public sealed partial class VectorGrpcService
{
    public override async Task<RecommendResponse> Recommend(RecommendRequest request, ServerCallContext context)
    {
        long start = Stopwatch.GetTimestamp();
        RequestValidation.CollectionName(request.Collection);
        int ef = RequestValidation.SearchParameters(request.K, request.HasEf, request.Ef, limits);
        var strategy = request.Strategy switch
        {
            ProtoStrategy.AverageVector => RecommendStrategy.AverageVector,
            ProtoStrategy.BestScore => RecommendStrategy.BestScore,
            _ => throw RequestValidation.Invalid($"strategy {(int)request.Strategy} is not a RecommendStrategy"),
        };
        int examples = request.PositiveIds.Count + request.PositiveVectors.Count + request.NegativeIds.Count + request.NegativeVectors.Count;
        if (request.PositiveIds.Count + request.PositiveVectors.Count == 0)
            throw RequestValidation.Invalid("positive_ids and positive_vectors are both empty: a recommendation needs at least one positive example");
        if (examples > RecommendQuery.MaxExamples)
            throw RequestValidation.Invalid(
                $"{examples} examples (positive_ids, positive_vectors, negative_ids, negative_vectors together), more than the limit of {RecommendQuery.MaxExamples}");
        var groupBy = request.GroupBy is null ? null : GroupMapping.ToGroupBy(request.GroupBy);

        using CollectionHandle handle = catalog.Open(request.Collection);
        IVectorCollection collection = handle.Collection;
        var query = new RecommendQuery(request.PositiveIds, Vectors(request.PositiveVectors, collection, "positive_vectors"),
            request.NegativeIds, Vectors(request.NegativeVectors, collection, "negative_vectors"), strategy,
            ProtoMapping.ToFilter(request.Filter));
        SearchParameters parameters = ProtoMapping.ToSearchParameters(request, ef, context);

        var response = new RecommendResponse();
        if (groupBy is not null)
        {
            HitMessages? data = parameters.WantsHitData ? new HitMessages(groupBy.Hits, !parameters.Payload.IsNone) : null;
            GroupedSearchResult result = await collection.RecommendGroupsAsync(query, groupBy, parameters, data, context.CancellationToken)
                .ConfigureAwait(false);
            GroupMapping.AddGroups(response.Groups, result.Groups, data);
            response.MissingIds.AddRange(result.MissingIds);
            ProtoMapping.AddShards(response.MissingShards, result.MissingShards);
        }
        else
        {
            HitMessages? data = parameters.WantsHitData ? new HitMessages(request.K, !parameters.Payload.IsNone) : null;
            SearchHit[] hits = ArrayPool<SearchHit>.Shared.Rent(request.K);
            try
            {
                RecommendOutcome outcome = await collection.RecommendAsync(query, parameters, hits.AsMemory(0, request.K), data,
                    context.CancellationToken).ConfigureAwait(false);
                ProtoMapping.AddHits(response.Hits, hits.AsSpan(0, outcome.Found), data);
                response.MissingIds.AddRange(outcome.MissingIds);
                ProtoMapping.AddShards(response.MissingShards, outcome.MissingShards);
            }
            finally
            {
                ArrayPool<SearchHit>.Shared.Return(hits);
            }
        }
        response.ServerTimeMicros = (ulong)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        return response;
    }

    /// <summary>Inline example vectors, each validated against the collection and read in place from the message.</summary>
    private static ReadOnlyMemory<float>[] Vectors(RepeatedField<ExampleVector> vectors, IVectorCollection collection, string field)
    {
        var result = new ReadOnlyMemory<float>[vectors.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = PackedFloats.AsMemory(vectors[i].Values);
            RequestValidation.Vector(result[i].Span, collection, field, i);
        }
        return result;
    }
}
