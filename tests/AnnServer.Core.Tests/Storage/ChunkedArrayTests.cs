using AnnServer.Core.Storage;

namespace AnnServer.Core.Tests.Storage;

public class ChunkedArrayTests
{
    private const int Chunk = ChunkedArray<long>.ChunkSize;

    [Fact]
    public void GrowsByTheChunksAskedForAndKeepsWhatWasWritten()
    {
        var array = new ChunkedArray<long>();
        Assert.Equal(0, array.Capacity);
        for (int count = 1; count <= 5 * Chunk; count += Chunk / 2)
        {
            array.EnsureCapacity(count);
            // Whole chunks, and no more than the count needs (the chunk table doubles, the chunks do not).
            Assert.Equal((count + Chunk - 1) / Chunk * Chunk, array.Capacity);
            array[count - 1] = count;
        }
        for (int count = 1; count <= 5 * Chunk; count += Chunk / 2) Assert.Equal(count, array[count - 1]);
    }

    [Fact]
    public async Task ReadersOnOtherThreadsSeeEveryWriteWhileItGrows()
    {
        var array = new ChunkedArray<int>();
        await GrowingArrayChecks.ReadersSeeEveryWriteWhileItGrows(20 * Chunk, array.EnsureCapacity, () => array.Capacity, index => ref array[index]);
    }
}

public class SparseChunkedArrayTests
{
    [Fact]
    public void NullsCostNothingAndAChunkIsAllocatedOnItsFirstValue()
    {
        var array = new SparseChunkedArray<int[]?>();
        array[1_000_000] = null;
        Assert.Null(array[1_000_000]);
        Assert.Null(array[5]);
        Assert.Equal(0, array.AllocatedBytes);

        int[] labels = [3, 4];
        array[1_000_000] = labels;
        Assert.Same(labels, array[1_000_000]);
        Assert.Null(array[1_000_001]);
        Assert.Null(array[5]);
        Assert.Equal((long)SparseChunkedArray<int[]?>.ChunkSize * IntPtr.Size, array.AllocatedBytes);

        array[1_000_000] = null;
        Assert.Null(array[1_000_000]);
    }

    [Fact]
    public void ConcurrentWritersToOneNewChunkKeepEveryValue()
    {
        var array = new SparseChunkedArray<string>();
        Parallel.For(0, 10_000, i => array[i * 7] = i.ToString());
        for (int i = 0; i < 10_000; i++) Assert.Equal(i.ToString(), array[i * 7]);
        Assert.Equal((10_000 * 7 + SparseChunkedArray<string>.ChunkSize - 1) / SparseChunkedArray<string>.ChunkSize * (long)SparseChunkedArray<string>.ChunkSize * IntPtr.Size,
            array.AllocatedBytes);
    }
}
