using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace AnnServer.Core.Snapshots;

/// <summary>
/// A snapshot file mapped copy-on-write, for an index that uses the file's vectors and level-0 lists in place
/// (<c>--map-snapshots</c>): owned by the index's storage (<see cref="Hnsw.GraphStorage.Backing"/>) and unmapped with it.
/// Copy-on-write because inserts change the lists of the nodes they link to: a changed page becomes the process's own,
/// and the file is never written. Mapped from the handle the load read, so it is the same file even if its path has
/// been replaced since.
/// </summary>
internal sealed unsafe class SnapshotMapping : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private bool _released;

    public SnapshotMapping(SafeFileHandle handle)
    {
        _file = MemoryMappedFile.CreateFromFile(handle, null, 0, MemoryMappedFileAccess.CopyOnWrite, HandleInheritability.None, leaveOpen: true);
        try
        {
            _view = _file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.CopyOnWrite);
        }
        catch
        {
            _file.Dispose();
            throw;
        }
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        Base = pointer + _view.PointerOffset;
    }

    /// <summary>The file's first byte.</summary>
    public byte* Base { get; }

    public void Dispose()
    {
        if (_released) return;
        _released = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
