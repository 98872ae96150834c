using System.Collections.Concurrent;
using AnnServer.Protocol.V1;
using AnnServer.Security;
using AnnServer.Tests;
using FsCheck;
using TestData = AnnServer.Tests.TestData;
using FsCheck.Fluent;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Xunit.Abstractions;

namespace AnnServer.Fuzz.Tests;

/// <summary>
/// Every RPC, sent random and malformed requests (<see cref="RequestGenerators"/>) on a real server with an API key and
/// small limits: each answer is one of the status codes the API defines for bad input (never UNKNOWN or INTERNAL), a
/// refused request changes no collection and no point, and the server keeps serving.
/// </summary>
public sealed class RpcFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    private static readonly HashSet<StatusCode> Defined =
    [
        StatusCode.OK, StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.AlreadyExists,
        StatusCode.ResourceExhausted, StatusCode.Unauthenticated,
    ];

    private static readonly long[] WatchedIds = [.. Enumerable.Range(0, 41).Select(i => (long)i), long.MinValue, -1, long.MaxValue, 1L << 40, int.MaxValue + 1L];

    private RunningServer _server = null!;
    private readonly Metadata _admin = new() { { "authorization", "Bearer " + RequestGenerators.AdminKey } };

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync(args:
        [
            "--api-keys", $"admin:{ApiKeyHash.ToHex(RequestGenerators.AdminKey)}",
            "--max-k", "50", "--max-ef", "200", "--max-batch-queries", "8", "--max-message-bytes", "65536",
            "--max-collections", "6", "--max-points-per-collection", "200",
        ]);
        await _server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "f", Dimension = RequestGenerators.Dimension, Metric = Metric.L2, M = 8 }, _admin);
        await _server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "g", Dimension = 3, Metric = Metric.Cosine }, _admin);
        var upsert = new UpsertRequest { Collection = "f" };
        for (int i = 0; i < 30; i++)
            upsert.Points.Add(TestData.Point(i, TestData.RandomVectors(1, RequestGenerators.Dimension, seed: i), i % 4));
        await _server.Vectors.UpsertAsync(upsert, _admin);
        await _server.Vectors.UpsertAsync(new UpsertRequest { Collection = "g", Points = { TestData.Point(1, [1, 0, 0]), TestData.Point(2, [0, 1, 0]) } }, _admin);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public void EveryAnswerIsADefinedStatusAndARefusedRequestChangesNothing()
    {
        var statuses = new ConcurrentDictionary<string, int>();
        int cases = 0;
        State before = ReadState();

        Property property = Prop.ForAll(Arb.From(RequestGenerators.Calls), call =>
        {
            cases++;
            (StatusCode status, string detail) = Send(call);
            statuses.AddOrUpdate($"{call.Method} {status}", 1, (_, n) => n + 1);
            State after = ReadState();

            if (!Defined.Contains(status))
                throw new Exception($"{call}: answered {status} '{detail}'");
            if (status != StatusCode.OK && string.IsNullOrWhiteSpace(detail))
                throw new Exception($"{call}: answered {status} without a message");
            if (status != StatusCode.OK && !after.Equals(before))
                throw new Exception($"{call}: answered {status} '{detail}' but changed the data:\nbefore {before}\nafter  {after}");
            before = after;
        });
        property.Check(FuzzSettings.Cases(1000));

        // Still serving: health, and a new collection takes a point and finds it. (A fresh collection: the fuzz may have
        // deleted every point of "f", and the engine then misses points inserted afterwards; reported separately.)
        HealthCheckResponse health = _server.Health.Check(new HealthCheckRequest());
        foreach (CollectionInfo info in _server.Collections.ListCollections(new ListCollectionsRequest(), _admin).Collections)
            if (!RequestGenerators.Fixtures.Contains(info.Name))
                _server.Collections.DropCollection(new DropCollectionRequest { Name = info.Name }, _admin);
        _server.Collections.CreateCollection(new CreateCollectionRequest { Name = "after", Dimension = RequestGenerators.Dimension, Metric = Metric.L2 }, _admin);
        float[] probe = TestData.RandomVectors(1, RequestGenerators.Dimension, seed: 1000);
        _server.Vectors.Upsert(new UpsertRequest { Collection = "after", Points = { TestData.Point(1000, probe) } }, _admin);
        SearchResponse search = _server.Vectors.Search(TestData.Search("after", probe, k: 1), _admin);
        output.WriteLine($"{cases} calls (seed {FuzzSettings.Seed}, scale {FuzzSettings.Scale}):");
        foreach (var (key, count) in statuses.OrderBy(s => s.Key, StringComparer.Ordinal))
            output.WriteLine($"  {key}: {count}");
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Equal(1000, search.Hits.Single().Id);
    }

    private (StatusCode, string) Send(FuzzCall call)
    {
        var method = new Method<byte[], byte[]>(MethodType.Unary, call.Service, call.Method, Bytes, Bytes);
        var headers = new Metadata();
        if (call.Authorization is not null) headers.Add("authorization", call.Authorization);
        try
        {
            _server.Channel.CreateCallInvoker().BlockingUnaryCall(method, null,
                new CallOptions(headers, deadline: DateTime.UtcNow.AddSeconds(30)), call.Body);
            return (StatusCode.OK, "");
        }
        catch (RpcException e)
        {
            return (e.StatusCode, e.Status.Detail);
        }
    }

    /// <summary>What a refused request must not change: every collection's description (without the snapshot fields,
    /// which a background checkpoint may move) and the points of the ids the generators use.</summary>
    private State ReadState()
    {
        ListCollectionsResponse list = _server.Collections.ListCollections(new ListCollectionsRequest(), _admin);
        var collections = new List<string>();
        var points = new List<string>();
        foreach (CollectionInfo info in list.Collections)
        {
            collections.Add($"{info.Name}:{info.Dimension}:{info.Metric}:{info.M}:{info.EfConstruction}:{info.Quantization}:" +
                            $"{info.Count}:{info.NodeCount}:{info.LogPosition}:{info.MemoryBytes}");
            GetResponse got = _server.Vectors.Get(new GetRequest { Collection = info.Name, Ids = { WatchedIds } }, _admin);
            points.Add(got.ToString());
        }
        return new State(string.Join(" ", collections), string.Join(" ", points));
    }

    private sealed record State(string Collections, string Points)
    {
        public override string ToString() => Collections;
    }
}
