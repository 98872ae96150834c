using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace AnnServer.Core.Snapshots;

/// <summary>
/// A snapshot file mapped for an index that uses the file's vectors and level-0 lists in place (<c>--map-snapshots</c>):
/// owned by the index's storage (<see cref="Hnsw.GraphStorage.Backing"/>) and unmapped with it. Mapped from the handle
/// the load read, so it is the same file even if its path has been replaced since.
/// </summary>
/// <remarks>
/// The whole file is mapped read-only (<see cref="Base"/>). The sections an index writes to (the level-0 lists, which
/// inserts change for the nodes they link to) get a copy-on-write view of their own (<see cref="MapPrivate"/>): a
/// changed page becomes the process's own, and the file is never written. Only those views, not the whole file, count
/// against the kernel's commit limit: a private writable mapping is charged at its full size, and one of a file larger
/// than memory and swap, as a catalogue's vectors may be, would be refused under the default overcommit heuristic.
/// </remarks>
internal sealed unsafe class SnapshotMapping : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly List<MemoryMappedViewAccessor> _privateViews = [];
    private bool _released;

    public SnapshotMapping(SafeFileHandle handle)
    {
        // Opened for copy-on-write so that private views can be made of it; the view of the whole file is read-only.
        _file = MemoryMappedFile.CreateFromFile(handle, null, 0, MemoryMappedFileAccess.CopyOnWrite, HandleInheritability.None, leaveOpen: true);
        try
        {
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        }
        catch
        {
            _file.Dispose();
            throw;
        }
        Base = Acquire(_view);
    }

    /// <summary>The file's first byte, read-only.</summary>
    public byte* Base { get; }

    /// <summary>A copy-on-write view of <paramref name="length"/> bytes (at least 1) from <paramref name="offset"/>: its
    /// first byte, writable; what is written stays in this process.</summary>
    public byte* MapPrivate(long offset, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ObjectDisposedException.ThrowIf(_released, this);
        MemoryMappedViewAccessor view = _file.CreateViewAccessor(offset, length, MemoryMappedFileAccess.CopyOnWrite);
        _privateViews.Add(view);
        return Acquire(view);
    }

    private static byte* Acquire(MemoryMappedViewAccessor view)
    {
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        return pointer + view.PointerOffset;
    }

    public void Dispose()
    {
        if (_released) return;
        _released = true;
        foreach (MemoryMappedViewAccessor view in _privateViews) Release(view);
        Release(_view);
        _file.Dispose();
    }

    private static void Release(MemoryMappedViewAccessor view)
    {
        view.SafeMemoryMappedViewHandle.ReleasePointer();
        view.Dispose();
    }
}
