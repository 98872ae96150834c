namespace AnnServer.Collections;

/// <summary>
/// A collection in use by one request, as <see cref="ICollectionCatalog.Open"/> resolved it. Dispose it when the
/// request is done: a local collection's lease then lets a dropped collection's index be released. A struct: opening a
/// local collection allocates nothing.
/// </summary>
public readonly struct CollectionHandle : IDisposable
{
    private readonly CollectionLease _lease;

    public CollectionHandle(CollectionLease lease)
    {
        _lease = lease;
        Collection = lease.Collection;
    }

    /// <summary>A collection that needs no lease (a cluster collection holds no local data).</summary>
    public CollectionHandle(IVectorCollection collection) => Collection = collection;

    public IVectorCollection Collection { get; }

    public void Dispose() => _lease.Dispose();
}
