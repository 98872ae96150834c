using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>One query: a vector of the collection's dimension (finite components) and an optional filter.</summary>
public readonly record struct SearchQuery(ReadOnlyMemory<float> Vector, SearchFilter? Filter);
