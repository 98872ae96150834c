using AnnServer.Core.Distance;

namespace AnnServer.Core.Tests.Hnsw;

/// <summary>
/// Vectors whose products overflow float32 reach the engine only past the edge (an index built offline, an old log):
/// the engine must still never rank a NaN distance, let alone first. The vector of the issue: components alternating
/// ±float.MaxValue, whose inner product with an ordinary query sums +∞ and −∞ into NaN.
/// </summary>
public class OverflowTests
{
    private const int Dimension = 16;
    private const long OverflowingId = 1_000_000;

    private static float[] Alternating(int dimension, int period)
    {
        var vector = new float[dimension];
        for (int i = 0; i < dimension; i++) vector[i] = (i / period) % 2 == 0 ? float.MaxValue : -float.MaxValue;
        return vector;
    }

    [Fact]
    public unsafe void AnInnerProductThatOverflowsBothWaysIsInfinityNotNaN()
    {
        float[] a = Alternating(Dimension, 1);
        float[] b = Alternating(Dimension, 2); // products +∞, −∞, −∞, +∞, ...
        fixed (float* pa = a, pb = b)
        {
            Assert.True(float.IsNaN(1f - DotProductKernel.Compute(pa, pb, Dimension)));
            Assert.Equal(float.PositiveInfinity, InnerProductDistance.Compute(pa, pb, Dimension));
        }
    }

    [Fact]
    public void NaNAsInfinityKeepsEveryOtherValue()
    {
        foreach (float value in new[] { 0f, -0f, 1.5f, -3e38f, float.Epsilon, float.PositiveInfinity, float.NegativeInfinity })
            Assert.Equal(BitConverter.SingleToInt32Bits(value), BitConverter.SingleToInt32Bits(VectorMath.NaNAsInfinity(value)));
    }

    [Fact]
    public void NaNAsInfinityTurnsNaNIntoPositiveInfinity() =>
        Assert.Equal(float.PositiveInfinity, VectorMath.NaNAsInfinity(float.NaN));

    [Theory]
    [InlineData(DistanceMetric.L2, VectorQuantization.None)]
    [InlineData(DistanceMetric.InnerProduct, VectorQuantization.None)]
    [InlineData(DistanceMetric.Cosine, VectorQuantization.None)]
    [InlineData(DistanceMetric.L2, VectorQuantization.Int8)]
    [InlineData(DistanceMetric.InnerProduct, VectorQuantization.Int8)]
    [InlineData(DistanceMetric.Cosine, VectorQuantization.Int8)]
    public void AnIndexHoldingAnOverflowingVectorNeverReturnsANaNDistance(DistanceMetric metric, VectorQuantization quantization)
    {
        const int points = 600;
        float[] data = TestData.Clustered(points, Dimension, seed: 5);
        // Components well above 1, so that a query's products with ±float.MaxValue overflow too.
        for (int i = 0; i < data.Length; i++) data[i] = data[i] * 40f - 20f;
        using var index = new HnswIndex(new HnswOptions
        {
            Dimension = Dimension, Metric = metric, Quantization = quantization, M = 8, EfConstruction = 64,
        });
        index.UpsertMany(data.AsMemory(0, points / 2 * Dimension), TestData.Ids(points / 2), threads: 1);
        // In the middle of the inserts, so that later points are linked through it.
        index.Upsert(OverflowingId, Alternating(Dimension, 1));
        index.Upsert(OverflowingId + 1, Alternating(Dimension, 2));
        index.UpsertMany(data.AsMemory(points / 2 * Dimension), TestData.Ids(points - points / 2, offset: points / 2), threads: 1);

        var random = new Random(9);
        for (int q = 0; q < 50; q++)
        {
            var query = new float[Dimension];
            for (int i = 0; i < Dimension; i++) query[i] = (float)(TestData.Gaussian(random) * 20);
            foreach (SearchHit[] hits in new[] { index.Search(query, 10, 64), index.ExactSearch(query, 10) })
            {
                Assert.Equal(10, hits.Length);
                Assert.DoesNotContain(hits, h => float.IsNaN(h.Distance));
                for (int i = 1; i < hits.Length; i++) Assert.True(hits[i - 1].Distance <= hits[i].Distance);
            }
        }
    }

    [Fact]
    public void ANaNDistanceSortsAfterEveryNumberNotBeforeThem()
    {
        SearchHit[] hits = [new(1, float.NaN), new(2, float.PositiveInfinity), new(3, 0.5f), new(4, float.NaN), new(5, -1f)];

        Array.Sort(hits);

        Assert.Equal([5L, 3, 2, 1, 4], hits.Select(h => h.Id));
    }
}
