using System.Globalization;
using System.Text.RegularExpressions;
using AnnServer.Limits;
using AnnServer.Protocol.V1;
using AnnServer.Services;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace AnnServer.Tests;

/// <summary>SearchStream on a real server: one server for the class, with collection "s" (2,000 points of dimension 16),
/// two search slots, --max-stream-in-flight 3 (below the 4 per core of --max-stream-messages) and a small
/// --max-message-bytes (a stream is many messages, each held to it, never the stream as a whole). Tests that need
/// searches to stay in flight hold the server's search slots.</summary>
public sealed class SearchStreamTests : IAsyncLifetime
{
    private const int Dimension = 16;
    private const int Points = 2000;
    private const int Window = 3;
    private const int Slots = 2;
    private const string Name = "s";

    private RunningServer _server = null!;
    private float[] _vectors = null!;

    private SearchAdmission Admission => _server.Services.GetRequiredService<SearchAdmission>();
    private SearchStreams Streams => _server.Services.GetRequiredService<SearchStreams>();

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync(args:
            ["--max-stream-in-flight", $"{Window}", "--max-concurrent-searches", $"{Slots}", "--max-message-bytes", "8192", "--max-k", "50"]);
        await _server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = Name, Dimension = Dimension, Metric = Metric.L2 });
        _vectors = TestData.RandomVectors(Points, Dimension, seed: 3);
        for (int first = 0; first < Points; first += 100)
        {
            var upsert = new UpsertRequest { Collection = Name };
            for (int i = first; i < first + 100; i++)
                upsert.Points.Add(TestData.Point(i, TestData.Row(_vectors, Dimension, i)));
            await _server.Vectors.UpsertAsync(upsert);
        }
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private SearchRequest Query(int i, int k = 10) => TestData.Search(Name, TestData.Row(_vectors, Dimension, (i * 37) % Points), k, ef: 50);

    /// <summary>Sends the requests, closes the request side, and reads every answer.</summary>
    private async Task<List<SearchStreamResponse>> StreamAsync(IEnumerable<SearchStreamRequest> requests)
    {
        using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call = _server.Vectors.SearchStream();
        Task<List<SearchStreamResponse>> reading = ReadAllAsync(call);
        foreach (SearchStreamRequest request in requests)
            await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        return await reading;
    }

    private static async Task<List<SearchStreamResponse>> ReadAllAsync(AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call)
    {
        var answers = new List<SearchStreamResponse>();
        await foreach (SearchStreamResponse answer in call.ResponseStream.ReadAllAsync())
            answers.Add(answer);
        return answers;
    }

    /// <summary>Takes every search slot of the server, so that stream searches wait in flight until released.</summary>
    private async Task<IAsyncDisposable> HoldSearchSlotsAsync()
    {
        for (int i = 0; i < Slots; i++)
            Assert.True(await Admission.TryEnterAsync(CancellationToken.None));
        return new SlotRelease(Admission);
    }

    private sealed class SlotRelease(SearchAdmission admission) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            for (int i = 0; i < Slots; i++) admission.Exit();
            return ValueTask.CompletedTask;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within 10 s: {what}");
            await Task.Delay(5);
        }
    }

    /// <summary>The calls counted under SearchStream with this status (each search of a stream, or a message that ended it).</summary>
    private async Task<double> StreamCallsAsync(string status)
    {
        System.Text.RegularExpressions.Match count = Regex.Match(await _server.GetMetricsTextAsync(),
            $"annserver_grpc_requests_total\\{{method=\"/ann.v1.VectorService/SearchStream\",status=\"{status}\"\\}} (\\S+)");
        return count.Success ? double.Parse(count.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [Fact]
    public async Task AStreamBeyondMaxSearchStreamsIsRefusedNamingTheLimitAndTheOpenOneGoesOn()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--max-search-streams", "1"]);
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = Name, Dimension = Dimension, Metric = Metric.L2 });
        var search = new SearchStreamRequest { Tag = 1, Search = TestData.Search(Name, new float[Dimension], k: 5) };
        using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> open = server.Vectors.SearchStream();
        await open.RequestStream.WriteAsync(search);
        Assert.True(await open.ResponseStream.MoveNext()); // answered: the server holds the stream

        using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> refused = server.Vectors.SearchStream();
        var error = await Assert.ThrowsAsync<RpcException>(async () => await refused.ResponseStream.MoveNext());

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("--max-search-streams", error.Status.Detail);
        await open.RequestStream.WriteAsync(new SearchStreamRequest { Tag = 2, Search = search.Search });
        Assert.True(await open.ResponseStream.MoveNext());
        Assert.Equal(2UL, open.ResponseStream.Current.Tag);
        await open.RequestStream.CompleteAsync();
        Assert.False(await open.ResponseStream.MoveNext());
        // The server counts the stream closed once its handler returns, which may be just after the caller sees the end.
        SearchStreams streams = server.Services.GetRequiredService<SearchStreams>();
        for (int wait = 0; wait < 250 && streams.Open != 0; wait++) await Task.Delay(20);
        Assert.Equal(0, streams.Open);
    }

    [Fact]
    public async Task ADefaultServerAnswersAMessageOf32Searches()
    {
        await using RunningServer server = await RunningServer.StartAsync();
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = Name, Dimension = Dimension, Metric = Metric.L2 });
        var upsert = new UpsertRequest { Collection = Name };
        for (int i = 0; i < 200; i++)
            upsert.Points.Add(TestData.Point(i, TestData.Row(_vectors, Dimension, i)));
        await server.Vectors.UpsertAsync(upsert);
        var message = new SearchStreamRequest { Tag = 5 };
        message.Searches.Add(Enumerable.Range(0, 32).Select(i => TestData.Search(Name, TestData.Row(_vectors, Dimension, i), k: 3)));

        using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call = server.Vectors.SearchStream();
        await call.RequestStream.WriteAsync(message);
        await call.RequestStream.CompleteAsync();
        SearchStreamResponse answer = Assert.Single(await ReadAllAsync(call));

        Assert.Equal(5UL, answer.Tag);
        Assert.Equal(SearchStreamResponse.OutcomeOneofCase.None, answer.OutcomeCase);
        Assert.Equal(32, answer.Results.Count);
        for (int i = 0; i < 32; i++)
            Assert.Equal((await server.Vectors.SearchAsync(message.Searches[i])).Hits, answer.Results[i].Result.Hits);
    }

    [Fact]
    public async Task PastItsMessagesInFlightTheServerStopsReadingUntilAnAnswerIsSent()
    {
        const int messages = 2;
        await using RunningServer server = await RunningServer.StartAsync(args:
            ["--max-stream-messages", $"{messages}", "--max-concurrent-searches", $"{Slots}"]);
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = Name, Dimension = Dimension, Metric = Metric.L2 });
        SearchAdmission admission = server.Services.GetRequiredService<SearchAdmission>();
        SearchRequest Query3(int i) => TestData.Search(Name, TestData.Row(_vectors, Dimension, i), k: 3);

        using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call = server.Vectors.SearchStream();
        for (int i = 0; i < Slots; i++)
            Assert.True(await admission.TryEnterAsync(CancellationToken.None));
        for (int i = 0; i < 6; i++)
            await call.RequestStream.WriteAsync(new SearchStreamRequest { Tag = (ulong)i, Search = Query3(i) });
        await WaitUntilAsync(() => admission.Queued == messages, "the messages in flight wait for a slot");
        await Task.Delay(300);
        Assert.Equal(messages, admission.Queued); // the window of searches (1,024 by default) has room: the messages bound it
        for (int i = 0; i < Slots; i++)
            admission.Exit();

        await call.RequestStream.CompleteAsync();
        List<SearchStreamResponse> answers = await ReadAllAsync(call);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => (ulong)i), answers.Select(a => a.Tag).Order());
    }

    [Fact]
    public async Task EachAnswerCarriesItsTagAndEqualsTheUnarySearch()
    {
        const int count = 60;
        List<SearchStreamResponse> answers = await StreamAsync(
            Enumerable.Range(0, count).Select(i => new SearchStreamRequest { Tag = 1_000_000_000_000UL + (ulong)i, Search = Query(i) }));

        Assert.Equal(count, answers.Count);
        Assert.Equal(Enumerable.Range(0, count).Select(i => 1_000_000_000_000UL + (ulong)i), answers.Select(a => a.Tag).Order());
        foreach (SearchStreamResponse answer in answers)
        {
            Assert.Equal(SearchStreamResponse.OutcomeOneofCase.Result, answer.OutcomeCase);
            SearchResponse unary = await _server.Vectors.SearchAsync(Query((int)(answer.Tag - 1_000_000_000_000UL)));
            Assert.Equal(unary.Hits.Select(h => (h.Id, h.Distance)), answer.Result.Hits.Select(h => (h.Id, h.Distance)));
        }
    }

    [Fact]
    public async Task AFailedSearchIsAnsweredWithTheUnaryCallsErrorAndTheStreamGoesOn()
    {
        SearchRequest wrongDimension = TestData.Search(Name, [1, 2, 3], k: 5);
        SearchRequest kTooLarge = Query(0, k: 51);
        SearchRequest unknownCollection = TestData.Search("absent", TestData.Row(_vectors, Dimension, 0), k: 5);
        List<SearchStreamResponse> answers = await StreamAsync(
        [
            new SearchStreamRequest { Tag = 1, Search = Query(1) },
            new SearchStreamRequest { Tag = 2, Search = wrongDimension },
            new SearchStreamRequest { Tag = 3, Search = kTooLarge },
            new SearchStreamRequest { Tag = 4, Search = unknownCollection },
            new SearchStreamRequest { Tag = 5 },
            new SearchStreamRequest { Tag = 6, Search = Query(6) },
        ]);

        Dictionary<ulong, SearchStreamResponse> byTag = answers.ToDictionary(a => a.Tag);
        Assert.Equal(6, byTag.Count);
        Assert.Equal(10, byTag[1].Result.Hits.Count);
        Assert.Equal(10, byTag[6].Result.Hits.Count);
        foreach ((ulong tag, SearchRequest request) in new[] { (2ul, wrongDimension), (3ul, kTooLarge), (4ul, unknownCollection) })
        {
            RpcException unary = await Assert.ThrowsAsync<RpcException>(async () => await _server.Vectors.SearchAsync(request));
            Assert.Equal(SearchStreamResponse.OutcomeOneofCase.Error, byTag[tag].OutcomeCase);
            Assert.Equal((int)unary.StatusCode, byTag[tag].Error.Code);
            Assert.Equal(unary.Status.Detail, byTag[tag].Error.Message);
        }
        Assert.Equal((int)StatusCode.InvalidArgument, byTag[2].Error.Code);
        Assert.Contains("dimension 16", byTag[2].Error.Message);
        Assert.Contains("--max-k", byTag[3].Error.Message);
        Assert.Equal((int)StatusCode.NotFound, byTag[4].Error.Code);
        Assert.Equal((int)StatusCode.InvalidArgument, byTag[5].Error.Code);
        Assert.Contains("search is missing", byTag[5].Error.Message);
    }

    [Fact]
    public async Task AMessageOfSeveralSearchesIsAnsweredOnceWithEachAnswerInItsOrder()
    {
        SearchRequest wrongDimension = TestData.Search(Name, [1, 2, 3], k: 5);
        var several = new SearchStreamRequest { Tag = 7 };
        several.Searches.Add([Query(1), wrongDimension, Query(2, k: 3)]); // Window (3) searches: the most one message may hold
        List<SearchStreamResponse> answers = await StreamAsync(
            [several, new SearchStreamRequest { Tag = 8, Search = Query(3) }, new SearchStreamRequest { Tag = 9, Searches = { Query(4) } }]);

        Dictionary<ulong, SearchStreamResponse> byTag = answers.ToDictionary(a => a.Tag);
        Assert.Equal(3, byTag.Count);
        Assert.Equal(SearchStreamResponse.OutcomeOneofCase.None, byTag[7].OutcomeCase);
        Assert.Equal(3, byTag[7].Results.Count);
        Assert.Equal((await _server.Vectors.SearchAsync(Query(1))).Hits, byTag[7].Results[0].Result.Hits);
        RpcException unary = await Assert.ThrowsAsync<RpcException>(async () => await _server.Vectors.SearchAsync(wrongDimension));
        Assert.Equal((int)unary.StatusCode, byTag[7].Results[1].Error.Code);
        Assert.Equal(unary.Status.Detail, byTag[7].Results[1].Error.Message);
        Assert.Equal((await _server.Vectors.SearchAsync(Query(2, k: 3))).Hits, byTag[7].Results[2].Result.Hits);
        Assert.Equal((await _server.Vectors.SearchAsync(Query(3))).Hits, byTag[8].Result.Hits);
        Assert.Empty(byTag[8].Results);
        Assert.Equal((await _server.Vectors.SearchAsync(Query(4))).Hits, Assert.Single(byTag[9].Results).Result.Hits);
    }

    [Fact]
    public async Task AMessageOfMoreSearchesThanTheWindowRunsNoneNamingTheLimitAndTheStreamGoesOn()
    {
        var tooMany = new SearchStreamRequest { Tag = 1 };
        tooMany.Searches.Add(Enumerable.Range(0, Window + 1).Select(i => Query(i)));
        var both = new SearchStreamRequest { Tag = 2, Search = Query(0), Searches = { Query(1), Query(2) } };
        double counted = await StreamCallsAsync("InvalidArgument");
        List<SearchStreamResponse> answers = await StreamAsync([tooMany, both, new SearchStreamRequest { Tag = 3, Search = Query(3) }]);

        Dictionary<ulong, SearchStreamResponse> byTag = answers.ToDictionary(a => a.Tag);
        Assert.Equal(3, byTag.Count);
        Assert.Equal((int)StatusCode.InvalidArgument, byTag[1].Error.Code);
        Assert.Contains($"searches has {Window + 1} entries, at most {Window}", byTag[1].Error.Message);
        Assert.Contains("--max-stream-in-flight", byTag[1].Error.Message);
        Assert.Empty(byTag[1].Results);
        Assert.Equal((int)StatusCode.InvalidArgument, byTag[2].Error.Code);
        Assert.Contains("search and searches are both set", byTag[2].Error.Message);
        Assert.Equal(10, byTag[3].Result.Hits.Count);
        Assert.Equal(counted + 2, await StreamCallsAsync("InvalidArgument"));
    }

    [Fact]
    public async Task AMessageWhoseSearchesWouldHoldMoreThanASearchBatchMayRunsNoneNamingTheLimitAndTheStreamGoesOn()
    {
        // 3 searches of dimension 16 with k = 50: 3 x (64 + 50 x 64) = 9,792 bytes held, over --max-message-bytes (8,192);
        // the same searches with k = 10 hold 2,112.
        var heavy = new SearchStreamRequest { Tag = 1 };
        heavy.Searches.Add(Enumerable.Range(0, Window).Select(i => Query(i, k: 50)));
        var light = new SearchStreamRequest { Tag = 2 };
        light.Searches.Add(Enumerable.Range(0, Window).Select(i => Query(i)));
        double counted = await StreamCallsAsync("ResourceExhausted");
        List<SearchStreamResponse> answers = await StreamAsync([heavy, light]);

        Dictionary<ulong, SearchStreamResponse> byTag = answers.ToDictionary(a => a.Tag);
        Assert.Equal((int)StatusCode.ResourceExhausted, byTag[1].Error.Code);
        Assert.Contains("would hold about 9792 bytes", byTag[1].Error.Message);
        Assert.Contains("--max-message-bytes (8192)", byTag[1].Error.Message);
        Assert.Empty(byTag[1].Results);
        Assert.Equal(Window, byTag[2].Results.Count);
        Assert.Equal((await _server.Vectors.SearchAsync(Query(0))).Hits, byTag[2].Results[0].Result.Hits);
        Assert.Equal(counted + 1, await StreamCallsAsync("ResourceExhausted"));
    }

    [Fact]
    public async Task AStreamMayCarryMoreBytesThanOneMessageMay()
    {
        // 400 requests of about 90 bytes: over four times --max-message-bytes (8,192) in all.
        List<SearchStreamResponse> answers = await StreamAsync(
            Enumerable.Range(0, 400).Select(i => new SearchStreamRequest { Tag = (ulong)i, Search = Query(i, k: 1) }));
        Assert.Equal(400, answers.Count);
        Assert.All(answers, a => Assert.Single(a.Result.Hits));
    }

    [Fact]
    public async Task PastTheWindowTheServerStopsReadingUntilAnAnswerIsSent()
    {
        using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call = _server.Vectors.SearchStream();
        List<SearchStreamResponse> answers;
        await using (await HoldSearchSlotsAsync())
        {
            for (int i = 0; i < 10; i++)
                await call.RequestStream.WriteAsync(new SearchStreamRequest { Tag = (ulong)i, Search = Query(i) });
            await WaitUntilAsync(() => Admission.Queued == Window, "the window's searches wait for a slot");
            await Task.Delay(300);
            Assert.Equal(Window, Admission.Queued);
        }
        await call.RequestStream.CompleteAsync();
        answers = await ReadAllAsync(call);
        Assert.Equal(10, answers.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (ulong)i), answers.Select(a => a.Tag).Order());
    }

    [Fact]
    public async Task CancellingTheCallStopsItsSearchesInFlight()
    {
        await using (await HoldSearchSlotsAsync())
        {
            var cancel = new CancellationTokenSource();
            using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call = _server.Vectors.SearchStream(cancellationToken: cancel.Token);
            for (int i = 0; i < Window; i++)
                await call.RequestStream.WriteAsync(new SearchStreamRequest { Tag = (ulong)i, Search = Query(i) });
            await WaitUntilAsync(() => Admission.Queued == Window && Streams.Open == 1, "the searches wait for a slot");

            await cancel.CancelAsync();

            await WaitUntilAsync(() => Admission.Queued == 0 && Streams.Open == 0, "the cancelled searches leave the queue and the stream closes");
            Assert.Equal(Slots, Admission.Running); // only the test's own
        }
        Assert.Equal(0, Admission.Running);
    }

    [Fact]
    public async Task TheDeadlineEndsTheStream()
    {
        await using (await HoldSearchSlotsAsync())
        {
            using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call =
                _server.Vectors.SearchStream(deadline: DateTime.UtcNow.AddMilliseconds(300));
            await call.RequestStream.WriteAsync(new SearchStreamRequest { Tag = 1, Search = Query(1) });
            RpcException e = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(call));
            Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
            await WaitUntilAsync(() => Admission.Queued == 0 && Streams.Open == 0, "the stream closes");
        }
    }

    [Fact]
    public async Task EachSearchIsCountedAndOpenStreamsAreShown()
    {
        await StreamAsync(Enumerable.Range(0, 5).Select(i => new SearchStreamRequest { Tag = (ulong)i, Search = Query(i) }));
        await StreamAsync([new SearchStreamRequest { Tag = 9, Search = Query(0, k: 51) }]);

        string metrics = await _server.GetMetricsTextAsync();
        Assert.Matches("annserver_grpc_requests_total\\{method=\"/ann.v1.VectorService/SearchStream\",status=\"OK\"\\} [1-9]", metrics);
        Assert.Matches("annserver_grpc_requests_total\\{method=\"/ann.v1.VectorService/SearchStream\",status=\"InvalidArgument\"\\} [1-9]", metrics);
        Assert.Contains("annserver_search_streams_open 0", metrics);
        Assert.Matches("annserver_search_streams_total [2-9]", metrics);
    }

    [Fact]
    public async Task AMessageOverTheLimitEndsTheStreamNamingTheLimit()
    {
        double before = await StreamCallsAsync("ResourceExhausted");
        using AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call = _server.Vectors.SearchStream();
        // 3,000 floats: over 12,000 bytes in one message, past --max-message-bytes (8,192).
        await call.RequestStream.WriteAsync(new SearchStreamRequest { Tag = 1, Search = TestData.Search(Name, new float[3000], k: 5) });

        RpcException e = await Assert.ThrowsAsync<RpcException>(() => ReadAllAsync(call));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("--max-message-bytes (8192)", e.Status.Detail);
        await WaitUntilAsync(() => Streams.Open == 0, "the stream closes");
        Assert.Equal(before + 1, await StreamCallsAsync("ResourceExhausted"));
    }

    [Fact]
    public async Task BytesThatAreNotAMessageEndTheStreamWithInvalidArgument()
    {
        double before = await StreamCallsAsync("InvalidArgument");
        Marshaller<byte[]> bytes = Marshallers.Create(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.DuplexStreaming, "ann.v1.VectorService", "SearchStream", bytes, bytes);
        using AsyncDuplexStreamingCall<byte[], byte[]> call = _server.Channel.CreateCallInvoker().AsyncDuplexStreamingCall(method, null, new CallOptions());
        await call.RequestStream.WriteAsync([0x12, 0x03, 1, 2]); // field 2 declared 3 bytes long, 2 present

        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith("the request is not a valid SearchStreamRequest message (protobuf): ", e.Status.Detail);
        await WaitUntilAsync(() => Streams.Open == 0, "the stream closes");
        Assert.Equal(before + 1, await StreamCallsAsync("InvalidArgument"));
    }
}
