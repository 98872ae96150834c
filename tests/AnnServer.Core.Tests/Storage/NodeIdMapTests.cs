using AnnServer.Core.Storage;

namespace AnnServer.Core.Tests.Storage;

public sealed class NodeIdMapTests
{
    /// <summary>Random sets, replacements and removals, checked after every step against a Dictionary: removal by backward
    /// shift and growth by rehashing must leave every id findable and no removed id behind. Few distinct ids over many
    /// operations, so runs of collisions form and wrap around the end of the table.</summary>
    [Theory]
    [InlineData(1, 50)]
    [InlineData(2, 3_000)]
    [InlineData(3, 100_000)]
    public void EveryOperationAgreesWithADictionary(int seed, int distinctIds)
    {
        var random = new Random(seed);
        using var map = new NodeIdMap();
        var expected = new Dictionary<long, int>();
        long[] ids = new long[distinctIds];
        for (int i = 0; i < distinctIds; i++) ids[i] = i % 3 == 0 ? i : random.NextInt64(long.MinValue, long.MaxValue);

        for (int step = 0; step < 300_000; step++)
        {
            long id = ids[random.Next(distinctIds)];
            if (random.Next(3) == 0)
            {
                Assert.Equal(expected.Remove(id, out int removedExpected), map.Remove(id, out int removed));
                if (removed >= 0) Assert.Equal(removedExpected, removed);
            }
            else
            {
                int node = random.Next(int.MaxValue);
                bool hadOne = expected.TryGetValue(id, out int previousExpected);
                expected[id] = node;
                Assert.Equal(hadOne, map.Set(id, node, out int previous));
                if (hadOne) Assert.Equal(previousExpected, previous);
            }
            Assert.Equal(expected.Count, map.Count);
            long probe = ids[random.Next(distinctIds)];
            Assert.Equal(expected.TryGetValue(probe, out int nodeExpected), map.TryGetValue(probe, out int found));
            if (expected.ContainsKey(probe)) Assert.Equal(nodeExpected, found);
        }

        foreach (long id in ids)
        {
            Assert.Equal(expected.ContainsKey(id), map.ContainsKey(id));
            if (expected.TryGetValue(id, out int node)) Assert.True(map.TryGetValue(id, out int found) && found == node);
        }
    }

    [Fact]
    public void ConsecutiveIdsGrowTheTableAndStayFindable()
    {
        using var map = new NodeIdMap();
        map.EnsureCapacity(10);
        for (int node = 0; node < 200_000; node++) Assert.False(map.Set(1_000_000 + node, node, out _));
        Assert.Equal(200_000, map.Count);
        Assert.InRange(map.MemoryBytes, 200_000L * 12 * 4 / 3, 200_000L * 12 * 4);
        for (int node = 0; node < 200_000; node++) Assert.True(map.TryGetValue(1_000_000 + node, out int found) && found == node);
        Assert.False(map.TryGetValue(999_999, out int missing));
        Assert.Equal(-1, missing);
    }

    [Fact]
    public void ANegativeNodeIsRefusedAndADisposedMapThrowsInsteadOfReadingFreedMemory()
    {
        var map = new NodeIdMap();
        Assert.Throws<ArgumentOutOfRangeException>(() => map.Set(1, -1, out _));
        map.Set(1, 0, out _);
        Assert.True(map.TryGetValue(1, out int node) && node == 0);
        map.Dispose();
        map.Dispose();
        Assert.Throws<ObjectDisposedException>(() => map.ContainsKey(1));
        Assert.Throws<ObjectDisposedException>(() => map.Set(2, 0, out _));
    }
}
