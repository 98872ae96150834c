using AnnServer.Core.Filtering;

namespace AnnServer.Core.Hnsw;

/// <summary>
/// Which nodes a layer search may return (all nodes still route it). A struct type argument, so the JIT compiles one
/// search loop per kind of filter, with no branch on configuration and no interface call inside the loop.
/// </summary>
internal interface INodeFilter
{
    /// <summary>Whether the node may be returned.</summary>
    bool Accepts(int node);

    /// <summary>Whether the search may step onto the node at all.</summary>
    bool Traverses(int node);
}

/// <summary>Construction: link to anything not deleted, including nodes still being inserted.</summary>
/// <remarks>
/// Nodes still being inserted are stepped over: a node is linked top level first, so a pending node can already be
/// reachable on an upper level while its level-0 list is still empty. Inserts that descended through it would find
/// nothing but it and each other, and build a clique cut off from their true neighbours (seen in tests: 10 of 8,000
/// points unreachable with 4 threads). hnswlib avoids the same trap by holding the new node's lock for its whole insert.
/// </remarks>
internal readonly struct NotDeletedNodes(GraphStorage storage) : INodeFilter
{
    public bool Accepts(int node) => storage.States[node] != NodeState.Deleted;
    public bool Traverses(int node) => storage.States[node] != NodeState.Pending;
}

/// <summary>Queries without a filter: committed, undeleted nodes.</summary>
internal readonly struct LiveNodes(GraphStorage storage) : INodeFilter
{
    public bool Accepts(int node) => storage.States[node] == NodeState.Live;
    public bool Traverses(int node) => true;
}

/// <summary>Queries with a filter: live nodes that pass its compiled form (labels, ids, payload conditions).</summary>
internal readonly struct LiveNodesPassingFilter(GraphStorage storage, CompiledFilter filter) : INodeFilter
{
    public bool Accepts(int node) => storage.States[node] == NodeState.Live && filter.Matches(node);
    public bool Traverses(int node) => true;
}
