using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.StubServer;

/// <summary>Search answers the fixed hits; SearchBatch answers them for each query; Upsert counts the points as
/// inserted. Nothing is searched or stored.</summary>
public sealed class StubVectorService(StubCollection collection) : VectorService.VectorServiceBase
{
    public override Task<SearchResponse> Search(SearchRequest request, ServerCallContext context)
    {
        var response = new SearchResponse();
        response.Hits.AddRange(collection.Hits);
        return Task.FromResult(response);
    }

    public override Task<SearchBatchResponse> SearchBatch(SearchBatchRequest request, ServerCallContext context)
    {
        var response = new SearchBatchResponse();
        for (int i = 0; i < request.Queries.Count; i++)
        {
            var result = new BatchResult();
            result.Hits.AddRange(collection.Hits);
            response.Results.Add(result);
        }
        return Task.FromResult(response);
    }

    public override Task<UpsertResponse> Upsert(UpsertRequest request, ServerCallContext context) =>
        Task.FromResult(new UpsertResponse { Inserted = (uint)request.Points.Count });
}
