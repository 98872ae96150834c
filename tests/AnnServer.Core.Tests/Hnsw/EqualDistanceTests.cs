using AnnServer.Core;
using Xunit;

namespace AnnServer.Core.Tests.Hnsw;

/// <summary>
/// Results at equal distances come back in id order, also where they straddle the k-th place: a search reads the ids
/// of its nearest results only, so every result at the k-th distance must still compete for the last places.
/// </summary>
public sealed class EqualDistanceTests
{
    private const int Dimension = 16;

    [Theory]
    [InlineData(VectorQuantization.None)]
    [InlineData(VectorQuantization.Int8)]
    public void TheFirstKOfTheSearchAreTheFirstKOfAllItFound(VectorQuantization quantization)
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 64, Quantization = quantization });
        float[] others = TestData.Clustered(60, Dimension, seed: 3);
        for (int i = 0; i < 60; i++) index.Upsert(10_000 + i, TestData.Row(others, i, Dimension));
        float[] copy = TestData.Row(others, 0, Dimension).ToArray();
        for (int i = 0; i < 5; i++) copy[i] += 100;
        // 30 copies of one vector, inserted in an order unrelated to their ids: 700, 679, 658, … 91.
        for (int i = 0; i < 30; i++) index.Upsert(700 - 21 * i, copy);

        SearchHit[] found = index.Search(copy, k: 100, ef: 100);
        SearchHit[] nearest = index.Search(copy, k: 4, ef: 100);

        Assert.True(found.Count(hit => hit.Distance == 0) > 4, "the search should find more copies than it returns");
        Assert.Equal(found.Take(4), nearest);
        Assert.Equal(found.Order(), found);
    }
}
