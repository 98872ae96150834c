using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Diagnostics;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using AnnServer.Services;
using AnnServer.Settings;
using Grpc.Core;
using Google.Protobuf.Collections;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace AnnServer.Tests;

/// <summary>The service classes called directly, without a socket: cancellation, and the pieces of the fast path.</summary>
public sealed class DirectServiceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TempFolder _dataDir = new();
    private CollectionRegistry _registry = null!;
    private VectorGrpcService _service = null!;

    public async Task InitializeAsync()
    {
        _registry = new CollectionRegistry(new DataDirectory(_dataDir.Path), NullLogger<CollectionRegistry>.Instance);
        await _registry.LoadAsync([], CancellationToken.None);
        await _registry.CreateAsync("c", new HnswOptions { Dimension = 4 }, CancellationToken.None);
        _service = new VectorGrpcService(new LocalCollectionCatalog(_registry), new LimitOptions());
        var upsert = new UpsertRequest { Collection = "c" };
        for (int i = 0; i < 20; i++) upsert.Points.Add(TestData.Point(i, [i, 0, 0, 1]));
        await _service.Upsert(upsert, new TestCallContext(CancellationToken.None));
    }

    public Task DisposeAsync()
    {
        _registry.Dispose();
        _dataDir.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task ACancelledBatchStopsBeforeTheNextQuery()
    {
        var request = new SearchBatchRequest { Collection = "c", K = 3 };
        for (int i = 0; i < 10; i++) request.Queries.Add(new BatchQuery { Vector = { i, 0, 0, 1 } });
        long searchesBefore = _registry.Collections.Single().SearchCount;
        var context = new TestCallContext(new CancellationToken(canceled: true));

        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _service.SearchBatch(request, context));

        Assert.Equal(searchesBefore, _registry.Collections.Single().SearchCount);
        Assert.Equal(StatusCode.Cancelled, ErrorStatusInterceptor.ToStatus(e, context)?.StatusCode);
    }

    [Fact]
    public async Task ACancelledUpsertChangesNothing()
    {
        var request = new UpsertRequest { Collection = "c", Points = { TestData.Point(100, [1, 1, 1, 1]) } };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _service.Upsert(request, new TestCallContext(new CancellationToken(canceled: true))));

        Assert.Equal(20, _registry.Collections.Single().Count);
    }

    [Fact]
    public void APassedDeadlineMapsToDeadlineExceeded()
    {
        var context = new TestCallContext(new CancellationToken(canceled: true), deadline: DateTime.UtcNow.AddSeconds(-1));
        Assert.Equal(StatusCode.DeadlineExceeded, ErrorStatusInterceptor.ToStatus(new OperationCanceledException(), context)?.StatusCode);
    }

    [Fact]
    public void ArgumentErrorsKeepTheirMessageWithoutTheParameterSuffix()
    {
        var status = ErrorStatusInterceptor.ToStatus(new ArgumentException("dimension must be between 1 and 4096, got 0", "Dimension"),
            new TestCallContext(CancellationToken.None));
        Assert.Equal(new Status(StatusCode.InvalidArgument, "dimension must be between 1 and 4096, got 0"), status);
    }

    [Fact]
    public async Task ASearchAllocatesLittleMoreThanItsResponse()
    {
        // 256-d: copying the query alone would allocate over 1 KB; the response with 10 hits is about 0.6 KB.
        const int dimension = 256;
        await _registry.CreateAsync("wide", new HnswOptions { Dimension = dimension }, CancellationToken.None);
        float[] vectors = TestData.RandomVectors(200, dimension, seed: 9);
        var upsert = new UpsertRequest { Collection = "wide" };
        for (int i = 0; i < 200; i++) upsert.Points.Add(TestData.Point(i, TestData.Row(vectors, dimension, i)));
        await _service.Upsert(upsert, new TestCallContext(CancellationToken.None));
        SearchRequest request = TestData.Search("wide", TestData.Row(vectors, dimension, 5), k: 10, ef: 32);
        var context = new TestCallContext(CancellationToken.None);
        for (int i = 0; i < 200; i++) await _service.Search(request, context); // warm up: tiering, pools

        long before = GC.GetAllocatedBytesForCurrentThread();
        const int calls = 100;
        for (int i = 0; i < calls; i++) _ = await _service.Search(request, context);
        long perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / calls;

        output.WriteLine($"{perCall} bytes allocated per Search (k = 10, 256-d)");
        Assert.InRange(perCall, 1, 1024);
    }

    [Fact]
    public void PackedFloatsAreReadInPlace()
    {
        var field = new RepeatedField<float>();
        for (int i = 0; i < 100; i++) field.Add(i); // grown past its first arrays

        ReadOnlySpan<float> span = PackedFloats.AsSpan(field);

        Assert.True(PackedFloats.IsZeroCopy);
        Assert.Equal(field.ToArray(), span.ToArray());
    }

    [Theory]
    [InlineData(3, -1)]      // shorter than a vector register: scalar loop only
    [InlineData(100, -1)]
    [InlineData(100, 0)]
    [InlineData(100, 37)]    // inside the vectorised part
    [InlineData(100, 99)]    // in the scalar tail
    public void NonFiniteComponentsAreFoundWherever(int length, int badAt)
    {
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            float[] values = TestData.RandomVectors(1, length, seed: length);
            if (badAt >= 0) values[badAt] = bad;
            Assert.Equal(badAt, CollectionVector.FirstNonFinite(values));
        }
    }
}
