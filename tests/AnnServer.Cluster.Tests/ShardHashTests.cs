using AnnServer.Core.Sharding;

namespace AnnServer.Cluster.Tests;

public class ShardHashTests
{
    [Fact]
    public void TheRuleIsStableAcrossReleases()
    {
        // Pinned values (computed by an independent xxHash64 in Python): a change here moves points between the shards
        // of existing collections.
        Assert.Equal([ShardHash.ShardOf(0, 7), ShardHash.ShardOf(1, 7), ShardHash.ShardOf(-1, 7), ShardHash.ShardOf(123456789, 7)],
            PinnedShards);
    }

    private static readonly int[] PinnedShards = [3, 4, 0, 2];

    [Fact]
    public void SequentialIdsSpreadEvenly()
    {
        const int shards = 4, ids = 40_000;
        var counts = new int[shards];
        for (long id = 0; id < ids; id++) counts[ShardHash.ShardOf(id, shards)]++;
        foreach (int count in counts)
            Assert.InRange(count, ids / shards * 0.95, ids / shards * 1.05);
    }

    [Fact]
    public void OneShardTakesEverything() => Assert.Equal(0, ShardHash.ShardOf(long.MinValue, 1));
}
