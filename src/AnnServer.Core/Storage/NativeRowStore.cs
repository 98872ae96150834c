using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace AnnServer.Core.Storage;

/// <summary>
/// Rows of one fixed size in native memory, in chunks of a power-of-two number of rows.
/// </summary>
/// <remarks>
/// Layout: chunk c holds rows [c·2^ChunkShift, (c+1)·2^ChunkShift), row r of a chunk at byte r·RowBytes.
/// Chunks are 64-byte aligned and never move or shrink while the store lives, so the address of a row stays valid
/// while other threads grow the store: searches read without a lock while inserts go on.
/// A chunk may also point into memory the store does not own (a memory-mapped snapshot), which it never frees.
/// </remarks>
internal sealed unsafe class NativeRowStore : IDisposable
{
    public const int Alignment = 64;
    private const long TargetChunkBytes = 16L << 20;

    private readonly object _growLock = new();
    private readonly List<nint> _ownedChunks = [];
    private nint[] _chunks = new nint[16];
    private int _chunkCount;

    public NativeRowStore(int rowBytes)
    {
        if (rowBytes <= 0) throw new ArgumentOutOfRangeException(nameof(rowBytes));
        RowBytes = rowBytes;
        ChunkShift = ChunkShiftFor(rowBytes);
    }

    /// <summary>
    /// log2 of the rows in a chunk of rows of <paramref name="rowBytes"/>: chunks of about 16 MiB, small enough that an
    /// almost empty collection costs little (untouched pages are never committed anyway), large enough that the chunk
    /// table stays tiny. The memory estimate of the collections predicts chunk steps with it.
    /// </summary>
    public static int ChunkShiftFor(int rowBytes)
    {
        int shift = 6;
        while (shift < 24 && ((long)rowBytes << (shift + 1)) <= TargetChunkBytes) shift++;
        return shift;
    }

    public int RowBytes { get; }
    public int ChunkShift { get; }
    public int RowsPerChunk => 1 << ChunkShift;
    public long ChunkBytes => (long)RowBytes << ChunkShift;

    /// <summary>Rows that can be addressed now.</summary>
    public int Capacity => Volatile.Read(ref _chunkCount) << ChunkShift;

    /// <summary>Bytes of native memory this store allocated.</summary>
    public long OwnedBytes { get { lock (_growLock) return _ownedChunks.Count * ChunkBytes; } }

    /// <summary>Bytes of rows used in place from an adopted region (a memory-mapped file): resident once touched.</summary>
    public long MappedBytes { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Row(int row)
    {
        nint[] chunks = Volatile.Read(ref _chunks);
        return (byte*)chunks[row >> ChunkShift] + (nint)(row & ((1 << ChunkShift) - 1)) * RowBytes;
    }

    public void EnsureCapacity(int rows)
    {
        if (rows <= Capacity) return;
        lock (_growLock)
        {
            while (Capacity < rows) AppendChunk(AllocateChunk());
        }
    }

    /// <summary>
    /// Makes rows [0, rows) of this empty store point at <paramref name="region"/>, which holds them at this store's row size
    /// and must outlive the store. Whole chunks are used in place; a partial last chunk is copied into owned memory,
    /// so that rows added later never write into the region.
    /// </summary>
    public void AdoptRegion(byte* region, int rows)
    {
        lock (_growLock)
        {
            if (_chunkCount != 0) throw new InvalidOperationException("a region can only be adopted by an empty store");
            int fullChunks = rows >> ChunkShift;
            for (int c = 0; c < fullChunks; c++) AppendChunk((nint)(region + c * ChunkBytes));
            MappedBytes = fullChunks * ChunkBytes;
            int rest = rows - (fullChunks << ChunkShift);
            if (rest > 0)
            {
                nint chunk = AllocateChunk();
                // A store that adopts whole chunks is a large one: its copied tail gets the huge pages a second owned
                // chunk would (a fresh process pays 10-15 µs a 4 KiB page to touch on the VM we measure on, and this
                // copy is up to a whole chunk: 30 ms of a mapped load at 1,000,000 nodes).
                if (fullChunks > 0) HugePages.Advise((void*)chunk, ChunkBytes);
                Buffer.MemoryCopy(region + fullChunks * ChunkBytes, (void*)chunk, ChunkBytes, (long)rest * RowBytes);
                AppendChunk(chunk);
            }
        }
    }

    private nint AllocateChunk()
    {
        nint chunk = (nint)NativeMemory.AlignedAlloc((nuint)ChunkBytes, HugePages.AlignmentFor(ChunkBytes, Alignment));
        // Huge pages from the second chunk on, and then for the first too: a huge page is committed whole on its
        // first touch, so a store that never outgrows one chunk (a small collection, of which a server may hold
        // hundreds) keeps 4 KiB pages and costs what it uses. The first chunk's pages are collapsed by the kernel
        // (khugepaged) in the background once it is advised.
        if (_ownedChunks.Count == 1) HugePages.Advise((void*)_ownedChunks[0], ChunkBytes);
        if (_ownedChunks.Count >= 1) HugePages.Advise((void*)chunk, ChunkBytes);
        _ownedChunks.Add(chunk);
        return chunk;
    }

    private void AppendChunk(nint chunk)
    {
        if (_chunkCount == _chunks.Length)
        {
            var larger = new nint[_chunks.Length * 2];
            _chunks.CopyTo(larger, 0);
            larger[_chunkCount] = chunk;
            Volatile.Write(ref _chunks, larger);
        }
        else
        {
            _chunks[_chunkCount] = chunk;
        }
        Volatile.Write(ref _chunkCount, _chunkCount + 1);
    }

    public void Dispose()
    {
        lock (_growLock)
        {
            foreach (nint chunk in _ownedChunks) NativeMemory.AlignedFree((void*)chunk);
            _ownedChunks.Clear();
            _chunks = [];
            _chunkCount = 0;
        }
        GC.SuppressFinalize(this);
    }

    ~NativeRowStore()
    {
        foreach (nint chunk in _ownedChunks) NativeMemory.AlignedFree((void*)chunk);
    }
}
