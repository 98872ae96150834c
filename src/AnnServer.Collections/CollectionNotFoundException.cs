namespace AnnServer.Collections;

/// <summary>No collection has this name. The gRPC layer answers NOT_FOUND.</summary>
public sealed class CollectionNotFoundException(string name, string? message = null)
    : Exception(message ?? $"collection '{name}' does not exist")
{
    public string Name { get; } = name;
}
