namespace AnnServer.Collections;

/// <summary>A collection in use by one request. Dispose it when the request is done with the collection, so that a
/// dropped collection's index can be released (see <see cref="Collection"/>). A struct: taking one allocates nothing.</summary>
public readonly struct CollectionLease : IDisposable
{
    internal CollectionLease(Collection collection) => Collection = collection;

    public Collection Collection { get; }

    public void Dispose() => Collection?.Exit();
}
