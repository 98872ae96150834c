using AnnServer.Core.Snapshots;
using AnnServer.Core.Storage;

namespace AnnServer.Core.Tests.Storage;

/// <summary>A store's rows adopted from a copy-on-write view of a snapshot (the level-0 lists of a mapped load) can be
/// written, as inserts write the lists of the nodes they link to, and the file never changes.</summary>
public sealed unsafe class MappedRowsTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"annserver-mapped-rows-{Guid.NewGuid():N}.bin");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void WritesToAdoptedRowsStayInTheProcessAndNeverReachTheFile()
    {
        const int RowBytes = 4096;
        using var store = new NativeRowStore(RowBytes);
        int rows = store.RowsPerChunk + 3; // a whole chunk used in place, and a partial one copied
        byte[] original = new byte[(long)rows * RowBytes];
        new Random(5).NextBytes(original);
        File.WriteAllBytes(_path, original);

        using (var handle = File.OpenHandle(_path))
        using (var mapping = new SnapshotMapping(handle))
        {
            byte* region = mapping.MapPrivate(0, original.Length);
            store.AdoptRegion(region, rows);
            Assert.Equal(store.ChunkBytes, store.MappedBytes);
            for (int row = 0; row < rows; row += 97)
            {
                Assert.Equal(original[(long)row * RowBytes + 5], store.Row(row)[5]);
                store.Row(row)[5] ^= 0xFF;
                Assert.Equal((byte)(original[(long)row * RowBytes + 5] ^ 0xFF), store.Row(row)[5]);
            }
        }

        Assert.Equal(original, File.ReadAllBytes(_path));
    }
}
