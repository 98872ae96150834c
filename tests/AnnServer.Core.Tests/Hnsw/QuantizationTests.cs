using AnnServer.Core;
using AnnServer.Core.Distance;
using AnnServer.Core.Hnsw;

namespace AnnServer.Core.Tests.Hnsw;

public unsafe class QuantizationTests
{
    [Theory]
    [InlineData(VectorQuantization.Int8, DistanceMetric.L2)]
    [InlineData(VectorQuantization.Int8, DistanceMetric.InnerProduct)]
    [InlineData(VectorQuantization.Int8, DistanceMetric.Cosine)]
    [InlineData(VectorQuantization.Int4, DistanceMetric.L2)]
    [InlineData(VectorQuantization.Int4, DistanceMetric.InnerProduct)]
    [InlineData(VectorQuantization.Int4, DistanceMetric.Cosine)]
    public void QuantizedRecallAt10ReachesAtLeast95Percent(VectorQuantization quantization, DistanceMetric metric)
    {
        // 5,000 points already show a walk on codes that goes astray, and the whole suite must stay fast.
        const int dimension = 64, points = 5_000, queries = 100;
        float[] data = TestData.Clustered(points, dimension, seed: 51);
        using var index = new HnswIndex(new HnswOptions { Dimension = dimension, Metric = metric, EfConstruction = 100, Quantization = quantization });
        index.UpsertMany(data, TestData.Ids(points), threads: 2);

        float[] queryData = TestData.Clustered(queries, dimension, seed: 52);
        double recall = 0;
        for (int q = 0; q < queries; q++)
        {
            var query = TestData.Row(queryData, q, dimension);
            var hits = index.Search(query, 10, 100);
            recall += TestData.Recall(hits, index.ExactSearch(query, 10));
            // Re-ranked: the distances reported are the exact float32 ones.
            var exact = index.ExactSearch(query, 1)[0];
            if (hits[0].Id == exact.Id) Assert.Equal(exact.Distance, hits[0].Distance);
        }
        Assert.True(recall / queries >= 0.95, $"{quantization} recall@10 for {metric} was {recall / queries:F4}");
    }

    [Theory]
    [InlineData(VectorQuantization.Int8)]
    [InlineData(VectorQuantization.Int4)]
    public void ReRankingOnlyTheNearestCodesKeepsTheRecallOfReRankingEveryCandidate(VectorQuantization quantization)
    {
        // Asking for k = ef walks the same graph path and re-ranks all ef candidates (the pool is never below k): its first
        // 10 are what a re-rank of every candidate returns, against which the pool of k = 10 is measured.
        const int dimension = 64, points = 5_000, queries = 100, ef = 200, k = 10;
        float[] data = TestData.Clustered(points, dimension, seed: 53);
        using var index = new HnswIndex(new HnswOptions { Dimension = dimension, EfConstruction = 100, Quantization = quantization });
        index.UpsertMany(data, TestData.Ids(points), threads: 2);

        float[] queryData = TestData.Clustered(queries, dimension, seed: 54);
        double pooled = 0, everyCandidate = 0;
        for (int q = 0; q < queries; q++)
        {
            var query = TestData.Row(queryData, q, dimension);
            var exact = index.ExactSearch(query, k);
            pooled += TestData.Recall(index.Search(query, k, ef), exact);
            everyCandidate += TestData.Recall(index.Search(query, ef, ef)[..k], exact);
        }
        Assert.True(pooled / queries >= everyCandidate / queries - 0.002,
            $"{quantization} recall@{k} at ef {ef}: {pooled / queries:F4} re-ranking the pool, {everyCandidate / queries:F4} re-ranking all");
    }

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    [InlineData(96)]
    [InlineData(160)]
    [InlineData(800)]
    [InlineData(4096)]
    public void Int8DotProductPathsMatchTheScalarSum(int length)
    {
        var random = new Random(length);
        var a = new sbyte[length];
        var b = new sbyte[length];
        for (int i = 0; i < length; i++)
        {
            a[i] = i % 7 == 0 ? (sbyte)0 : (sbyte)random.Next(-127, 128);
            b[i] = (sbyte)random.Next(-127, 128);
        }
        a[1] = -127;
        b[1] = 127;
        var magnitudes = new byte[length];
        for (int i = 0; i < length; i++) magnitudes[i] = (byte)Math.Abs(a[i]);
        long expected = 0;
        for (int i = 0; i < length; i++) expected += a[i] * b[i];
        fixed (sbyte* pa = a)
        fixed (sbyte* pb = b)
        fixed (byte* pm = magnitudes)
        {
            Assert.Equal(expected, Int8DotProductKernel.VnniPath(pm, pa, pb, length));
            Assert.Equal(expected, Int8DotProductKernel.ComputePrepared(pm, pa, pb, length));
            Assert.Equal(expected, Int8DotProductKernel.Scalar(pa, pb, length));
            Assert.Equal(expected, Int8DotProductKernel.Avx2Path(pa, pb, length));
            Assert.Equal(expected, Int8DotProductKernel.Avx512Path(pa, pb, length));
            Assert.Equal(expected, Int8DotProductKernel.Compute(pa, pb, length));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(64)]
    [InlineData(784)]
    [InlineData(1000)]
    public void EncodingMatchesTheScalarDefinition(int dimension)
    {
        var random = new Random(dimension);
        var vector = new float[dimension];
        for (int i = 0; i < dimension; i++) vector[i] = (float)(random.NextDouble() * 2 - 1);
        // Exact halves after scaling (ties round to even) and the extreme component.
        vector[0] = 1f;
        if (dimension > 3) { vector[1] = 0.5f / 127f; vector[2] = 1.5f / 127f; vector[3] = -2.5f / 127f; }
        int rowBytes = Int8Codes.RowBytes(dimension);
        byte* row = stackalloc byte[Int8Codes.QueryBytes(dimension)];
        fixed (float* v = vector) Int8Codes.EncodeQuery(v, dimension, row);

        float scale = 1f / 127f;
        Assert.Equal(scale, Int8Codes.Scale(row));
        long sumOfSquares = 0;
        byte* magnitudes = Int8Codes.QueryMagnitudes(row, dimension);
        for (int i = 0; i < Int8Codes.PaddedLength(dimension); i++)
        {
            int expected = i < dimension ? Math.Clamp((int)MathF.Round(vector[i] * (1 / scale)), -127, 127) : 0;
            Assert.Equal(expected, Int8Codes.Codes(row)[i]);
            Assert.Equal(Math.Abs(expected), magnitudes[i]);
            sumOfSquares += expected * expected;
        }
        Assert.Equal(scale * scale * sumOfSquares, Int8Codes.SquaredNorm(row), 3);
        Assert.Equal(Int8Codes.HeaderBytes + Int8Codes.PaddedLength(dimension), rowBytes);
        Assert.True(Int8Codes.FileRowBytes(dimension) % 64 == 0 && Int8Codes.FileRowBytes(dimension) - rowBytes < 64);
    }
}
