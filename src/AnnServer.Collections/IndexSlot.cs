using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// The collection's current <see cref="IndexGeneration"/>. No lock: the slot is read with <see cref="Volatile"/> and
/// replaced only by a compaction (<see cref="Compactor"/>), with the applier paused and under the checkpoint lock. The
/// applier and checkpoints read the index through <see cref="Index"/>, since nothing replaces it while they run; every
/// other reader enters the generation (<see cref="Enter"/>), so that a replaced index is disposed only once the last
/// call still reading it has finished.
/// </summary>
internal sealed class IndexSlot(HnswIndex index)
{
    private IndexGeneration _generation = new(index);

    /// <summary>The index the applier and checkpoints work on: nothing replaces it while they run.</summary>
    public HnswIndex Index => Volatile.Read(ref _generation).Index;

    /// <summary>Counts the caller in as a reader of the current generation; the caller must <see cref="IndexGeneration.Exit"/>.</summary>
    public IndexGeneration Enter()
    {
        while (true)
        {
            IndexGeneration generation = Volatile.Read(ref _generation);
            if (generation.TryEnter()) return generation;
        }
    }

    public T Read<T>(Func<HnswIndex, T> read)
    {
        IndexGeneration generation = Enter();
        try
        {
            return read(generation.Index);
        }
        finally
        {
            generation.Exit();
        }
    }

    /// <summary>Puts <paramref name="rebuilt"/> in the slot and returns the generation it replaced, for the caller to
    /// retire. Only with the applier paused (see the class comment).</summary>
    public IndexGeneration Replace(HnswIndex rebuilt)
    {
        IndexGeneration previous = Volatile.Read(ref _generation);
        Volatile.Write(ref _generation, new IndexGeneration(rebuilt));
        return previous;
    }

    /// <summary>Retires the current generation: its index is disposed once its last reader has left.</summary>
    public void RetireCurrent() => Volatile.Read(ref _generation).Retire();
}
