using System.Collections.Concurrent;
using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

/// <summary>
/// The server's collections by name, and their life on disk (see <see cref="DataDirectory"/> for the layout).
/// <para>
/// Lookups (every search) are a lock-free dictionary read plus a lease; create and drop are rare and take
/// <see cref="_adminLock"/> one at a time. Until <see cref="LoadAsync"/> has finished, every call but
/// <see cref="IsLoaded"/> is refused with <see cref="CollectionsLoadingException"/>, so a client never sees a partial
/// set of collections, and a create cannot race with the loading of a folder of the same name.
/// </para>
/// <para>
/// A collection folder that cannot be loaded (a damaged snapshot, a damaged log, a log that does not belong to its
/// snapshot) does not stop the others: it is quarantined as a <see cref="FailedCollection"/>, listed with its reason,
/// refused to every call but <see cref="DropAsync"/>, and its files are left as they were.
/// </para>
/// <para>
/// Aliases (CollectionRegistry.Aliases.cs) and snapshots loaded while serving (CollectionRegistry.Loading.cs) share
/// the collections' namespace: a name is a collection, a failed collection, a load in progress or an alias, never two.
/// </para>
/// </summary>
public sealed partial class CollectionRegistry : IDisposable, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Collection> _collections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, FailedCollection> _failed = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _adminLock = new(1, 1);
    private readonly ILogger<CollectionRegistry> _logger;
    private volatile bool _loaded;
    private int _toLoad;
    private int _loadedSoFar;
    private int _disposed;
    private int _compactionsStopped;
    private readonly MemoryBudget? _compactionBudget;

    /// <param name="compactionBudget">the memory budget compactions reserve their new index in (an explicit
    /// --memory-budget-bytes); null: none, only the process's memory limits them.</param>
    public CollectionRegistry(DataDirectory dataDirectory, ILogger<CollectionRegistry> logger, DurabilityOptions? durability = null,
        MemoryBudget? compactionBudget = null, IdSetPool? idSets = null)
    {
        DataDirectory = dataDirectory;
        IdSets = idSets ?? new IdSetPool();
        _logger = logger;
        Durability = durability ?? new DurabilityOptions();
        _compactionBudget = compactionBudget;
    }

    public DataDirectory DataDirectory { get; }

    /// <summary>The limits and byte budget every collection's stored id sets share.</summary>
    public IdSetPool IdSets { get; }

    /// <summary>Log and checkpoint settings every collection is opened with.</summary>
    public DurabilityOptions Durability { get; }

    /// <summary>Takes the data directory's lock ahead of <see cref="LoadAsync"/> (which takes it too), for a host that
    /// wants to fail before it opens any port; <see cref="DisposeAsync"/> releases it.</summary>
    /// <exception cref="FolderInUseException">another process uses the data directory; the message names its pid.</exception>
    public void LockDataDirectory() => DataDirectory.Lock();

    /// <summary>True once every collection found at start has been loaded.</summary>
    public bool IsLoaded => _loaded;

    /// <summary>"3 of 5 loaded", for health and error messages.</summary>
    public string LoadProgress => _loaded ? "all loaded" : $"{Volatile.Read(ref _loadedSoFar)} of {Volatile.Read(ref _toLoad)} loaded";

    /// <summary>The collection named <paramref name="name"/>, leased until the lease is disposed.</summary>
    /// <exception cref="CollectionNotFoundException">no such collection.</exception>
    /// <exception cref="CollectionPreconditionException">the collection failed to load (<see cref="FindFailed"/>).</exception>
    /// <exception cref="CollectionsLoadingException">the collections are still being loaded.</exception>
    public CollectionLease Acquire(string name) =>
        TryAcquire(name) ?? throw (FindFailed(name)?.Refusal() ?? (Exception)new CollectionNotFoundException(name));

    /// <summary>The quarantined collection of that name (or of the collection that alias names), if it failed to load;
    /// null otherwise.</summary>
    /// <exception cref="CollectionsLoadingException">the collections are still being loaded.</exception>
    public FailedCollection? FindFailed(string name)
    {
        ThrowIfLoading();
        return _failed.GetValueOrDefault(name)
               ?? (Volatile.Read(ref _aliases).TargetOf(name) is { } target ? _failed.GetValueOrDefault(target) : null);
    }

    /// <summary>The collections that failed to load, quarantined (for health and metrics).</summary>
    public ICollection<FailedCollection> Failed => _failed.Values;

    /// <summary>As <see cref="Acquire"/>, but null when there is no such loaded collection (a cluster collection, or one
    /// that failed to load, say) instead of an exception, for callers that pass such requests on. An alias leases the
    /// collection it names (<see cref="TryAcquireAliased"/>).</summary>
    /// <exception cref="CollectionsLoadingException">the collections are still being loaded.</exception>
    public CollectionLease? TryAcquire(string name)
    {
        ThrowIfLoading();
        return _collections.TryGetValue(name, out Collection? collection) && collection.TryEnter()
            ? new CollectionLease(collection)
            : TryAcquireAliased(name);
    }

    /// <summary>Every collection's status, sorted by name, those that failed to load included.</summary>
    public List<CollectionStatus> List()
    {
        ThrowIfLoading();
        var statuses = new List<CollectionStatus>(_collections.Count + _failed.Count + _loading.Count);
        foreach (Collection collection in _collections.Values)
            statuses.Add(collection.Status());
        foreach (FailedCollection failed in _failed.Values)
            statuses.Add(failed.Status());
        foreach (SnapshotLoad load in _loading.Values)
            statuses.Add(load.Status());
        statuses.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return statuses;
    }

    /// <summary>The collections registered so far (for metrics).</summary>
    public ICollection<Collection> Collections => _collections.Values;

    /// <summary>Creates an empty collection and writes its first snapshot, so that it survives a restart.</summary>
    /// <exception cref="ArgumentException">bad name or options; the message names the parameter.</exception>
    /// <exception cref="CollectionAlreadyExistsException">the name is in use.</exception>
    public async Task<CollectionStatus> CreateAsync(string name, HnswOptions options, CancellationToken cancellationToken)
    {
        if (CollectionName.Problem(name) is { } problem)
            throw new ArgumentException($"name {problem}", nameof(name));
        options.Validate();
        ThrowIfLoading();

        await _adminLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfNameTaken(name);
            string folder = DataDirectory.CollectionFolder(name);
            string staging = DataDirectory.NewStagingFolder(name);
            var index = new HnswIndex(options);
            Collection collection;
            try
            {
                Snapshot.Save(index, DataDirectory.SnapshotPath(staging));
                DataDirectory.Publish(staging, folder);
                collection = Collection.Open(name, folder, DataDirectory, index, snapshotLogPosition: 0, Durability, _logger,
                    compactionBudget: _compactionBudget, idSets: IdSets);
            }
            catch
            {
                index.Dispose();
                if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
                throw;
            }
            Add(collection);
            _logger.LogInformation("Created collection {Name}: dimension {Dimension}, {Metric}, M {M}, efConstruction {EfConstruction}, quantization {Quantization}",
                name, options.Dimension, options.Metric, options.M, options.EfConstruction, options.Quantization);
            return collection.Status();
        }
        finally
        {
            _adminLock.Release();
        }
    }

    /// <summary>Removes a collection and deletes its folder. Searches already running on it finish first. A collection
    /// that failed to load is dropped the same way, its damaged files with it: the operator's way out of a quarantine.</summary>
    /// <exception cref="CollectionNotFoundException">no such collection.</exception>
    /// <exception cref="CollectionPreconditionException">an alias names it, or the name is an alias.</exception>
    /// <exception cref="CollectionUnavailableException">it is still being loaded.</exception>
    public async Task DropAsync(string name, CancellationToken cancellationToken)
    {
        ThrowIfLoading();
        await _adminLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDropRefused(name);
            if (_failed.TryGetValue(name, out FailedCollection? failed))
            {
                DataDirectory.DeleteCollectionFolder(failed.Folder);
                _failed.TryRemove(name, out _);
                _logger.LogWarning("Dropped collection {Name}, which had failed to load ({Reason}); its files in {Folder} are deleted",
                    name, failed.Reason, failed.Folder);
                return;
            }
            if (!_collections.TryRemove(name, out Collection? collection))
                throw new CollectionNotFoundException(name);
            await collection.DropAsync().ConfigureAwait(false);
            _logger.LogInformation("Dropped collection {Name}", name);
        }
        finally
        {
            _adminLock.Release();
        }
    }

    /// <summary>
    /// Loads every collection folder of the data directory, then imports each <paramref name="imports"/> snapshot whose
    /// name is not taken yet (copied into the data directory, so that the data directory alone describes the server).
    /// A collection folder that cannot be loaded is quarantined (<see cref="FailedCollection"/>) and the others load; an
    /// import (<paramref name="imports"/>) that cannot be read stops the load with an exception naming it: that is a
    /// wrong setting, not damaged data, and nothing of it is in the data directory yet.
    /// </summary>
    /// <exception cref="FolderInUseException">another process uses the data directory (thrown here, not by the task).</exception>
    public Task LoadAsync(IReadOnlyList<SnapshotImport> imports, CancellationToken cancellationToken)
    {
        DataDirectory.Lock();
        return Task.Run(() => Load(imports, cancellationToken), cancellationToken);
    }

    private void Load(IReadOnlyList<SnapshotImport> imports, CancellationToken cancellationToken)
    {
        foreach (string leftover in DataDirectory.Prepare())
            _logger.LogWarning("Removed {Folder}, left by an interrupted create, load or drop", leftover);
        LoadAliases();

        var (found, skipped) = DataDirectory.Scan();
        foreach (var (folder, reason) in skipped)
            _logger.LogWarning("Ignoring {Folder} in the data directory: {Reason}", folder, reason);
        Volatile.Write(ref _toLoad, found.Count + imports.Count);
        // Once, as progress: readiness answers "loading" meanwhile without logging (see the host's health checks).
        _logger.LogInformation("Loading {Count} collection(s) from {DataDir}", found.Count + imports.Count, DataDirectory.Root);

        foreach (var (name, folder) in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            LoadFolder(name, folder);
        }

        foreach (SnapshotImport import in imports)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (Volatile.Read(ref _aliases).TargetOf(import.Name) is { } aliased)
            {
                _logger.LogWarning("--snapshot {Name}={Path} ignored: {Name} is an alias (of collection {Target}); delete the alias to import the file",
                    import.Name, import.Path, import.Name, aliased);
                Interlocked.Increment(ref _loadedSoFar);
                continue;
            }
            if (_collections.ContainsKey(import.Name) || _failed.ContainsKey(import.Name))
            {
                _logger.LogWarning(
                    "--snapshot {Name}={Path} ignored: collection {Name} is already in the data directory ({Folder}); " +
                    "drop it (or delete the folder) to import the file again",
                    import.Name, import.Path, import.Name, DataDirectory.CollectionFolder(import.Name));
                Interlocked.Increment(ref _loadedSoFar);
                continue;
            }
            Import(import);
        }

        WarnAboutDanglingAliases();
        _loaded = true;
        if (_failed.IsEmpty)
            _logger.LogInformation("Loaded {Count} collection(s) from {DataDir}", _collections.Count, DataDirectory.Root);
        else
            _logger.LogError("Loaded {Count} collection(s) from {DataDir}; {Failed} FAILED and are not served: {Names}",
                _collections.Count, DataDirectory.Root, _failed.Count, string.Join(", ", _failed.Keys.Order(StringComparer.Ordinal)));
    }

    /// <summary>
    /// The first step of a clean shutdown: cancels every compaction in progress and lets no other start, so that the
    /// shutdown does not wait for a copy of the index it would throw away (seconds per 10,000 points). The checkpoints
    /// that follow (<see cref="CheckpointUnsavedAsync"/>) save the indexes as they are, tombstones included.
    /// </summary>
    public void StopCompactions()
    {
        Interlocked.Exchange(ref _compactionsStopped, 1);
        foreach (Collection collection in _collections.Values)
            collection.StopCompacting("the server is shutting down");
    }

    /// <summary>Snapshots every collection with writes since its last snapshot (at a clean shutdown). Not needed for
    /// durability, which the log gives; it makes the next start faster (nothing to replay).</summary>
    public async Task CheckpointUnsavedAsync(CancellationToken cancellationToken)
    {
        foreach (Collection collection in _collections.Values)
        {
            if (!collection.HasUnsavedWrites || !collection.TryEnter()) continue;
            try
            {
                var (_, duration) = await collection.CheckpointAsync(cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("Checkpointed collection {Name} in {Ms:F0} ms", collection.Name, duration.TotalMilliseconds);
            }
            finally
            {
                collection.Exit();
            }
        }
    }

    /// <summary>Closes every collection's log (committing what was enqueued) and disposes the indexes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (Collection collection in _collections.Values)
        {
            try
            {
                await collection.CloseAtShutdownAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Closing collection {Name} failed: {Message}", collection.Name, e.Message);
            }
        }
        _collections.Clear();
        DataDirectory.Dispose(); // every log is closed: the next process may have the folder
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Loads one collection folder found at start, or quarantines it with the reason it cannot be loaded.</summary>
    private void LoadFolder(string name, string folder)
    {
        string path = DataDirectory.SnapshotPath(folder);
        var started = DateTime.UtcNow;
        LoadedSnapshot loaded;
        try
        {
            loaded = Snapshot.Load(path, Durability.SnapshotLoading);
        }
        catch (Exception e) when (e is SnapshotFormatException or IOException or UnauthorizedAccessException)
        {
            Quarantine(name, folder, $"its snapshot {path} cannot be loaded: {e.Message}");
            return;
        }
        Collection collection;
        try
        {
            collection = OpenOrDispose(name, folder, loaded.Index, loaded.LogPosition);
        }
        catch (InvalidOperationException e)
        {
            Quarantine(name, folder, e.Message);
            return;
        }
        Register(collection, path, started);
    }

    /// <summary>Puts a collection that cannot be loaded aside: listed, refused, its files untouched. The reason is logged
    /// here, once.</summary>
    private void Quarantine(string name, string folder, string reason)
    {
        _failed[name] = new FailedCollection(name, folder, reason, DateTimeOffset.UtcNow);
        Interlocked.Increment(ref _loadedSoFar);
        _logger.LogError(
            "Collection {Name} FAILED to load and is not served: {Reason}. Its files in {Folder} are left as they were; calls to it get " +
            "FAILED_PRECONDITION. Repair or restore them and restart, or drop the collection (DropCollection deletes its folder)",
            name, reason, folder);
    }

    /// <summary>Opens the collection's log and replays it onto the loaded index; a failure names the collection and
    /// stops the load (the server does not serve a collection without its acknowledged writes).</summary>
    private Collection OpenOrDispose(string name, string folder, HnswIndex index, long snapshotLogPosition)
    {
        try
        {
            return Collection.Open(name, folder, DataDirectory, index, snapshotLogPosition, Durability, _logger,
                compactionBudget: _compactionBudget, idSets: IdSets);
        }
        catch (Exception e) when (e is CollectionLogCorruptException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            index.Dispose();
            throw new InvalidOperationException(e is CollectionLogCorruptException
                ? e.Message
                : $"its write-ahead log in {DataDirectory.LogFolder(folder)} cannot be replayed: {e.Message}", e);
        }
    }

    private void Import(SnapshotImport import)
    {
        string staging = DataDirectory.NewStagingFolder(import.Name);
        string stagedPath = DataDirectory.SnapshotPath(staging);
        var started = DateTime.UtcNow;
        LoadedSnapshot loaded;
        try
        {
            File.Copy(import.Path, stagedPath);
            // File.Copy leaves the copy in the page cache: flushed before the collection is published, so that a power
            // loss after the start cannot leave a published collection with a truncated snapshot.
            using (var copy = new FileStream(stagedPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                copy.Flush(flushToDisk: true);
            loaded = LoadStaged(stagedPath, verifyChecksums: true);
        }
        catch (Exception e) when (e is SnapshotFormatException or IOException or UnauthorizedAccessException)
        {
            Directory.Delete(staging, recursive: true);
            throw new InvalidOperationException($"cannot load --snapshot {import.Name}={import.Path}: {e.Message}", e);
        }
        Register(PublishAndOpen(import.Name, staging, loaded), import.Path, started);
    }

    /// <summary>Loads a snapshot copied into a staging folder, to become a new collection of this data directory: a
    /// snapshot taken from another server's data directory covers a position of that server's log; here it starts a new,
    /// empty log, from position 0, so it is saved again with position 0 when it says otherwise.</summary>
    /// <exception cref="SnapshotFormatException">the file is damaged; the message names the part.</exception>
    internal LoadedSnapshot LoadStaged(string stagedPath, bool verifyChecksums, int threads = 0)
    {
        LoadedSnapshot loaded = Snapshot.Load(stagedPath, new SnapshotLoadOptions
        {
            ReadIntoMemory = Durability.SnapshotLoading.ReadIntoMemory,
            SkipChecksums = !verifyChecksums || Durability.SnapshotLoading.SkipChecksums,
            Threads = threads,
        });
        if (loaded.LogPosition == 0)
            return loaded;
        try
        {
            Snapshot.Save(loaded.Index, stagedPath, logPosition: 0);
        }
        catch
        {
            loaded.Index.Dispose();
            throw;
        }
        return loaded with { LogPosition = 0 };
    }

    /// <summary>Renames an assembled staging folder into place and opens its collection (not registered yet): from here
    /// on it is in the data directory, and a restart loads it. On failure the index is disposed; a staging folder that
    /// could not be renamed is deleted, a published one is left to the caller.</summary>
    private Collection PublishAndOpen(string name, string staging, LoadedSnapshot loaded)
    {
        string folder = DataDirectory.CollectionFolder(name);
        try
        {
            DataDirectory.Publish(staging, folder);
        }
        catch
        {
            loaded.Index.Dispose();
            Directory.Delete(staging, recursive: true);
            throw;
        }
        return OpenOrDispose(name, folder, loaded.Index, loaded.LogPosition);
    }

    private void Register(Collection collection, string source, DateTime started)
    {
        Add(collection);
        Interlocked.Increment(ref _loadedSoFar);
        _logger.LogInformation("Loaded collection {Name} from {Source}: {Count} points, dimension {Dimension}, {Metric}, in {Ms:F0} ms",
            collection.Name, source, collection.Count, collection.Dimension, collection.Metric, (DateTime.UtcNow - started).TotalMilliseconds);
    }

    /// <summary>Adds a collection; one added while <see cref="StopCompactions"/> runs or after it does not compact either:
    /// the flag is written before the dictionary is read there, and read after the dictionary is written here, with full
    /// fences between, so one side sees the other.</summary>
    private void Add(Collection collection)
    {
        _collections[collection.Name] = collection;
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _compactionsStopped) != 0)
            collection.StopCompacting("the server is shutting down");
    }

    private void ThrowIfLoading()
    {
        if (!_loaded) throw new CollectionsLoadingException(LoadProgress);
    }
}
