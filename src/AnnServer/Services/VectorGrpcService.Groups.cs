using System.Diagnostics;
using AnnServer.Collections;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Services;

// Search with group_by: the same validation as a search, then the collection's grouped search.
public sealed partial class VectorGrpcService
{
    private async Task<SearchResponse> SearchGroupsAsync(SearchRequest request, int ef, long start, ServerCallContext context)
    {
        var groupBy = GroupMapping.ToGroupBy(request.GroupBy);
        using CollectionHandle handle = catalog.Open(request.Collection);
        IVectorCollection collection = handle.Collection;
        ReadOnlyMemory<float> query = PackedFloats.AsMemory(request.Query);
        RequestValidation.Vector(query.Span, collection, "query");
        SearchParameters parameters = ProtoMapping.ToSearchParameters(request, ef, context);
        HitMessages? data = parameters.WantsHitData ? new HitMessages(groupBy.Hits, !parameters.Payload.IsNone) : null;
        GroupedSearchResult result = await collection.SearchGroupsAsync(new SearchQuery(query, ProtoMapping.ToFilter(request.Filter)), groupBy,
            parameters, data, context.CancellationToken).ConfigureAwait(false);
        var response = new SearchResponse();
        GroupMapping.AddGroups(response.Groups, result.Groups, data);
        ProtoMapping.AddShards(response.MissingShards, result.MissingShards);
        response.ServerTimeMicros = (ulong)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        return response;
    }
}
