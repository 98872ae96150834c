using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace AnnServer.Core.Storage;

/// <summary>
/// The live node of each point id: an open-addressing table (linear probing, backward-shift deletion) of 12-byte slots
/// in native memory, on 2 MiB pages once it spans one. Our own rather than <c>Dictionary&lt;long, int&gt;</c> because of
/// what the engine pays for it at catalogue scale: the dictionary holds 28 bytes a point (24-byte entries and 4-byte
/// buckets) on 4 KiB pages of the managed heap, where a fresh process that loads a snapshot pays the first touch of
/// each page (10-15 µs a page on the VM we measure on, bench/first-touch.c: a load of 1,000,000 points took 0.95× the
/// time with this table, and 2.5 MiB less at its peak). This table of 12-byte slots, a power of two of them, holds 16 to 32
/// bytes a point (16 at its fullest, 3/4), on pages that cost about 0.25 µs each to touch there.
/// Not thread-safe: the index reads and writes it under its map lock only.
/// </summary>
internal sealed unsafe class NodeIdMap : IDisposable
{
    /// <summary>Grown before more than 3/4 of the slots are taken: linear probing's probe lengths stay short.</summary>
    private const int MaxLoadNumerator = 3, MaxLoadDenominator = 4;
    private const int MinimumCapacity = 16;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct Slot
    {
        public long Id;

        /// <summary>The node + 1, so that zeroed memory is an empty table.</summary>
        public int NodePlusOne;
    }

    private Slot* _slots;
    private int _capacity;

    public NodeIdMap() => Allocate(MinimumCapacity);

    public int Count { get; private set; }

    /// <summary>Bytes of native memory the table holds.</summary>
    public long MemoryBytes => (long)_capacity * sizeof(Slot);

    public bool TryGetValue(long id, out int node)
    {
        long slot = Find(id);
        node = slot >= 0 ? _slots[slot].NodePlusOne - 1 : -1;
        return slot >= 0;
    }

    public bool ContainsKey(long id) => Find(id) >= 0;

    /// <summary>Asks the cache for the slot a lookup or <see cref="Set"/> of <paramref name="id"/> starts at. A bulk insert
    /// (a snapshot's load) otherwise waits on a cache miss an id, the table being tens of megabytes at a million ids:
    /// asked for some ids ahead, the misses overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(long id)
    {
        if (Sse.IsSupported) Sse.Prefetch0(_slots + Home(id, _capacity));
    }

    /// <summary>Makes <paramref name="node"/> the node of <paramref name="id"/>; true, with the node it replaces, when the
    /// id had one.</summary>
    public bool Set(long id, int node, out int previous)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(node);
        ThrowIfDisposed();
        EnsureCapacity(Count + 1);
        long slot = Home(id, _capacity);
        while (_slots[slot].NodePlusOne != 0)
        {
            if (_slots[slot].Id == id)
            {
                previous = _slots[slot].NodePlusOne - 1;
                _slots[slot].NodePlusOne = node + 1;
                return true;
            }
            slot = Next(slot);
        }
        _slots[slot] = new Slot { Id = id, NodePlusOne = node + 1 };
        Count++;
        previous = -1;
        return false;
    }

    public bool Remove(long id, out int node)
    {
        long hole = Find(id);
        if (hole < 0)
        {
            node = -1;
            return false;
        }
        node = _slots[hole].NodePlusOne - 1;
        // Backward shift: each later slot of the run moves into the hole unless its home lies cyclically in (hole, slot],
        // where a lookup starting at its home would never have passed the hole. No tombstones, so lookups never slow down.
        long slot = hole;
        while (true)
        {
            slot = Next(slot);
            if (_slots[slot].NodePlusOne == 0) break;
            long home = Home(_slots[slot].Id, _capacity);
            bool staysPut = hole <= slot ? hole < home && home <= slot : hole < home || home <= slot;
            if (staysPut) continue;
            _slots[hole] = _slots[slot];
            hole = slot;
        }
        _slots[hole] = default;
        Count--;
        return true;
    }

    /// <summary>Grows the table so that <paramref name="count"/> ids fit within its load limit.</summary>
    public void EnsureCapacity(int count)
    {
        if ((long)count * MaxLoadDenominator <= (long)_capacity * MaxLoadNumerator) return;
        Rehash(CapacityFor(count));
    }

    /// <summary>The bytes of a table grown to hold <paramref name="count"/> ids: a function of the count alone, whatever the
    /// order of its growth, so that a memory estimate can predict the steps (MemoryEstimate).</summary>
    public static long BytesFor(long count) => (long)CapacityFor(count) * sizeof(Slot);

    /// <summary>The power of two that holds <paramref name="count"/> ids within the load limit.</summary>
    private static int CapacityFor(long count)
    {
        long least = Math.Max(MinimumCapacity, count * MaxLoadDenominator / MaxLoadNumerator + 1);
        if (least > 1 << 30) throw new InvalidOperationException($"an index holds at most {(1L << 30) * MaxLoadNumerator / MaxLoadDenominator} ids");
        return (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)least);
    }

    private long Find(long id)
    {
        ThrowIfDisposed();
        long slot = Home(id, _capacity);
        while (_slots[slot].NodePlusOne != 0)
        {
            if (_slots[slot].Id == id) return slot;
            slot = Next(slot);
        }
        return -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Next(long slot) => slot + 1 == _capacity ? 0 : slot + 1;

    /// <summary>The slot a lookup of <paramref name="id"/> starts at: the id mixed (SplitMix64's finalizer, so that runs
    /// of consecutive ids spread out) and scaled onto [0, capacity) by its high bits, which leaves the capacity free to be
    /// any size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Home(long id, int capacity)
    {
        ulong z = (ulong)id;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (long)Math.BigMul(z, (ulong)capacity, out _);
    }

    private void Rehash(int capacity)
    {
        Slot* old = _slots;
        int oldCapacity = _capacity;
        Allocate(capacity);
        for (long slot = 0; slot < oldCapacity; slot++)
        {
            if (old[slot].NodePlusOne == 0) continue;
            long target = Home(old[slot].Id, _capacity);
            while (_slots[target].NodePlusOne != 0) target = Next(target);
            _slots[target] = old[slot];
        }
        ZeroedPages.Free(old, (long)oldCapacity * sizeof(Slot));
    }

    private void Allocate(int capacity)
    {
        long bytes = (long)capacity * sizeof(Slot);
        _slots = (Slot*)ZeroedPages.Allocate(bytes, hugePages: true);
        _capacity = capacity;
    }

    /// <summary>A read of a disposed index throws instead of reading freed memory.</summary>
    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_slots is null, this);

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    ~NodeIdMap() => Free();

    private void Free()
    {
        if (_slots is null) return;
        ZeroedPages.Free(_slots, (long)_capacity * sizeof(Slot));
        _slots = null;
        _capacity = 0;
        Count = 0;
    }
}
