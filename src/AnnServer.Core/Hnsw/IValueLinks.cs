namespace AnnServer.Core.Hnsw;

/// <summary>
/// The extra links a two-hop walk follows from a passing node: none, or its value's (<see cref="ValueLinks"/>). A struct
/// type argument, so the walk without them compiles to the walk it always was.
/// </summary>
internal interface IValueLinks
{
    int MaxLinks { get; }
    ReadOnlySpan<int> Of(int node);
}

internal readonly struct NoValueLinks : IValueLinks
{
    public int MaxLinks => 0;
    public ReadOnlySpan<int> Of(int node) => default;
}

internal readonly struct FollowedValueLinks(ValueLinks links) : IValueLinks
{
    public int MaxLinks => links.MaxLinks;
    public ReadOnlySpan<int> Of(int node) => links.Links(node);
}
