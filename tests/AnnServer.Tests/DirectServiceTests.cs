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
        Assert.Equal(StatusCode.Cancelled, ErrorStatus.ToStatus(e, context)?.StatusCode);
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
        Assert.Equal(StatusCode.DeadlineExceeded, ErrorStatus.ToStatus(new OperationCanceledException(), context)?.StatusCode);
    }

    [Fact]
    public void ArgumentErrorsKeepTheirMessageWithoutTheParameterSuffix()
    {
        var status = ErrorStatus.ToStatus(new ArgumentException("dimension must be between 1 and 4096, got 0", "Dimension"),
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

        // Measured without an await: the thread that resumes after one may run other test classes' work in between,
        // whose allocations it counts too (1,705 B once in CI against 848 B).
        long perCall = BytesPerCall(100, () => _ = _service.Search(request, context).Result);

        output.WriteLine($"{perCall} bytes allocated per Search (k = 10, 256-d)");
        Assert.InRange(perCall, 1, 1024);
    }

    /// <summary>Hits that carry payloads cost their messages (a HitPayload and a PayloadValue per field, made here the
    /// same way as the baseline) and a fixed amount per search: nothing per hit or per field beyond them.</summary>
    [Fact]
    public async Task HitPayloadsAllocateLittleMoreThanTheirMessages()
    {
        await _registry.CreateAsync("pay", new HnswOptions { Dimension = 4 }, CancellationToken.None);
        var upsert = new UpsertRequest { Collection = "pay" };
        for (int i = 0; i < 200; i++)
        {
            Protocol.V1.Point point = TestData.Point(i, [i, i % 7, 1, 0]);
            point.Payload["color"] = new Protocol.V1.PayloadValue { Keyword = $"c{i % 4}" };
            point.Payload["rank"] = new Protocol.V1.PayloadValue { Integer = i };
            upsert.Points.Add(point);
        }
        await _service.Upsert(upsert, new TestCallContext(CancellationToken.None));
        SearchRequest plain = TestData.Search("pay", [50, 3, 1, 0], k: 10, ef: 32);
        SearchRequest withPayload = plain.Clone();
        withPayload.WithPayload = new PayloadSelector { All = true };
        var context = new TestCallContext(CancellationToken.None);
        for (int i = 0; i < 200; i++)
        {
            await _service.Search(plain, context); // warm up: tiering, pools
            await _service.Search(withPayload, context);
        }
        const int calls = 100;

        long plainBytes = BytesPerCall(calls, () => _ = _service.Search(plain, context).Result);
        long payloadBytes = BytesPerCall(calls, () => _ = _service.Search(withPayload, context).Result);
        long messageBytes = BytesPerCall(calls, () =>
        {
            for (int hit = 0; hit < 10; hit++)
            {
                var payload = new HitPayload();
                payload.Fields["color"] = new Protocol.V1.PayloadValue { Keyword = "c1" };
                payload.Fields["rank"] = new Protocol.V1.PayloadValue { Integer = hit };
            }
        });

        output.WriteLine($"bytes per Search (k = 10, 2 fields a hit): {plainBytes} without payloads, {payloadBytes} with; " +
                         $"the payload messages alone: {messageBytes}");
        Assert.InRange(payloadBytes - plainBytes, messageBytes, messageBytes + 512);
    }

    /// <summary>Bytes this thread allocates per call of <paramref name="call"/>, which must not hand work to other threads.</summary>
    private static long BytesPerCall(int calls, Action call)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++) call();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / calls;
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
