using System.Runtime.CompilerServices;

namespace AnnServer.Core.Payloads;

/// <summary>
/// One value per node for a payload column, grown in chunks allocated on first write, so a field that few points carry
/// costs little, and readers take no lock while it grows (the way <c>Storage.SparseChunkedArray</c> grows labels).
/// </summary>
/// <remarks>
/// Written by one thread at a time (the index's map lock); read by searches without a lock. A chunk is filled before the
/// table naming it is published, so a reader sees either no chunk (the default value) or a whole one. Elements are
/// stored after a fence, so a reader that sees a presence bit also sees the value written before it.
/// </remarks>
internal sealed class SparseColumnArray<T>
{
    private const int ChunkShift = 12;
    private const int ChunkSize = 1 << ChunkShift;
    private const int ChunkMask = ChunkSize - 1;

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
    }

    /// <summary>Writes one element (callers hold the writers' lock). Writing the default into a missing chunk allocates nothing.</summary>
    public void Set(int index, T value)
    {
        int c = index >> ChunkShift;
        T[]?[] chunks = _chunks;
        T[]? chunk = c < chunks.Length ? chunks[c] : null;
        if (chunk is null)
        {
            if (EqualityComparer<T>.Default.Equals(value, default!)) return;
            if (c >= chunks.Length)
            {
                var larger = new T[]?[Math.Max(c + 1, chunks.Length * 2)];
                chunks.CopyTo(larger, 0);
                Volatile.Write(ref _chunks, larger);
                chunks = larger;
            }
            chunk = new T[ChunkSize];
            Volatile.Write(ref chunks[c], chunk);
            _allocatedChunks++;
        }
        // A full fence before the store: whatever the writer stored before (a value) is visible before this (its presence bit).
        Interlocked.MemoryBarrier();
        chunk[index & ChunkMask] = value;
    }

    /// <summary>Bytes of the chunks allocated (elements only, not objects they name).</summary>
    public long AllocatedBytes => (long)Volatile.Read(ref _allocatedChunks) * ChunkSize * Unsafe.SizeOf<T>();
}
