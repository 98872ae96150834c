using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.StubServer;

/// <summary>Search answers the fixed hits; SearchBatch answers them for each query; SearchStream answers them for each
/// message (for each of its searches), with its tag; Upsert counts the points as inserted. Nothing is searched or stored; a Search and a stream
/// message first do a search's CPU in stand-in work when the stub was started with --work-micros (<see cref="StubWork"/>).</summary>
public sealed class StubVectorService(StubCollection collection, StubWork work) : VectorService.VectorServiceBase
{
    public override Task<SearchResponse> Search(SearchRequest request, ServerCallContext context)
    {
        work.Run(request.Query);
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

    /// <summary>Each message answered in turn as it is read: the least a stream can cost, one read and one write per
    /// message, with nothing running beside the stream's own loop.</summary>
    public override async Task SearchStream(IAsyncStreamReader<SearchStreamRequest> requestStream,
        IServerStreamWriter<SearchStreamResponse> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            SearchStreamRequest request = requestStream.Current;
            var answer = new SearchStreamResponse { Tag = request.Tag };
            if (request.Searches.Count == 0)
                answer.Result = Answer(request.Search);
            for (int i = 0; i < request.Searches.Count; i++)
                answer.Results.Add(new SearchStreamResult { Result = Answer(request.Searches[i]) });
            await responseStream.WriteAsync(answer);
        }
    }

    private SearchResponse Answer(SearchRequest? search)
    {
        if (search is not null) work.Run(search.Query);
        var result = new SearchResponse();
        result.Hits.AddRange(collection.Hits);
        return result;
    }

    public override Task<UpsertResponse> Upsert(UpsertRequest request, ServerCallContext context) =>
        Task.FromResult(new UpsertResponse { Inserted = (uint)request.Points.Count });
}
