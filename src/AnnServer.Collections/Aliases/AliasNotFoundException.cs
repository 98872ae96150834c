namespace AnnServer.Collections;

/// <summary>No alias has this name. The gRPC layer answers NOT_FOUND.</summary>
public sealed class AliasNotFoundException(string alias) : Exception($"alias '{alias}' does not exist")
{
    public string Alias { get; } = alias;
}
