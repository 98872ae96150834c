namespace AnnServer.Core.Storage;

/// <summary>
/// A <see cref="ChunkedArray{T}"/> of references most of which stay null (the labels of an index that has none, or
/// few): a chunk is allocated on the first non-null write into it, so an index without labels pays nothing per node.
/// </summary>
/// <remarks>
/// Readers take no lock: a chunk that is not there reads as null. A chunk is published only once it is allocated,
/// so a reader sees either no chunk or a whole one.
/// </remarks>
internal sealed class SparseChunkedArray<T> where T : class
{
    private const int ChunkShift = ChunkedArray<T>.ChunkShift;
    private const int ChunkSize = ChunkedArray<T>.ChunkSize;
    private const int ChunkMask = ChunkSize - 1;

    private readonly object _growLock = new();
    private T?[]?[] _chunks = [];
    private int _allocatedChunks;

    public T? this[int index]
    {
        get
        {
            T?[]?[] chunks = Volatile.Read(ref _chunks);
            int c = index >> ChunkShift;
            return c < chunks.Length ? Volatile.Read(ref chunks[c])?[index & ChunkMask] : null;
        }
        set
        {
            T?[]? chunk = ChunkFor(index, allocate: value is not null);
            if (chunk is not null) chunk[index & ChunkMask] = value;
        }
    }

    /// <summary>Bytes of the chunks allocated so far (references only, not the objects they name).</summary>
    public long AllocatedBytes => (long)Volatile.Read(ref _allocatedChunks) * ChunkSize * IntPtr.Size;

    private T?[]? ChunkFor(int index, bool allocate)
    {
        int c = index >> ChunkShift;
        T?[]?[] chunks = Volatile.Read(ref _chunks);
        if (c < chunks.Length && Volatile.Read(ref chunks[c]) is { } existing) return existing;
        if (!allocate) return null;
        lock (_growLock)
        {
            chunks = _chunks;
            if (c >= chunks.Length)
            {
                var larger = new T?[]?[Math.Max(c + 1, chunks.Length * 2)];
                chunks.CopyTo(larger, 0);
                Volatile.Write(ref _chunks, larger);
                chunks = larger;
            }
            if (chunks[c] is { } raced) return raced;
            var chunk = new T?[ChunkSize];
            Volatile.Write(ref chunks[c], chunk);
            _allocatedChunks++;
            return chunk;
        }
    }
}
