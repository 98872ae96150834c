using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

/// <summary>
/// Aliases: other names of collections, in the collections' namespace. Resolving one (<see cref="TryAcquireAliased"/>,
/// every data-plane call that names an alias) reads the immutable <see cref="AliasTable"/> and takes no lock; a change
/// (create, switch, delete) is made under the admin lock, written durably to the alias file (<see cref="AliasFile"/>)
/// and only then published, in one store, so that an acknowledged change survives a crash and a failed write changes
/// nothing. A call that resolved the alias before a switch holds a lease on the old collection and finishes on it.
/// </summary>
public sealed partial class CollectionRegistry
{
    private AliasTable _aliases = AliasTable.Empty;

    /// <summary>Every alias, sorted by alias.</summary>
    public List<CollectionAlias> ListAliases()
    {
        ThrowIfLoading();
        return Volatile.Read(ref _aliases).List();
    }

    /// <summary>The collection <paramref name="alias"/> names, or null when it is not an alias.</summary>
    public string? AliasTarget(string alias)
    {
        ThrowIfLoading();
        return Volatile.Read(ref _aliases).TargetOf(alias);
    }

    /// <summary>Makes <paramref name="alias"/> a name of <paramref name="collection"/>, durably.</summary>
    /// <exception cref="ArgumentException">a bad name, or <paramref name="collection"/> is itself an alias.</exception>
    /// <exception cref="CollectionAlreadyExistsException">the alias's name is taken (by a collection or an alias).</exception>
    /// <exception cref="CollectionNotFoundException">no such collection.</exception>
    public async Task CreateAliasAsync(string alias, string collection, CancellationToken cancellationToken)
    {
        CheckNames(alias, collection);
        ThrowIfLoading();
        await _adminLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfNameTaken(alias);
            ThrowIfNotAliasable(collection);
            Publish(Volatile.Read(ref _aliases).With(alias, collection));
            _logger.LogInformation("Created alias {Alias} of collection {Collection}", alias, collection);
        }
        finally
        {
            _adminLock.Release();
        }
    }

    /// <summary>Points <paramref name="alias"/> at <paramref name="collection"/>, durably, and returns the collection it
    /// named before. With <paramref name="expectedCollection"/>, only if it names that one now (compare-and-set).</summary>
    /// <exception cref="AliasNotFoundException">no such alias.</exception>
    /// <exception cref="AliasTargetChangedException">it does not name <paramref name="expectedCollection"/>.</exception>
    /// <exception cref="CollectionNotFoundException">no such collection.</exception>
    public async Task<string> SwitchAliasAsync(string alias, string collection, string? expectedCollection,
        CancellationToken cancellationToken)
    {
        CheckNames(alias, collection);
        if (!string.IsNullOrEmpty(expectedCollection) && CollectionName.Problem(expectedCollection) is { } problem)
            throw new ArgumentException($"expected_collection {problem}", nameof(expectedCollection));
        ThrowIfLoading();
        await _adminLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            AliasTable table = Volatile.Read(ref _aliases);
            string current = table.TargetOf(alias) ?? throw new AliasNotFoundException(alias);
            if (!string.IsNullOrEmpty(expectedCollection) && expectedCollection != current)
                throw new AliasTargetChangedException(alias, expectedCollection, current);
            ThrowIfNotAliasable(collection);
            if (current != collection)
                Publish(table.With(alias, collection));
            _logger.LogInformation("Switched alias {Alias} from collection {Previous} to {Collection}", alias, current, collection);
            return current;
        }
        finally
        {
            _adminLock.Release();
        }
    }

    /// <summary>Deletes <paramref name="alias"/>, durably; the collection stays.</summary>
    /// <exception cref="AliasNotFoundException">no such alias.</exception>
    public async Task DeleteAliasAsync(string alias, CancellationToken cancellationToken)
    {
        if (CollectionName.Problem(alias) is { } problem)
            throw new ArgumentException($"alias {problem}", nameof(alias));
        ThrowIfLoading();
        await _adminLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            AliasTable table = Volatile.Read(ref _aliases);
            string target = table.TargetOf(alias) ?? throw new AliasNotFoundException(alias);
            Publish(table.Without(alias));
            _logger.LogInformation("Deleted alias {Alias} (of collection {Collection})", alias, target);
        }
        finally
        {
            _adminLock.Release();
        }
    }

    /// <summary>
    /// The lease of the collection <paramref name="name"/> names when it is an alias; null when it is not one, or names
    /// a collection that is not loaded. A switch publishes the new table before it returns, and a collection an alias
    /// names cannot be dropped, so a collection found through a table that is still current cannot be gone; one that
    /// was (switched away from, then dropped, between the read and the lease) is resolved again through the new table:
    /// a switch never makes a call fail.
    /// </summary>
    private CollectionLease? TryAcquireAliased(string name)
    {
        while (true)
        {
            AliasTable table = Volatile.Read(ref _aliases);
            if (table.TargetOf(name) is not { } target)
                return null;
            if (_collections.TryGetValue(target, out Collection? collection) && collection.TryEnter())
                return new CollectionLease(collection);
            if (ReferenceEquals(table, Volatile.Read(ref _aliases)))
                return null;
        }
    }

    /// <summary>Writes the table to the alias file, flushed, then makes it the one lookups read. Under the admin lock.</summary>
    private void Publish(AliasTable table)
    {
        AliasFile.Write(DataDirectory.Root, table.List());
        Volatile.Write(ref _aliases, table);
    }

    /// <summary>Reads the alias file at start (before the collections, so that an import cannot take an alias's name).</summary>
    /// <exception cref="InvalidDataException">the file is damaged: the server does not start with aliases it cannot
    /// read, which would send clients to the wrong collections or none.</exception>
    private void LoadAliases()
    {
        List<CollectionAlias> aliases = AliasFile.Read(DataDirectory.Root);
        Volatile.Write(ref _aliases, AliasTable.Of(aliases));
        if (aliases.Count > 0)
            _logger.LogInformation("Read {Count} alias(es) from {File}", aliases.Count, AliasFile.PathIn(DataDirectory.Root));
    }

    /// <summary>After the load: an alias whose collection is not in the data directory (its folder removed by hand, say)
    /// is kept, and calls through it get NOT_FOUND naming both, until it is switched or deleted.</summary>
    private void WarnAboutDanglingAliases()
    {
        foreach (CollectionAlias alias in Volatile.Read(ref _aliases).List())
        {
            if (!_collections.ContainsKey(alias.Collection) && !_failed.ContainsKey(alias.Collection))
                _logger.LogWarning("Alias {Alias} names collection {Collection}, which is not in the data directory: calls through it get NOT_FOUND until it is switched or deleted",
                    alias.Alias, alias.Collection);
        }
    }

    private static void CheckNames(string alias, string collection)
    {
        if (CollectionName.Problem(alias) is { } aliasProblem)
            throw new ArgumentException($"alias {aliasProblem}", nameof(alias));
        if (CollectionName.Problem(collection) is { } collectionProblem)
            throw new ArgumentException($"collection {collectionProblem}", nameof(collection));
    }

    /// <summary>An alias names a loaded collection; never another alias (one step to resolve, no cycles).</summary>
    private void ThrowIfNotAliasable(string collection)
    {
        if (Volatile.Read(ref _aliases).TargetOf(collection) is { } target)
            throw new ArgumentException(
                $"collection '{collection}' is an alias (of '{target}'): an alias names a collection, not another alias; give '{target}'",
                nameof(collection));
        if (_failed.TryGetValue(collection, out FailedCollection? failed))
            throw failed.Refusal();
        if (_loading.TryGetValue(collection, out SnapshotLoad? load))
            throw load.Refusal();
        if (!_collections.ContainsKey(collection))
            throw new CollectionNotFoundException(collection);
    }

    /// <summary>A name in use in the namespace: a collection, a failed one, a load in progress, an alias, or a folder
    /// of the data directory. Under the admin lock.</summary>
    private void ThrowIfNameTaken(string name)
    {
        if (_collections.ContainsKey(name))
            throw new CollectionAlreadyExistsException(name);
        if (_failed.ContainsKey(name))
            throw new CollectionAlreadyExistsException(name,
                " but failed to load (see GetCollectionInfo for why); drop it first to create a new one under that name");
        if (_loading.ContainsKey(name))
            throw new CollectionAlreadyExistsException(name, " and is being loaded from a snapshot");
        if (Volatile.Read(ref _aliases).TargetOf(name) is { } target)
            throw new CollectionAlreadyExistsException(name,
                $" as an alias (of collection '{target}'): aliases and collections share one namespace; delete the alias or choose another name");
        string folder = DataDirectory.CollectionFolder(name);
        if (Directory.Exists(folder))
            throw new CollectionAlreadyExistsException(name,
                $" on disk: the folder {folder} exists but is not a loaded collection; remove it or choose another name");
    }

    /// <summary>A drop of an alias, of a collection an alias names, or of a load in progress. Under the admin lock.</summary>
    private void ThrowIfDropRefused(string name)
    {
        AliasTable table = Volatile.Read(ref _aliases);
        if (table.TargetOf(name) is { } target)
            throw new CollectionPreconditionException(
                $"'{name}' is an alias (of collection '{target}'), not a collection: DeleteAlias removes an alias; DropCollection takes the collection's own name");
        List<string> aliases = table.AliasesOf(name);
        if (aliases.Count > 0)
            throw new CollectionPreconditionException(
                $"collection '{name}' is named by alias{(aliases.Count > 1 ? "es" : "")} {string.Join(", ", aliases.Select(a => $"'{a}'"))}: " +
                "switch or delete them first (SwitchAlias, DeleteAlias), so that no client is sent to a dropped collection");
        if (_loading.TryGetValue(name, out SnapshotLoad? load))
            throw new CollectionUnavailableException(
                $"collection '{name}' is being loaded from a snapshot ({load.Progress.Step.ToString().ToLowerInvariant()}): cancel the load call to stop it");
    }
}
