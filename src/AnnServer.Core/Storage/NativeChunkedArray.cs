using System.Runtime.CompilerServices;

namespace AnnServer.Core.Storage;

/// <summary>
/// A per-node array of plain values (ids, states, in-link counts) in native chunks of 2^<see cref="ChunkShift"/> elements
/// that never move: an element written by one thread stays where readers on other threads look for it while the array
/// grows, as in <see cref="ChunkedArray{T}"/>.
/// </summary>
/// <remarks>
/// Native rather than managed for what a load pays: a fresh process touching new memory pays 10-15 µs a 4 KiB page on the
/// VM we measure on (bench/first-touch.c), about 0.25 µs on a 2 MiB page, and the GC hands out its large arrays on 4 KiB
/// pages. Chunks of half a million elements are 2 MiB and more for 4- and 8-byte values, so they get huge pages, from the
/// second chunk on as in <see cref="NativeRowStore"/>. Chunks come zeroed from the kernel (<see cref="ZeroedPages"/>), as
/// a managed array would be, and commit only the pages touched: an index of a few points holds a few pages of each.
/// </remarks>
internal sealed unsafe class NativeChunkedArray<T> : IDisposable where T : unmanaged
{
    public const int ChunkShift = 19;
    public const int ChunkSize = 1 << ChunkShift;
    private const int ChunkMask = ChunkSize - 1;
    private static readonly long ChunkBytes = (long)ChunkSize * sizeof(T);

    private readonly object _growLock = new();
    private nint[] _chunks = [];
    private int _chunkCount;

    /// <summary>Elements that can be addressed now: a whole number of chunks.</summary>
    public int Capacity => Volatile.Read(ref _chunkCount) << ChunkShift;

    /// <summary>Bytes of native memory the chunks take.</summary>
    public long AllocatedBytes => Capacity * (long)sizeof(T);

    public ref T this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref ((T*)Volatile.Read(ref _chunks)[index >> ChunkShift])[index & ChunkMask];
    }

    /// <summary>Elements [<paramref name="chunk"/> · <see cref="ChunkSize"/>, + <see cref="ChunkSize"/>) as one span, for
    /// loops that fill a whole chunk at a time.</summary>
    public Span<T> Chunk(int chunk) => new((void*)Volatile.Read(ref _chunks)[chunk], ChunkSize);

    public void EnsureCapacity(int count)
    {
        if (count <= Capacity) return;
        lock (_growLock)
        {
            ObjectDisposedException.ThrowIf(_chunks is null, this);
            int needed = (int)(((long)count + ChunkMask) >> ChunkShift);
            if (needed <= _chunkCount) return;
            var chunks = _chunks;
            if (needed > chunks.Length)
            {
                var larger = new nint[Math.Max(needed, Math.Max(4, chunks.Length * 2))];
                chunks.CopyTo(larger, 0);
                chunks = larger;
            }
            // Chunks are in place before the table that names them is published and before the count admits them.
            // Huge pages once there is a second chunk, for the first one too (the kernel collapses its pages in the
            // background where they were touched already).
            for (int c = _chunkCount; c < needed; c++) chunks[c] = (nint)ZeroedPages.Allocate(ChunkBytes, hugePages: c > 0);
            if (_chunkCount <= 1 && needed > 1) HugePages.Advise((void*)chunks[0], ChunkBytes);
            Volatile.Write(ref _chunks, chunks);
            Volatile.Write(ref _chunkCount, needed);
        }
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~NativeChunkedArray() => Free();

    private void Free()
    {
        lock (_growLock)
        {
            if (_chunks is null) return;
            for (int c = 0; c < _chunkCount; c++) ZeroedPages.Free((void*)_chunks[c], ChunkBytes);
            _chunks = null!;
            _chunkCount = 0;
        }
    }
}
