using System.Runtime.CompilerServices;

namespace AnnServer.Core.Storage;

/// <summary>
/// One value per node, most of which stay at their default (the labels of an index that has none or few, a payload
/// field that few points carry): the array grows in chunks allocated on the first non-default write into them, so a
/// sparse column costs little, and readers take no lock while it grows.
/// </summary>
/// <remarks>
/// Readers take no lock: a chunk that is not there reads as the default. A chunk is published only once it is allocated,
/// so a reader sees either no chunk or a whole one. Writers may run on several threads (the labels of a parallel
/// insert); only allocating a chunk takes the grow lock. Each element is stored after a full fence, so a reader that
/// sees it also sees what the writer stored before (a payload value before its presence bit).
/// </remarks>
internal sealed class SparseChunkedArray<T>
{
    public const int ChunkShift = 12;
    public const int ChunkSize = 1 << ChunkShift;
    public const int ChunkMask = ChunkSize - 1;

    private readonly object _growLock = new();
    private T[]?[] _chunks = [];
    private int _allocatedChunks;

    public T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            T[]?[] chunks = Volatile.Read(ref _chunks);
            int c = index >> ChunkShift;
            if ((uint)c < (uint)chunks.Length)
            {
                T[]? chunk = Volatile.Read(ref chunks[c]);
                if (chunk is not null) return chunk[index & ChunkMask];
            }
            return default!;
        }
        set => Set(index, value);
    }

    /// <summary>
    /// The chunk holding element <paramref name="index"/> (at <c>index &amp; ChunkMask</c>), or null when none was
    /// allocated (every element in it reads as the default): for loops over many elements, which then pay the indexer's
    /// lookups once a chunk instead of once an element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T[]? ChunkOf(int index)
    {
        T[]?[] chunks = Volatile.Read(ref _chunks);
        int c = index >> ChunkShift;
        return (uint)c < (uint)chunks.Length ? Volatile.Read(ref chunks[c]) : null;
    }

    /// <summary>Writes one element. Writing the default into a missing chunk allocates nothing.</summary>
    public void Set(int index, T value)
    {
        T[]? chunk = ChunkFor(index, allocate: !EqualityComparer<T>.Default.Equals(value, default!));
        if (chunk is null) return;
        Interlocked.MemoryBarrier();
        chunk[index & ChunkMask] = value;
    }

    /// <summary>Bytes of the chunks allocated so far (elements only, not the objects they name).</summary>
    public long AllocatedBytes => (long)Volatile.Read(ref _allocatedChunks) * ChunkSize * Unsafe.SizeOf<T>();

    private T[]? ChunkFor(int index, bool allocate)
    {
        int c = index >> ChunkShift;
        T[]?[] chunks = Volatile.Read(ref _chunks);
        if (c < chunks.Length && Volatile.Read(ref chunks[c]) is { } existing) return existing;
        if (!allocate) return null;
        lock (_growLock)
        {
            chunks = _chunks;
            if (c >= chunks.Length)
            {
                var larger = new T[]?[Math.Max(c + 1, chunks.Length * 2)];
                chunks.CopyTo(larger, 0);
                Volatile.Write(ref _chunks, larger);
                chunks = larger;
            }
            if (chunks[c] is { } raced) return raced;
            var chunk = new T[ChunkSize];
            Volatile.Write(ref chunks[c], chunk);
            Interlocked.Increment(ref _allocatedChunks);
            return chunk;
        }
    }
}
