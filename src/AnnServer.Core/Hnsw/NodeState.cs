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
}
