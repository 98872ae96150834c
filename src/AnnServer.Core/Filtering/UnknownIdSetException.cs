namespace AnnServer.Core.Filtering;

/// <summary>A filter names an id set that does not exist: never put, deleted, or past its TTL.</summary>
public sealed class UnknownIdSetException(string name)
    : Exception($"id set '{name}' does not exist: it was never put, was deleted, or has expired (id sets are not durable: put it again)")
{
    public string Name { get; } = name;
}
