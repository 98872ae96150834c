using AnnServer.Core;
using AnnServer.Core.Distance;
using AnnServer.Core.Grouping;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Payloads;

namespace AnnServer.Core.Tests.Hnsw;

/// <summary>
/// <see cref="QuantizedSearchOptions"/>: a quantized search without the float32 re-rank answers with the codes'
/// distances, a larger oversampling re-ranks a superset of the same walk's results, and an index without codes ignores
/// both.
/// </summary>
public unsafe class RescoreTests
{
    private const int Dimension = 64, Points = 5_000, Queries = 100, K = 10;

    private static readonly QuantizedSearchOptions CodeDistances = new(rescore: false);

    private static HnswIndex Build(VectorQuantization quantization, DistanceMetric metric, out float[] data)
    {
        data = TestData.Clustered(Points, Dimension, seed: 61);
        var index = new HnswIndex(new HnswOptions { Dimension = Dimension, Metric = metric, EfConstruction = 100, Quantization = quantization });
        index.UpsertMany(data, TestData.Ids(Points), threads: 2);
        return index;
    }

    private static float[] QueryData() => TestData.Clustered(Queries, Dimension, seed: 62);

    [Fact]
    public void WithoutRescoreTheHitsCarryTheInt8CodesDistances()
    {
        using HnswIndex index = Build(VectorQuantization.Int8, DistanceMetric.L2, out float[] data);
        float[] queries = QueryData();
        int differing = 0, hits = 0;
        for (int q = 0; q < Queries; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(queries, q, Dimension);
            foreach (SearchHit hit in index.Search(query, K, 64, quantized: CodeDistances))
            {
                ReadOnlySpan<float> point = TestData.Row(data, (int)hit.Id, Dimension);
                Assert.Equal(Int8L2Estimate(query, point), hit.Distance, 1e-4f);
                if (hit.Distance != SquaredL2(query, point)) differing++;
                hits++;
            }
        }
        // The estimate is not the float32 distance: nearly every hit shows it.
        Assert.True(differing >= hits * 9 / 10, $"{differing} of {hits} hits differ from the float32 distance");
    }

    [Theory]
    [InlineData(VectorQuantization.Int8, 0.95)] // measured 0.979
    [InlineData(VectorQuantization.Int4, 0.7)] // 0.778
    public void WithoutRescoreTheHitsMostlyAgreeAndComeInOrderOfTheirDistances(VectorQuantization quantization, double bound)
    {
        using HnswIndex index = Build(quantization, DistanceMetric.L2, out _);
        float[] queries = QueryData();
        double agreement = 0;
        for (int q = 0; q < Queries; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(queries, q, Dimension);
            SearchHit[] codes = index.Search(query, K, 64, quantized: CodeDistances);
            SearchHit[] rescored = index.Search(query, K, 64);
            Assert.Equal(K, codes.Length);
            for (int i = 1; i < codes.Length; i++) Assert.True(codes[i - 1].CompareTo(codes[i]) < 0, "hits out of order");
            agreement += TestData.Recall(codes, rescored);
        }
        Assert.True(agreement / Queries >= bound, $"{quantization}: {agreement / Queries:F4} of the re-ranked ids found without the re-rank");
    }

    [Theory]
    [InlineData(VectorQuantization.Int8, DistanceMetric.L2, 0.95)] // measured 0.979
    [InlineData(VectorQuantization.Int8, DistanceMetric.Cosine, 0.92)] // 0.944
    // 4-bit codes are too coarse to order near neighbours by themselves (hence their pool of 10·k): a floor, not a target.
    [InlineData(VectorQuantization.Int4, DistanceMetric.L2, 0.7)] // 0.778
    [InlineData(VectorQuantization.Int4, DistanceMetric.Cosine, 0.4)] // 0.458
    public void WithoutRescoreRecallAtAGenerousEfStaysHigh(VectorQuantization quantization, DistanceMetric metric, double bound)
    {
        using HnswIndex index = Build(quantization, metric, out _);
        float[] queries = QueryData();
        double recall = 0;
        for (int q = 0; q < Queries; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(queries, q, Dimension);
            recall += TestData.Recall(index.Search(query, K, 200, quantized: CodeDistances), index.ExactSearch(query, K));
        }
        Assert.True(recall / Queries >= bound, $"{quantization} {metric} recall@{K} at ef 200 without the re-rank: {recall / Queries:F4}");
    }

    [Theory]
    [InlineData(VectorQuantization.Int8)]
    [InlineData(VectorQuantization.Int4)]
    public void ALargerOversamplingNeverLowersRecall(VectorQuantization quantization)
    {
        // The walk is the same whatever the pool: a larger pool re-ranks a superset of the same results, so the exact
        // neighbours a smaller pool found stay found, query by query.
        using HnswIndex index = Build(quantization, DistanceMetric.L2, out _);
        float[] queries = QueryData();
        float[] oversamplings = [1, 1.5f, 2, 4, 10, QuantizedSearchOptions.MaxOversampling];
        for (int q = 0; q < Queries; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(queries, q, Dimension);
            SearchHit[] exact = index.ExactSearch(query, K);
            double previous = TestData.Recall(index.Search(query, K, 100, quantized: CodeDistances), exact);
            foreach (float oversampling in oversamplings)
            {
                double recall = TestData.Recall(index.Search(query, K, 100, quantized: new QuantizedSearchOptions(oversampling: oversampling)), exact);
                Assert.True(recall >= previous, $"query {q}: recall {recall} at oversampling {oversampling}, {previous} below it");
                previous = recall;
            }
        }
    }

    [Fact]
    public void AnOversamplingOfTheWholeEfReRanksEveryResult()
    {
        using HnswIndex index = Build(VectorQuantization.Int8, DistanceMetric.L2, out _);
        float[] queries = QueryData();
        for (int q = 0; q < Queries; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(queries, q, Dimension);
            // k = ef re-ranks every result (the pool is never below k): the same walk's first k.
            SearchHit[] everyResult = index.Search(query, 100, 100)[..K];
            Assert.Equal(everyResult, index.Search(query, K, 100, quantized: new QuantizedSearchOptions(oversampling: 10)));
        }
    }

    [Theory]
    [InlineData(DistanceMetric.L2)]
    [InlineData(DistanceMetric.Cosine)]
    public void AnIndexWithoutCodesIgnoresTheOptions(DistanceMetric metric)
    {
        using HnswIndex index = Build(VectorQuantization.None, metric, out _);
        float[] queries = QueryData();
        for (int q = 0; q < 20; q++)
        {
            ReadOnlySpan<float> query = TestData.Row(queries, q, Dimension);
            SearchHit[] plain = index.Search(query, K, 64);
            Assert.Equal(plain, index.Search(query, K, 64, quantized: CodeDistances));
            Assert.Equal(plain, index.Search(query, K, 64, quantized: new QuantizedSearchOptions(oversampling: 1)));
        }
    }

    [Fact]
    public void WithoutRescoreAGroupedSearchCarriesTheCodesDistances()
    {
        using HnswIndex index = Build(VectorQuantization.Int8, DistanceMetric.L2, out float[] data);
        for (int i = 0; i < Points; i++) index.SetPayload(i, new Payload { { "bucket", (long)(i % 7) } });
        ReadOnlySpan<float> query = TestData.Row(QueryData(), 0, Dimension);
        var groupBy = new GroupBy("bucket", GroupSize: 2, Groups: 3);

        var rescored = index.SearchGroups(query, groupBy, 64);
        var codes = index.SearchGroups(query, groupBy, 64, quantized: CodeDistances);

        foreach (SearchHit hit in rescored.SelectMany(g => g.Hits))
            Assert.Equal(SquaredL2(query, TestData.Row(data, (int)hit.Id, Dimension)), hit.Distance, 1e-4f);
        foreach (SearchHit hit in codes.SelectMany(g => g.Hits))
            Assert.Equal(Int8L2Estimate(query, TestData.Row(data, (int)hit.Id, Dimension)), hit.Distance, 1e-4f);
    }

    [Fact]
    public void ASearchAllocatesNothingForItsOptions()
    {
        using HnswIndex index = Build(VectorQuantization.Int8, DistanceMetric.L2, out _);
        float[] query = TestData.Row(QueryData(), 0, Dimension).ToArray();
        var hits = new SearchHit[K];
        QuantizedSearchOptions[] options = [default, CodeDistances, new(oversampling: 3)];
        for (int i = 0; i < 200; i++)
            foreach (QuantizedSearchOptions quantized in options) index.Search(query, K, 64, hits, quantized: quantized); // warm up

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            foreach (QuantizedSearchOptions quantized in options) index.Search(query, K, 64, hits, quantized: quantized);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(1f, 10, 10)]
    [InlineData(1.1f, 10, 11)] // the float nearest 1.1 is 1.10000002: still 11
    [InlineData(1.15f, 10, 12)]
    [InlineData(2.5f, 3, 8)]
    [InlineData(3f, 7, 21)]
    [InlineData(QuantizedSearchOptions.MaxOversampling, HnswIndex.MaxEf, 6_553_600)]
    public void AnOversampledPoolIsTheCeilingOfTheProduct(float oversampling, int k, int pool)
    {
        Assert.Equal(pool, RerankPool.Oversampled(oversampling, k));
        Assert.Equal(pool, RerankPool.For(new QuantizedSearchOptions(oversampling: oversampling), VectorQuantization.Int8, k, twoHop: false));
    }

    [Fact]
    public void TheDefaultIsTheEnginesPoolAndATwoHopWalkStillReRanksAll()
    {
        Assert.True(QuantizedSearchOptions.Default.Rescore);
        Assert.Null(QuantizedSearchOptions.Default.Oversampling);
        Assert.Equal(RerankPool.For(VectorQuantization.Int4, 10, false), RerankPool.For(default, VectorQuantization.Int4, 10, twoHop: false));
        Assert.Equal(int.MaxValue, RerankPool.For(new QuantizedSearchOptions(oversampling: 2), VectorQuantization.Int8, 10, twoHop: true));
        Assert.Equal(RerankPool.None, RerankPool.For(CodeDistances, VectorQuantization.Int8, 10, twoHop: true));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(0f)]
    [InlineData(0.99f)]
    [InlineData(-2f)]
    [InlineData(100.01f)]
    public void AnOversamplingOutsideOneToTheLimitIsRefused(float oversampling)
    {
        Assert.False(QuantizedSearchOptions.IsValidOversampling(oversampling));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new QuantizedSearchOptions(oversampling: oversampling));
        Assert.Equal("oversampling", e.ParamName);
    }

    /// <summary>‖q − x‖² as <see cref="Int8L2Query"/> estimates it from the two vectors' codes.</summary>
    private static float Int8L2Estimate(ReadOnlySpan<float> query, ReadOnlySpan<float> point)
    {
        byte* queryRow = stackalloc byte[Int8Codes.QueryBytes(Dimension)];
        byte* pointRow = stackalloc byte[Int8Codes.RowBytes(Dimension)];
        fixed (float* q = query) Int8Codes.EncodeQuery(q, Dimension, queryRow);
        fixed (float* p = point) Int8Codes.Encode(p, Dimension, pointRow);
        long dot = Int8DotProductKernel.Scalar(Int8Codes.Codes(queryRow), Int8Codes.Codes(pointRow), Dimension);
        return Int8Codes.SquaredNorm(queryRow) + Int8Codes.SquaredNorm(pointRow) - 2 * Int8Codes.Scale(queryRow) * Int8Codes.Scale(pointRow) * dot;
    }

    private static float SquaredL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        fixed (float* pa = a)
        fixed (float* pb = b)
            return SquaredL2Distance.Compute(pa, pb, Dimension);
    }
}
