namespace AnnServer.Collections;

/// <summary>A collection with this name exists already. The gRPC layer answers ALREADY_EXISTS.</summary>
public sealed class CollectionAlreadyExistsException(string name, string? detail = null)
    : Exception($"collection '{name}' already exists{detail}")
{
    public string Name { get; } = name;
}
