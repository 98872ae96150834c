using AnnServer.Core;

namespace AnnServer.Core.Tests.Hnsw;

/// <summary>
/// The collections library writes and searches through the index's unchecked entries (its vectors were validated where
/// they entered the process); they must do exactly what the checked public methods do with valid input.
/// </summary>
public class UncheckedEntryTests
{
    private const int Dimension = 8;

    [Fact]
    public void UncheckedUpsertsAndSearchesGiveTheSameIndexAsTheCheckedOnes()
    {
        var random = new Random(7);
        float[] vectors = new float[200 * Dimension];
        for (int i = 0; i < vectors.Length; i++) vectors[i] = (float)random.NextDouble();
        long[] ids = Enumerable.Range(0, 200).Select(i => (long)i).ToArray();
        var options = new HnswOptions { Dimension = Dimension, RandomSeed = 3 };
        using var checkedIndex = new HnswIndex(options);
        using var uncheckedIndex = new HnswIndex(options);

        checkedIndex.UpsertMany(vectors.AsMemory(0, 100 * Dimension), ids.AsMemory(0, 100), threads: 1);
        uncheckedIndex.UpsertManyUnchecked(vectors.AsMemory(0, 100 * Dimension), ids.AsMemory(0, 100), threads: 1);
        for (int i = 100; i < 200; i++)
        {
            checkedIndex.Upsert(ids[i], vectors.AsSpan(i * Dimension, Dimension));
            uncheckedIndex.UpsertUnchecked(ids[i], vectors.AsSpan(i * Dimension, Dimension));
        }

        Assert.Equal(checkedIndex.Count, uncheckedIndex.Count);
        var hits = new SearchHit[10];
        for (int q = 0; q < 20; q++)
        {
            ReadOnlySpan<float> query = vectors.AsSpan(q * 7 * Dimension, Dimension);
            SearchHit[] expected = checkedIndex.Search(query, 10, 32);
            int found = uncheckedIndex.SearchUnchecked(query, 10, 32, hits, null);
            Assert.Equal(expected, hits[..found]);
        }
    }
}
