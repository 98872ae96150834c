using AnnServer.Core;
using Xunit.Abstractions;

namespace AnnServer.Collections.Tests;

/// <summary>The estimate a write is admitted on is close to what the index then counts.</summary>
public sealed class MemoryEstimateTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(16, 16, 0, 1)]
    [InlineData(16, 16, 1000, 2000)]
    [InlineData(128, 16, 0, 3000)]
    [InlineData(128, 32, 1000, 2000)]
    [InlineData(784, 16, 200, 800)]
    public void TheEstimateOfAnUpsertIsWithinATenthOfWhatTheIndexThenCounts(int dimension, int m, int before, int added)
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = dimension, Metric = DistanceMetric.L2, M = m, EfConstruction = 16 });
        float[] vectors = TestData.RandomVectors(before + added, dimension, seed: 3);
        long[] ids = Enumerable.Range(0, before + added).Select(i => (long)i).ToArray();
        if (before > 0)
            index.UpsertMany(vectors.AsMemory(0, before * dimension), ids.AsMemory(0, before));
        long memoryBefore = index.MemoryBytes;
        index.UpsertMany(vectors.AsMemory(before * dimension), ids.AsMemory(before));
        long measured = index.MemoryBytes - memoryBefore;
        long estimated = MemoryEstimate.UpsertBytes(dimension, m, VectorQuantization.None, before, added);
        output.WriteLine($"dimension {dimension}, M {m}, {before} + {added} points: measured {measured} B, estimated {estimated} B");

        Assert.InRange((double)estimated / measured, 0.9, 1.1);
    }

    [Theory]
    [InlineData(VectorQuantization.Int8, 128)]
    [InlineData(VectorQuantization.Int4, 128)]
    [InlineData(VectorQuantization.Int4, 784)]
    public void TheEstimateCountsTheCodesOfAQuantizedIndex(VectorQuantization quantization, int dimension)
    {
        const int m = 16, added = 2000;
        using var index = new HnswIndex(new HnswOptions { Dimension = dimension, Metric = DistanceMetric.L2, M = m, EfConstruction = 16, Quantization = quantization });
        long memoryBefore = index.MemoryBytes;
        index.UpsertMany(TestData.RandomVectors(added, dimension, seed: 4), Enumerable.Range(0, added).Select(i => (long)i).ToArray());
        long measured = index.MemoryBytes - memoryBefore;
        long estimated = MemoryEstimate.UpsertBytes(dimension, m, quantization, 0, added);
        output.WriteLine($"{quantization}, dimension {dimension}: measured {measured} B, estimated {estimated} B");

        Assert.InRange((double)estimated / measured, 0.9, 1.1);
    }
}
