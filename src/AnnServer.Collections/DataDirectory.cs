using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// The layout of the server's data directory (documented in docs/api.md, "Data directory"):
/// <code>
/// data/                              --data-dir
///   .lock, .lock.pid                 held by the one server using the folder, and its pid (<see cref="Lock"/>)
///   &lt;name&gt;/                           one folder per collection; the folder name is the collection name
///     snapshot.snap                  its last checkpoint (docs/snapshot-format.md); the log position is in the header
///     log/                           its write-ahead log (docs/log-format.md): the writes since that position
///       .lock                        held while the collection is open (<see cref="FolderLock"/>)
///   .creating-&lt;name&gt;-&lt;random&gt;/        a CreateCollection or --snapshot import in progress
///   .dropping-&lt;name&gt;-&lt;random&gt;/        a DropCollection in progress
///   .damaged-&lt;name&gt;-&lt;time&gt;/           a cluster replica's damaged files, set aside for an operator (<see cref="SetAside"/>)
/// </code>
/// A collection appears and disappears by one directory rename, so a crash leaves either the whole folder or none;
/// the dot-folders a crash may leave behind are removed at the next start. Collection names cannot start with '.'.
/// </summary>
public sealed class DataDirectory(string root) : IDisposable
{
    public const string SnapshotFileName = "snapshot.snap";
    public const string LogFolderName = "log";
    private const string CreatingPrefix = ".creating-";
    private const string DroppingPrefix = ".dropping-";

    private readonly Lock _lockGuard = new();
    private FolderLock? _lock;

    /// <summary>Absolute path of the data directory.</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>True while this instance holds the folder's lock.</summary>
    public bool IsLocked { get { lock (_lockGuard) return _lock is not null; } }

    /// <summary>Creates the directory if needed and takes its lock (<see cref="FolderLock"/>, with this process's pid),
    /// so that one process at a time uses it: two servers on one folder would each acknowledge writes the other's
    /// restart loses. Everything under the folder (collections, cluster replicas) is covered. Does nothing when this
    /// instance holds the lock already; <see cref="Dispose"/> releases it.</summary>
    /// <exception cref="FolderInUseException">another process holds it; the message names its pid.</exception>
    public void Lock()
    {
        lock (_lockGuard)
            _lock ??= FolderLock.Acquire(Root, recordHolder: true);
    }

    /// <summary>Releases the lock taken by <see cref="Lock"/>, if any.</summary>
    public void Dispose()
    {
        lock (_lockGuard)
        {
            _lock?.Dispose();
            _lock = null;
        }
    }

    public string CollectionFolder(string name) => Path.Combine(Root, name);

    public static string SnapshotPath(string collectionFolder) => Path.Combine(collectionFolder, SnapshotFileName);

    /// <summary>The collection's write-ahead log folder: inside the collection folder, so that the rename that drops a
    /// collection takes its log along.</summary>
    public static string LogFolder(string collectionFolder) => Path.Combine(collectionFolder, LogFolderName);

    /// <summary>A fresh folder in which a new collection is assembled before it is renamed into place.</summary>
    public string NewStagingFolder(string name)
    {
        string path = Path.Combine(Root, $"{CreatingPrefix}{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Moves a collection folder out of the way (one rename, flushed to disk), then deletes it: a crash
    /// leaves the whole folder under its name, or a dot-folder that <see cref="Prepare"/> removes.</summary>
    public void DeleteCollectionFolder(string folder)
    {
        if (!Directory.Exists(folder)) return;
        string name = Path.GetFileName(folder);
        string doomed = Path.Combine(Root, $"{DroppingPrefix}{name}-{Guid.NewGuid():N}");
        Directory.Move(folder, doomed);
        DirectorySync.Flush(Root);
        Directory.Delete(doomed, recursive: true);
    }

    /// <summary>Moves a collection folder out of the way, to <c>.{reason}-{name}-{time}</c> in the data directory, and
    /// keeps it (a start removes only the dot-folders of interrupted creates and drops); returns its new path.</summary>
    public string SetAside(string folder, string reason)
    {
        string name = Path.GetFileName(folder);
        string aside = Path.Combine(Root, $".{reason}-{name}-{DateTime.UtcNow:yyyyMMddTHHmmssfffZ}");
        Directory.Move(folder, aside);
        DirectorySync.Flush(Root);
        return aside;
    }

    /// <summary>Renames an assembled staging folder to the collection's folder and flushes the rename to disk: the
    /// collection then exists, whole, even after a power loss.</summary>
    public void Publish(string stagingFolder, string collectionFolder)
    {
        // The staged files' own names must be on disk before the folder that holds them becomes a collection.
        DirectorySync.Flush(stagingFolder);
        Directory.Move(stagingFolder, collectionFolder);
        DirectorySync.Flush(Root);
    }

    /// <summary>Creates the directory if needed and removes what an interrupted create or drop left behind.</summary>
    public IReadOnlyList<string> Prepare()
    {
        Directory.CreateDirectory(Root);
        var removed = new List<string>();
        foreach (string folder in Directory.GetDirectories(Root))
        {
            string name = Path.GetFileName(folder);
            if (name.StartsWith(CreatingPrefix, StringComparison.Ordinal) || name.StartsWith(DroppingPrefix, StringComparison.Ordinal))
            {
                Directory.Delete(folder, recursive: true);
                removed.Add(folder);
            }
        }
        return removed;
    }

    /// <summary>The collection folders present, sorted by name: (name, folder) pairs, plus folders that are skipped
    /// with the reason (not a valid collection name, no snapshot file).</summary>
    public (List<(string Name, string Folder)> Collections, List<(string Folder, string Reason)> Skipped) Scan()
    {
        var collections = new List<(string, string)>();
        var skipped = new List<(string, string)>();
        string[] folders = Directory.GetDirectories(Root);
        Array.Sort(folders, StringComparer.Ordinal);
        foreach (string folder in folders)
        {
            string name = Path.GetFileName(folder);
            if (name.StartsWith('.')) continue;
            if (CollectionName.Problem(name) is { } problem)
                skipped.Add((folder, $"the folder name {problem}"));
            else if (!File.Exists(SnapshotPath(folder)))
                skipped.Add((folder, $"it has no {SnapshotFileName}"));
            else
                collections.Add((name, folder));
        }
        return (collections, skipped);
    }
}
