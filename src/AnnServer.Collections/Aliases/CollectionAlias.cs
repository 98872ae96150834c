namespace AnnServer.Collections;

/// <summary>Another name of a collection: <see cref="Alias"/> resolves to the collection <see cref="Collection"/>.</summary>
public sealed record CollectionAlias(string Alias, string Collection);
