using System.Runtime.CompilerServices;

namespace AnnServer.Core.Storage;

/// <summary>
/// A managed array that grows by whole chunks, so an element written by one thread stays where readers on other
/// threads look for it while the array grows (a resize-by-copy could lose a write made to the old copy).
/// </summary>
internal sealed class ChunkedArray<T>
{
    private const int ChunkShift = 14;
    private const int ChunkSize = 1 << ChunkShift;
    private const int ChunkMask = ChunkSize - 1;

    private readonly object _growLock = new();
    private T[][] _chunks = [];

    public int Capacity => Volatile.Read(ref _chunks).Length << ChunkShift;

    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Volatile.Read(ref _chunks)[index >> ChunkShift][index & ChunkMask];
    }

    public void EnsureCapacity(int count)
    {
        if (count <= Capacity) return;
        lock (_growLock)
        {
            var chunks = _chunks;
            int needed = (count + ChunkMask) >> ChunkShift;
            if (needed <= chunks.Length) return;
            var larger = new T[Math.Max(needed, chunks.Length * 2)][];
            chunks.CopyTo(larger, 0);
            for (int c = chunks.Length; c < larger.Length; c++) larger[c] = new T[ChunkSize];
            Volatile.Write(ref _chunks, larger);
        }
    }
}
