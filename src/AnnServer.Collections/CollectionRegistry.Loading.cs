using System.Collections.Concurrent;
using AnnServer.Core.Snapshots;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

/// <summary>
/// Snapshots loaded into the running server (<see cref="SnapshotLoader"/> does the work): a load takes its name here
/// first (<see cref="BeginLoadAsync"/>), is listed and described as loading meanwhile, and either becomes a collection
/// (<see cref="CompleteLoadAsync"/>) or is forgotten (<see cref="AbandonLoad"/>), leaving nothing behind.
/// </summary>
public sealed partial class CollectionRegistry
{
    private readonly ConcurrentDictionary<string, SnapshotLoad> _loading = new(StringComparer.Ordinal);

    /// <summary>The load in progress under that name (or the name an alias gives it), if any.</summary>
    public SnapshotLoad? FindLoading(string name)
    {
        ThrowIfLoading();
        return _loading.GetValueOrDefault(name);
    }

    /// <summary>Takes <paramref name="name"/> for a load of <paramref name="totalBytes"/>.</summary>
    /// <exception cref="CollectionAlreadyExistsException">the name is taken.</exception>
    /// <exception cref="LimitExceededException">the collections, with those being loaded, are at
    /// <paramref name="maxCollections"/>.</exception>
    internal async Task<SnapshotLoad> BeginLoadAsync(string name, long totalBytes, LoadStep firstStep, int maxCollections,
        CancellationToken cancellationToken)
    {
        if (CollectionName.Problem(name) is { } problem)
            throw new ArgumentException($"name {problem}", nameof(name));
        ThrowIfLoading();
        await _adminLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfNameTaken(name);
            int count = _collections.Count + _loading.Count;
            if (count >= maxCollections)
                throw new LimitExceededException(
                    $"the server has {count} collections (with those being loaded), its limit (--max-collections {maxCollections}); drop one first");
            var load = new SnapshotLoad(name, totalBytes, firstStep);
            _loading[name] = load;
            return load;
        }
        finally
        {
            _adminLock.Release();
        }
    }

    /// <summary>Forgets a load that failed or was cancelled (its staging folder is the loader's to delete).</summary>
    internal void AbandonLoad(SnapshotLoad load) => _loading.TryRemove(new KeyValuePair<string, SnapshotLoad>(load.Name, load));

    /// <summary>Publishes the staged, loaded snapshot as the collection the load was for, opens its (new, empty) log and
    /// serves it in place of the load. Past the rename the collection is in the data directory; should opening it fail,
    /// its folder is deleted again. Cancellation is honoured up to the rename, not after.</summary>
    internal async Task<CollectionStatus> CompleteLoadAsync(SnapshotLoad load, string staging, LoadedSnapshot loaded, string source,
        DateTime started, CancellationToken cancellationToken)
    {
        await _adminLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _disposed) != 0)
                throw new CollectionUnavailableException("the server is shutting down; the load was abandoned");
            Collection collection;
            try
            {
                collection = PublishAndOpen(load.Name, staging, loaded);
            }
            catch (InvalidOperationException)
            {
                DataDirectory.DeleteCollectionFolder(DataDirectory.CollectionFolder(load.Name));
                throw;
            }
            Add(collection);
            _loading.TryRemove(load.Name, out _);
            _logger.LogInformation("Loaded collection {Name} from {Source} while serving: {Count} points, dimension {Dimension}, {Metric}, in {Ms:F0} ms",
                collection.Name, source, collection.Count, collection.Dimension, collection.Metric, (DateTime.UtcNow - started).TotalMilliseconds);
            return collection.Status();
        }
        finally
        {
            _adminLock.Release();
        }
    }
}
