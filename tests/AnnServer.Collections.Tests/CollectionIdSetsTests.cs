using AnnServer.Core.Filtering;

namespace AnnServer.Collections.Tests;

/// <summary>The bookkeeping of stored id sets: TTLs on a clock the test moves, the per-collection count and the
/// server-wide byte budget shared by collections, bytes given back by replacing, deleting, expiring and closing.</summary>
public class CollectionIdSetsTests
{
    private const int Nodes = 640; // 80 bytes of bitmap per set

    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static long[] Ids(int count) => [.. Enumerable.Range(0, count).Select(i => (long)i)];

    [Fact]
    public void ASetPastItsTtlIsNotFound()
    {
        var clock = new ManualClock();
        var sets = new CollectionIdSets("c", new IdSetPool(clock: clock), () => Nodes);
        sets.Put("s", [1, 2, 2], TimeSpan.FromSeconds(10));

        Assert.Equal(2, sets.Find("s")!.Count);
        clock.Now += TimeSpan.FromSeconds(10);
        Assert.Null(sets.Find("s"));
        Assert.Empty(sets.List());
    }

    [Fact]
    public void ExpiredSetsOfAnotherCollectionMakeRoomForAPut()
    {
        var clock = new ManualClock();
        var pool = new IdSetPool(new IdSetLimits { MaxTotalBytes = 10_000 }, clock);
        var first = new CollectionIdSets("a", pool, () => Nodes);
        var second = new CollectionIdSets("b", pool, () => Nodes);
        first.Put("old", Ids(1000), TimeSpan.FromSeconds(1)); // 8,080 bytes

        Assert.Throws<LimitExceededException>(() => second.Put("new", Ids(1000), null));
        clock.Now += TimeSpan.FromSeconds(2);
        second.Put("new", Ids(1000), null);

        Assert.Equal(8_080, pool.Bytes);
        Assert.Null(first.Find("old"));
    }

    [Fact]
    public void ReplacingDeletingAndClosingGiveTheBytesBack()
    {
        var pool = new IdSetPool(new IdSetLimits { MaxSetsPerCollection = 2 });
        var sets = new CollectionIdSets("c", pool, () => Nodes);
        sets.Put("a", Ids(100), null);
        sets.Put("a", Ids(10), null);
        Assert.Equal(160, pool.Bytes);
        sets.Put("b", Ids(10), null);
        var refused = Assert.Throws<LimitExceededException>(() => sets.Put("c", Ids(1), null));
        Assert.Contains("max-id-sets (2)", refused.Message);

        Assert.True(sets.Delete("a"));
        Assert.False(sets.Delete("a"));
        Assert.Equal(160, pool.Bytes);
        sets.Clear();
        Assert.Equal(0, pool.Bytes);
        Assert.Throws<CollectionNotFoundException>(() => sets.Put("a", Ids(1), null));
    }

    [Fact]
    public void BadNamesAndTtlsAreRefused()
    {
        var sets = new CollectionIdSets("c", new IdSetPool(), () => Nodes);
        Assert.Throws<ArgumentException>(() => sets.Put("", [1], null));
        Assert.Throws<ArgumentException>(() => sets.Put("a/b", [1], null));
        Assert.Throws<ArgumentException>(() => sets.Put(new string('a', FilterLimits.MaxIdSetNameLength + 1), [1], null));
        Assert.Throws<ArgumentException>(() => sets.Put("a", [1], TimeSpan.Zero));
        Assert.Empty(sets.List());
    }
}
