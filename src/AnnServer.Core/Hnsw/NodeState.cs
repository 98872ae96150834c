namespace AnnServer.Core.Hnsw;

/// <summary>The life of a graph node. Persisted in snapshots: never renumber.</summary>
internal enum NodeState : byte
{
    /// <summary>Being inserted: may already route searches, never returned until committed.</summary>
    Pending = 0,

    /// <summary>Returned by searches.</summary>
    Live = 1,

    /// <summary>Deleted or replaced by an upsert: still routes searches (the graph keeps its shape), never returned.</summary>
    Deleted = 2,

    /// <summary>Linked into the graph and routing searches, but not returned until committed (the write path links a
    /// batch while its log commit is on its way: <see cref="HnswIndex.LinkManyUnchecked"/>). Never persisted: a snapshot
    /// writes it as <see cref="Deleted"/>.</summary>
    Linked = 3,
}
