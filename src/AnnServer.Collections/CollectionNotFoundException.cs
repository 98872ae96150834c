namespace AnnServer.Collections;

/// <summary>No collection has this name. The gRPC layer answers NOT_FOUND.</summary>
public sealed class CollectionNotFoundException(string name)
    : Exception($"collection '{name}' does not exist")
{
    public string Name { get; } = name;
}
