using System.Runtime.CompilerServices;

namespace AnnServer.Core.Storage;

/// <summary>
/// A managed array that grows by whole chunks, so an element written by one thread stays where readers on other
/// threads look for it while the array grows (a resize-by-copy could lose a write made to the old copy).
/// </summary>
/// <remarks>
/// Only the chunks asked for are allocated: the table of chunk references doubles, the chunks do not (allocating the
/// doubled table's chunks eagerly cost up to 25 bytes per node of ids, states and references nobody used).
/// </remarks>
internal sealed class ChunkedArray<T>
{
    public const int ChunkShift = 14;
    public const int ChunkSize = 1 << ChunkShift;
    private const int ChunkMask = ChunkSize - 1;

    private readonly object _growLock = new();
    private T[]?[] _chunks = [];
    private int _chunkCount;

    /// <summary>Elements that can be addressed now: a whole number of chunks.</summary>
    public int Capacity => Volatile.Read(ref _chunkCount) << ChunkShift;

    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Volatile.Read(ref _chunks)[index >> ChunkShift]![index & ChunkMask];
    }

    /// <summary>Elements [<paramref name="chunk"/> · <see cref="ChunkSize"/>, + <see cref="ChunkSize"/>) as one span, for
    /// loops that fill a whole chunk at a time.</summary>
    public Span<T> Chunk(int chunk) => Volatile.Read(ref _chunks)[chunk];

    public void EnsureCapacity(int count)
    {
        if (count <= Capacity) return;
        lock (_growLock)
        {
            int needed = (int)(((long)count + ChunkMask) >> ChunkShift);
            if (needed <= _chunkCount) return;
            var chunks = _chunks;
            if (needed > chunks.Length)
            {
                var larger = new T[]?[Math.Max(needed, chunks.Length * 2)];
                chunks.CopyTo(larger, 0);
                chunks = larger;
            }
            // Chunks are in place before the table that names them is published and before the count admits them.
            for (int c = _chunkCount; c < needed; c++) chunks[c] = new T[ChunkSize];
            Volatile.Write(ref _chunks, chunks);
            Volatile.Write(ref _chunkCount, needed);
        }
    }
}
