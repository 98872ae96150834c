using AnnServer.Core.Storage;

namespace AnnServer.Core.Tests.Storage;

public unsafe class HugePagesTests
{
    [Fact]
    public void ChunksOfWholeHugePagesStartOnAHugePageAndHoldTheirRows()
    {
        if (!HugePages.Enabled) return; // not Linux, or ANNSERVER_HUGE_PAGES=0: ordinary pages, nothing to check
        using var store = new NativeRowStore(rowBytes: 3136);
        Assert.True(store.ChunkBytes >= (long)HugePages.PageBytes);
        store.EnsureCapacity(store.RowsPerChunk + 1);
        for (int chunk = 0; chunk < 2; chunk++)
        {
            byte* first = store.Row(chunk * store.RowsPerChunk);
            Assert.Equal(0u, (nuint)first % HugePages.PageBytes);
            first[0] = 42;
            first[store.RowBytes - 1] = 7;
            Assert.Equal(42, first[0]);
            Assert.Equal(7, first[store.RowBytes - 1]);
        }
    }

    [Fact]
    public void SmallStoresKeepCacheLineAlignment() =>
        Assert.Equal((nuint)64, HugePages.AlignmentFor(bytes: 1 << 20, minimum: 64));
}
