using AnnServer.Protocol.V1;
using AnnServer.Security;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;

namespace AnnServer.Tests;

/// <summary>API keys and roles on a real server: one server for the class, with a read, a write and an admin key (two of
/// them from a keys file, one from --api-keys), and collection "c" of dimension 2.</summary>
public sealed class AuthenticationTests : IAsyncLifetime
{
    private const string ReadKey = "read-key-0123456789";
    private const string WriteKey = "write-key-0123456789";
    private const string AdminKey = "admin-key-0123456789";

    private readonly TempFolder _files = new();
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        File.WriteAllLines(_files.File("keys"),
        [
            "# role:sha256hex[:name]",
            $"read:{ApiKeyHash.ToHex(ReadKey)}:ranking-reader",
            "",
            $"admin:{ApiKeyHash.ToHex(AdminKey)}   # the operators",
        ]);
        _server = await RunningServer.StartAsync(args: ["--api-keys-file", _files.File("keys"), "--api-keys", $"write:{ApiKeyHash.ToHex(WriteKey)}:ingest"]);
        await _server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "c", Dimension = 2, Metric = Metric.L2 }, Bearer(AdminKey));
        await _server.Vectors.UpsertAsync(new UpsertRequest { Collection = "c", Points = { TestData.Point(1, [1, 2]) } }, Bearer(WriteKey));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _files.Dispose();
    }

    private static Metadata Bearer(string key) => new() { { "authorization", "Bearer " + key } };

    /// <summary>Every ann.v1 method, with a request it can serve; the status it ends with (OK or a domain error such as
    /// NOT_FOUND means the call got past authorization).</summary>
    private Dictionary<string, Func<Metadata?, Task<StatusCode>>> Methods() => new()
    {
        ["Search"] = h => Status(_server.Vectors.SearchAsync(TestData.Search("c", [1, 2], k: 1), h)),
        ["SearchBatch"] = h => Status(_server.Vectors.SearchBatchAsync(
            new SearchBatchRequest { Collection = "c", K = 1, Queries = { new BatchQuery { Vector = { 1f, 2f } } } }, h)),
        ["SearchStream"] = h => StreamStatus(_server.Vectors.SearchStream(h)),
        ["Get"] = h => Status(_server.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { 1 } }, h)),
        ["GetCollectionInfo"] = h => Status(_server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" }, h)),
        ["ListCollections"] = h => Status(_server.Collections.ListCollectionsAsync(new ListCollectionsRequest(), h)),
        ["Upsert"] = h => Status(_server.Vectors.UpsertAsync(new UpsertRequest { Collection = "c", Points = { TestData.Point(2, [3, 4]) } }, h)),
        ["Delete"] = h => Status(_server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { 99 } }, h)),
        ["CreateCollection"] = h => Status(_server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "n" + Guid.NewGuid().ToString("N")[..8], Dimension = 2, Metric = Metric.L2 }, h)),
        ["DropCollection"] = h => Status(_server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "absent" }, h)),
        ["Checkpoint"] = h => Status(_server.Collections.CheckpointAsync(new CheckpointRequest { Name = "c" }, h)),
    };

    private static async Task<StatusCode> Status<T>(AsyncUnaryCall<T> call)
    {
        try
        {
            await call;
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }

    /// <summary>A stream of one search; a refused stream ends with the refusal's status when it is read.</summary>
    private static async Task<StatusCode> StreamStatus(AsyncDuplexStreamingCall<SearchStreamRequest, SearchStreamResponse> call)
    {
        using (call)
        {
            try
            {
                await call.RequestStream.WriteAsync(new SearchStreamRequest { Tag = 7, Search = TestData.Search("c", [1, 2], k: 1) });
                await call.RequestStream.CompleteAsync();
                await foreach (SearchStreamResponse response in call.ResponseStream.ReadAllAsync())
                    Assert.Equal(7ul, response.Tag);
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        }
    }

    public static TheoryData<string, string?> RoleMatrix()
    {
        var data = new TheoryData<string, string?>();
        string[] read = ["Search", "SearchBatch", "SearchStream", "Get", "GetCollectionInfo", "ListCollections"];
        string[] write = ["Upsert", "Delete"];
        string[] admin = ["CreateCollection", "DropCollection", "Checkpoint"];
        foreach (string method in read.Concat(write).Concat(admin))
        {
            string required = read.Contains(method) ? "read" : write.Contains(method) ? "write" : "admin";
            data.Add(method, required);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(RoleMatrix))]
    public async Task EachRoleCallsItsMethodsAndIsDeniedTheOthers(string method, string? required)
    {
        Func<Metadata?, Task<StatusCode>> call = Methods()[method];

        StatusCode asRead = await call(Bearer(ReadKey));
        StatusCode asWrite = await call(Bearer(WriteKey));
        StatusCode asAdmin = await call(Bearer(AdminKey));

        // read ⊂ write ⊂ admin: a role may call its methods and those of the roles below it.
        Assert.Equal(required == "read", asRead is not StatusCode.PermissionDenied);
        Assert.Equal(required is "read" or "write", asWrite is not StatusCode.PermissionDenied);
        Assert.NotEqual(StatusCode.PermissionDenied, asAdmin);
        Assert.DoesNotContain(StatusCode.Unauthenticated, new[] { asRead, asWrite, asAdmin });
    }

    [Fact]
    public async Task EveryMethodWithoutAKeyIsUnauthenticated()
    {
        foreach (var (method, call) in Methods())
            Assert.True(await call(null) == StatusCode.Unauthenticated, method);
    }

    [Fact]
    public async Task NoKeyAUnknownKeyAndAMalformedHeaderGetTheSameAnswer()
    {
        var headers = new Metadata?[]
        {
            null,
            Bearer("not-a-key"),
            Bearer(ReadKey + "x"),
            Bearer(ReadKey[..^1]),
            new() { { "authorization", "Basic " + ReadKey } },
            new() { { "authorization", ReadKey } },
            new() { { "authorization", "Bearer " } },
            Bearer(new string('k', 5000)),
        };
        foreach (Metadata? header in headers)
        {
            RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
                await _server.Vectors.SearchAsync(TestData.Search("c", [1, 2], k: 1), header));
            Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
            Assert.Equal(AuthorizationMiddleware.UnauthenticatedMessage, e.Status.Detail);
        }
    }

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    /// <summary>Field 2 declared 3 bytes long with 2 present: not a protobuf message.</summary>
    private Task<byte[]> SendGarbage(Metadata? headers) => _server.Channel.CreateCallInvoker().AsyncUnaryCall(
        new Method<byte[], byte[]>(MethodType.Unary, "ann.v1.VectorService", "Search", Bytes, Bytes), null,
        new CallOptions(headers), [0x12, 0x03, 1, 2]).ResponseAsync;

    [Fact]
    public async Task GarbageWithoutAKeyIsUnauthenticatedBeforeItIsParsed()
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(() => SendGarbage(null));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Equal(AuthorizationMiddleware.UnauthenticatedMessage, e.Status.Detail);
    }

    [Fact]
    public async Task GarbageWithAValidKeyIsInvalidArgument()
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(() => SendGarbage(Bearer(ReadKey)));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith("the request is not a valid SearchRequest message (protobuf): ", e.Status.Detail);
    }

    [Fact]
    public async Task AnOversizedMessageWithoutAKeyIsUnauthenticated()
    {
        var request = new UpsertRequest { Collection = "c" };
        for (int i = 0; i < 100; i++) request.Points.Add(TestData.Point(i, new float[40_000])); // 16 MB
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await _server.Vectors.UpsertAsync(request));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
    }

    [Fact]
    public async Task TheBearerSchemeIsCaseInsensitive()
    {
        var header = new Metadata { { "authorization", "bearer " + ReadKey } };
        SearchResponse response = await _server.Vectors.SearchAsync(TestData.Search("c", [1, 2], k: 1), header);
        Assert.Single(response.Hits);
    }

    [Fact]
    public async Task AWrongRoleIsPermissionDeniedAndNamesTheRoleRequired()
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
            await _server.Vectors.UpsertAsync(new UpsertRequest { Collection = "c", Points = { TestData.Point(5, [0, 0]) } }, Bearer(ReadKey)));

        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal("Upsert requires the 'write' role; this API key has the 'read' role", e.Status.Detail);
    }

    [Fact]
    public async Task ADeniedWriteChangesNothing()
    {
        CollectionInfo before = await _server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" }, Bearer(ReadKey));
        await Assert.ThrowsAsync<RpcException>(async () =>
            await _server.Vectors.UpsertAsync(new UpsertRequest { Collection = "c", Points = { TestData.Point(77, [0, 0]) } }));
        await Assert.ThrowsAsync<RpcException>(async () =>
            await _server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { 1 } }, Bearer(ReadKey)));
        await Assert.ThrowsAsync<RpcException>(async () =>
            await _server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "c" }, Bearer(WriteKey)));
        CollectionInfo after = await _server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" }, Bearer(ReadKey));
        GetResponse point = await _server.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { 1, 77 } }, Bearer(ReadKey));

        Assert.Equal(before.NodeCount, after.NodeCount);
        Assert.Equal(before.WritesSinceSnapshot, after.WritesSinceSnapshot);
        Assert.Equal([1L], point.Points.Select(p => p.Id));
        Assert.Equal([77L], point.MissingIds);
    }

    [Fact]
    public async Task HealthAndReflectionNeedNoKey()
    {
        HealthCheckResponse health = await _server.Health.CheckAsync(new HealthCheckRequest());
        var reflection = new ServerReflection.ServerReflectionClient(_server.Channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        bool answered = await call.ResponseStream.MoveNext(CancellationToken.None);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.True(answered);
        Assert.Contains("ann.v1.VectorService", call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));
    }

    [Fact]
    public async Task RefusalsAreCountedInTheMetrics()
    {
        await Methods()["Get"](null);
        await Methods()["Checkpoint"](Bearer(ReadKey));

        string metrics = await _server.GetMetricsTextAsync();

        Assert.Contains("annserver_grpc_requests_total{method=\"/ann.v1.VectorService/Get\",status=\"Unauthenticated\"}", metrics);
        Assert.Contains("annserver_grpc_requests_total{method=\"/ann.v1.CollectionService/Checkpoint\",status=\"PermissionDenied\"}", metrics);
    }
}
