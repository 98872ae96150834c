using AnnServer.Core.Storage;

namespace AnnServer.Core.Tests.Storage;

public class NativeChunkedArrayTests
{
    private const int Chunk = NativeChunkedArray<long>.ChunkSize;

    [Fact]
    public void GrowsByWholeChunksThatStartZeroedAndKeepsWhatWasWritten()
    {
        using var array = new NativeChunkedArray<long>();
        Assert.Equal(0, array.Capacity);
        for (int count = 1; count <= 3 * Chunk; count += Chunk / 2)
        {
            array.EnsureCapacity(count);
            Assert.Equal((count + Chunk - 1) / Chunk * Chunk, array.Capacity);
            Assert.Equal(0, array[count - 1]);
            array[count - 1] = count;
        }
        for (int count = 1; count <= 3 * Chunk; count += Chunk / 2) Assert.Equal(count, array[count - 1]);
        Assert.Equal(3L * Chunk * sizeof(long), array.AllocatedBytes);
        Assert.Equal(3 * Chunk - 1, array.Chunk(2).LastIndexOf(0) + 2 * Chunk);
    }

    [Fact]
    public void AChunkIsOneSpanOfTheElementsItHolds()
    {
        using var array = new NativeChunkedArray<byte>();
        array.EnsureCapacity(Chunk + 10);
        array.Chunk(1)[9] = 42;
        Assert.Equal(42, array[Chunk + 9]);
        Assert.Equal(Chunk, array.Chunk(0).Length);
    }

    [Fact]
    public unsafe void ChunksOfTwoHugePagesOrMoreStartOnAHugePage()
    {
        if (!HugePages.Enabled) return; // not Linux, or ANNSERVER_HUGE_PAGES=0
        using var array = new NativeChunkedArray<long>();
        array.EnsureCapacity(2 * Chunk);
        for (int chunk = 0; chunk < 2; chunk++)
            fixed (long* first = array.Chunk(chunk)) Assert.Equal(0u, (nuint)first % HugePages.PageBytes);
    }

    [Fact]
    public async Task ReadersOnOtherThreadsSeeEveryWriteWhileItGrows()
    {
        using var array = new NativeChunkedArray<int>();
        await GrowingArrayChecks.ReadersSeeEveryWriteWhileItGrows(4 * Chunk, array.EnsureCapacity, () => array.Capacity, index => ref array[index]);
    }

    [Fact]
    public void ADisposedArrayRefusesToGrow()
    {
        var array = new NativeChunkedArray<int>();
        array.EnsureCapacity(10);
        array.Dispose();
        Assert.Throws<ObjectDisposedException>(() => array.EnsureCapacity(Chunk + 1));
        Assert.Equal(0, array.Capacity);
    }
}
