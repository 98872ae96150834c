using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// The index a collection serves from, counted while calls read it, so that a compaction can put a rebuilt index in
/// its place and the old one is disposed once the last call still reading it has finished (its vectors and links are
/// native memory: disposing it under a running search would read freed memory).
/// </summary>
internal sealed class IndexGeneration(HnswIndex index)
{
    private int _readers;
    private int _retired;
    private int _disposed;

    public HnswIndex Index { get; } = index;

    /// <summary>Counts a reader in; false when the generation was retired (the caller reads the collection's new one).</summary>
    public bool TryEnter()
    {
        Interlocked.Increment(ref _readers);
        if (Volatile.Read(ref _retired) == 0) return true;
        Exit();
        return false;
    }

    public void Exit()
    {
        // The last reader of a retired index is a search: it does not wait for the disposal (20-50 ms for Fashion-MNIST).
        if (Interlocked.Decrement(ref _readers) == 0 && Volatile.Read(ref _retired) != 0)
            ThreadPool.UnsafeQueueUserWorkItem(static generation => generation.DisposeOnce(), this, preferLocal: false);
    }

    /// <summary>No new reader may enter; the index is disposed now, or by the last reader's <see cref="Exit"/>.</summary>
    public void Retire()
    {
        // A full fence between the flag and the count, as in TryEnter: one of the two sides always sees the other.
        Interlocked.Exchange(ref _retired, 1);
        if (Volatile.Read(ref _readers) == 0)
            DisposeOnce();
    }

    private void DisposeOnce()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            Index.Dispose();
    }
}
