namespace AnnServer.Storage;

/// <summary>
/// A collection's log folder cannot be opened or replayed safely (for example its commit
/// metadata is unreadable although data was committed). The message names the folder and what
/// an operator can do; the library never silently starts an empty log over damaged data.
/// </summary>
public sealed class CollectionLogCorruptException : Exception
{
    public CollectionLogCorruptException(string message, Exception? inner = null) : base(message, inner) { }
}
