using AnnServer.Protocol.V1;
using AnnServer.Services;
using Grpc.Core;

namespace AnnServer.Benchmarks;

/// <summary>
/// Bytes the server allocates per search in Search, SearchBatch and SearchStream, its services called directly (no
/// socket: what gRPC and Kestrel allocate per call is theirs and not counted), the requests made beforehand as gRPC
/// would have parsed them. Measured with the GC's allocated-bytes counter over every thread (a stream's searches run on
/// pool threads), after a warm-up, in a server started in this process with nothing else to do. The "messages" line is
/// the floor: the response messages of the same searches, made alone (a SearchResponse and k Hit messages each), which
/// gRPC needs whatever the server does.
///
///   dotnet run -c Release --project bench/AnnServer.Benchmarks -- alloc [--points 5000] [--dimension 128] [--k 10]
/// </summary>
public static class ServingAllocations
{
    public static async Task<int> RunAsync(string[] args)
    {
        int points = InProcessServer.Option(args, "--points", 5000);
        int dimension = InProcessServer.Option(args, "--dimension", 128);
        int k = InProcessServer.Option(args, "--k", 10);
        const int Queries = 2000;
        const int BatchSize = 100;

        await using InProcessServer server = await InProcessServer.StartAsync("alloc");
        var collections = server.Service<CollectionGrpcService>();
        var vectors = server.Service<VectorGrpcService>();
        var streams = server.Service<SearchStreams>();
        var context = new DirectCallContext();
        await collections.CreateCollection(new CreateCollectionRequest { Name = "a", Dimension = (uint)dimension, Metric = Metric.L2 }, context);
        var random = new Random(42);
        float[] Vector()
        {
            var v = new float[dimension];
            for (int i = 0; i < dimension; i++) v[i] = (float)random.NextDouble();
            return v;
        }
        for (int first = 0; first < points; first += 1000)
        {
            var upsert = new UpsertRequest { Collection = "a" };
            for (int i = first; i < Math.Min(points, first + 1000); i++) upsert.Points.Add(new Point { Id = i, Vector = { Vector() } });
            await vectors.Upsert(upsert, context);
        }

        var searches = new SearchRequest[Queries];
        for (int i = 0; i < Queries; i++) searches[i] = new SearchRequest { Collection = "a", K = k, Ef = 64, Query = { Vector() } };
        var batches = new SearchBatchRequest[Queries / BatchSize];
        for (int b = 0; b < batches.Length; b++)
        {
            batches[b] = new SearchBatchRequest { Collection = "a", K = k, Ef = 64 };
            for (int i = 0; i < BatchSize; i++) batches[b].Queries.Add(new BatchQuery { Vector = { searches[b * BatchSize + i].Query } });
        }
        var streamed = searches.Select((s, i) => new SearchStreamRequest { Tag = (ulong)i, Search = s }).ToArray();

        Console.WriteLine($"{points} points of dimension {dimension}, k {k}, ef 64, {Queries} queries; bytes allocated per query:");
        await Report("messages (the floor)", Queries, () =>
        {
            for (int i = 0; i < Queries; i++)
            {
                var response = new SearchResponse();
                for (int h = 0; h < k; h++) response.Hits.Add(new Hit { Id = h, Distance = h });
                GC.KeepAlive(new SearchStreamResponse { Tag = (ulong)i, Result = response });
            }
            return Task.CompletedTask;
        });
        await Report("Search", Queries, async () =>
        {
            foreach (SearchRequest search in searches) await vectors.Search(search, context);
        });
        await Report($"SearchBatch of {BatchSize}", Queries, async () =>
        {
            foreach (SearchBatchRequest batch in batches) await vectors.SearchBatch(batch, context);
        });
        await Report("SearchStream", Queries, () =>
            streams.ServeAsync(vectors, new ArrayReader(streamed), new DroppingWriter(), context));
        return 0;
    }

    private static async Task Report(string what, int queries, Func<Task> run)
    {
        await run(); // warm-up: JIT, pools, the collection's caches
        await run();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await run();
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - before;
        Console.WriteLine($"  {what,-24} {bytes / (double)queries,8:F0}");
    }


    private sealed class ArrayReader(SearchStreamRequest[] requests) : IAsyncStreamReader<SearchStreamRequest>
    {
        private int _next = -1;
        public SearchStreamRequest Current => requests[_next];
        public Task<bool> MoveNext(CancellationToken cancellationToken) => Task.FromResult(++_next < requests.Length);
    }

    private sealed class DroppingWriter : IServerStreamWriter<SearchStreamResponse>
    {
        public WriteOptions? WriteOptions { get; set; }
        public Task WriteAsync(SearchStreamResponse message) => Task.CompletedTask;
        public Task WriteAsync(SearchStreamResponse message, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
